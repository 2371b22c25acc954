"""Pose words back into movement, learned: the word decoder.

A pose word is a cluster's mean pose, so a sentence of words says where the body is, give or take
the quantisation error, but not how it moves through a word: `word_motion`'s hand-made curve (each
run of one word's pose at the run's middle, a monotone cubic between) slows at every keyframe and
averages the movement away. The decoder learns the movement back, as the decoders of Bailando's
and T2M-GPT's VQ-VAEs turn codes into motion: it reads a whole sentence (one word a frame at
20 fps) and writes every frame's pose, trained on the corpus to rebuild the real dances from their
own words with losses on the positions, the velocities and the accelerations.

What it reads per frame: the word's pose, `word_motion`'s curve there, a learned vector of the
word, and where the frame sits in its run of one word (the share of the run behind it, and the
run's length). Over those, a stack of residual 1D convolutions with growing dilation sees about
`RECEPTIVE_SECONDS` either side (it is not causal: a sentence is decoded once written), and its
output is an offset from the curve, initialised at zero, so an untrained decoder is `word_motion`.

The pipeline decodes the context's last words together with the new ones and keeps the new part,
so the new dance's first frames are decoded in the flow of the user's.

Files: `decoder.safetensors` (weights) and `decoder.json` (its size, the settings and what
training measured), written atomically into the model folder; read back strictly (shape, names,
finite weights), never unpickled.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from tqdm import tqdm

from ..data.corpus import Corpus
from ..data.motion import SMOOTHING_SECONDS, smooth
from ..data.pose_sequence import CORPUS_FPS
from ..data.skeleton import NUM_JOINTS
from ..errors import BopBotError
from ..files import read_json, write_tensors, write_text_atomic
from ..vocabulary.vocabulary import PoseVocabulary
from ..vocabulary.word_motion import word_motion
from .training import is_validation, optional_model_file

WEIGHTS = "decoder.safetensors"
DESCRIPTION = "decoder.json"
DIMS = NUM_JOINTS * 2
#: How many of the context's last words are decoded with the new ones.
LEAD_WORDS = 40
#: The decoder's movement is low-passed this lightly (a Gaussian of 0.6 frames): see `WordMover`.
DECODED_SMOOTHING_SECONDS = 0.03
#: A run of one word longer than this many frames reads as this long.
LONGEST_RUN = 40


@dataclass(frozen=True)
class DecoderSize:
    """The network's shape: `hidden` channels, one residual block per dilation, learned word vectors of `embedding`."""

    hidden: int = 128
    embedding: int = 32
    kernel: int = 3
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 8)

    def to_json(self) -> dict:
        return {**asdict(self), "dilations": list(self.dilations)}

    @property
    def receptive_frames(self) -> int:
        """Frames either side of a frame that reach its output."""
        return sum((self.kernel - 1) // 2 * d for d in self.dilations)


@dataclass
class DecoderSettings:
    steps: int = 1500
    batch_size: int = 32
    window: int = 120
    learning_rate: float = 2e-3
    #: Loss weights of the velocities and the accelerations (per frame) against the positions.
    velocity_weight: float = 4.0
    acceleration_weight: float = 4.0
    #: Loss weight of each joint's energy over a window: its RMS speed and mean acceleration.
    energy_weight: float = 4.0
    validation_fraction: float = 0.1
    seed: int = 0


@dataclass
class DecoderReport:
    steps: int
    frames: int
    seconds: float
    #: On the validation inputs, mean joint error (torso lengths) and mean joint speed against the
    #: real dances', for the decoder and for `word_motion`'s curve.
    validation: dict = field(default_factory=dict)


class _Block(torch.nn.Module):
    """x + conv1x1(gelu(dilated conv(gelu(norm(x))))), over (batch, time, channels); the dilated
    convolution repeats the edge frames rather than padding with zeros."""

    def __init__(self, hidden: int, kernel: int, dilation: int):
        super().__init__()
        self.norm = torch.nn.LayerNorm(hidden)
        self.pad = (kernel - 1) // 2 * dilation
        self.spread = torch.nn.Conv1d(hidden, hidden, kernel, dilation=dilation)
        self.mix = torch.nn.Conv1d(hidden, hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.gelu(self.norm(x)).transpose(1, 2)
        h = torch.nn.functional.pad(h, (self.pad, self.pad), mode="replicate")
        return x + self.mix(torch.nn.functional.gelu(self.spread(h))).transpose(1, 2)


class WordDecoder(torch.nn.Module):
    """(batch, T) word ids with their per-frame inputs -> (batch, T, 34) poses."""

    def __init__(self, centroids: np.ndarray, size: DecoderSize = DecoderSize()):
        super().__init__()
        self.size = size
        k = len(centroids)
        self.register_buffer("centroids", torch.as_tensor(np.asarray(centroids, np.float32).reshape(k, DIMS)))
        self.words = torch.nn.Embedding(k, size.embedding)
        self.read = torch.nn.Linear(DIMS * 2 + size.embedding + 2, size.hidden)
        self.blocks = torch.nn.ModuleList(_Block(size.hidden, size.kernel, d) for d in size.dilations)
        self.norm = torch.nn.LayerNorm(size.hidden)
        self.write = torch.nn.Linear(size.hidden, DIMS)
        torch.nn.init.zeros_(self.write.weight)
        torch.nn.init.zeros_(self.write.bias)

    def forward(self, ids: torch.Tensor, curve: torch.Tensor, runs: torch.Tensor) -> torch.Tensor:
        x = self.read(torch.cat([self.centroids[ids], curve, self.words(ids), runs], dim=-1))
        for block in self.blocks:
            x = block(x)
        return curve + self.write(self.norm(x))


def frame_inputs(vocabulary: PoseVocabulary, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 34) `word_motion`'s curve and (T, 2) where each frame sits in its run of one word: the
    share of the run before it (0 at its first frame, towards 1 at its last) and the run's length
    (in `LONGEST_RUN`s, at most 1)."""
    ids = np.asarray(ids)
    curve = word_motion(vocabulary, ids)[:, :, :2].reshape(len(ids), DIMS)
    starts = np.flatnonzero(np.diff(ids, prepend=-1))
    lengths = np.diff(np.append(starts, len(ids)))
    run_start = np.repeat(starts, lengths)
    run_length = np.repeat(lengths, lengths)
    runs = np.stack([(np.arange(len(ids)) - run_start) / run_length, np.minimum(run_length, LONGEST_RUN) / LONGEST_RUN], axis=1)
    return curve.astype(np.float32), runs.astype(np.float32)


def decode_words(decoder: WordDecoder, vocabulary: PoseVocabulary, ids: np.ndarray) -> np.ndarray:
    """(T, 17, 3) poses of the (T,) word ids, every joint present."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return np.zeros((0, NUM_JOINTS, 3), dtype=np.float32)
    curve, runs = frame_inputs(vocabulary, ids)
    with torch.no_grad():
        out = decoder(torch.from_numpy(ids)[None], torch.from_numpy(curve)[None], torch.from_numpy(runs)[None])[0]
    poses = np.ones((len(ids), NUM_JOINTS, 3), dtype=np.float32)
    poses[:, :, :2] = out.numpy().reshape(len(ids), NUM_JOINTS, 2)
    return poses


class WordMover:
    """Turns word ids into movement: by the folder's decoder, or by `word_motion` without one.

    `word_motion`'s keyframe curve is low-passed by `motion.smooth` like any generator's keyframes;
    the decoder's output is already movement, trained to move as the real dances do, and a low-pass
    would take much of that back (on 126 held-out stretches filmed from the front, the default
    decoder moves the real words at 1.00x the real joint speed and 1.08x the acceleration; low-passed,
    0.86x and 0.63x, and FID_k 20.4 instead of 8.6), so only `smooth`'s speed limit applies to it
    (`low_pass` False). The decoder's movement is low-passed only by a Gaussian of 0.6 frames
    (`DECODED_SMOOTHING_SECONDS`): played at the user's pace its acceleration was 1.28x the real next
    10 s', and 1.14x with it, at the same joint speed (docs/sweeps.md)."""

    def __init__(self, vocabulary: PoseVocabulary, decoder: WordDecoder | None = None):
        self.vocabulary = vocabulary
        self.decoder = decoder

    @property
    def name(self) -> str:
        return "decoder" if self.decoder is not None else "word_motion"

    @property
    def low_pass(self) -> bool:
        """Whether what `move` returns is keyframes to low-pass (`word_motion`) or movement (the decoder)."""
        return self.decoder is None

    def movement(self, ids: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
        """`move`, then `smooth` as the pipeline shows it (its low-pass only for keyframes)."""
        return smooth(self.move(ids, before), smoothing_seconds=SMOOTHING_SECONDS if self.low_pass else 0.0)

    def move(self, ids: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
        """(T, 17, 3) poses of `ids`; with the decoder, decoded after the last `LEAD_WORDS` of the
        words `before` them (the context), so they carry on from it."""
        ids = np.asarray(ids)
        if self.decoder is None:
            return word_motion(self.vocabulary, ids)
        lead = np.asarray(before[-LEAD_WORDS:] if before is not None else [], dtype=ids.dtype)
        poses = decode_words(self.decoder, self.vocabulary, np.concatenate([lead, ids]))
        if len(poses) > 1:
            poses[:, :, :2] = gaussian_filter1d(poses[:, :, :2], DECODED_SMOOTHING_SECONDS * CORPUS_FPS, axis=0,
                                                mode="nearest")
        return poses[len(lead):]


def _sentences(corpus: Corpus, vocabulary: PoseVocabulary, settings: DecoderSettings, progress: bool):
    """(train, validation) lists of (ids, curve, runs, poses) per dance with a dancer in it."""
    splits = {False: [], True: []}
    for info, sequences in tqdm(corpus.shards(), total=len(corpus.shard_paths()), desc="reading words",
                                unit="shard", disable=not progress):
        part = splits[is_validation(info["input"], settings.validation_fraction, settings.seed)]
        for sequence in sequences:
            poses = np.asarray(sequence.poses, dtype=np.float32)
            if len(poses) < 2 or not (poses[:, :, 2] > 0).any():
                continue
            ids = vocabulary.encode(poses)
            part.append((ids, *frame_inputs(vocabulary, ids), poses))
    if not splits[False]:
        raise BopBotError(corpus.folder, "no dance to learn the decoder from")
    if not splits[True]:
        splits[True] = [splits[False].pop()]
    return splits[False], splits[True]


def _batch(sentences: list, window: int, count: int, rng: np.random.Generator):
    """`count` windows of `window` frames drawn in proportion to the dances' lengths (shorter
    dances are taken whole and padded by repeating their last frame, masked out of the loss)."""
    lengths = np.array([len(s[0]) for s in sentences], dtype=np.float64)
    chosen = rng.choice(len(sentences), size=count, p=lengths / lengths.sum())
    ids = np.zeros((count, window), np.int64)
    curve = np.zeros((count, window, DIMS), np.float32)
    runs = np.zeros((count, window, 2), np.float32)
    poses = np.zeros((count, window, NUM_JOINTS, 3), np.float32)
    for row, index in enumerate(chosen):
        s_ids, s_curve, s_runs, s_poses = sentences[index]
        start = rng.integers(0, max(1, len(s_ids) - window + 1))
        taken = slice(start, start + window)
        n = len(s_ids[taken])
        for target, source in ((ids, s_ids), (curve, s_curve), (runs, s_runs), (poses, s_poses)):
            target[row, :n] = source[taken]
            target[row, n:] = source[taken][-1]
        poses[row, n:, :, 2] = 0.0
    return torch.from_numpy(ids), torch.from_numpy(curve), torch.from_numpy(runs), torch.from_numpy(poses)


def _energy(moves: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(batch, 17) RMS of the per-frame `moves` (batch, T, 17, 2) where `mask`, and the mask's weight."""
    squared = (moves ** 2).sum(dim=-1, keepdim=True) * mask
    count = mask.sum(dim=1)
    return (squared.sum(dim=1) / count.clamp(min=1)).clamp(min=1e-12).sqrt()[..., 0], (count[..., 0] > 0).float()


def motion_loss(predicted: torch.Tensor, poses: torch.Tensor, settings: DecoderSettings) -> torch.Tensor:
    """L1 on the present joints' positions, velocities and accelerations (per frame), and on each
    joint's energy over the window (its RMS speed and acceleration), weighted.

    A decoder that only matches each frame writes the expected movement, and what the words leave
    uncertain averages out: it moves slower than the dancers (0.86x their joint speed on 126
    held-out stretches filmed from the front, FID_k 14.4). The energy terms ask each joint to move
    as much over the window as the real one did, wherever exactly it moved: 1.00x and FID_k 8.6,
    for a mean joint error of 0.070 torso lengths instead of 0.064 (`word_motion`: 0.084)."""
    predicted = predicted.reshape(*poses.shape[:3], 2)
    real, seen = poses[..., :2], poses[..., 2:3] > 0

    def masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return ((a - b).abs() * mask).sum() / mask.sum().clamp(min=1) / 2

    loss = masked_l1(predicted, real, seen)
    both = seen[:, 1:] & seen[:, :-1]
    loss = loss + settings.velocity_weight * masked_l1(predicted.diff(dim=1), real.diff(dim=1), both)
    three = both[:, 1:] & both[:, :-1]
    loss = loss + settings.acceleration_weight * masked_l1(predicted.diff(n=2, dim=1), real.diff(n=2, dim=1), three)
    if settings.energy_weight:
        for order, mask in ((1, both), (2, three)):
            (made, _), (real_energy, counted) = (_energy(x.diff(n=order, dim=1), mask) for x in (predicted, real))
            loss = loss + settings.energy_weight * ((made - real_energy).abs() * counted).sum() / counted.sum().clamp(min=1)
    return loss


def _measure(decoder: WordDecoder, vocabulary: PoseVocabulary, sentences: list) -> dict:
    """Mean joint error and speed ratio to the real dances, for the decoder and for the curve."""
    errors, speeds = {"decoder": [], "word_motion": []}, {"decoder": [], "word_motion": [], "real": []}
    for ids, curve, _, poses in sentences:
        seen = poses[:, :, 2] > 0
        both = seen[1:] & seen[:-1]
        for name, moved in (("decoder", decode_words(decoder, vocabulary, ids)), ("word_motion", word_motion(vocabulary, ids))):
            errors[name].append(np.linalg.norm(moved[:, :, :2] - poses[:, :, :2], axis=2)[seen])
            speeds[name].append(np.linalg.norm(np.diff(moved[:, :, :2], axis=0), axis=2)[both])
        speeds["real"].append(np.linalg.norm(np.diff(poses[:, :, :2], axis=0), axis=2)[both])
    real_speed = np.concatenate(speeds["real"]).mean()
    return {name: {"joint_error": float(np.concatenate(errors[name]).mean()),
                   "speed_ratio": float(np.concatenate(speeds[name]).mean() / real_speed)} for name in errors}


def train_decoder(corpus_folder: str | os.PathLike, model_folder: str | os.PathLike,
                  settings: DecoderSettings = DecoderSettings(), size: DecoderSize = DecoderSize(),
                  progress: bool = True) -> DecoderReport:
    """Fit the decoder on the corpus as the folder's vocabulary reads it, and save it there."""
    model_folder = Path(model_folder)
    vocabulary = PoseVocabulary.load(model_folder)
    train, validation = _sentences(Corpus(corpus_folder), vocabulary, settings, progress)
    torch.manual_seed(settings.seed)
    decoder = WordDecoder(vocabulary.centroids_, size)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=settings.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.learning_rate, total_steps=settings.steps,
                                                   pct_start=0.05)
    rng = np.random.default_rng(settings.seed)
    started = time.monotonic()
    decoder.train()
    for _ in tqdm(range(settings.steps), desc="training the decoder", unit="step", disable=not progress):
        ids, curve, runs, poses = _batch(train, settings.window, settings.batch_size, rng)
        loss = motion_loss(decoder(ids, curve, runs), poses, settings)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(decoder.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    decoder.eval()
    report = DecoderReport(settings.steps, int(sum(len(s[0]) for s in train)), time.monotonic() - started,
                           _measure(decoder, vocabulary, validation))
    write_tensors(model_folder / WEIGHTS, {k: v.detach().contiguous() for k, v in decoder.state_dict().items()
                                           if k != "centroids"})
    write_text_atomic(model_folder / DESCRIPTION, json.dumps(
        {"size": size.to_json(), "words": vocabulary.k, "settings": asdict(settings), "report": asdict(report)}, indent=2))
    return report


def load_decoder(model_folder: str | os.PathLike, vocabulary: PoseVocabulary) -> WordDecoder | None:
    """The folder's decoder for `vocabulary`, or None if it has none (words then move by `word_motion`)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(model_folder) / WEIGHTS
    if not optional_model_file(path, "the word decoder"):
        return None
    description = Path(model_folder) / DESCRIPTION
    try:
        shape = read_json(description, "word decoder description")
        size = DecoderSize(**{**shape["size"], "dilations": tuple(shape["size"]["dilations"])})
        words = shape["words"]
        sensible = (all(isinstance(v, int) and 1 <= v <= 4096 for v in (size.hidden, size.embedding, size.kernel))
                    and 1 <= len(size.dilations) <= 64 and all(isinstance(d, int) and 1 <= d <= 1024 for d in size.dilations))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BopBotError(description, f"unreadable word decoder description ({exc})") from None
    if not sensible:
        raise BopBotError(description, "a word decoder of an impossible size")
    if words != vocabulary.k:
        raise BopBotError(description, f"the word decoder knows {words} words, the vocabulary {vocabulary.k}")
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in WordDecoder(vocabulary.centroids_, size).state_dict().items()}
    expected.pop("centroids")
    try:
        weights = load_file(str(path))
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise BopBotError(path, f"unreadable word decoder ({exc})") from None
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if found != expected:
        raise BopBotError(path, "the word decoder's weights do not match its description in " + DESCRIPTION)
    if not all(torch.isfinite(tensor).all() for tensor in weights.values()):
        raise BopBotError(path, "the word decoder holds NaN or infinite weights")
    decoder = WordDecoder(vocabulary.centroids_, size)
    decoder.load_state_dict({**weights, "centroids": decoder.centroids})
    return decoder.eval()

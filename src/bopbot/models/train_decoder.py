"""The word decoder's network and its training (PyTorch): see `decoder` for what it does and why.

`WordDecoder` is the network; `train_decoder` fits it on a corpus and writes `decoder.safetensors`
and `decoder.json` into the model folder. A dance reads them back with `decoder.load_decoder` and
runs them in NumPy (`runtime.decoder_forward`, held to `WordDecoder` by `tests/test_runtime.py`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..data.corpus import Corpus
from ..data.skeleton import NUM_JOINTS
from ..errors import BopBotError
from ..files import write_tensors, write_text_atomic
from ..vocabulary.vocabulary import PoseVocabulary
from ..vocabulary.word_motion import word_motion
from .decoder import DESCRIPTION, DIMS, WEIGHTS, Decoder, DecoderSize, decode_words, decoder_shapes, frame_inputs
from .training import check_memory, check_split, finite_loss, hold_out, is_validation


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


def window_floats(size: DecoderSize, window: int) -> int:
    """At least how many float32 activations one training window of `window` frames keeps for the
    backward pass: in each block 5 per frame and channel (its norm, two GELUs, the padded input and
    the convolution's output)."""
    return len(size.dilations) * 5 * window * size.hidden


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
    if not splits[False] + splits[True]:
        raise BopBotError(corpus.folder, "no dance to learn the decoder from")
    train, validation = hold_out(splits, settings.validation_fraction)
    check_split(corpus.folder, "frames", *(sum(len(s[0]) for s in part) for part in (train, validation)),
                settings.validation_fraction)
    return train, validation


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


def as_decoder(network: WordDecoder) -> Decoder:
    """The trained `network` as the `decoder.Decoder` a dance runs."""
    state = {k: v.detach().numpy().copy() for k, v in network.state_dict().items()}
    return Decoder(network.size, {k: v for k, v in state.items() if k != "centroids"}, state["centroids"])


def _measure(network: WordDecoder, vocabulary: PoseVocabulary, sentences: list) -> dict:
    """Mean joint error and speed ratio to the real dances, for the decoder and for the curve."""
    decoder = as_decoder(network)
    errors, speeds = {"decoder": [], "word_motion": []}, {"decoder": [], "word_motion": [], "real": []}
    for ids, _, _, poses in sentences:
        seen = poses[:, :, 2] > 0
        both = seen[1:] & seen[:-1]
        for name, moved in (("decoder", decode_words(decoder, vocabulary, ids)), ("word_motion", word_motion(vocabulary, ids))):
            errors[name].append(np.linalg.norm(moved[:, :, :2] - poses[:, :, :2], axis=2)[seen])
            speeds[name].append(np.linalg.norm(np.diff(moved[:, :, :2], axis=0), axis=2)[both])
        speeds["real"].append(np.linalg.norm(np.diff(poses[:, :, :2], axis=0), axis=2)[both])
    real_speed = np.concatenate(speeds["real"]).mean()
    return {name: {"joint_error": float(np.concatenate(errors[name]).mean()),
                   "speed_ratio": float(np.concatenate(speeds[name]).mean() / real_speed)} for name in errors}


def one_cycle(optimizer, settings: DecoderSettings):
    """The learning rate's one cycle: up over the first 5% of the steps, then down. A warm-up of one
    step or less is none: OneCycleLR ends it at step `share * steps - 1` and divides by that, which
    at 20 steps is 0 (a ZeroDivisionError), and under 20 steps the rise would end before step 0."""
    share = 0.05 if 0.05 * settings.steps > 1 else 0.0
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.learning_rate, total_steps=settings.steps,
                                               pct_start=share)


def train_decoder(corpus_folder: str | os.PathLike, model_folder: str | os.PathLike,
                  settings: DecoderSettings = DecoderSettings(), size: DecoderSize = DecoderSize(),
                  progress: bool = True) -> DecoderReport:
    """Fit the decoder on the corpus as the folder's vocabulary reads it, and save it there."""
    model_folder = Path(model_folder)
    vocabulary = PoseVocabulary.load(model_folder)
    check_memory("the word decoder", sum(np.prod(shape) for shape in decoder_shapes(size, vocabulary.k).values()),
                 window_floats(size, settings.window), settings.batch_size, torch.device("cpu"), "give a smaller --batch-size")
    train, validation = _sentences(Corpus(corpus_folder), vocabulary, settings, progress)
    torch.manual_seed(settings.seed)
    decoder = WordDecoder(vocabulary.centroids_, size)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=settings.learning_rate, weight_decay=0.01)
    schedule = one_cycle(optimizer, settings)
    rng = np.random.default_rng(settings.seed)
    started = time.monotonic()
    decoder.train()
    for step in tqdm(range(settings.steps), desc="training the decoder", unit="step", disable=not progress):
        ids, curve, runs, poses = _batch(train, settings.window, settings.batch_size, rng)
        loss = motion_loss(decoder(ids, curve, runs), poses, settings)
        finite_loss(loss.item(), step + 1)
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

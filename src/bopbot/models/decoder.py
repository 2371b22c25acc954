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
1.5 s either side (30 frames, with the default `DecoderSize`; it is not causal: a sentence is
decoded once written), and its output is an offset from the curve, initialised at zero, so an
untrained decoder is `word_motion`.

The pipeline decodes the context's last words together with the new ones and keeps the new part,
so the new dance's first frames are decoded in the flow of the user's.

Files: `decoder.safetensors` (weights) and `decoder.json` (its size, the settings and what
training measured), written atomically into the model folder; read back strictly (shape, names,
finite weights), never unpickled. The network and its training are in `train_decoder.py`
(PyTorch); a dance runs the same arithmetic in NumPy (`runtime.decoder_forward`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data.filters import gaussian_filter1d
from ..data.motion import SMOOTHING_SECONDS, smooth
from ..data.pose_sequence import CORPUS_FPS
from ..data.skeleton import NUM_JOINTS
from ..errors import BopBotError, os_error
from ..reading import read_json
from ..vocabulary.vocabulary import PoseVocabulary
from ..vocabulary.word_motion import word_motion
from .training import optional_model_file, required_model_file

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


def decoder_shapes(size: DecoderSize, words: int) -> dict[str, tuple[int, ...]]:
    """Every tensor a decoder of `size` over `words` words saves (`train_decoder.WordDecoder`'s, less its centroids)."""
    h = size.hidden
    shapes = {"words.weight": (words, size.embedding), "read.weight": (h, DIMS * 2 + size.embedding + 2), "read.bias": (h,),
              "norm.weight": (h,), "norm.bias": (h,), "write.weight": (DIMS, h), "write.bias": (DIMS,)}
    for i in range(len(size.dilations)):
        shapes.update({f"blocks.{i}.norm.weight": (h,), f"blocks.{i}.norm.bias": (h,),
                       f"blocks.{i}.spread.weight": (h, h, size.kernel), f"blocks.{i}.spread.bias": (h,),
                       f"blocks.{i}.mix.weight": (h, h, 1), f"blocks.{i}.mix.bias": (h,)})
    return shapes


@dataclass
class Decoder:
    """A trained word decoder: its size, its weights (NumPy arrays named as `train_decoder.WordDecoder`
    names them), the vocabulary's centroids it reads and the file it was read from (None while training)."""

    size: DecoderSize
    weights: dict
    centroids: np.ndarray
    path: Path | None = None

    def __call__(self, ids: np.ndarray, curve: np.ndarray, runs: np.ndarray) -> np.ndarray:
        """(T, 34) poses of one sentence of (T,) word ids, with their `frame_inputs`; a BopBotError
        naming the file where they are not finite (`runtime.finite`)."""
        from .runtime import decoder_forward, finite

        with np.errstate(all="ignore"):
            return finite(decoder_forward(self.weights, self.centroids, self.size.dilations, ids, curve, runs), self.path)


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


def decode_words(decoder: Decoder, vocabulary: PoseVocabulary, ids: np.ndarray) -> np.ndarray:
    """(T, 17, 3) poses of the (T,) word ids, every joint present."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return np.zeros((0, NUM_JOINTS, 3), dtype=np.float32)
    curve, runs = frame_inputs(vocabulary, ids)
    poses = np.ones((len(ids), NUM_JOINTS, 3), dtype=np.float32)
    poses[:, :, :2] = decoder(ids, curve, runs).reshape(len(ids), NUM_JOINTS, 2)
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

    def __init__(self, vocabulary: PoseVocabulary, decoder: Decoder | None = None):
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


def load_decoder(model_folder: str | os.PathLike, vocabulary: PoseVocabulary) -> Decoder | None:
    """The folder's decoder for `vocabulary`, or None if it has none (words then move by `word_motion`)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(model_folder) / WEIGHTS
    if not optional_model_file(path, "the word decoder"):
        return None
    description = Path(model_folder) / DESCRIPTION
    required_model_file(description)  # beside the weights
    try:
        shape = read_json(description, "word decoder description")
        size = DecoderSize(**{**shape["size"], "dilations": tuple(shape["size"]["dilations"])})
        words = shape["words"]
        sensible = (all(isinstance(v, int) and 1 <= v <= 4096 for v in (size.hidden, size.embedding, size.kernel))
                    and 1 <= len(size.dilations) <= 64 and all(isinstance(d, int) and 1 <= d <= 1024 for d in size.dilations))
    except OSError as exc:  # no permission, say
        raise os_error(exc, description, "read") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BopBotError(description, f"unreadable word decoder description ({exc})") from None
    if not sensible:
        raise BopBotError(description, "a word decoder of an impossible size")
    if words != vocabulary.k:
        raise BopBotError(description, f"the word decoder knows {words} words, the vocabulary {vocabulary.k}")
    try:
        weights = load_file(str(path))
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise BopBotError(path, f"unreadable word decoder ({exc})") from None
    if {k: tuple(v.shape) for k, v in weights.items()} != decoder_shapes(size, words):
        raise BopBotError(path, "the word decoder's weights do not match its description in " + DESCRIPTION)
    if not all(np.isfinite(tensor).all() for tensor in weights.values()):
        raise BopBotError(path, "the word decoder holds NaN or infinite weights")
    centroids = np.asarray(vocabulary.centroids_, np.float32).reshape(vocabulary.k, DIMS)
    return Decoder(size, {k: v.astype(np.float32) for k, v in weights.items()}, centroids, path)

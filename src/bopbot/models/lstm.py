"""The LSTM generator: a mixture density network over continuous poses, the original system's second model.

Each frame is the 34 x/y values of a normalised COCO-17 pose (torso lengths, centred on the
mid-hip). A stacked LSTM reads the poses so far and outputs, for the next frame, a mixture of
`mixtures` diagonal Gaussians over those 34 values; training maximises the likelihood of the real
next frame (teacher forcing), and sampling draws a frame, feeds it back, and goes on.

Choices, and why:
- The model predicts the pose itself, as the original did: each Gaussian's mean is a point in
  (standardised) pose space. We also tried predicting the change from the previous pose (the
  mean as previous pose + offset). Its likelihood is better, but fed its own samples the dancer
  drifted off the body's shape and flew apart within 5-20 s, unless trained with so much input
  noise (0.3 standard deviations) that its samples became 1.6 times as jerky as the absolute
  model's. Predicting the pose itself keeps every sample near poses the model has seen.
- The 34 dimensions are standardised with the training set's per-dimension mean and standard
  deviation (stored in the weights as the `mean` and `std` buffers), so every joint gets the same
  share of the network whatever its spread; `forward` takes and returns torso-length units.
- `input_noise` adds Gaussian noise (in standard deviations of each dimension) to the teacher-
  forced inputs. At sampling time the model reads its own imperfect samples; trained on noisy
  inputs against clean targets it learns to pull a drifting pose back towards real ones. A little
  (0.05) made samples about a third less jerky than none; more (0.15) widens every predicted
  Gaussian and makes them jerkier again.
- Temperature: the mixture is picked from softmax(logit_pi / temperature) and the Gaussian's
  standard deviation is multiplied by sqrt(temperature), i.e. its variance by the temperature.
  Temperature 1 samples the learned distribution; towards 0 it follows the likeliest component's
  mean; above 1 it is wilder.
- Losses are the mean negative log-likelihood per frame in nats, with poses in torso lengths
  (so they are negative once the model is good); frames whose target misses a joint are not
  scored, and missing input joints are filled with the joint's previous value (or the mean pose).

Training is `train_lstm.py`; this module holds the model, its loading (`lstm.safetensors` and
`lstm.json`, safetensors and JSON only) and sampling.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.skeleton import NUM_JOINTS
from ..errors import BopBotError
from ..reading import check_shapes, file_problem, read_json

WEIGHTS = "lstm.safetensors"
DESCRIPTION = "lstm.json"
#: Values per frame: x and y of every joint.
DIMENSIONS = NUM_JOINTS * 2
#: Range of each Gaussian's log standard deviation, in standard deviations of its dimension.
LOG_SIGMA_RANGE = (-7.0, 2.0)


@dataclass
class LSTMSize:
    """How big the LSTM is."""

    hidden: int = 256
    layers: int = 2
    mixtures: int = 8


#: The largest LSTM BopBot loads, by `lstm.json`'s size.
MAX_SIZE = {"hidden": 16384, "layers": 64, "mixtures": 1024}


class PoseLSTM(torch.nn.Module):
    """A stacked LSTM whose head is a mixture of diagonal Gaussians over the next frame's 34 values."""

    def __init__(self, size: LSTMSize):
        super().__init__()
        self.mixtures = size.mixtures
        self.lstm = torch.nn.LSTM(DIMENSIONS, size.hidden, size.layers, batch_first=True)
        self.head = torch.nn.Linear(size.hidden, size.mixtures * (1 + 2 * DIMENSIONS))
        self.register_buffer("mean", torch.zeros(DIMENSIONS))
        self.register_buffer("std", torch.ones(DIMENSIONS))

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        """(B, T, 34) poses -> next-frame logit_pi (B, T, M), mu and log_sigma (B, T, M, 34), LSTM state."""
        hidden, state = self.lstm((x - self.mean) / self.std, state)
        batch, frames, _ = x.shape
        logit_pi, mu, log_sigma = self.head(hidden).split(
            [self.mixtures, self.mixtures * DIMENSIONS, self.mixtures * DIMENSIONS], dim=-1)
        shape = (batch, frames, self.mixtures, DIMENSIONS)
        mu = self.mean + mu.reshape(shape) * self.std
        log_sigma = log_sigma.reshape(shape).clamp(*LOG_SIGMA_RANGE) + self.std.log()
        return logit_pi, mu, log_sigma, state


def fill_missing(poses: np.ndarray, mean: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(T, 17, 3) poses -> (T, 34) x/y, missing joints held from before (else `mean`, else NaN); and (T,) complete."""
    present = (poses[:, :, 2] > 0) & np.isfinite(poses[:, :, :2]).all(axis=2)
    frames = np.arange(len(poses))[:, None]
    last = np.maximum.accumulate(np.where(present, frames, -1), axis=0)
    held = poses[np.maximum(last, 0), np.arange(NUM_JOINTS)[None, :], :2].astype(np.float32)
    fallback = np.full((NUM_JOINTS, 2), np.nan, np.float32) if mean is None else mean.reshape(NUM_JOINTS, 2)
    held = np.where((last >= 0)[..., None], held, fallback)
    return held.reshape(len(poses), DIMENSIONS), present.all(axis=1)


@dataclass
class LoadedLSTM:
    """A trained pose LSTM ready to sample: the module in eval mode and its context window in frames."""

    model: PoseLSTM
    window: int
    size: LSTMSize
    info: dict
    #: The weights file, named where they give non-finite poses.
    path: Path

    @property
    def mean_pose(self) -> np.ndarray:
        """The training set's mean pose as 34 x/y values."""
        return self.model.mean.numpy()


def load_lstm(model_folder: str | os.PathLike) -> LoadedLSTM:
    """The pose LSTM saved in a model folder (safetensors and JSON only)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(model_folder)
    for name in (DESCRIPTION, WEIGHTS):
        problem = file_problem(folder / name)
        if problem:
            raise BopBotError(folder / name, "missing: no trained LSTM here; train one with `bopbot train --generator "
                                             "lstm`" if problem == "missing" else f"is {problem}")
    try:
        info = read_json(folder / DESCRIPTION, "LSTM description")
        size = LSTMSize(**info["size"])
        window = int(info["window"])
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise BopBotError(folder / DESCRIPTION, f"unreadable LSTM description ({type(exc).__name__}: {exc})") from None
    for name, limit in MAX_SIZE.items():
        value = getattr(size, name)
        if not (isinstance(value, int) and 0 < value <= limit):
            raise BopBotError(folder / DESCRIPTION, f"{name} = {value!r}: BopBot loads an LSTM of 1 to {limit:,}")
    with torch.device("meta"):  # its shapes, checked against the file's before anything is allocated
        expected = {name: tuple(tensor.shape) for name, tensor in PoseLSTM(size).state_dict().items()}
    check_shapes(folder / WEIGHTS, expected, "LSTM", DESCRIPTION)
    try:
        model = PoseLSTM(size)
        model.load_state_dict(load_file(str(folder / WEIGHTS)))
    except (RuntimeError, SafetensorError, ValueError) as exc:  # a damaged file, or weights of another size
        raise BopBotError(folder / WEIGHTS, f"unreadable LSTM ({' '.join(str(exc).split())[:200]})") from None
    model.eval()
    return LoadedLSTM(model, window, size, info, folder / WEIGHTS)


def _draw(logit_pi: np.ndarray, mu: np.ndarray, log_sigma: np.ndarray, temperature: float,
          rng: np.random.Generator) -> np.ndarray:
    """One frame from the mixture: a component from softmax(logit_pi / T), then its Gaussian with sigma * sqrt(T)."""
    logits = logit_pi.astype(np.float64) / temperature
    weights = np.exp(logits - logits.max())
    component = rng.choice(len(weights), p=weights / weights.sum())
    noise = rng.standard_normal(DIMENSIONS)
    return (mu[component] + np.exp(log_sigma[component]) * math.sqrt(temperature) * noise).astype(np.float32)


def sample_poses(loaded: LoadedLSTM, context: np.ndarray, count: int, temperature: float = 1.0,
                 seed: int | None = None) -> np.ndarray:
    """`count` new normalised poses (count, 17, 3), confidence 1, continuing the (T, 17, 3) `context`;
    a BopBotError naming the weights file where the mixture they give, or a pose drawn from it, is
    not finite (`runtime.finite`)."""
    from .runtime import finite

    context = np.asarray(context, dtype=np.float32)
    if context.ndim != 3 or context.shape[1:] != (NUM_JOINTS, 3):
        raise BopBotError(None, f"context must be (T, {NUM_JOINTS}, 3) normalised poses, got {context.shape}")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise BopBotError(None, f"temperature must be above 0 and finite, got {temperature}")
    if count < 0:
        raise BopBotError(None, f"count must be 0 or more, got {count}")
    xy = fill_missing(context, loaded.mean_pose)[0][-loaded.window:]
    if not len(xy):
        xy = loaded.mean_pose[None, :]
    rng = np.random.default_rng(seed)
    frames = np.empty((count, DIMENSIONS), np.float32)
    with torch.no_grad(), np.errstate(all="ignore"):
        logit_pi, mu, log_sigma, state = loaded.model(torch.from_numpy(xy)[None])
        for t in range(count):
            mixture = [finite(output[0, -1].numpy(), loaded.path) for output in (logit_pi, mu, log_sigma)]
            frames[t] = finite(_draw(*mixture, temperature, rng), loaded.path)
            logit_pi, mu, log_sigma, state = loaded.model(torch.from_numpy(frames[t])[None, None], state)
    poses = np.ones((count, NUM_JOINTS, 3), np.float32)
    poses[:, :, :2] = frames.reshape(count, NUM_JOINTS, 2)
    return poses

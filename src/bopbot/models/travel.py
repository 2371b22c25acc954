"""Travel: where the dancer goes, learned from how the dancer moves.

Poses are normalised per frame (centred on the hips, scaled by the torso), so no generator writes
where the dancer is on the floor: left alone, the new dance stays on the spot while a real waltz
crosses the floor. The travel model puts that back. It reads the last `WINDOW` frames of a dance
as the generators write them and predicts the hips' next step: (dx, dy) in torso lengths and the
change of log scale (towards or away from the camera). Integrated from where the user's dance
ends, that is the new dance's path.

Why from the poses: a step is visible in the legs. Measured on the default corpus (validation
inputs): from real poses, a linear model of the last frames explains a fifth of the variance of
the next step (R² 0.21 for dx), this small network (two hidden layers of `HIDDEN`) 72%. It is
trained on what it reads at generation time, the training dances turned into pose words and back
into movement (by the folder's word decoder, `word_motion` without one), against the real dances'
hip motion; from those the next step is harder to read
(R² 0.52 for dx, 0.39 for dy with a window of 8 frames; 0.43 and 0.30 with 4), but the path it
integrates over 10 s travels as far as the real one: on the held-out takes, median excursion 2.2
torso lengths against the real 2.3. Feeding it its own previous steps as well (R² 0.95 with the
real ones) made it overshoot when it ran on its own predictions (median 4.6), so it reads poses
only. The expected step it predicts is shorter than a real one (what is uncertain averages out),
so the path's steps are scaled by the ratio of real to predicted mean speed on the validation
inputs (`gain`, about 1.5).

That gain is the corpus's: ballroom couples cross the floor, a dancer filming themself mostly
dances on the spot. So the user sets the speed: `user_speed` reads how fast their hips really went
over the context's last `PACE_SECONDS`, and `travel_path` scales the model's steps, and its changes
of scale (steps towards or away from the camera), so that the new path's mean step is that speed.
The model says where and when the dancer steps, the user how fast they travel: a dancer who stayed
put is continued on the spot, one who travelled keeps travelling. This replaced a pace read as the
user's real path over the path the model would have given the context's own words: on the held-out
frontal mocap the new hips travelled at 0.83x the user's own (1.35 against 1.62 torso lengths a
second, `docs/user_trial.py`), since the model reads less stepping from the new dance's poses than
from the user's. The scale was once left unscaled: continuing the held-out phone dancers, who stay
where they are, the robot grew or shrank by 0.258 (absolute log over 10 s, mean of 13 stretches)
against their real 0.066; scaled with the steps, 0.055.

Files: `travel.safetensors` (weights and the input statistics) and `travel.json` (size, window and
the validation R² of each output), written atomically into the model folder.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from tqdm import tqdm

from ..data.corpus import Corpus
from ..data.pose_sequence import CORPUS_FPS
from ..data.skeleton import INDEX, NUM_JOINTS
from ..errors import BopBotError
from ..files import read_json, write_tensors, write_text_atomic
from ..vocabulary.vocabulary import PoseVocabulary
from .training import is_validation, optional_model_file

WEIGHTS = "travel.safetensors"
DESCRIPTION = "travel.json"
#: Frames the model reads: the current one and the 8 before it.
WINDOW = 8
#: The pose changes it reads, over this many frames back.
SPANS = (1, 2, 4, 8)
HIDDEN = 256
FEATURES = NUM_JOINTS * 2 * (1 + len(SPANS))
OUTPUTS = ("dx", "dy", "dlog_scale")
#: The user's pace is read from this much of the context's end...
PACE_SECONDS = 8.0
#: ...and the model's steps are scaled to it by no less and no more than this.
PACE_RANGE = (0.05, 5.0)
#: The joints a placement is measured from: shoulders and hips.
PLACED = [INDEX[name] for name in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]


@dataclass
class TravelSettings:
    steps: int = 3000
    batch_size: int = 512
    learning_rate: float = 1e-3
    validation_fraction: float = 0.1
    seed: int = 0


@dataclass
class TravelReport:
    steps: int
    frames: int
    seconds: float
    #: Share of the variance of each output the model explains on the validation inputs.
    validation_r2: dict
    #: What each expected step is multiplied by on the path (see `train_travel`).
    gain: dict


class TravelModel(torch.nn.Module):
    """Features of a pose window -> the hips' next step, in standardised units inside."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(FEATURES, HIDDEN), torch.nn.GELU(),
                                       torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.GELU(),
                                       torch.nn.Linear(HIDDEN, len(OUTPUTS)))
        for name, size in (("feature_mean", FEATURES), ("feature_std", FEATURES), ("step_std", len(OUTPUTS)),
                           ("gain", len(OUTPUTS))):
            self.register_buffer(name, torch.zeros(size) if name == "feature_mean" else torch.ones(size))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """The expected next step (what training fits; `gain` is applied by `travel_path`)."""
        return self.net((features - self.feature_mean) / self.feature_std) * self.step_std


def window_features(poses: np.ndarray) -> np.ndarray:
    """(T, FEATURES) per frame: the pose, then its change over each of `SPANS` frames as a speed
    (torso lengths/s; the first frames repeat the first pose)."""
    xy = np.asarray(poses, dtype=np.float32)[:, :, :2].reshape(len(poses), -1)
    padded = np.concatenate([np.repeat(xy[:1], WINDOW, axis=0), xy])
    changes = [(xy - padded[WINDOW - span:WINDOW - span + len(xy)]) * CORPUS_FPS / span for span in SPANS]
    return np.concatenate([xy, *changes], axis=1)


def hip_steps(placement: np.ndarray) -> np.ndarray:
    """(T-1, 3) real steps between frames: hip motion in torso lengths of the earlier frame, and log-scale change."""
    placement = np.asarray(placement, dtype=np.float64)
    moved = (placement[1:, :2] - placement[:-1, :2]) / placement[:-1, 2:3]
    return np.concatenate([moved, np.log(placement[1:, 2:3] / placement[:-1, 2:3])], axis=1).astype(np.float32)


def _examples(corpus: Corpus, mover, settings: TravelSettings, progress: bool):
    """(features, steps) of every dance, as its words moved by `mover` (the folder's
    `decoder.WordMover`) show it, split into (train, validation);
    only steps between frames whose hips and shoulders were both seen (a placement that was measured)."""
    splits = {False: ([], []), True: ([], [])}
    vocabulary = mover.vocabulary
    for info, sequences in tqdm(corpus.shards(), total=len(corpus.shard_paths()), desc="reading travel",
                                unit="shard", disable=not progress):
        features, steps = splits[is_validation(info["input"], settings.validation_fraction, settings.seed)]
        for sequence in sequences:
            placed = (sequence.poses[:, PLACED, 2] > 0).all(axis=1)
            measured = placed[1:] & placed[:-1]
            if len(sequence.poses) < WINDOW + 1 or not measured.any():
                continue
            words = mover.movement(vocabulary.encode(sequence.poses))
            features.append(window_features(words)[:-1][measured])
            steps.append(hip_steps(sequence.placement)[measured])
    if not splits[False][0]:
        raise BopBotError(corpus.folder, "no dance with measured hips to learn travel from")
    if not splits[True][0]:
        splits[True] = ([splits[False][0].pop()], [splits[False][1].pop()])
    return [tuple(np.concatenate(part) for part in splits[v]) for v in (False, True)]


def train_travel(corpus_folder: str | os.PathLike, model_folder: str | os.PathLike,
                 settings: TravelSettings = TravelSettings(), progress: bool = True) -> TravelReport:
    """Fit the travel model on the corpus (the folder's vocabulary and word decoder move it, as at
    dance time: train the decoder first) and save it there."""
    from .decoder import WordMover, load_decoder

    model_folder = Path(model_folder)
    vocabulary = PoseVocabulary.load(model_folder)
    mover = WordMover(vocabulary, load_decoder(model_folder, vocabulary))
    (train_x, train_y), (valid_x, valid_y) = _examples(Corpus(corpus_folder), mover, settings, progress)
    torch.manual_seed(settings.seed)
    model = TravelModel()
    model.feature_mean.copy_(torch.from_numpy(train_x.mean(axis=0)))
    model.feature_std.copy_(torch.from_numpy(train_x.std(axis=0) + 1e-6))
    model.step_std.copy_(torch.from_numpy(train_y.std(axis=0) + 1e-9))
    inputs, targets = torch.from_numpy(train_x), torch.from_numpy(train_y)
    optimizer = torch.optim.AdamW(model.net.parameters(), lr=settings.learning_rate)
    rng = np.random.default_rng(settings.seed)
    started = time.monotonic()
    for _ in tqdm(range(settings.steps), desc="training travel", unit="step", disable=not progress):
        rows = torch.from_numpy(rng.integers(0, len(inputs), settings.batch_size))
        loss = (((model(inputs[rows]) - targets[rows]) / model.step_std) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = model(torch.from_numpy(valid_x)).numpy()
    r2 = {name: float(1 - ((valid_y[:, i] - predicted[:, i]) ** 2).mean() / valid_y[:, i].var())
          for i, name in enumerate(OUTPUTS)}
    # an expected step is shorter than a real one (the uncertain part averages out): scale the path
    # so that its mean speed is the real one on the validation inputs
    moved = np.linalg.norm(valid_y[:, :2], axis=1).mean() / max(np.linalg.norm(predicted[:, :2], axis=1).mean(), 1e-12)
    zoomed = np.abs(valid_y[:, 2]).mean() / max(np.abs(predicted[:, 2]).mean(), 1e-12)
    model.gain.copy_(torch.tensor([moved, moved, zoomed], dtype=torch.float32))
    report = TravelReport(settings.steps, len(train_x), time.monotonic() - started, r2,
                          {name: float(g) for name, g in zip(OUTPUTS, model.gain)})
    write_tensors(model_folder / WEIGHTS, {k: v.detach().contiguous() for k, v in model.state_dict().items()})
    write_text_atomic(model_folder / DESCRIPTION, json.dumps(
        {"window": WINDOW, "hidden": HIDDEN, "outputs": list(OUTPUTS), "settings": asdict(settings),
         "report": asdict(report)}, indent=2))
    return report


def load_travel(model_folder: str | os.PathLike) -> TravelModel | None:
    """The folder's travel model, or None if it has none (the dancer then stays where the user stopped)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(model_folder) / WEIGHTS
    if not optional_model_file(path, "the travel model"):
        return None
    description = Path(model_folder) / DESCRIPTION
    try:
        shape = read_json(description, "travel model description")
        matches = (shape["window"], shape["hidden"], shape["outputs"]) == (WINDOW, HIDDEN, list(OUTPUTS))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BopBotError(description, f"unreadable travel model description ({exc})") from None
    if not matches:
        raise BopBotError(description, f"a travel model of another shape (window {shape['window']}, hidden "
                                       f"{shape['hidden']}); this BopBot reads window {WINDOW}, hidden {HIDDEN}")
    model = TravelModel()
    try:
        model.load_state_dict(load_file(str(path)))
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise BopBotError(path, f"unreadable travel model ({exc})") from None
    if not all(torch.isfinite(tensor).all() for tensor in model.state_dict().values()):
        raise BopBotError(path, "the travel model holds NaN or infinite weights")
    return model.eval()


def _predicted_steps(model: TravelModel, frames: np.ndarray) -> np.ndarray:
    """(T, 3) the step the model reads after each of `frames` (poses as generators write them)."""
    with torch.no_grad():
        features = torch.from_numpy(window_features(np.asarray(frames, dtype=np.float32)))
        return (model(features) * model.gain).numpy().astype(np.float64)


def user_speed(context_placement: np.ndarray) -> float | None:
    """How fast the user's hips went over the context's last `PACE_SECONDS`: their mean step in torso
    lengths a frame along the path smoothed over 0.05 s (a detector's flicker is not travel); None
    with under 2 s of context."""
    frames = min(len(context_placement), round(PACE_SECONDS * CORPUS_FPS))
    if frames < 2 * CORPUS_FPS:
        return None
    placement = np.asarray(context_placement[-frames:], dtype=np.float64)
    smoothed = np.concatenate([ndimage.gaussian_filter1d(placement[:, :2], 1.0, axis=0), placement[:, 2:]], axis=1)
    speed = float(np.hypot(*hip_steps(smoothed)[:, :2].T).mean())
    return speed if np.isfinite(speed) else None


def travel_path(model: TravelModel | None, lead: np.ndarray, poses: np.ndarray, start: np.ndarray,
                speed: float | None = None) -> np.ndarray:
    """(T, 3) placement (hip x, hip y, scale) of `poses`, stepping on from `start`, the placement of
    the lead-in's last frame; `lead` (the dance before, as the model reads it) gives the first window.
    With the user's `speed` (`user_speed`), the hips' steps and changes of scale are scaled so that
    the mean step is that speed (the scale within `PACE_RANGE`): the model says where and when the
    dancer steps, the user how fast they travel."""
    start = np.asarray(start, dtype=np.float64)
    if model is None or not len(poses):
        return np.tile(start, (len(poses), 1)).astype(np.float32)
    lead = np.asarray(lead if len(lead) else poses[:1], dtype=np.float32)
    frames = np.concatenate([lead[-WINDOW:], np.asarray(poses, dtype=np.float32)])
    steps = _predicted_steps(model, frames)[len(frames) - len(poses) - 1:-1]  # the step into each new frame
    if speed is not None:
        steps *= np.clip(speed / max(float(np.hypot(*steps[:, :2].T).mean()), 1e-12), *PACE_RANGE)
    placement = np.empty((len(poses), 3))
    current = start.copy()
    for t, (dx, dy, dlog) in enumerate(steps):
        current = np.array([current[0] + dx * current[2], current[1] + dy * current[2], current[2] * np.exp(dlog)])
        placement[t] = current
    return placement.astype(np.float32)

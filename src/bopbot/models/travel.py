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
inputs (`gain`: 1.26 for the default model; 1.70, with R² 0.29 for dx, when its training cameras
turned about the middle of the floor and swept the dancer across the picture as they turned, a
motion no pose foretells: `mocap.py`).

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
the validation R² of each output), written atomically into the model folder. The network and its
training are in `train_travel.py` (PyTorch); a dance runs it in NumPy (`runtime.travel_forward`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..data import filters
from ..data.pose_sequence import CORPUS_FPS
from ..data.skeleton import INDEX, NUM_JOINTS
from ..errors import BopBotError, os_error
from ..reading import read_json
from .training import optional_model_file, required_model_file

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
#: A path that takes the hips farther than this many torso lengths (at the starting scale) from where
#: they started, or grows or shrinks the dancer more than this many times, comes from a damaged model:
#: ten minutes of the liveliest travel is a few thousand torso lengths.
FARTHEST = 1e5
#: The joints a placement is measured from: shoulders and hips.
PLACED = [INDEX[name] for name in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]


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


def travel_shapes() -> dict[str, tuple[int, ...]]:
    """Every tensor the travel model saves (`train_travel.TravelModel`'s)."""
    outputs = len(OUTPUTS)
    return {"net.0.weight": (HIDDEN, FEATURES), "net.0.bias": (HIDDEN,), "net.2.weight": (HIDDEN, HIDDEN),
            "net.2.bias": (HIDDEN,), "net.4.weight": (outputs, HIDDEN), "net.4.bias": (outputs,),
            "feature_mean": (FEATURES,), "feature_std": (FEATURES,), "step_std": (outputs,), "gain": (outputs,)}


class Travel:
    """A trained travel model: its weights as NumPy arrays, named as `train_travel.TravelModel` names
    them, and the file they were read from (named where the path they give is not finite)."""

    def __init__(self, weights: dict, path: Path | None = None):
        self.weights = weights
        self.gain = weights["gain"]
        self.path = path

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """(T, 3) the expected next step after each of the (T, FEATURES) `window_features`."""
        from .runtime import travel_forward

        return travel_forward(self.weights, features)


def load_travel(model_folder: str | os.PathLike) -> Travel | None:
    """The folder's travel model, or None if it has none (the dancer then stays where the user stopped)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(model_folder) / WEIGHTS
    if not optional_model_file(path, "the travel model"):
        return None
    description = Path(model_folder) / DESCRIPTION
    required_model_file(description)  # beside the weights
    try:
        shape = read_json(description, "travel model description")
        matches = (shape["window"], shape["hidden"], shape["outputs"]) == (WINDOW, HIDDEN, list(OUTPUTS))
    except OSError as exc:  # no permission, say
        raise os_error(exc, description, "read") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BopBotError(description, f"unreadable travel model description ({exc})") from None
    if not matches:
        raise BopBotError(description, f"a travel model of another shape (window {shape['window']}, hidden "
                                       f"{shape['hidden']}); this BopBot reads window {WINDOW}, hidden {HIDDEN}")
    try:
        weights = load_file(str(path))
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise BopBotError(path, f"unreadable travel model ({exc})") from None
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if found != travel_shapes():
        raise BopBotError(path, f"unreadable travel model (its weights are not those {DESCRIPTION} describes)")
    if not all(np.isfinite(tensor).all() for tensor in weights.values()):
        raise BopBotError(path, "the travel model holds NaN or infinite weights")
    if not (weights["feature_std"] > 0).all():
        raise BopBotError(path, "damaged travel model: 'feature_std' must be above 0 (the features are divided by it)")
    return Travel({k: v.astype(np.float32) for k, v in weights.items()}, path)


def _predicted_steps(model: Travel, frames: np.ndarray) -> np.ndarray:
    """(T, 3) the step the model reads after each of `frames` (poses as generators write them)."""
    features = window_features(np.asarray(frames, dtype=np.float32))
    return (model(features) * model.gain).astype(np.float64)


def user_speed(context_placement: np.ndarray) -> float | None:
    """How fast the user's hips went over the context's last `PACE_SECONDS`: their mean step in torso
    lengths a frame along the path smoothed over 0.05 s (a detector's flicker is not travel); None
    with under 2 s of context."""
    frames = min(len(context_placement), round(PACE_SECONDS * CORPUS_FPS))
    if frames < 2 * CORPUS_FPS:
        return None
    placement = np.asarray(context_placement[-frames:], dtype=np.float64)
    smoothed = np.concatenate([filters.gaussian_filter1d(placement[:, :2], 1.0, axis=0), placement[:, 2:]], axis=1)
    speed = float(np.hypot(*hip_steps(smoothed)[:, :2].T).mean())
    return speed if np.isfinite(speed) else None


def travel_path(model: Travel | None, lead: np.ndarray, poses: np.ndarray, start: np.ndarray,
                speed: float | None = None) -> np.ndarray:
    """(T, 3) placement (hip x, hip y, scale) of `poses`, stepping on from `start`, the placement of
    the lead-in's last frame; `lead` (the dance before, as the model reads it) gives the first window.
    With the user's `speed` (`user_speed`), the hips' steps and changes of scale are scaled so that
    the mean step is that speed (the scale within `PACE_RANGE`): the model says where and when the
    dancer steps, the user how fast they travel. A BopBotError names the model's file where the path
    is not finite (`runtime.finite`: finite but absurd weights) or leads past `FARTHEST`, where it
    would be drawn at pixels no canvas has."""
    from .runtime import finite

    start = np.asarray(start, dtype=np.float64)
    if model is None or not len(poses):
        return np.tile(start, (len(poses), 1)).astype(np.float32)
    lead = np.asarray(lead if len(lead) else poses[:1], dtype=np.float32)
    frames = np.concatenate([lead[-WINDOW:], np.asarray(poses, dtype=np.float32)])
    with np.errstate(all="ignore"):
        steps = _predicted_steps(model, frames)[len(frames) - len(poses) - 1:-1]  # the step into each new frame
        if speed is not None:
            steps *= np.clip(speed / max(float(np.hypot(*steps[:, :2].T).mean()), 1e-12), *PACE_RANGE)
        placement = np.empty((len(poses), 3))
        current = start.copy()
        for t, (dx, dy, dlog) in enumerate(steps):
            current = np.array([current[0] + dx * current[2], current[1] + dy * current[2], current[2] * np.exp(dlog)])
            placement[t] = current
        placement = finite(placement.astype(np.float32), model.path)
        size = max(float(start[2]), 1e-9)
        reach = float(np.abs(placement[:, :2] - start[:2]).max()) / size
        growth = float(np.abs(np.log(placement[:, 2] / size)).max())
    if not (reach <= FARTHEST and growth <= np.log(FARTHEST)):
        raise BopBotError(model.path, f"led the dancer {reach:.3g} torso lengths away (at most {FARTHEST:g}), or grew "
                                      f"or shrank them {FARTHEST:g} times or more: is it damaged?")
    return placement

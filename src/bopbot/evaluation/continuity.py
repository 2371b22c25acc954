"""Does the new dance carry on from the user's? Join, view, travel and frame, per dance.

Each figure compares a continuation with the context it continues. Inputs are what the viewer
sees: pixel keypoints of the context and of the continuation on the same canvas (T, 17, 3).
Distances are in torso lengths of the context's last frame, speeds per second.

* `join_ratio`: how far the first new frame is from the last real one (mean joint distance, the
  whole body placed), over the continuation's own median step. A real continuation scores about 1;
  a jump scores several. `handover_ratio`: the fastest step of its first 3 s over its median step
  after them, for a lurch into the new dance that the first frame does not show.
* `side_on_fraction`: the share of frames seen side-on (shoulders less than `SIDE_ON` torso lengths
  apart horizontally); `view_shift` is the continuation's share less the context's last
  `VIEW_SECONDS`, for contexts that were frontal (side-on in under `FRONTAL` of their frames).
* `hip_excursion`: the farthest the hips get from where the context ended; `root_speed` their mean
  speed.
* `inside_frame`: the share of frames whose every joint is inside the canvas.
* `motion_ratio`: the continuation's mean joint speed (or acceleration) over the context's, both
  on normalised poses (centred on the hips, in torso lengths): does the new dance move as much as
  the user did? Real continuations give the band a generator's should fall in.
"""

from __future__ import annotations

import numpy as np

from ..data.motion import mean_motion
from ..data.normalise import normalise
from ..data.skeleton import INDEX

#: Shoulders closer than this horizontally (torso lengths) mean the dancer is seen side-on.
SIDE_ON = 0.35
#: The context's view is read from its last seconds...
VIEW_SECONDS = 2.0
#: ...and is frontal when at most this share of them is side-on.
FRONTAL = 0.2

_SHOULDERS = [INDEX["left_shoulder"], INDEX["right_shoulder"]]
_HIPS = [INDEX["left_hip"], INDEX["right_hip"]]


def _reference_scale(context: np.ndarray) -> float:
    """The context's last placement scale (its torso length in pixels)."""
    return float(normalise(context[-1:])[1][0, 2])


def joint_steps(context: np.ndarray, continuation: np.ndarray) -> np.ndarray:
    """The mean joint step into each frame of the continuation, the first from the context's last
    frame (joints seen in both frames; NaN where none is)."""
    both = np.concatenate([context[-1:], continuation])[:, :, :2].astype(np.float64)
    seen = (np.concatenate([context[-1:], continuation])[:, :, 2] > 0)
    return np.array([np.linalg.norm(both[t + 1] - both[t], axis=1)[seen[t] & seen[t + 1]].mean()
                     if (seen[t] & seen[t + 1]).any() else np.nan for t in range(len(both) - 1)])


def join_ratio(context: np.ndarray, continuation: np.ndarray) -> float:
    """First-frame displacement over the continuation's median frame-to-frame step."""
    steps = joint_steps(context, continuation)
    median = np.nanmedian(steps[1:]) if len(steps) > 1 else np.nan
    return float(steps[0] / max(median, 1e-9 * _reference_scale(context)))


def handover_ratio(context: np.ndarray, continuation: np.ndarray, frames: int = 60) -> float:
    """The fastest step of the continuation's first `frames` (its first from the context's last
    frame included) over its median step after them: a lurch into the new dance reads high."""
    steps = joint_steps(context, continuation)
    median = np.nanmedian(steps[frames:]) if len(steps) > frames else np.nan
    return float(np.nanmax(steps[:frames]) / max(median, 1e-9 * _reference_scale(context)))


def side_on_fraction(keypoints: np.ndarray) -> float:
    """Share of the frames (with both shoulders and hips) in which the dancer is seen side-on."""
    poses, _ = normalise(keypoints)
    seen = (poses[:, _SHOULDERS + _HIPS, 2] > 0).all(axis=1)
    if not seen.any():
        return float("nan")
    width = np.abs(poses[seen, _SHOULDERS[0], 0] - poses[seen, _SHOULDERS[1], 0])
    torso = np.linalg.norm(poses[seen][:, _SHOULDERS, :2].mean(axis=1) - poses[seen][:, _HIPS, :2].mean(axis=1), axis=1)
    return float(np.mean(width / np.maximum(torso, 1e-6) < SIDE_ON))


def view_shift(context: np.ndarray, continuation: np.ndarray, fps: float) -> float:
    """Side-on share of the continuation less that of the context's last seconds; NaN unless the
    context was frontal."""
    before = side_on_fraction(context[-round(VIEW_SECONDS * fps):])
    if not before <= FRONTAL:
        return float("nan")
    return side_on_fraction(continuation) - before


def _hips(keypoints: np.ndarray) -> np.ndarray:
    return normalise(keypoints)[1][:, :2].astype(np.float64)


def hip_excursion(context: np.ndarray, continuation: np.ndarray) -> float:
    """The farthest the hips get from the context's last placement, in its torso lengths."""
    start = _hips(context[-1:])[0]
    return float(np.linalg.norm(_hips(continuation) - start, axis=1).max() / _reference_scale(context))


def root_speed(context: np.ndarray, continuation: np.ndarray, fps: float) -> float:
    """Mean speed of the hips over the continuation, in the context's torso lengths per second."""
    hips = np.concatenate([_hips(context[-1:]), _hips(continuation)])
    return float(np.linalg.norm(np.diff(hips, axis=0), axis=1).mean() * fps / _reference_scale(context))


def inside_frame(keypoints: np.ndarray, size: tuple[int, int]) -> float:
    """Share of frames whose every present joint lies inside a `size` canvas."""
    width, height = size
    xy, seen = keypoints[:, :, :2], keypoints[:, :, 2] > 0
    inside = (xy[:, :, 0] >= 0) & (xy[:, :, 0] <= width) & (xy[:, :, 1] >= 0) & (xy[:, :, 1] <= height)
    return float(np.mean((inside | ~seen).all(axis=1)))


def motion_ratio(context: np.ndarray, continuation: np.ndarray, order: int = 1) -> float:
    """The continuation's mean joint speed (`order` 1) or acceleration (2) over the context's."""
    return mean_motion(normalise(continuation)[0], order) / max(mean_motion(normalise(context)[0], order), 1e-12)

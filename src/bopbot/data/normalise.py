"""Normalisation: take where the dancer stands and how large they appear out of every frame.

Each frame is centred on the mid-hip and divided by the dancer's body scale, so a dancer small on
the left and one large in the middle give the same poses. The per-frame placement
(centre x, centre y, scale) is kept, and `denormalise` puts the dancer back on the canvas.

The original system scaled each frame's bounding box to a fixed height. That makes the scale
depend on the pose itself: raising the arms or crouching would shrink or grow the whole body. We
use the torso length (mid-shoulder to mid-hip), which a pose barely changes, with the bounding-box
height as a floor (`BBOX_FLOOR`) for frames where the torso is foreshortened, e.g. a bow to the
camera. Units: one normalised unit is one torso length, y points down as in images.
"""

from __future__ import annotations

import warnings

import numpy as np

from .skeleton import INDEX

#: A joint counts for placement when its confidence is above this.
PLACEMENT_CONFIDENCE = 0.2
#: The scale is never below bounding-box height / BBOX_FLOOR (a standing dancer's box, nose to
#: ankle, is about 3.3 torso lengths, so the torso decides unless it is strongly foreshortened).
BBOX_FLOOR = 4.0

_SHOULDERS = [INDEX["left_shoulder"], INDEX["right_shoulder"]]
_HIPS = [INDEX["left_hip"], INDEX["right_hip"]]


def _mean_of_present(points: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over axis 1 of the points where `ok`; returns (means, any_present)."""
    count = ok.sum(axis=1)
    total = (points * ok[..., None]).sum(axis=1)
    return total / np.maximum(count, 1)[:, None], count > 0


def placement_of(keypoints: np.ndarray) -> np.ndarray:
    """(T, 3) placement (centre x, centre y, scale) of (T, 17, 3) keypoints in pixels.

    Frames with fewer than two confident joints cannot be placed on their own; they borrow the
    placement of the nearest frame that can (or the identity placement if none can).
    """
    xy = keypoints[:, :, :2].astype(np.float64)
    ok = keypoints[:, :, 2] > PLACEMENT_CONFIDENCE
    hips, has_hips = _mean_of_present(xy[:, _HIPS], ok[:, _HIPS])
    shoulders, has_shoulders = _mean_of_present(xy[:, _SHOULDERS], ok[:, _SHOULDERS])

    big = np.where(ok[..., None], xy, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: frames nobody is in
        low = np.nanmin(big, axis=1)
        high = np.nanmax(big, axis=1)
    placeable = ok.sum(axis=1) >= 2
    low = np.where(placeable[:, None], low, 0.0)
    high = np.where(placeable[:, None], high, 0.0)
    box_centre = (low + high) / 2
    box_height = high[:, 1] - low[:, 1]

    torso = np.where(has_hips & has_shoulders, np.linalg.norm(shoulders - hips, axis=1), 0.0)
    scale = np.maximum(torso, box_height / BBOX_FLOOR)
    centre = np.where(has_hips[:, None], hips, box_centre)
    placeable &= scale > 1e-6

    placement = np.zeros((len(keypoints), 3))
    placement[:, :2] = centre
    placement[:, 2] = scale
    return _fill_from_nearest(placement, placeable).astype(np.float32)


def _fill_from_nearest(placement: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Give every invalid row the value of the nearest valid row (identity if there is none)."""
    if not valid.any():
        placement[:] = (0.0, 0.0, 1.0)
        return placement
    frames = np.arange(len(placement))
    good = frames[valid]
    position = np.clip(np.searchsorted(good, frames), 1, max(len(good) - 1, 1))
    before = good[position - 1]
    after = good[np.minimum(position, len(good) - 1)]
    nearest = np.where(np.abs(frames - before) <= np.abs(after - frames), before, after)
    return placement[nearest]


def normalise(keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split (T, 17, 3) pixel keypoints into normalised poses (T, 17, 3) and placement (T, 3).

    Missing joints (confidence 0) come out as (0, 0, 0).
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    placement = placement_of(keypoints)
    poses = np.empty_like(keypoints)
    poses[:, :, :2] = (keypoints[:, :, :2] - placement[:, None, :2]) / placement[:, None, 2:3]
    poses[:, :, 2] = keypoints[:, :, 2]
    poses[keypoints[:, :, 2] <= 0] = 0.0
    return poses, placement


def denormalise(poses: np.ndarray, placement: np.ndarray) -> np.ndarray:
    """Put normalised poses back on the canvas: the inverse of `normalise`."""
    poses = np.asarray(poses, dtype=np.float32)
    placement = np.asarray(placement, dtype=np.float32)
    keypoints = np.empty_like(poses)
    keypoints[:, :, :2] = poses[:, :, :2] * placement[:, None, 2:3] + placement[:, None, :2]
    keypoints[:, :, 2] = poses[:, :, 2]
    keypoints[poses[:, :, 2] <= 0] = 0.0
    return keypoints

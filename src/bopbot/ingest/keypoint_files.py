"""Keypoint array files (`.npz`, `.npy`) as PoseSequences.

A `.npz` written by BopBot (`PoseSequence.save`) loads as it is. Any other `.npz` (its
`keypoints` array, or its only array) or `.npy` holds (T, J, 2) or (T, J, 3) keypoints in pixels,
x, y and optionally a confidence, in a layout known by its joint count J: 17 (COCO-17),
18 (OpenPose COCO-18), 25 (OpenPose BODY_25) or 33 (MediaPipe). NaN marks a missing joint. Bare
arrays carry no timing or size: an `fps` array in the `.npz` is used if present, else the
caller's `fps`; the size is the keypoints' extent.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..data.pose_sequence import PoseSequence
from ..data.skeleton import to_coco17
from ..errors import BopBotError


def _read_array(path: Path) -> tuple[np.ndarray, float | None]:
    """The keypoint array in `path` and the fps stored beside it, if any."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise BopBotError(path, f"unreadable keypoint file ({exc})") from None
    if isinstance(loaded, np.ndarray):
        return loaded, None
    with loaded:
        names = list(loaded.files)
        name = "keypoints" if "keypoints" in names else (names[0] if len(names) == 1 else None)
        if name is None:
            raise BopBotError(path, f"no 'keypoints' array among {names}")
        try:
            fps = float(loaded["fps"]) if "fps" in names else None
            return loaded[name], fps
        except (OSError, ValueError, TypeError, zipfile.BadZipFile, EOFError) as exc:  # object arrays, damage
            raise BopBotError(path, f"unreadable keypoint file ({' '.join(str(exc).split())})") from None


def load_keypoint_file(path: str | Path, fps: float) -> PoseSequence:
    """Read a `.npz`/`.npy` keypoint file as a PoseSequence (see the module docs for layouts)."""
    path = Path(path)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                is_sequence = {"keypoints", "fps", "size", "joints"} <= set(data.files)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise BopBotError(path, f"unreadable keypoint file ({exc})") from None
        if is_sequence:
            return PoseSequence.load(path)
    array, stored_fps = _read_array(path)
    if array.ndim != 3 or array.shape[2] not in (2, 3) or not np.issubdtype(array.dtype, np.number):
        raise BopBotError(path, f"expected a (frames, joints, 2 or 3) number array, got {array.dtype} {array.shape}")
    try:
        array = to_coco17(array.astype(np.float64))
    except ValueError as exc:
        raise BopBotError(path, str(exc)) from None
    keypoints = np.zeros(array.shape[:2] + (3,))
    keypoints[:, :, :2] = array[:, :, :2]
    keypoints[:, :, 2] = array[:, :, 2] if array.shape[2] == 3 else 1.0
    keypoints[~np.isfinite(keypoints).all(axis=2) | (keypoints[:, :, 2] <= 0)] = 0.0
    keypoints[:, :, 2] = np.clip(keypoints[:, :, 2], 0.0, 1.0)
    present = keypoints[keypoints[:, :, 2] > 0]
    extent = np.ceil(present[:, :2].max(axis=0)) if len(present) else np.ones(2)
    return PoseSequence(keypoints, stored_fps or fps, (int(extent[0]), int(extent[1])), str(path))

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

from ..data.pose_sequence import MAX_SIDE, PoseSequence, check_coordinates, check_frame_count
from ..data.skeleton import to_coco17
from ..errors import BopBotError
from ..reading import array_header, array_names

#: Joint counts of the layouts read (see the module docs).
LAYOUT_JOINTS = (17, 18, 25, 33)


def _keypoint_name(path: Path) -> str:
    """The keypoint array's name in `path` ("" for a `.npy`), its shape checked from its header
    before it is read: (frames, joints of a known layout, 2 or 3) numbers, frames within MAX_FRAMES."""
    names = array_names(path)
    name = "keypoints" if "keypoints" in names else (names[0] if len(names) == 1 else None)
    if name is None:
        raise BopBotError(path, f"no 'keypoints' array among {sorted(names)}")
    shape, dtype = array_header(path, name)
    if len(shape) != 3 or shape[2] not in (2, 3) or dtype.kind not in "biuf":
        raise BopBotError(path, f"expected a (frames, joints, 2 or 3) number array, got {dtype} {shape}")
    if shape[1] not in LAYOUT_JOINTS:
        raise BopBotError(path, f"{shape[1]} joints is no layout BopBot knows "
                                f"({', '.join(map(str, LAYOUT_JOINTS))} joints)")
    check_frame_count(path, shape[0])
    return name


def _read_array(path: Path) -> tuple[np.ndarray, float | None]:
    """The keypoint array in `path` and the fps stored beside it, if any."""
    name = _keypoint_name(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise BopBotError(path, f"unreadable keypoint file ({exc})") from None
    if isinstance(loaded, np.ndarray):
        return loaded, None
    with loaded:
        try:
            fps = loaded["fps"] if "fps" in loaded.files else None
            keypoints = loaded[name]
        except (OSError, ValueError, TypeError, zipfile.BadZipFile, EOFError) as exc:  # object arrays, damage
            raise BopBotError(path, f"unreadable keypoint file ({' '.join(str(exc).split())})") from None
    # several numbers were taken for no fps at all: the dance played at --source-fps
    if fps is not None and (fps.size != 1 or fps.dtype.kind not in "iuf" or not 0.1 <= float(fps) <= 1000):
        raise BopBotError(path, f"'fps' must be one number of 0.1 to 1000, got {fps.tolist()!r:.60}")
    return keypoints, None if fps is None else float(fps)


def load_keypoint_file(path: str | Path, fps: float) -> PoseSequence:
    """Read a `.npz`/`.npy` keypoint file as a PoseSequence (see the module docs for layouts)."""
    path = Path(path)
    if path.suffix.lower() == ".npz" and {"keypoints", "fps", "size", "joints"} <= set(array_names(path)):
        return PoseSequence.load(path)
    array, stored_fps = _read_array(path)
    if not np.issubdtype(array.dtype, np.number):
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
    check_coordinates(path, keypoints)
    present = keypoints[keypoints[:, :, 2] > 0]
    extent = np.maximum(np.ceil(present[:, :2].max(axis=0)), 1) if len(present) else np.ones(2)
    if extent.max() > MAX_SIDE:
        raise BopBotError(path, f"the keypoints reach {extent.max():.0f} px; a source video is at most {MAX_SIDE} px "
                                "a side")
    return PoseSequence(keypoints, stored_fps or fps, (int(extent[0]), int(extent[1])), str(path))

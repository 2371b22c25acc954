"""Movement limits for poses: every joint's speed bounded to what dancers reach, then a low-pass.

`smooth` limits every joint's speed to `MAX_JOINT_SPEED` torso lengths a second and low-passes the
motion; it is what turns keyframes (the words' poses) into movement a dancer could make.
"""

from __future__ import annotations

import numpy as np

from .filters import gaussian_filter1d
from .pose_sequence import CORPUS_FPS

#: Fastest a joint may move, in torso lengths per second (a fast dancer's wrist reaches ~10).
MAX_JOINT_SPEED = 8.0
#: Width of the low-pass after the speed limit, in seconds.
SMOOTHING_SECONDS = 0.06


def smooth(poses: np.ndarray, fps: float = CORPUS_FPS, max_speed: float = MAX_JOINT_SPEED,
           smoothing_seconds: float = SMOOTHING_SECONDS) -> np.ndarray:
    """Bound every joint's speed to `max_speed` torso lengths/s, then low-pass; (T, 17, 3) in and out.

    The speed limit moves each joint towards its keyframe by at most `max_speed / fps` a frame;
    the Gaussian low-pass that follows is a weighted average of frames, so it cannot raise the
    largest step: the bound holds for the result.
    """
    poses = np.asarray(poses, dtype=np.float32)
    out = poses.copy()
    step = max_speed / fps
    for t in range(1, len(out)):
        delta = poses[t, :, :2] - out[t - 1, :, :2]
        length = np.linalg.norm(delta, axis=1, keepdims=True)
        out[t, :, :2] = out[t - 1, :, :2] + delta * np.minimum(1.0, step / np.maximum(length, 1e-9))
    sigma = smoothing_seconds * fps
    if sigma > 0 and len(out) > 1:
        out[:, :, :2] = gaussian_filter1d(out[:, :, :2], sigma, axis=0, mode="nearest")
    return out


def mean_motion(poses: np.ndarray, order: int = 1) -> float:
    """Mean joint speed (`order` 1) or acceleration (2) per frame of (T, 17, 3) poses, over the joints
    present (confidence above 0) in every frame it spans; NaN when none is."""
    poses = np.asarray(poses)
    seen = poses[:, :, 2] > 0
    for _ in range(order):
        seen = seen[1:] & seen[:-1]
    moves = np.linalg.norm(np.diff(poses[:, :, :2].astype(np.float64), n=order, axis=0), axis=2)
    return float(moves[seen].mean()) if seen.any() else float("nan")


def smoothstep_frames(gap: float, step: float, shortest: int, longest: int) -> int:
    """How many frames a smoothstep needs to close `gap` with its steepest frame (which covers
    1.5 / frames of the gap) no longer than `step`: `shortest` at least, `longest` at most. The
    poses' handover (`choreograph.handover_frames`) and the frame's ease (`framing.keep_in_frame`)
    both go at the new dance's own pace by it."""
    return int(np.clip(np.ceil(1.5 * gap / max(step, 1e-9)), shortest, longest))

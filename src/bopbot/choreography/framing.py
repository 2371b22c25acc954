"""Keep the whole bopbot dancer (helmet, limbs, the shadow at its feet) inside the picture: shrink
and shift it smoothly wherever it would not fit, the camera following gently."""

from __future__ import annotations

import warnings

import numpy as np

from ..data import filters
from ..data.motion import smoothstep_frames
from ..data.pose_sequence import CORPUS_FPS
from ..data.skeleton import INDEX

#: Room the robot needs beyond its joints, in torso lengths: above (its helmet), below (the shadow
#: at its feet) and to each side (limb thickness); see `draw.draw_dancer`.
ROBOT_MARGINS = (0.35, 0.3, 0.15)
#: A dancer taller or wider than this share of the picture is shrunk to it.
FIT = 0.95
#: The longest the robot takes to ease into the frame, however far the frame moves it.
LONGEST_EASE_SECONDS = 3.0


def _smallest_scale(required: np.ndarray, frames: int) -> np.ndarray:
    """A smooth curve at or below a per-frame largest allowed scale: the minimum over +-`frames`
    frames, then a Gaussian whose reach (4 sigma) is no wider, so every frame it averages met it."""
    lowest = filters.minimum_filter1d(required, 2 * frames + 1, mode="nearest")
    return filters.gaussian_filter1d(lowest, frames / 4, mode="nearest", truncate=4.0)


def _shift_within(low: np.ndarray, high: np.ndarray, frames: int, rounds: int = 12) -> np.ndarray:
    """A smooth shift inside the per-frame corridor [low, high] (low <= high), 0 where 0 fits:
    smoothed and clipped back into the corridor in turns, ending clipped, so it never leaves it."""
    shift = np.clip(0.0, low, high)
    for _ in range(rounds):
        shift = np.clip(filters.gaussian_filter1d(shift, frames / 4, mode="nearest"), low, high)
    return shift


def _fit(xy: np.ndarray, hips: np.ndarray, margins: tuple[np.ndarray, ...], size: tuple[int, int], fit: float,
         frames: int) -> np.ndarray:
    """(T, 17, 2) joints (NaN where missing) shrunk about the `hips` wherever the body plus its
    `margins` (above, below, to each side, per frame) is over `fit` of the canvas, then moved by the
    smallest smooth shift that puts it inside; both changes reach at most `frames` either side."""
    width, height = size
    above, below, side = margins

    def extent(points: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, ...]:
        """Left, right, top, bottom of the body drawn at `points`, margins included."""
        return (np.nanmin(points[:, :, 0], axis=1) - side * scale, np.nanmax(points[:, :, 0], axis=1) + side * scale,
                np.nanmin(points[:, :, 1], axis=1) - above * scale, np.nanmax(points[:, :, 1], axis=1) + below * scale)

    left, right, top, bottom = extent(xy, np.ones(len(xy)))
    fits = np.minimum(fit * width / np.maximum(right - left, 1e-6), fit * height / np.maximum(bottom - top, 1e-6))
    scale = _smallest_scale(np.minimum(1.0, fits), frames)
    xy = hips[:, None, :] + (xy - hips[:, None, :]) * scale[:, None, None]
    left, right, top, bottom = extent(xy, scale)
    shift = np.stack([_shift_within(-left, width - right, frames), _shift_within(-top, height - bottom, frames)], axis=1)
    return xy + shift[:, None, :]


def _centre(xy: np.ndarray, part: str) -> np.ndarray:
    """(T, 2) the mid-point of the left and right `part` (hip, shoulder) of (T, 17, 2) joints, NaN
    where neither is present."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a frame without that part
        return np.nanmean(xy[:, [INDEX[f"left_{part}"], INDEX[f"right_{part}"]]], axis=1)


def _height(xy: np.ndarray) -> np.ndarray:
    """(T,) the height of the present joints of (T, 17, 2) joints (NaN where missing), top to bottom:
    about 3.3 torso lengths for a standing dancer. Every frame must have a joint."""
    return np.nanmax(xy[:, :, 1], axis=1) - np.nanmin(xy[:, :, 1], axis=1)


def _ease_frames(start: np.ndarray, fitted: np.ndarray, shortest: int, longest: int) -> int:
    """How many frames the robot eases into the frame over, from the user's framing of the first
    frame (`start`, (17, 2)) to the `fitted` dance's ((T, 17, 2), NaN where missing): `shortest` at
    least, and long enough that the smoothstep's steepest frame goes no faster than the fitted
    dance's median step (`motion.smoothstep_frames`), `longest` at most. A dance shorter than twice
    `longest` eases in over its first half at most."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a joint missing throughout
        correction = np.nanmean(np.linalg.norm(fitted[0] - start, axis=1))
        steps = np.nanmean(np.linalg.norm(np.diff(fitted, axis=0), axis=2), axis=1)
    longest = max(shortest, min(longest, len(fitted) // 2))
    if not np.isfinite(correction) or correction == 0 or len(fitted) < 2:
        return shortest
    return smoothstep_frames(correction, np.nanmedian(steps) if np.isfinite(steps).any() else 0.0, shortest, longest)


def keep_in_frame(keypoints: np.ndarray, size: tuple[int, int], seconds: float = 1.0, ease_in: bool = False) -> np.ndarray:
    """Pixel keypoints of the bopbot dancer moved and scaled, smoothly, so that the whole robot
    (helmet, limbs and the shadow at its feet) stays inside a `size` canvas in every frame.

    First the dancer is shrunk (about the hips) wherever it would not fit, to at most `FIT` of the
    picture; then moved by the smallest smooth shift that keeps it inside. Frames already inside
    are not touched unless a neighbour within `seconds` needs room: the camera follows the dancer
    gently rather than jumping.

    With `ease_in` the first frame is left where it is and the correction grows to its whole over
    `seconds` or longer (smoothstep; `_ease_frames`, up to `LONGEST_EASE_SECONDS`): a continuation of a user who fills the picture starts where the user was
    and moves its helmet and shadow into the frame, instead of shrinking at the join. Joints the
    user's frame cut off (their feet, say) start where they were, outside, and come in with the same
    ease: moving them in at once was a jump of 6 to 12 steps at the join on cut-off phone clips, and
    easing them in over a fixed second made the first half second move 7.7 times the dance's median
    step on one (docs/handover_trial.py). Every frame from the ease's end on has the whole robot in.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32).copy()
    present = keypoints[:, :, 2] > 0
    if not present.any(axis=1).all():
        return keypoints
    frames = max(1, round(seconds * CORPUS_FPS))
    xy = np.where(present[..., None], keypoints[:, :, :2], np.nan).astype(np.float64)
    hips = _centre(xy, "hip")
    torso = np.linalg.norm(_centre(xy, "shoulder") - hips, axis=1)
    torso = np.where(np.isnan(torso), _height(xy) / 3.3, torso)
    hips = np.where(np.isnan(hips), np.nanmean(xy, axis=1), hips)
    robot = tuple(margin * torso for margin in ROBOT_MARGINS)
    fitted = _fit(xy, hips, robot, size, FIT, frames)
    if ease_in:
        ease = _ease_frames(xy[0], fitted, frames, max(frames, round(LONGEST_EASE_SECONDS * CORPUS_FPS)))
        ramp = np.clip(np.arange(len(xy)) / ease, 0.0, 1.0)
        weight = (ramp * ramp * (3 - 2 * ramp))[:, None, None]
        fitted = xy + weight * (fitted - xy)
        eased_hips = _centre(fitted, "hip")
        eased_hips = np.where(np.isnan(eased_hips), np.nanmean(fitted, axis=1), eased_hips)
        half_pixel = tuple(np.full(len(xy), 0.5) for _ in ROBOT_MARGINS)  # joints on the canvas, rounding aside
        fitted = fitted + weight * (_fit(fitted, eased_hips, half_pixel, size, 1.0, max(1, frames // 4)) - fitted)
    keypoints[:, :, :2] = np.where(present[..., None], fitted, keypoints[:, :, :2])
    return keypoints

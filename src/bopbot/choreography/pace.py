"""The new dance at the user's pace: played faster or slower so its joints move as fast as the user's.

A generator writes its dance at the pace of the dances it learnt from, whoever it continues: the
default model's corpus is ballroom and salsa, so a phone user swaying gently was continued at four
times their own joint speed, and a quick dancer slowed down. The user's pace is in the context:
`pace_rate` reads the mean joint speed of its last `PACE_SECONDS` (hip-centred, torso-scaled
poses, as `continuity.motion_ratio` measures it) and finds the rate at which the written dance's
joints cover as much ground in the frames shown, and `at_pace` plays the written dance back at that
rate (frame t of the new dance shows written frame t x rate, joints drawn on a cubic spline
through the written frames, so a slowed move stays smooth). Timing, not
size: the poses are the generator's, only the time between them changes, and a joint's acceleration
scales with the square of the rate.

Why time and not the size of the moves: scaling each joint's excursion would shorten the limbs
(the mean of an arm raised and lowered is a short arm), and time keeps the generator's poses as
they are. Measured with `docs/user_trial.py` (docs/command-line.md): phone dancers were continued at
4.2x the real next 10 s' joint speed, now at 0.98x; frontal mocap at 0.97x, its acceleration 1.09x.

The rate is kept within `PACE_RANGE`: a user standing still is continued slowly, not frozen, and
the generator is asked for `PACE_RANGE[1]` times the frames shown (`frames_to_write`), so a dance
played faster never runs out. On a song the beat sets the pace instead: the beat warp
(`music.retime`) plays the dance as written, within its own bounds, with its stops on the beats.
`Pace` holds that choice, one plan for `bopbot dance` and `bopbot evaluate` alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..data.motion import mean_motion
from ..data.pose_sequence import CORPUS_FPS
from ..data.splines import cubic_spline
from ..music.retime import source_frames_needed

#: The user's pace is read from this much of the context's end.
PACE_SECONDS = 8.0
#: The written dance is played at most this much slower (first) or faster (second).
PACE_RANGE = (0.1, 1.5)


def frames_to_write(frames: int) -> int:
    """How many frames a generator writes for `frames` frames played at any rate in `PACE_RANGE`."""
    return math.ceil(frames * PACE_RANGE[1]) + 1


def pace_rate(context: np.ndarray, written: np.ndarray, frames: int) -> float:
    """Written frames per shown frame that give the `frames` shown the mean joint speed of the
    context's last `PACE_SECONDS` (both (T, 17, 3) normalised poses); within `PACE_RANGE`, and 1 when
    the context has no joint seen moving.

    The joints' mean path length through the written frames grows with every frame, so the rate is
    where it reaches the user's speed times `frames`: the part of the written dance shown then
    covers, in `frames`, the ground the user's joints would have covered (a dance that starts on a
    held pose and moves on later is judged on the part shown, not on its average).
    """
    user = mean_motion(np.asarray(context)[-round(PACE_SECONDS * CORPUS_FPS):])
    written = np.asarray(written)
    if not (np.isfinite(user) and user > 0) or len(written) < 2:
        return 1.0
    steps = np.linalg.norm(np.diff(written[:, :, :2].astype(np.float64), axis=0), axis=2).mean(axis=1)
    path = np.concatenate([[0.0], np.cumsum(steps)]) + 1e-12 * np.arange(len(written))  # strictly rising
    reached = np.interp(user * frames, path, np.arange(len(written)), right=np.inf)
    return float(np.clip(reached / frames, *PACE_RANGE))


def pace_times(rate: float, frames: int, written: int) -> np.ndarray:
    """The (fractional) written frame each of `frames` shown frames plays, at `rate`."""
    return np.minimum(np.arange(frames, dtype=np.float64) * rate, written - 1)


def at_pace(poses: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(len(times), 17, 3) poses at the fractional frames `times`: joints on a cubic spline through
    the frames, each confidence the lower of the frames either side."""
    poses = np.asarray(poses, dtype=np.float32)
    if len(poses) < 2:
        return np.repeat(poses[:1], len(times), axis=0)
    out = np.empty((len(times),) + poses.shape[1:], dtype=np.float32)
    out[:, :, :2] = cubic_spline(poses[:, :, :2], times)
    below = np.floor(times).astype(int)
    above = np.minimum(below + 1, len(poses) - 1)
    out[:, :, 2] = np.minimum(poses[below, :, 2], poses[above, :, 2])
    return out


@dataclass(frozen=True)
class Pace:
    """How `frames` frames of new dance are timed: at the user's pace, or, on a song's beats
    (`on_beat`), as written for the beat warp to time (it reads up to `source_frames_needed`)."""

    frames: int
    on_beat: bool

    @property
    def shown(self) -> int:
        """Frames played before the beat warp: the dance itself, or the warp's source."""
        return source_frames_needed(self.frames) if self.on_beat else self.frames

    @property
    def written(self) -> int:
        """Frames to ask the generator for."""
        return self.shown if self.on_beat else frames_to_write(self.shown)

    def times(self, context: np.ndarray, dance: np.ndarray) -> np.ndarray:
        """The fractional frame of the written `dance` each shown frame plays (see `pace_times`)."""
        rate = 1.0 if self.on_beat else pace_rate(context, dance, self.shown)
        return pace_times(rate, self.shown, len(dance))

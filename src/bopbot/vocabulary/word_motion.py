"""Pose words back into movement.

Word poses are keyframes, and consecutive different words would make the dancer jump (the
original system showed them as they came). `word_motion` puts each run of one word at the run's
middle and moves every joint between them along a monotone cubic, so the dancer keeps moving
through a held word as the real dancer did (showing each word for its whole run halves the
median step: the dancer freezes, then jumps).
"""

from __future__ import annotations

import numpy as np

from ..data.splines import pchip


def word_motion(vocabulary, ids: np.ndarray) -> np.ndarray:
    """(T, 17, 3) poses of the (T,) word ids as movement: the pose of each run of one word sits at
    the run's middle frame, and every joint moves between those keyframes along a monotone cubic
    (no overshoot past either pose); before the first middle and after the last, the pose holds."""
    ids = np.asarray(ids)
    poses = vocabulary.decode(ids)
    starts = np.flatnonzero(np.diff(ids, prepend=-1))
    if len(starts) < 2:
        return poses
    middles = (starts + np.append(starts[1:], len(ids)) - 1) / 2.0
    keys = poses[starts, :, :2].reshape(len(starts), -1)
    frames = np.clip(np.arange(len(ids)), middles[0], middles[-1])
    poses[:, :, :2] = pchip(middles, keys, frames).reshape(len(ids), -1, 2)
    return poses

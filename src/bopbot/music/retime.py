"""Dancing on the beat: the new dance played back along a time warp that puts its stops on the music's beats.

A dancer's beats are the dips of its joint speed (`beats.motion_beats`, AIST++'s motion beats), and
the Beat Align Score asks that they fall on the music's beats. The generators write their words
without hearing the music; `beat_warp` finds a time warp of the written dance and `play` plays
its keypoints back along it:

* piecewise linear, starting at the dance's first frame (the join to the user's dance stays where
  it was), and never faster or slower than `MAX_STRETCH` times the dance as written, so the moves
  keep their shape;
* its corners are chosen by dynamic programming over (motion beat, music beat) pairs: the most
  motion beats put exactly on music beats, and among those warps the one that stretches time least;
* motion beats between two placed ones move with the warp; after the last placed one the dance
  plays on at the speed it was written;
* then every beat is accented (`accent_beats`): between two beats the warp eases out of the one
  and into the next, so the whole dancer slows to `1 - ACCENT` of its speed on each beat and picks up
  again after it. Every joint's speed is the warp's speed times its own, so every reading of the
  dancer's stops finds them on the beat (the wrists', the ankles', the canvas's with the travel and
  the framing), and the sharpest changes of speed, the acceleration's peaks, fall on the beat too:
  the dance hits the beat rather than merely passing it slowly;
* and the song's energy moves the dancer (`accent_beats` with the song's `loudness`): the written
  dance each beat plays is scaled by its loudness to the power `ENERGY`, within `ENERGY_RANGE`, and
  the whole rescaled to the written dance's length, so the dancer covers more of its dance in a
  loud passage and less in a quiet one, at the same mean speed.

The generator is asked for `MAX_STRETCH` times the dance's length, so the warp never runs out of it.
"""

from __future__ import annotations

import math

import numpy as np

from .beats import motion_beats

#: The warp plays the written dance at most this much faster, or this much slower.
MAX_STRETCH = 1.25
#: On a beat the dance moves at 1 - ACCENT of its speed between beats (see `accent_beats`).
ACCENT = 0.8
#: Between two beats the dance moves this power of the song's loudness faster, within this range
#: of its mean speed: a passage 12 dB louder than another (4x the RMS) is danced twice as fast, one
#: 3 dB louder 1.19x. A choice, not a measurement: no dance data here follows its song's loudness.
ENERGY = 0.5
ENERGY_RANGE = (0.6, 1.6)


def source_frames_needed(frames: int) -> int:
    """How many frames of written dance a warp of `frames` output frames may read."""
    return math.ceil(frames * MAX_STRETCH) + 1


def _warp_corners(dips: np.ndarray, beats: np.ndarray, length: float, source_length: float,
                  max_stretch: float) -> tuple[np.ndarray, np.ndarray]:
    """(output times, source times) of the warp's corners, from (0, 0) to the end (see module docs)."""
    pairs = [(b, d) for b in beats for d in dips if b > 0 and d > 0 and 1 / max_stretch <= d / b <= max_stretch]
    out = np.array([0.0] + [b for b, _ in pairs])
    src = np.array([0.0] + [d for _, d in pairs])
    order = np.lexsort((src, out))
    out, src = out[order], src[order]
    placed = np.full(len(out), -np.inf)
    placed[0] = 0.0
    stretch = np.zeros(len(out))
    before = np.full(len(out), -1)
    for n in range(1, len(out)):
        gap_out, gap_src = out[n] - out[:n], src[n] - src[:n]
        ok = (gap_out > 0) & (gap_src > 0) & np.isfinite(placed[:n])
        ok &= (gap_src >= gap_out / max_stretch) & (gap_src <= gap_out * max_stretch)
        if not ok.any():
            continue
        cost = stretch[:n] + np.abs(np.log(np.where(ok, gap_src, 1.0) / np.where(ok, gap_out, 1.0))) * gap_out
        candidates = np.flatnonzero(ok)
        best = candidates[np.lexsort((cost[candidates], -placed[candidates]))[0]]
        placed[n], stretch[n], before[n] = placed[best] + 1, cost[best], best
    # the tail after the last corner plays at the written speed, slowed where the dance would run out
    tail = np.maximum(length - out, 1e-9)
    tail_speed = np.minimum(1.0, (source_length - src) / tail)
    feasible = np.isfinite(placed) & (tail_speed >= 1 / max_stretch)
    feasible[0] = True
    candidates = np.flatnonzero(feasible)
    last = candidates[np.lexsort((stretch[candidates], -placed[candidates]))[0]]
    corners = []
    while last >= 0:
        corners.append(last)
        last = before[last]
    corners = corners[::-1]
    end = corners[-1]
    speed = max(1 / max_stretch, float(tail_speed[end]))
    return (np.append(out[corners], length), np.append(src[corners], src[end] + speed * (length - out[end])))


def _hermite(u: np.ndarray, start_slope: float, end_slope: float) -> np.ndarray:
    """The cubic from 0 at u = 0 to 1 at u = 1 with these slopes at its ends."""
    return (u ** 3 - 2 * u ** 2 + u) * start_slope + (3 * u ** 2 - 2 * u ** 3) + (u ** 3 - u ** 2) * end_slope


def accent_beats(shown: np.ndarray, beats: np.ndarray, fps: float, accent: float = ACCENT,
                 loudness: np.ndarray | None = None) -> np.ndarray:
    """The warp `shown` (the written frame each output frame shows) eased into and out of every beat
    (seconds from the dance's start): between two beats the way through the written dance follows a
    cubic whose speed at both beats is `1 - accent` times its mean. Before the first beat the warp
    leaves the dance's start at its own speed, and after the last it ends at its own speed, so the
    join to the user's dance is kept. The written frame each beat shows stays where it was, or,
    with the song's `loudness` of each output frame, the way between two beats is scaled by their
    loudness (see the module docs), the first and last frames kept."""
    frames = len(shown)
    beats = np.asarray(beats, dtype=np.float64) * fps
    beats = beats[(beats > 0) & (beats < frames - 1)]
    if not len(beats) or accent <= 0:
        return shown
    times = np.arange(frames, dtype=np.float64)
    corners = np.concatenate([[0.0], beats, [frames - 1.0]])
    sources = np.interp(corners, times, shown)
    if loudness is not None:
        ways = np.diff(sources)
        louder = np.array([np.mean(loudness[int(a):int(np.ceil(b)) + 1]) for a, b in zip(corners[:-1], corners[1:])])
        scaled = ways * np.clip(np.maximum(louder, 1e-9) ** ENERGY, *ENERGY_RANGE)
        sources = sources[0] + np.concatenate([[0.0], np.cumsum(scaled) * ways.sum() / max(scaled.sum(), 1e-12)])
    eased = np.empty(frames)
    slow = 1.0 - accent
    for n in range(len(corners) - 1):
        inside = (times >= corners[n]) & (times <= corners[n + 1])
        u = (times[inside] - corners[n]) / (corners[n + 1] - corners[n])
        start_slope = 1.0 if n == 0 else slow
        end_slope = 1.0 if n == len(corners) - 2 else slow
        eased[inside] = sources[n] + (sources[n + 1] - sources[n]) * _hermite(u, start_slope, end_slope)
    return eased


def beat_warp(poses: np.ndarray, beats: np.ndarray, frames: int, fps: float, max_stretch: float = MAX_STRETCH,
              accent: float = ACCENT, loudness: np.ndarray | None = None) -> np.ndarray:
    """For each of `frames` output frames, the (fractional) frame of the written (T, 17, 3) `poses`
    it shows: the warp that puts their motion beats on `beats` (seconds from the dance's start),
    each beat accented and each passage danced as loud as it is (`accent_beats`; `loudness`, one
    value per output frame, as `TrackBeats.loudness_between` gives). Without beats, the dance as
    written."""
    beats = np.asarray(beats, dtype=np.float64)
    beats = beats[(beats > 0) & (beats < frames / fps)]
    dips = motion_beats(poses, fps) if len(beats) else np.zeros(0)
    if not len(dips) or len(poses) < 2:
        return np.minimum(np.arange(frames, dtype=np.float64), len(poses) - 1)
    corners_out, corners_src = _warp_corners(dips, beats, frames / fps, (len(poses) - 1) / fps, max_stretch)
    shown = np.clip(np.interp(np.arange(frames) / fps, corners_out, corners_src) * fps, 0, len(poses) - 1)
    return accent_beats(shown, beats, fps, accent, loudness)


def play(keypoints: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """(len(shown), J, 3) keypoints at the fractional frames `shown`: joints interpolated between
    the frames either side, each confidence the lower of the two."""
    keypoints = np.asarray(keypoints, dtype=np.float32)
    below = np.floor(shown).astype(int)
    above = np.minimum(below + 1, len(keypoints) - 1)
    weight = (shown - below)[:, None, None].astype(np.float32)
    out = keypoints[below].copy()
    out[:, :, :2] = (1 - weight) * keypoints[below, :, :2] + weight * keypoints[above, :, :2]
    out[:, :, 2] = np.minimum(keypoints[below, :, 2], keypoints[above, :, 2])
    return out

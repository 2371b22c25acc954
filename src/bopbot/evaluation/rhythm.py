"""Rhythm: does a dance follow its song? Its stops against the beat, its energy against the music's
loudness, and its phrases against the bar.

Every measure reads pixel keypoints (T, 17, 3) on the canvas (x, y, confidence; joints as in
`skeleton.INDEX`, confidence 0 for a missing joint) at `fps` frames a second, as the viewer sees
the dance. Times are in seconds from the dance's first frame.

* **Readings of the dancer's beats** (`READINGS`, name -> function of keypoints and fps, giving
  event times in seconds). The time warp (`music.retime`) puts the dips of one of them, the
  "normalised" one, on the beats; the others ask whether what a viewer sees follows too:

  - "normalised": dips of the mean joint speed of hip-centred, torso-scaled poses
    (`beats.motion_beats` on `normalise(keypoints)[0]`, what the warp aligns);
  - "hip-relative": dips of the mean joint speed in pixels of the joints less the mid-hip
    (the dancer's own movement at the size it is filmed), smoothed over `HIP_SMOOTHING_SECONDS`;
  - "canvas": dips of the mean joint speed in pixels on the canvas (travel and framing included);
  - "left wrist", "right wrist", "left ankle", "right ankle": dips of that joint's canvas speed;
  - "acceleration": peaks of the mean joint acceleration magnitude of the normalised poses.

  Unless said otherwise the signal is smoothed by a Gaussian of `beats.MOTION_SMOOTHING_SECONDS`
  and every local extremum counts (no prominence filter), as in `beats.motion_beats`.
* **Vector strength** (`vector_strength`): R = |mean(exp(2πi t / period))| over the events: 1 when
  every event falls at the same phase of the beat (whichever phase: it is offset-free), about
  1/sqrt(n) for n events at random phases, with the Rayleigh test's p-value. `pooled_vector_strength`
  pools the phases of several dances' events.
* **Energy** (`energy_correlation`): the Pearson correlation, over windows of `ENERGY_WINDOW_SECONDS`,
  of the music's loudness (`music_envelope`) with the dancer's mean joint speed, against the same
  with the music moved by `beats.NULL_SHIFTS`.
* **Phrases** (`phrase_similarity`): how much the dance at t resembles the dance eight beats later,
  against other lags.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from ..data.normalise import normalise
from ..data.pose_sequence import CORPUS_FPS
from ..data.skeleton import INDEX, NUM_JOINTS
from ..music.beats import (
    AUDIO_RATE,
    MOTION_SMOOTHING_SECONDS,
    NULL_SHIFTS,
    mean_joint_speed,
    motion_beats,
)

#: The hip-relative speed is smoothed by a Gaussian this wide, in seconds.
HIP_SMOOTHING_SECONDS = 0.05
#: The energy envelopes are averaged over windows this long, in seconds.
ENERGY_WINDOW_SECONDS = 1.0
#: A phrase is this many beats (two bars of 4/4)...
PHRASE_BEATS = 8
#: ...and its self-similarity is set against that at these lags, in beats.
OTHER_LAGS = (3, 5, 6, 7, 9, 10)

_HIPS = [INDEX["left_hip"], INDEX["right_hip"]]


def _check_keypoints(keypoints: np.ndarray, fps: float) -> np.ndarray:
    """The keypoints as float64, or a ValueError saying what is wrong with them or with `fps`."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"keypoints must be (frames, {NUM_JOINTS}, 3) x, y, confidence; got shape {keypoints.shape}")
    if not np.isfinite(keypoints).all():
        raise ValueError("keypoints hold NaN or infinite values; mark a missing joint with confidence 0")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, not {fps}")
    return keypoints


def _extrema(values: np.ndarray, fps: float, smoothing_seconds: float, comparator) -> np.ndarray:
    """Times in seconds of the local extrema (`np.less`: minima, `np.greater`: maxima) of a (T,)
    signal with NaN gaps, the gaps filled by interpolation and the signal smoothed by a Gaussian of
    `smoothing_seconds` first, as `beats.motion_beats` does."""
    measured = ~np.isnan(values)
    if len(values) < 3 or not measured.any():
        return np.zeros(0)
    frames = np.arange(len(values))
    values = np.interp(frames, frames[measured], values[measured])
    values = ndimage.gaussian_filter1d(values, smoothing_seconds * fps, mode="nearest")
    # rounded so a frozen dancer's float noise makes no extrema
    return signal.argrelextrema(np.round(values, 6), comparator)[0] / fps


def normalised_beats(keypoints: np.ndarray, fps: float) -> np.ndarray:
    """Dips of the mean joint speed of normalised poses (torso lengths/s): `beats.motion_beats`,
    what the time warp puts on the beats."""
    keypoints = _check_keypoints(keypoints, fps)
    return motion_beats(normalise(keypoints)[0], fps)


def hip_relative_beats(keypoints: np.ndarray, fps: float) -> np.ndarray:
    """Dips of the mean speed (pixels/s) of the joints less the mid-hip (the mean of the hips
    present), smoothed over `HIP_SMOOTHING_SECONDS`: the dancer's own movement at its filmed size,
    without travel or zoom of the whole body. Frames without a hip count as missing."""
    keypoints = _check_keypoints(keypoints, fps)
    hips = keypoints[:, _HIPS]
    has_hip = (hips[:, :, 2] > 0).any(axis=1)
    mid_hip = (hips[:, :, :2] * (hips[:, :, 2:] > 0)).sum(axis=1) / np.maximum((hips[:, :, 2] > 0).sum(axis=1), 1)[:, None]
    relative = keypoints.copy()
    relative[:, :, :2] -= mid_hip[:, None, :]
    relative[~has_hip, :, 2] = 0.0
    return motion_beats(relative, fps, HIP_SMOOTHING_SECONDS)


def canvas_beats(keypoints: np.ndarray, fps: float) -> np.ndarray:
    """Dips of the mean joint speed on the canvas (pixels/s), as a viewer sees it: travel and
    framing included."""
    return motion_beats(_check_keypoints(keypoints, fps), fps)


def joint_beats(keypoints: np.ndarray, fps: float, joint: str) -> np.ndarray:
    """Dips of one joint's own speed on the canvas (pixels/s); `joint` a name of `skeleton.JOINTS`."""
    if joint not in INDEX:
        raise ValueError(f"no joint called {joint!r}; the joints are {', '.join(INDEX)}")
    keypoints = _check_keypoints(keypoints, fps)
    return motion_beats(keypoints[:, [INDEX[joint]]], fps)


def acceleration_peaks(keypoints: np.ndarray, fps: float) -> np.ndarray:
    """Peaks of the mean joint acceleration magnitude of normalised poses (torso lengths/s², central
    differences, over the joints present in a frame and both its neighbours), smoothed as
    `beats.motion_beats` smooths the speed: the hits of a dance, where the speed changes most."""
    poses = normalise(_check_keypoints(keypoints, fps))[0].astype(np.float64)
    xy, ok = poses[:, :, :2], poses[:, :, 2] > 0
    if len(poses) < 3:
        return np.zeros(0)
    accel = np.linalg.norm(np.gradient(np.gradient(xy, axis=0), axis=0), axis=2) * fps**2
    measured = ok.copy()
    for step in (1, 2):  # np.gradient twice reads two frames either side
        measured &= np.vstack([ok[step:], ok[-step:]]) & np.vstack([ok[:step], ok[:-step]])
    count = measured.sum(axis=1)
    mean = np.where(count > 0, np.where(measured, accel, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)
    return _extrema(mean, fps, MOTION_SMOOTHING_SECONDS, np.greater)


def _joint_reading(joint: str):
    def reading(keypoints: np.ndarray, fps: float) -> np.ndarray:
        return joint_beats(keypoints, fps, joint)

    reading.__doc__ = f"Dips of the {joint.replace('_', ' ')}'s canvas speed (`joint_beats`)."
    return reading


#: Every reading of the dancer's beats: name -> function(keypoints, fps) -> event times in seconds.
READINGS = {
    "normalised": normalised_beats,
    "hip-relative": hip_relative_beats,
    "canvas": canvas_beats,
    **{joint.replace("_", " "): _joint_reading(joint)
       for joint in ("left_wrist", "right_wrist", "left_ankle", "right_ankle")},
    "acceleration": acceleration_peaks,
}


@dataclass(frozen=True)
class PhaseLocking:
    """How strongly `events` events keep one phase of a beat.

    `strength` is the vector strength R (0 to 1; NaN without events), `chance` what n events at
    random phases give (1/sqrt(n): the root mean square of R under uniform phases), `p` the
    Rayleigh test's p-value for phases drawn uniformly (1 without events)."""

    strength: float
    chance: float
    p: float
    events: int


def _phases(times: np.ndarray, period: float) -> np.ndarray:
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if not np.isfinite(times).all():
        raise ValueError("event times must be finite numbers of seconds")
    if not (np.isfinite(period) and period > 0):
        raise ValueError(f"the beat period must be a positive number of seconds, not {period}")
    return 2 * np.pi * times / period


def _locking(phases: np.ndarray) -> PhaseLocking:
    n = len(phases)
    if n == 0:
        return PhaseLocking(float("nan"), float("nan"), 1.0, 0)
    strength = float(np.abs(np.exp(1j * phases).mean()))
    return PhaseLocking(strength, 1 / np.sqrt(n), rayleigh_p(strength, n), n)


def rayleigh_p(strength: float, n: int) -> float:
    """The Rayleigh test's p-value for vector strength `strength` of `n` phases: the chance that n
    uniformly random phases reach it, by the standard approximation (Zar, Biostatistical Analysis)
    p = exp(sqrt(1 + 4n + 4(n² − (nR)²)) − (1 + 2n)), clipped to [0, 1]. With many events and a
    p that is not tiny it is close to the simple large-n limit exp(−nR²), which it corrects for few
    events; far in the tail (p below about 1e-6) the two differ, and both only say "locked"."""
    if n <= 0:
        return 1.0
    resultant = n * strength
    p = np.exp(np.sqrt(1 + 4 * n + 4 * (n**2 - resultant**2)) - (1 + 2 * n))
    return float(np.clip(p, 0.0, 1.0))


def vector_strength(times: np.ndarray, period: float) -> PhaseLocking:
    """The vector strength R = |mean(exp(2πi t / period))| of event `times` (seconds) at a beat of
    `period` seconds, its chance level and the Rayleigh p-value (`PhaseLocking`). R is offset-free:
    events all a quarter beat late score 1, as do events on the beat. Unitless, 0 to 1."""
    return _locking(_phases(times, period))


def beat_phase_locking(times: np.ndarray, track, start: float) -> PhaseLocking:
    """The vector strength of event `times` (seconds from a dance's start) at the beats of `track`
    (a `beats.TrackBeats`), the dance starting `start` s into it: each event's phase between the two
    beats around it (`TrackBeats.phase`), so a song whose tempo drifts is read beat by beat. Events
    outside the track are left out."""
    phases = track.phase(start + np.asarray(times, dtype=np.float64).reshape(-1))
    return _locking(2 * np.pi * phases[~np.isnan(phases)])


def pooled_vector_strength(times: list[np.ndarray], periods: float | list[float],
                           origins: float | list[float] = 0.0) -> PhaseLocking:
    """The vector strength of several dances' events pooled by phase: each dance's event times
    (seconds) turned into phases of its own beat period (one `periods` for all, or one each), phase
    0 at its `origins` (a time, in seconds, of one of its beats; one for all, or one each), then R
    over all the phases together. A beat phase shared across dances scores high; each dance keeping
    a phase of its own does not (R is offset-free within a dance, but the pooled R asks for the
    same place in the beat in every dance)."""
    periods = [float(periods)] * len(times) if np.ndim(periods) == 0 else list(periods)
    origins = [float(origins)] * len(times) if np.ndim(origins) == 0 else list(origins)
    if len(periods) != len(times) or len(origins) != len(times):
        raise ValueError(f"{len(times)} dances but {len(periods)} beat periods and {len(origins)} beat origins")
    if not np.isfinite(origins).all():
        raise ValueError("beat origins must be finite numbers of seconds")
    phases = [_phases(np.asarray(t, dtype=np.float64) - o, p) for t, p, o in zip(times, periods, origins)]
    return _locking(np.concatenate(phases) if phases else np.zeros(0))


def music_envelope(audio_path: str | os.PathLike, fps: float = CORPUS_FPS, start: float = 0.0,
                   duration: float | None = None) -> np.ndarray:
    """The music's energy at `fps` frames a second from `start` s into the file (for `duration` s,
    all when None): the root mean square of the mono samples over each frame (full scale 1)."""
    from ..music.audio import read_audio

    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, not {fps}")
    samples = read_audio(audio_path, AUDIO_RATE, channels=1, start=start, duration=duration).mono().astype(np.float64)
    frames = int(len(samples) / AUDIO_RATE * fps)
    edges = np.round(np.arange(frames + 1) * AUDIO_RATE / fps).astype(int)
    squares = np.concatenate([[0.0], np.cumsum(samples**2)])
    return np.sqrt((squares[edges[1:]] - squares[edges[:-1]]) / np.maximum(np.diff(edges), 1))


@dataclass(frozen=True)
class EnergyFollowing:
    """The correlation of the music's energy with the dancer's speed over `windows` windows, and the
    mean and standard deviation of the same with the music moved (the null)."""

    correlation: float
    null_mean: float
    null_spread: float
    windows: int


def _window_means(values: np.ndarray, rate: float, window_seconds: float, windows: int) -> np.ndarray:
    """The mean of a (T,) signal sampled `rate` times a second over each of `windows` windows of
    `window_seconds` from its start, NaN samples left out (NaN for a window without any)."""
    index = (np.arange(len(values)) / rate // window_seconds).astype(int)
    keep = (index < windows) & ~np.isnan(values)
    totals = np.bincount(index[keep], weights=values[keep], minlength=windows)[:windows]
    counts = np.bincount(index[keep], minlength=windows)[:windows]
    return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both] - a[both].mean(), b[both] - b[both].mean()
    scale = np.sqrt((a**2).sum() * (b**2).sum())
    return float((a * b).sum() / scale) if both.sum() >= 3 and scale > 1e-12 else float("nan")


def energy_correlation(keypoints: np.ndarray, fps: float, audio_envelope: np.ndarray, envelope_fps: float,
                       window_seconds: float = ENERGY_WINDOW_SECONDS, shifts: np.ndarray = NULL_SHIFTS) -> EnergyFollowing:
    """Does the dancer move more when the music is louder?

    The dancer's mean joint speed on normalised poses (torso lengths/s, `beats.mean_joint_speed`)
    and the music's `audio_envelope` (its first sample at the dance's first frame, `envelope_fps`
    samples a second, e.g. `music_envelope`) are each averaged over windows of `window_seconds`
    covering the dance (as many whole windows as both last), and the correlation is Pearson's r
    of the two (-1 to 1; NaN where either is constant). The null is the same r with the music read
    `shifts` seconds later (`beats.NULL_SHIFTS`: 1 to 5 s either way), the envelope read circularly
    over its whole length so every shift has music: its mean and standard deviation. A dance that
    follows the music's energy scores well above the null's mean; a slowly changing song can give
    a null far from 0 (a shift of 1 s barely moves a loud half), so compare with the null, not 0."""
    keypoints = _check_keypoints(keypoints, fps)
    envelope = np.asarray(audio_envelope, dtype=np.float64).reshape(-1)
    if not (np.isfinite(envelope_fps) and envelope_fps > 0):
        raise ValueError(f"envelope_fps must be a positive number, not {envelope_fps}")
    if not np.isfinite(envelope).all():
        raise ValueError("the music envelope holds NaN or infinite values")
    if not (np.isfinite(window_seconds) and window_seconds > 0):
        raise ValueError(f"window_seconds must be a positive number, not {window_seconds}")
    windows = int(min(len(keypoints) / fps, len(envelope) / envelope_fps) / window_seconds)
    if windows < 3:
        raise ValueError(f"a correlation needs at least 3 windows of {window_seconds:g} s; the dance lasts "
                         f"{len(keypoints) / fps:.1f} s and the music envelope {len(envelope) / envelope_fps:.1f} s")
    speed = _window_means(mean_joint_speed(normalise(keypoints)[0], fps), fps, window_seconds, windows)
    music = _window_means(envelope, envelope_fps, window_seconds, windows)

    def moved(seconds: float) -> np.ndarray:
        return _window_means(np.roll(envelope, -round(seconds * envelope_fps)), envelope_fps, window_seconds, windows)

    null = np.array([_pearson(moved(s), speed) for s in np.asarray(shifts, dtype=np.float64).reshape(-1)])
    null = null[~np.isnan(null)]
    return EnergyFollowing(_pearson(music, speed), float(null.mean()) if len(null) else float("nan"),
                           float(null.std()) if len(null) else float("nan"), windows)


@dataclass(frozen=True)
class PhraseSimilarity:
    """The dance's self-similarity eight beats on (`at_phrase`), the mean of it at the other lags
    (`elsewhere`), and each lag's, by lag in beats."""

    at_phrase: float
    elsewhere: float
    by_lag: dict[int, float]


def _lag_similarity(features: np.ndarray, present: np.ndarray, lag: int) -> float:
    """Pearson's r of the (centred) pose features at t with those at t + `lag` frames, pooled over
    frames and features present at both."""
    both = present[:-lag] & present[lag:]
    a, b = np.where(both, features[:-lag], 0.0), np.where(both, features[lag:], 0.0)
    scale = np.sqrt((a**2).sum() * (b**2).sum())
    return float((a * b).sum() / scale) if scale > 1e-12 else float("nan")


def phrase_similarity(keypoints: np.ndarray, fps: float, beat_period: float, phrase_beats: int = PHRASE_BEATS,
                      other_lags: tuple[int, ...] = OTHER_LAGS) -> PhraseSimilarity:
    """Does the dance come back to itself every phrase (eight beats)?

    Features: the normalised poses' joint coordinates (torso lengths), each centred on its mean over
    the dance (a joint's mean over the frames it is present in), so a pose says how it differs from
    the dancer's average. The similarity at a lag of L beats is Pearson's r, pooled over frames and
    coordinates present in both, of the features at t with those at t + L beats (rounded to whole
    frames): 1 when the dance repeats itself exactly every L beats, about 0 for unrelated poses.
    Returns it at `phrase_beats` and its mean over `other_lags` (and each lag's). A dance built in
    phrases scores higher at the phrase than elsewhere; a dance that repeats every beat or two
    scores high at every lag."""
    keypoints = _check_keypoints(keypoints, fps)
    if not (np.isfinite(beat_period) and beat_period > 0):
        raise ValueError(f"the beat period must be a positive number of seconds, not {beat_period}")
    lags = (phrase_beats, *other_lags)
    if any(int(lag) != lag or lag < 1 for lag in lags):
        raise ValueError(f"lags are whole numbers of beats, at least 1; got {lags}")
    frames = {lag: round(lag * beat_period * fps) for lag in lags}
    overlap = len(keypoints) - max(frames.values())
    if min(frames.values()) < 1 or overlap < 2 * beat_period * fps:
        raise ValueError(f"a {len(keypoints) / fps:.1f} s dance cannot be compared with itself {max(lags)} beats of "
                         f"{beat_period:.3g} s on (at least 2 beats must overlap, at least 1 frame apart)")
    poses = normalise(keypoints)[0].astype(np.float64)
    present = np.repeat(poses[:, :, 2:] > 0, 2, axis=2).reshape(len(poses), -1)
    features = poses[:, :, :2].reshape(len(poses), -1)
    means = np.where(present, features, 0.0).sum(axis=0) / np.maximum(present.sum(axis=0), 1)
    features = np.where(present, features - means, 0.0)
    by_lag = {int(lag): _lag_similarity(features, present, frames[lag]) for lag in lags}
    return PhraseSimilarity(by_lag[phrase_beats], float(np.nanmean([by_lag[lag] for lag in other_lags])), by_lag)


#: The music figures `music_figures` gives each dance, as the evaluation's table names them, with
#: the readings each R averages.
LOCKING = {"R_normalised": ("normalised",), "R_hip_relative": ("hip-relative",), "R_canvas": ("canvas",),
           "R_wrists": ("left wrist", "right wrist"), "R_ankles": ("left ankle", "right ankle"),
           "R_acceleration": ("acceleration",)}


def music_figures(keypoints: np.ndarray, fps: float, track, start: float) -> dict[str, float]:
    """Every rhythm figure of one dance (pixel keypoints) made to `track` (a `beats.TrackBeats`) from
    `start` s into it: R at the beat for each reading in `LOCKING` (`beat_phase_locking`; a pair of
    joints averaged), `R_chance` (1/sqrt(n) averaged over the readings), the energy correlation
    with the track's loudness and its shifted-music null (`energy_correlation`), and the phrase
    similarity at eight beats and elsewhere (`phrase_similarity`). NaN where a figure cannot be had
    (no beats, a dance too short for eight beats)."""
    locking = {name: beat_phase_locking(reading(keypoints, fps), track, start) for name, reading in READINGS.items()}
    figures = {key: float(np.mean([locking[name].strength for name in names])) for key, names in LOCKING.items()}
    figures["R_chance"] = float(np.nanmean([lock.chance for lock in locking.values()]))
    figures.update(energy_r=float("nan"), energy_null=float("nan"), phrase_8=float("nan"), phrase_other=float("nan"))
    first = round(start * fps)
    if len(track.loudness) > first >= 0:
        try:
            energy = energy_correlation(keypoints, fps, np.roll(track.loudness, -first), CORPUS_FPS)
            figures.update(energy_r=energy.correlation, energy_null=energy.null_mean)
        except ValueError:
            pass
    beats = track.between(start, len(keypoints) / fps)
    if len(beats) >= 2:
        try:
            phrase = phrase_similarity(keypoints, fps, float(np.median(np.diff(beats))))
            figures.update(phrase_8=phrase.at_phrase, phrase_other=phrase.elsewhere)
        except ValueError:
            pass
    return figures

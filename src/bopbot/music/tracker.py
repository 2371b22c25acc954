"""The beat tracker: Ellis's dynamic program (2007), as librosa's `beat_track` runs it, in NumPy.

librosa's tracker is compiled by numba in every process that imports `librosa.beat` (its local
score is not cached), about 3 s of a core before the first beat, on every `bopbot dance --music`.
This is the same algorithm on the same onset envelope and tempo, giving the same beats
(`tests/test_music.py` holds it to librosa's on real songs and click tracks):

1. the local score: the onset envelope over its standard deviation, its first frame dropped (as
   librosa's loop drops it), convolved with a Gaussian of a sixteenth of a beat either side,
   across a beat either side;
2. the dynamic program: each frame's best predecessor lies from half a beat to two beats before
   it, its score that predecessor's cumulative score less `tightness` times the squared log of
   the gap over the beat; frames before the first whose local score reaches 1% of the highest
   start no chain. Every predecessor lies at least half a beat back, so a block of half a beat's
   frames is computed at once;
3. the last beat: the last local maximum of the cumulative score that reaches half the median of
   them; the beats are its chain of predecessors;
4. trimming: beats at the ends where the local score stays at or below half the root mean square
   of the smoothed local score at the beats are dropped, as librosa computes that threshold.
"""

from __future__ import annotations

import numpy as np


def local_score(envelope: np.ndarray, frames_per_beat: float) -> np.ndarray:
    """The onset envelope normalised and smoothed over a beat (step 1 of the module docs)."""
    envelope = np.asarray(envelope)
    normalised = envelope / (envelope.std(ddof=1) + np.finfo(envelope.dtype).tiny)
    normalised[..., 0] = 0.0
    reach = np.arange(-frames_per_beat, frames_per_beat + 1)
    window = np.exp(-0.5 * (reach * 32.0 / frames_per_beat) ** 2).astype(envelope.dtype)
    centred = np.convolve(normalised, window)[len(window) // 2:len(window) // 2 + len(normalised)]
    return centred.astype(envelope.dtype)


def _chain(score: np.ndarray, frames_per_beat: float, tightness: float) -> tuple[np.ndarray, np.ndarray]:
    """(backlink, cumulative score) of every frame (step 2 of the module docs)."""
    frames = len(score)
    nearest, farthest = int(np.round(frames_per_beat / 2)), int(2 * frames_per_beat)
    gaps = np.arange(nearest, farthest + 1)  # nearest first: on a tie the nearest predecessor wins
    penalty = tightness * (np.log(gaps) - np.log(frames_per_beat)) ** 2
    cumulative = score.astype(np.float64)
    backlink = np.full(frames, -1, dtype=np.int64)
    for block in range(nearest, frames, max(nearest, 1)):
        here = np.arange(block, min(block + max(nearest, 1), frames))
        before = here[:, None] - gaps[None, :]
        candidates = np.where(before >= 0, cumulative[np.maximum(before, 0)] - penalty, -np.inf)
        best = np.argmax(candidates, axis=1)
        best_score = candidates[np.arange(len(here)), best]
        found = np.isfinite(best_score)
        cumulative[here] = score[here] + np.where(found, best_score, 0.0)
        backlink[here] = np.where(found, before[np.arange(len(here)), best], -1)
    starts = np.flatnonzero(score >= 0.01 * score.max())
    backlink[:starts[0] if len(starts) else frames] = -1
    return backlink, cumulative


def _last_beat(cumulative: np.ndarray) -> int:
    """The frame of the last beat (step 3 of the module docs)."""
    peaks = np.zeros(len(cumulative), dtype=bool)
    peaks[1:-1] = (cumulative[1:-1] > cumulative[:-2]) & (cumulative[1:-1] >= cumulative[2:])
    peaks[-1] = cumulative[-1] > cumulative[-2]
    threshold = 0.5 * np.median(cumulative[peaks]) if peaks.any() else np.inf
    last = np.flatnonzero(peaks & (cumulative >= threshold))
    return int(last[-1]) if len(last) else len(cumulative) - 1


def _trimmed(score: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """`beats` (a mask of frames) less those at either end where the local score is weak (step 4).
    The smoothed scores are sliced as librosa slices them (to the envelope's length, not the beats')."""
    window = np.hanning(5)
    smooth = np.convolve(score[beats], window)[len(window) // 2:len(score) + len(window) // 2]
    threshold = 0.5 * np.sqrt(np.mean(smooth ** 2))
    strong = np.flatnonzero(score > threshold)
    trimmed = beats.copy()
    if not len(strong):
        trimmed[:] = False
        return trimmed
    trimmed[:strong[0]] = False
    trimmed[strong[-1] + 1:] = False
    return trimmed


def track_beats(envelope: np.ndarray, bpm: float, frame_rate: float, tightness: float = 100.0) -> np.ndarray:
    """The frames of the beats in the onset `envelope` (frame_rate frames a second) at the tempo
    `bpm`, as `librosa.beat.beat_track(onset_envelope=..., bpm=bpm, tightness=...)` gives them."""
    envelope = np.asarray(envelope)
    if not bpm > 0 or not tightness > 0:
        raise ValueError(f"the tempo and the tightness must be above 0, got {bpm} and {tightness}")
    if len(envelope) < 3 or not envelope.any():
        return np.zeros(0, dtype=np.int64)
    frames_per_beat = float(np.round(frame_rate * 60.0 / bpm))
    score = local_score(envelope, frames_per_beat)
    backlink, cumulative = _chain(score, frames_per_beat, tightness)
    beats = np.zeros(len(envelope), dtype=bool)
    frame = _last_beat(cumulative)
    while frame >= 0:
        beats[frame] = True
        frame = backlink[frame]
    return np.flatnonzero(_trimmed(score, beats))

"""Beats: where the music's beats are, where the dancer's are, and how well they line up.

Follows AIST++ (Li et al. 2021), whose definitions Bailando and EDGE reuse, in seconds rather
than frames so it holds at any frame rate:

* **Music beats** are tracked once on the whole track (`music_beats`; its first
  `MAX_TRACK_SECONDS` where it is longer, so a day-long upload costs no more), never on an excerpt:
  librosa's onset-strength envelope, its tempo estimate as the starting tempo, then librosa's
  dynamic-programming beat tracker with tightness 100, all run in NumPy (`onsets.py` and
  `tracker.py`: the same numbers and beats, without importing librosa or numba compiling its
  tracker in every process). Tracking a 10 s excerpt instead moves the beats
  (the tracker needs context), which alone moved the score by 0.08 in our old evaluation.
  Every file is resampled to `AUDIO_RATE` and mixed to one channel first: the 40 songs and clips
  with sound in ../shared/data written at 44.1 kHz stereo keep every beat within a frame (23 ms),
  and so do clicks at 8 kHz mono. But a song sampled at 8 kHz has no sound above 4 kHz, where
  hi-hats often carry the beat, and its tempo can be misread: 8 kHz mono copies of those 40 got
  another tempo estimate than 44.1 kHz stereo ones on 10, their beats over 10% off on 5 (a rumba
  at 160 beats a minute tracked at 111, a phone clip's 142 at 106), the very estimates the songs
  low-passed at 4 kHz get. The sound is not in the file to be heard.
* **Motion beats** are every local minimum of the dancer's mean joint speed, smoothed by a
  Gaussian of `MOTION_SMOOTHING_SECONDS` (AIST++'s 5 frames at 60 fps). No prominence filter:
  every dip counts, as in AIST++.
* **Beat Align Score** (AIST++'s definition): the mean over motion beats of
  exp(-d² / 2σ²), d the distance to the nearest music beat, σ = `BEAT_SIGMA_SECONDS` (AIST++'s
  3 frames at 60 fps, 0.05 s).
* **What the dancer hears** (`music_frames`), one row per frame at 20 fps: the beat phase (0 on a
  beat, rising to 1 just before the next; the beats carry on at the tempo before the first and
  after the last, as `TrackBeats.beats_from` carries them) and the onset strength (librosa's
  envelope over its loudest 1% in the track, 0 to 1). A frame outside the track hears nothing: NaN phase, 0 onset.
* **Loudness** (`TrackBeats.loudness`), one value per frame at 20 fps: the track's RMS,
  averaged over `LOUDNESS_SECONDS` around the frame (a passage, not a drum hit), over its median; the warp plays
  the dance faster where the song is louder (`retime`).
* **Phrases** (`TrackBeats.phrase_starts`): choreographers count in eight-counts, two bars of
  4/4. Which beat starts one is a meter estimate (`phrase_phase`): the bar's first beat is the one
  of every four that is loudest on average (a downbeat's kick or accented click), and of a
  phrase's two bars the first is the one with the louder first beat. A song without accents
  (an even click track) gets an arbitrary but fixed phase: its phrases are still eight beats long.
* **Shifted-music null**: the same motion beats against the same track's beats moved by
  `NULL_SHIFTS` (1 to 5 s either way, in 0.1 s steps). Whole-second shifts alone would not do: at
  120 beats a minute a 1 s shift lands on a beat again. Averaged over these shifts, the beat grid
  falls at every phase of the dance, so the null is what the score is without alignment, and a
  dance that follows the music must beat it.

The score only means something for a dance made with that music: the evaluation gives it only
to real dances with their own music, never to generators that do not hear it.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..data import filters
from ..data.pose_sequence import CORPUS_FPS
from .audio import read_audio
from .tracker import track_beats

#: Width of the Beat Align Score's Gaussian, in seconds: AIST++'s 3 frames at 60 fps.
BEAT_SIGMA_SECONDS = 0.05
#: The mean joint speed is smoothed by a Gaussian this wide before its minima are taken (AIST++: 5 frames at 60 fps).
MOTION_SMOOTHING_SECONDS = 5 / 60
#: How far the music is moved for the null, in seconds, both ways.
NULL_SHIFTS = np.concatenate([-np.arange(1.0, 5.0001, 0.1), np.arange(1.0, 5.0001, 0.1)])
#: The loudness is averaged over this many seconds: the energy of a passage.
LOUDNESS_SECONDS = 1.5
#: Sample rate audio is analysed at (librosa's default), and the onset envelope's hop.
AUDIO_RATE = 22050
HOP = 512
#: Music whose loudest sample stays below this (full scale 1) is silence: it has no beats.
SILENCE = 1e-3
#: A phrase, as choreographers count it: eight beats, two bars of 4/4.
PHRASE_BEATS = 8
#: The most of a track heard, from its start: librosa's spectrogram costs about 1 GB an hour of
#: audio, so a track is cut here (10 minutes, longer than most songs: about 0.2 GB) and its beats
#: carry on at its tempo.
MAX_TRACK_SECONDS = 600.0


def mean_joint_speed(poses: np.ndarray, fps: float) -> np.ndarray:
    """(T,) mean joint speed at each frame in units per second (central differences), NaN where no
    joint is present in the frame and both its neighbours."""
    poses = np.asarray(poses, dtype=np.float64)
    xy, ok = poses[:, :, :2], poses[:, :, 2] > 0
    speed = np.linalg.norm(np.gradient(xy, axis=0), axis=2) * fps
    measured = ok & np.vstack([ok[1:], ok[-1:]]) & np.vstack([ok[:1], ok[:-1]])
    count = measured.sum(axis=1)
    return np.where(count > 0, np.where(measured, speed, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)


def motion_beats(poses: np.ndarray, fps: float, smoothing_seconds: float = MOTION_SMOOTHING_SECONDS) -> np.ndarray:
    """Times in seconds of every dip of the dancer's smoothed mean joint speed (AIST++'s motion beats)."""
    if len(poses) < 3:
        return np.zeros(0)
    speed = mean_joint_speed(poses, fps)
    measured = ~np.isnan(speed)
    if not measured.any():
        return np.zeros(0)
    frames = np.arange(len(speed))
    speed = np.interp(frames, frames[measured], speed[measured])
    speed = filters.gaussian_filter1d(speed, smoothing_seconds * fps, mode="nearest")
    # rounded so a frozen or steady dancer's float noise makes no dips; a dip is below both
    # neighbours (scipy.signal.argrelextrema's reading, without importing scipy.signal: 0.4 to 0.8 s)
    speed = np.round(speed, 6)
    dips = np.flatnonzero((speed[1:-1] < speed[:-2]) & (speed[1:-1] < speed[2:])) + 1
    return dips / fps


@dataclass
class TrackBeats:
    """The beats of a whole track: `times` in seconds from its start, its length in seconds, and
    its tempo in beats a minute (0 where no beat was found)."""

    times: np.ndarray
    seconds: float
    tempo: float = 0.0
    #: Onset strength at `CORPUS_FPS` from the track's start, 0 to 1 (empty for silence).
    onset: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: True where the track goes on past `seconds` (it was cut at MAX_TRACK_SECONDS).
    cut: bool = False
    #: Loudness at `CORPUS_FPS` from the track's start, over its median (empty for silence).
    loudness: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: The beat (0 to PHRASE_BEATS - 1 of `times`) that starts the track's first whole eight-count.
    phrase_phase: int = 0

    def beats_from(self, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        """(indices, times) of the beats from `start` to `end` s into the track (`end` excluded), the
        index counting from the track's first beat (negative before it, so every eighth beat still
        starts an eight-count: `phrase_starts`). Before the first beat and past the last they carry
        on at the tempo (`_carried`), each way on a line robust to a stray beat (`_line`).
        Backwards because the tracker keeps a beat at the track's ends only where the onsets are
        strong (librosa's trimming): a 120 bpm click track from 0.25 s was tracked from 0.77 s, and
        a dance from the song's start had no beat before it. Not from the end beats at the median
        gap of one: the tracker's 23 ms frames round each gap (0.511 s for a 120 bpm click track,
        half a beat adrift after 12 s), and its first and last beats can be off by several frames."""
        indices, times = self._carried(start, end)
        inside = (times >= start) & (times < end)
        return indices[inside], times[inside]

    def _carried(self, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        """(indices, times) of the tracked beats and, where `start` lies before the first or `end`
        past the last, of beats carried on there along `_line`, so that (with two beats or more)
        one lies at or before `start` and one at or after `end`."""
        indices, times = np.arange(len(self.times)), self.times
        if len(times) < 2:
            return indices, times
        if start < times[0]:
            period, origin = self._line(first=True)
            before = np.arange(min(0, math.floor((start - origin) / period)), 0)
            indices, times = np.concatenate([before, indices]), np.concatenate([origin + period * before, times])
        if end > self.times[-1]:
            period, origin = self._line()
            after = np.arange(max(len(self.times), int((start - origin) / period)), int((end - origin) / period) + 2)
            indices, times = np.concatenate([indices, after]), np.concatenate([times, origin + period * after])
        return indices, times

    def _line(self, first: bool = False) -> tuple[float, float]:
        """(period, origin): the line the beats carry on along past the last (before the first, with
        `first`), beat k at origin + period * k (see `beats_from`): its period the median gap over
        eight beats (or as many as there are) among the last (first) 24, over eight, and its phase
        the median of the last (first) 16 beats'. Needs two beats."""
        times, indices = self.times, np.arange(len(self.times))
        span = min(8, len(times) - 1)
        ends, fit = (slice(None, 24), slice(None, 16)) if first else (slice(-24, None), slice(-16, None))
        period = float(np.median(times[ends][span:] - times[ends][:-span])) / span
        return period, float(np.median(times[fit] - period * indices[fit]))

    @property
    def beats_per_minute(self) -> float:
        """The tempo its beats keep: 60 s over the period of the line they carry on along past the
        last (`beats_from`); `tempo` (the tempogram's estimate) with under two beats. The tempogram's bins lie 2.5% apart
        near 120 (117.45, 123.05 beats a minute), so a 120 bpm song was said to be at 117 and a 140 one at 144."""
        return 60.0 / self._line()[0] if len(self.times) >= 2 else self.tempo

    def sound_loop(self) -> tuple[float, float, float] | None:
        """How the track's sound carries on, on its beat, under a dance that outlasts it: (splice,
        start, seconds). At `splice`, the beat of the line the beats carry on along past the last
        (`beats_from`) at the last beat inside the track, the sound goes back to `start`, the beat
        a whole number of eight-counts before (of four-beat bars, in a track shorter than nine beats), and plays
        that many beats of the line's period from there, again and again: each beat of the dance
        past the track's end then falls on a beat of the music, and each eight-count on one of its
        eight-counts. A video that ends before the splice never reaches it. None where the track
        was cut, or has fewer than 5 beats."""
        if self.cut or len(self.times) < 5:
            return None
        period, origin = self._line()
        last = int(np.searchsorted(self.times, self.seconds - 0.05)) - 1  # a beat whose sound is all there
        while last >= 4 and origin + period * last > self.seconds - 0.05:
            last -= 1
        if last < 4:
            return None
        unit = PHRASE_BEATS if last >= PHRASE_BEATS else 4
        beats = (last // unit) * unit
        return origin + period * last, float(self.times[last - beats]), beats * period

    def phrase_starts(self, start: float, seconds: float) -> np.ndarray:
        """Where the eight-counts begin in the `seconds` from `start` s into the track, in seconds
        from `start`; before its first beat and past its last the beats carry on at the tempo
        (`beats_from`), and so do the phrases."""
        indices, times = self.beats_from(start, start + seconds)
        return times[indices % PHRASE_BEATS == self.phrase_phase % PHRASE_BEATS] - start

    def loudness_between(self, start: float, frames: int) -> np.ndarray:
        """(frames,) the loudness of the `frames` frames from `start` s into the track; past its end
        (a clip's song stops where the clip does) the last frame's, 1 without any."""
        if not len(self.loudness):
            return np.ones(frames)
        index = np.clip(np.round(start * CORPUS_FPS).astype(int) + np.arange(frames), 0, len(self.loudness) - 1)
        return self.loudness[index]

    def between(self, start: float, seconds: float) -> np.ndarray:
        """The beats of the `seconds` from `start` s into the track, in seconds from `start`. Before
        its first beat and past its last (a clip's song stops where the clip does) the beats carry
        on at the tempo (`beats_from`)."""
        return self.beats_from(start, start + seconds)[1] - start

    def phase(self, times: np.ndarray) -> np.ndarray:
        """The beat phase at each of `times` (seconds from the track's start): 0 on a beat, rising
        to 1 before the next, the beats carried on before the first and past the last as
        `beats_from` carries them; NaN outside the track, and everywhere in a track without beats."""
        times = np.asarray(times, dtype=np.float64)
        if len(self.times) < 2:
            return np.full(times.shape, np.nan)
        grid = self._carried(0.0, self.seconds)[1]
        index = np.clip(np.searchsorted(grid, times, side="right") - 1, 0, len(grid) - 2)
        phase = np.clip((times - grid[index]) / (grid[index + 1] - grid[index]), 0.0, 1.0 - 1e-9)
        return np.where((times >= 0) & (times < self.seconds), phase, np.nan)


def music_frames(track: TrackBeats | None, start: float, frames: int, fps: float = CORPUS_FPS) -> np.ndarray:
    """(frames, 2): the beat phase and onset strength of each frame of a dance that starts `start`
    s into the track (see the module docs); frames outside the track, or without a track, hear
    nothing (NaN phase, 0 onset)."""
    heard = np.zeros((frames, 2))
    heard[:, 0] = np.nan
    if track is None:
        return heard
    times = start + np.arange(frames) / fps
    heard[:, 0] = track.phase(times)
    index = np.round(times * CORPUS_FPS).astype(int)
    inside = (index >= 0) & (index < len(track.onset))
    heard[inside, 1] = track.onset[index[inside]]
    return heard


@functools.lru_cache(maxsize=16)
def music_beats(audio_path: str | os.PathLike) -> TrackBeats:
    """The beats of the whole track in `audio_path` (its first MAX_TRACK_SECONDS; see the module
    docs); none in silence. Kept for the process's life: the model's worker tracks a song while the
    user's video is read."""
    from .onsets import onset_strength, rms, tempo_of, tempogram

    samples = read_audio(audio_path, AUDIO_RATE, channels=1, duration=MAX_TRACK_SECONDS).mono()
    seconds = samples.size / AUDIO_RATE
    cut = seconds >= MAX_TRACK_SECONDS
    if samples.size < AUDIO_RATE or not np.abs(samples).max() > SILENCE:
        return TrackBeats(np.zeros(0), seconds, cut=cut)
    envelope = onset_strength(samples, AUDIO_RATE, HOP)
    gram = tempogram(envelope, AUDIO_RATE, HOP)
    first = tempo_of(gram, AUDIO_RATE, HOP)
    # as librosa's beat_track(start_bpm=tempo) does: the tempo again, its prior centred on the first
    bpm = tempo_of(gram, AUDIO_RATE, HOP, start_bpm=first)
    beats = track_beats(envelope, bpm, AUDIO_RATE / HOP, tightness=100.0) * HOP / AUDIO_RATE
    frame_times = np.arange(int(seconds * CORPUS_FPS)) / CORPUS_FPS
    hop_times = np.arange(len(envelope)) * HOP / AUDIO_RATE
    onset = np.interp(frame_times, hop_times, envelope)
    onset = np.clip(onset / max(float(np.percentile(envelope, 99)), 1e-9), 0.0, 1.0)
    hop_rms = rms(samples, HOP)
    rms_frames = np.interp(frame_times, np.arange(len(hop_rms)) * HOP / AUDIO_RATE, hop_rms)
    rms_frames = filters.uniform_filter1d(rms_frames, max(1, round(LOUDNESS_SECONDS * CORPUS_FPS)), mode="nearest")
    loudness = rms_frames / max(float(np.median(rms_frames)), 1e-9)
    beat_frames = (beats * AUDIO_RATE).astype(int) // HOP  # librosa's time_to_frames
    return TrackBeats(beats, seconds, first if len(beats) else 0.0, onset, cut, loudness,
                      phrase_phase(hop_rms, beat_frames))


def phrase_phase(rms: np.ndarray, beat_frames: np.ndarray) -> int:
    """Which of the first PHRASE_BEATS beats starts an eight-count (see the module docs): `rms` the
    track's loudness at each analysis frame, `beat_frames` the beats' frames in it. Each beat's
    accent is its loudest frame from one before it to two after (a hit and its ring). Loudness, not
    onset strength: librosa's onset envelope is a flux of decibels, which barely tells a click
    twice as loud from another (measured on accented click tracks)."""
    if len(beat_frames) < PHRASE_BEATS:
        return 0
    peaks = filters.maximum_filter1d(np.asarray(rms, dtype=np.float64), 4, origin=-1, mode="nearest")
    accents = peaks[np.clip(beat_frames, 0, len(peaks) - 1)]
    bar = int(np.argmax([accents[first::4].mean() for first in range(4)]))
    return bar if accents[bar::PHRASE_BEATS].mean() >= accents[bar + 4::PHRASE_BEATS].mean() else bar + 4


def beat_align_score(motion: np.ndarray, music: np.ndarray, sigma_seconds: float = BEAT_SIGMA_SECONDS) -> float:
    """Mean over motion beats of exp(-d² / 2σ²), d the gap to the nearest music beat (0 without beats)."""
    motion = np.asarray(motion, dtype=np.float64).reshape(-1)
    music = np.asarray(music, dtype=np.float64).reshape(-1)
    if motion.size == 0 or music.size == 0:
        return 0.0
    nearest = np.abs(motion[:, None] - music[None, :]).min(axis=1)
    return float(np.exp(-(nearest**2) / (2 * sigma_seconds**2)).mean())


def beat_alignment(motion: np.ndarray, track: TrackBeats, start: float, seconds: float) -> tuple[float, float | None]:
    """(score, shifted-music null) of the motion beats of a `seconds`-long dance that starts `start`
    s into the track. Only shifts that keep the dance inside the track count (None if none do)."""
    score = beat_align_score(motion, track.times - start)
    inside = [s for s in NULL_SHIFTS if 0.0 <= start + s and start + s + seconds <= track.seconds]
    if not inside:
        return score, None
    return score, float(np.mean([beat_align_score(motion, track.times - start - s) for s in inside]))


def shift_curve(motion: np.ndarray, track: TrackBeats, start: float, seconds: float, shifts: np.ndarray) -> np.ndarray:
    """The Beat Align Score of the motion beats against the music moved by each of `shifts` seconds
    (NaN where the moved dance would leave the track): a dance that follows the music peaks at 0."""
    return np.array([beat_align_score(motion, track.times - start - s)
                     if 0.0 <= start + s and start + s + seconds <= track.seconds else np.nan for s in shifts])

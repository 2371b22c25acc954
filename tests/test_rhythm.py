"""Rhythm measures on synthetic dancers: stops on a beat lock to it under every reading that sees
them, stops at random times do not, a dancer moving with the music's loudness correlates with it
beyond the shifted-music null, and a dance built in eight-beat phrases resembles itself a phrase on."""

from __future__ import annotations

import numpy as np
import pytest

from bopbot.data.skeleton import INDEX
from bopbot.evaluation.rhythm import (
    READINGS,
    energy_correlation,
    phrase_similarity,
    pooled_vector_strength,
    rayleigh_p,
    vector_strength,
)

FPS = 20.0


def _standing(frames: int) -> np.ndarray:
    """(frames, 17, 3) pixel keypoints of a dancer standing still, hips at (320, 300), torso 100 px."""
    layout = {"nose": (0, -160), "left_eye": (-8, -168), "right_eye": (8, -168), "left_ear": (-16, -164),
              "right_ear": (16, -164), "left_shoulder": (-40, -100), "right_shoulder": (40, -100),
              "left_elbow": (-60, -50), "right_elbow": (60, -50), "left_wrist": (-70, 0), "right_wrist": (70, 0),
              "left_hip": (-20, 0), "right_hip": (20, 0), "left_knee": (-22, 90), "right_knee": (22, 90),
              "left_ankle": (-24, 180), "right_ankle": (24, 180)}
    keypoints = np.ones((frames, 17, 3))
    for name, (x, y) in layout.items():
        keypoints[:, INDEX[name], :2] = (320 + x, 300 + y)
    return keypoints


def _stroke(stops: np.ndarray, times: np.ndarray) -> np.ndarray:
    """A position going back and forth between 0 and 1, at rest at each of `stops` (seconds): a
    half-cosine from one stop to the next, so the speed dips to 0 exactly at each stop."""
    index = np.clip(np.searchsorted(stops, times, side="right") - 1, 0, len(stops) - 2)
    share = np.clip((times - stops[index]) / (stops[index + 1] - stops[index]), 0.0, 1.0)
    rising = (1 - np.cos(np.pi * share)) / 2
    return np.where(index % 2 == 0, rising, 1 - rising)


def _dancer(stops: np.ndarray, seconds: float, reach: float = 60.0) -> np.ndarray:
    """A standing dancer whose wrists (and elbows, less) swing up and down, stopping at `stops`."""
    times = np.arange(round(seconds * FPS)) / FPS
    keypoints = _standing(len(times))
    stroke = _stroke(stops, times) * reach
    for side in ("left", "right"):
        keypoints[:, INDEX[f"{side}_wrist"], 1] -= stroke
        keypoints[:, INDEX[f"{side}_elbow"], 1] -= stroke / 2
    return keypoints


def test_stops_on_the_beat_lock_to_it_and_not_to_another_period():
    keypoints = _dancer(np.arange(0.0, 21.0, 0.5), 20.0)
    for reading in ("left wrist", "right wrist", "canvas", "normalised", "hip-relative"):
        events = READINGS[reading](keypoints, FPS)
        assert len(events) >= 35, reading  # a stop every 0.5 s (none found at the very ends)
        locked = vector_strength(events, 0.5)
        assert locked.strength > 0.95 and locked.p < 1e-6, reading
        other = vector_strength(events, 0.37)
        assert other.strength < 3 * other.chance and other.p > 0.01, reading
    assert len(READINGS["left ankle"](keypoints, FPS)) == 0  # still ankles: no dips, no beats
    assert np.isnan(vector_strength(np.zeros(0), 0.5).strength)


def test_each_reading_sees_its_own_movement():
    seconds = 20.0
    times = np.arange(round(seconds * FPS)) / FPS
    keypoints = _dancer(np.arange(0.0, 21.0, 0.5), seconds)  # both wrists stop every 0.5 s...
    keypoints[:, INDEX["right_wrist"], 0] += _stroke(np.arange(0.0, 21.0, 0.6), times) * 80  # ...the right also every 0.6 s
    keypoints[:, INDEX["left_ankle"], 0] += _stroke(np.arange(0.0, 21.0, 0.7), times) * 20
    keypoints[:, INDEX["right_ankle"], 0] += _stroke(np.arange(0.0, 21.0, 0.8), times) * 20
    periods = {"left wrist": 0.5, "left ankle": 0.7, "right ankle": 0.8}
    for reading, period in periods.items():
        strengths = {p: vector_strength(READINGS[reading](keypoints, FPS), p).strength for p in (0.5, 0.6, 0.7, 0.8)}
        assert strengths[period] > 0.95 and max(strengths, key=strengths.get) == period, (reading, strengths)
    travelling = _dancer(np.arange(0.0, 21.0, 0.5), seconds)  # travelling left and right, stopping every 0.45 s
    travelling[:, :, 0] += _stroke(np.arange(0.0, 21.0, 0.45), times)[:, None] * 300
    assert vector_strength(READINGS["canvas"](travelling, FPS), 0.45).strength > 0.8  # the viewer sees the travel
    for reading in ("normalised", "hip-relative", "acceleration"):  # the body's own moves, travel taken out
        assert vector_strength(READINGS[reading](travelling, FPS), 0.5).strength > 0.95, reading


def test_stops_at_random_times_keep_no_phase():
    rng = np.random.default_rng(3)
    stops = np.cumsum(np.concatenate([[0.0], rng.uniform(0.3, 0.8, 60)]))
    keypoints = _dancer(stops, 20.0)
    for reading in ("left wrist", "canvas"):
        locked = vector_strength(READINGS[reading](keypoints, FPS), 0.5)
        assert locked.events >= 25
        assert locked.strength < 3 * locked.chance and locked.p > 0.05, reading


def test_vector_strength_and_rayleigh_by_hand():
    on_the_beat = vector_strength(np.arange(10) * 0.5 + 0.125, 0.5)  # a quarter beat late: still 1
    assert on_the_beat.strength == pytest.approx(1.0) and on_the_beat.chance == pytest.approx(1 / np.sqrt(10))
    assert vector_strength([0.0, 0.25], 0.5).strength == pytest.approx(0.0, abs=1e-12)  # opposite phases
    assert rayleigh_p(0.0, 20) == pytest.approx(1.0, abs=0.05)
    phases = np.random.default_rng(0).random((20000, 12))  # 12 random phases, many times over
    random_strength = np.abs(np.exp(2j * np.pi * phases).mean(axis=1))
    for strength in (0.3, 0.5, 0.7):
        assert rayleigh_p(strength, 12) == pytest.approx((random_strength >= strength).mean(), abs=0.01)
    assert rayleigh_p(0.15, 100) == pytest.approx(np.exp(-100 * 0.15**2), rel=0.02)  # many events: exp(-nR²)
    pooled = pooled_vector_strength([np.arange(8) * 0.5, np.arange(8) * 0.4 + 0.1], [0.5, 0.4])
    assert pooled.events == 16 and pooled.strength == pytest.approx(np.abs(1 + np.exp(0.5j * np.pi)) / 2)
    with pytest.raises(ValueError, match="beat period"):
        vector_strength([1.0], 0.0)
    late = pooled_vector_strength([np.arange(8) * 0.5 + 0.25, np.arange(8) * 0.4 + 0.1], [0.5, 0.4], [0.25, 0.1])
    assert late.strength == pytest.approx(1.0)  # each on its own beats: the same phase
    with pytest.raises(ValueError, match="2 dances but 1 beat periods"):
        pooled_vector_strength([np.zeros(2), np.zeros(2)], [0.5])
    with pytest.raises(ValueError, match=r"\(frames, 17, 3\)"):
        READINGS["canvas"](np.zeros((10, 17, 2)), FPS)
    with pytest.raises(ValueError, match="fps"):
        READINGS["normalised"](_standing(10), 0.0)


def test_moving_more_in_the_loud_half_follows_the_music():
    seconds = 20.0
    times = np.arange(round(seconds * FPS)) / FPS
    loud = times < seconds / 2
    keypoints = _standing(len(times))
    swing = np.sin(2 * np.pi * times) * np.where(loud, 60.0, 15.0)  # big moves while loud
    keypoints[:, INDEX["left_wrist"], 1] += swing
    keypoints[:, INDEX["right_wrist"], 1] -= swing
    envelope = np.where(np.arange(int(seconds * 50)) / 50 < seconds / 2, 0.5, 0.1)  # 14 dB apart, 50 a second
    envelope = envelope + np.random.default_rng(0).uniform(0, 0.02, envelope.size)
    following = energy_correlation(keypoints, FPS, envelope, 50.0)
    assert following.windows == 20
    assert following.correlation > 0.9
    assert following.correlation > following.null_mean + 2 * following.null_spread
    backwards = energy_correlation(keypoints, FPS, envelope[::-1].copy(), 50.0)
    assert backwards.correlation < -0.9
    with pytest.raises(ValueError, match="at least 3 windows"):
        energy_correlation(keypoints[:40], FPS, envelope, 50.0)
    with pytest.raises(ValueError, match="NaN"):
        energy_correlation(keypoints, FPS, np.full(100, np.nan), 50.0)


def test_a_dance_in_eight_beat_phrases_resembles_itself_a_phrase_on():
    beat, rng = 0.5, np.random.default_rng(1)
    phrase = round(8 * beat * FPS)
    moves = rng.normal(0.0, 30.0, (phrase, 17, 2))  # one phrase of random moves, smoothed, played thrice
    from scipy.ndimage import gaussian_filter1d

    moves = gaussian_filter1d(moves, 3.0, axis=0, mode="wrap")
    keypoints = _standing(3 * phrase)
    keypoints[:, :, :2] += np.tile(moves, (3, 1, 1))
    found = phrase_similarity(keypoints, FPS, beat)
    assert found.at_phrase > 0.95
    assert found.elsewhere < 0.5 and set(found.by_lag) == {8, 3, 5, 6, 7, 9, 10}
    with pytest.raises(ValueError, match="cannot be compared with itself"):
        phrase_similarity(keypoints[:phrase], FPS, beat)

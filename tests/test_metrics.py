"""Dance metrics and beats on constructed cases whose answers are known, and beat tracking on a real song."""

from __future__ import annotations

import numpy as np
import pytest

from bopbot.data.skeleton import INDEX
from bopbot.evaluation.metrics import (
    GEOMETRIC_FEATURES,
    frechet_distance,
    geometric_features,
    jitter,
    kinetic_features,
    mean_distance,
    pairwise_distances,
)
from bopbot.evaluation.word_metrics import CopyIndex, suffix_array, unique_words_per
from bopbot.music.beats import (
    BEAT_SIGMA_SECONDS,
    TrackBeats,
    beat_align_score,
    beat_alignment,
    motion_beats,
    music_beats,
)

#: A dancer standing facing the camera, arms hanging, in torso lengths (y down, mid-hip at 0).
STANDING = np.array([
    (0.0, -1.4), (0.08, -1.48), (-0.08, -1.48), (0.15, -1.42), (-0.15, -1.42),
    (0.35, -1.0), (-0.35, -1.0), (0.45, -0.45), (-0.45, -0.45),
    (0.5, 0.05), (-0.5, 0.05), (0.2, 0.0), (-0.2, 0.0),
    (0.22, 0.9), (-0.22, 0.9), (0.22, 1.8), (-0.22, 1.8),
])
ARMS = [INDEX[name] for name in ("left_elbow", "right_elbow", "left_wrist", "right_wrist")]


def _poses(xy: np.ndarray) -> np.ndarray:
    """(T, 17, 3) poses with every joint present from (T, 17, 2) positions."""
    return np.concatenate([xy, np.ones(xy.shape[:2] + (1,))], axis=2)


def _held(pose: np.ndarray, frames: int) -> np.ndarray:
    return _poses(np.repeat(pose[None], frames, axis=0))


def _swinging_arms(fps: float, seconds: float, period: float, phase: float = 0.0) -> np.ndarray:
    """Arms swinging sideways, their speed |sin(π (t - phase) / period)|: still at phase + k·period."""
    times = np.arange(round(seconds * fps)) / fps
    xy = np.repeat(STANDING[None], len(times), axis=0)
    xy[:, ARMS, 0] += 0.5 * np.cos(np.pi * (times - phase) / period)[:, None]
    return _poses(xy)


def _continuous_dance(fps: float, seconds: float = 6.0) -> np.ndarray:
    """Every joint on its own smooth path; the left wrist rises over the head and back each 2 s."""
    times = np.arange(round(seconds * fps)) / fps
    joints = np.arange(17)
    rate = 0.6 + 0.07 * joints
    xy = np.repeat(STANDING[None], len(times), axis=0)
    xy[:, :, 0] += 0.2 * np.sin(2 * np.pi * rate * times[:, None] + joints)
    xy[:, :, 1] += 0.15 * np.cos(2 * np.pi * 1.3 * rate * times[:, None] + 2 * joints)
    xy[:, INDEX["left_wrist"], 1] = -0.975 + 1.025 * np.cos(np.pi * times)
    return _poses(xy)


# ------------------------------------------------------------------ Fréchet distance
def test_identical_feature_sets_have_zero_frechet_distance():
    real = np.random.default_rng(0).normal(size=(500, 8)) * np.arange(1, 9) + 3.0
    assert frechet_distance(real, real.copy()) < 1e-6 * real.shape[1]


def test_frechet_distance_matches_the_closed_form_for_shifted_and_scaled_sets():
    rng = np.random.default_rng(1)
    dims = 6
    real = rng.normal(size=(400, dims)) * rng.uniform(0.5, 4.0, dims) + rng.normal(size=dims)
    std = real.std(axis=0, ddof=1)
    # z-scored by the real set, a one-std shift moves every mean by 1 and keeps the covariance: FD = D
    assert frechet_distance(real, real + std) == pytest.approx(dims, rel=1e-4)
    # scaling the spread by s about the mean: FD = tr(C + s²C - 2sC) = (1 - s)² tr(C) = (1 - s)² D
    scaled = real.mean(axis=0) + 0.5 * (real - real.mean(axis=0))
    assert frechet_distance(real, scaled) == pytest.approx(0.25 * dims, rel=1e-3)


def test_frechet_distance_works_with_a_handful_of_samples_and_warns_about_it():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(3, 51))
    real[:, 0] = 0.0  # a feature the real set never varies
    generated = rng.normal(size=(2, 51))
    with pytest.warns(UserWarning, match="2 independent samples of 51 features"):
        distance = frechet_distance(real, generated)
    assert np.isfinite(distance) and distance > 0
    with pytest.warns(UserWarning, match="11 independent samples"):
        frechet_distance(rng.normal(size=(400, 51)), rng.normal(size=(88, 51)), independent=11)
    with pytest.raises(ValueError):
        frechet_distance(real[:1], generated)


def test_weights_count_rows_as_if_they_were_copied():
    rng = np.random.default_rng(5)
    real, generated = rng.normal(size=(300, 4)), rng.normal(size=(40, 4)) + 0.3
    weights = rng.integers(0, 3, 40)
    copied = np.repeat(generated, weights, axis=0)
    assert frechet_distance(real, generated, weights) == pytest.approx(frechet_distance(real, copied), rel=1e-9)
    # diversity over the copied set, without the zero distances between copies of one row
    z = (copied - real.mean(axis=0)) / real.std(axis=0, ddof=1)
    owner = np.repeat(np.arange(40), weights)
    pairs = [np.linalg.norm(z[i] - z[j]) for i in range(len(z)) for j in range(i + 1, len(z)) if owner[i] != owner[j]]
    assert mean_distance(pairwise_distances(generated, real), weights) == pytest.approx(np.mean(pairs), rel=1e-9)


# ------------------------------------------------------------------ kinetic features and diversity
def test_a_frozen_dance_has_zero_kinetic_features():
    features = kinetic_features(_held(STANDING, 40), fps=20)
    assert features.shape == (51,)
    assert np.all(features == 0)


def test_kinetic_features_use_only_frames_where_the_joint_is_present():
    poses = _held(STANDING, 40)
    poses[10:20, INDEX["nose"]] = 0.0  # missing: confidence 0 and coordinates 0
    poses[:, INDEX["left_ear"]] = 0.0  # never seen
    features = kinetic_features(poses, fps=20)
    assert np.all(np.isfinite(features))
    assert np.all(features == 0)


def test_kinetic_features_measure_speed_and_acceleration_in_torso_lengths_per_second():
    fps, speed = 20.0, 1.5
    times = np.arange(60) / fps
    xy = np.repeat(STANDING[None], len(times), axis=0)
    xy[:, INDEX["nose"], 0] += speed * times
    features = kinetic_features(_poses(xy), fps).reshape(17, 3)
    assert features[INDEX["nose"]] == pytest.approx([speed**2, 0.0, 0.0], abs=1e-9)
    assert np.all(np.delete(features, INDEX["nose"], axis=0) == 0)


def test_identical_dances_have_zero_diversity_and_different_dances_do_not():
    real = np.stack([kinetic_features(_swinging_arms(20, 3, period), 20) for period in (0.4, 0.5, 0.7, 1.0)])
    same = np.stack([kinetic_features(_swinging_arms(20, 3, 0.5), 20)] * 3)
    assert mean_distance(pairwise_distances(same, real)) == 0.0
    assert mean_distance(pairwise_distances(real, real)) > 1.0


# ------------------------------------------------------------------ frame-rate independence
def test_features_hold_at_any_frame_rate():
    slow, fast = _continuous_dance(20), _continuous_dance(60)
    np.testing.assert_allclose(kinetic_features(fast, 60), kinetic_features(slow, 20), rtol=0.05)
    geometric_slow, geometric_fast = geometric_features(slow, 20), geometric_features(fast, 60)
    # a relation held for about MIN_HOLD_SECONDS may count at one rate and not the other: roughly the same
    np.testing.assert_allclose(geometric_fast, geometric_slow, atol=0.1)
    assert np.abs(geometric_fast - geometric_slow).mean() < 0.01
    above_head = geometric_slow[GEOMETRIC_FEATURES.index("wrist_above_head_l")]
    assert 0.2 < above_head < 0.5  # the wrist is above the nose for a real share of the time


# ------------------------------------------------------------------ geometric features
MOVING = ("wrist_fast", "wrist_still", "hand_rising", "hand_falling", "ankle_fast", "foot_lifting",
          "head_moving", "body_still", "body_fast")


def test_geometric_features_are_fractions_of_time_each_relation_holds():
    arms_up = STANDING.copy()
    arms_up[ARMS, 1] = [-1.5, -1.5, -2.0, -2.0]
    poses = np.concatenate([_held(STANDING, 30), _held(arms_up, 30)])
    features = dict(zip(GEOMETRIC_FEATURES, geometric_features(poses, fps=20)))
    assert len(GEOMETRIC_FEATURES) == 44 and len(features) == len(GEOMETRIC_FEATURES)
    for name in ("wrist_above_head", "wrist_above_shoulder", "elbow_above_shoulder"):
        assert features[f"{name}_l"] == features[f"{name}_r"] == 0.5
    posed = {name: value for name, value in features.items() if not name.startswith(MOVING)}
    assert sum(posed.values()) == 3.0  # no other pose relation holds for a dancer standing or raising the arms
    # held poses are still, except around the one jump between them
    for name in ("wrist_still_l", "wrist_still_r", "body_still"):
        assert 0.9 <= features[name] < 1.0
    assert 0 < features["wrist_fast_l"] == features["body_fast"] < 0.05  # the jump: two frames, 0.1 s


def test_velocity_relations_see_speed_and_direction_in_torso_lengths_per_second():
    fps = 20
    times = np.arange(80) / fps
    xy = np.repeat(STANDING[None], len(times), axis=0)
    # the left wrist circles the elbow once a second (radius 0.5: 3.1 torso lengths/s)
    xy[:, INDEX["left_wrist"]] = xy[:, INDEX["left_elbow"]] + 0.5 * np.stack(
        [np.cos(2 * np.pi * times), np.sin(2 * np.pi * times)], axis=1)
    features = dict(zip(GEOMETRIC_FEATURES, geometric_features(_poses(xy), fps)))
    assert features["wrist_fast_l"] == 1.0 and features["wrist_still_l"] == 0.0
    assert features["wrist_fast_r"] == 0.0 and features["wrist_still_r"] == 1.0
    # rising (y falling) while the vertical speed 3.1 |cos| is above 1: about 40% of the time each way
    assert features["hand_rising_l"] == pytest.approx(0.4, abs=0.08)
    assert features["hand_falling_l"] == pytest.approx(0.4, abs=0.08)
    slow = dict(zip(GEOMETRIC_FEATURES, geometric_features(_poses(xy), fps / 4)))  # the same frames, 4x slower
    assert slow["wrist_fast_l"] == 0.0 and slow["hand_rising_l"] == 0.0


def test_geometric_features_count_only_frames_with_the_joints_and_ignore_flicker():
    arms_up = STANDING.copy()
    arms_up[INDEX["left_wrist"], 1] = -2.0
    poses = np.concatenate([_held(STANDING, 20), _held(arms_up, 20)])
    poses[:10, INDEX["nose"]] = 0.0
    above_head = GEOMETRIC_FEATURES.index("wrist_above_head_l")
    assert geometric_features(poses, fps=20)[above_head] == pytest.approx(20 / 30)
    flicker = _held(STANDING, 40)
    flicker[::4, INDEX["left_wrist"], 1] = -2.0  # one frame (0.05 s) in four: pose-estimator noise
    assert geometric_features(flicker, fps=20)[above_head] == 0.0


def test_crossing_is_judged_against_the_shoulders_whichever_way_the_dancer_faces():
    crossed = STANDING.copy()
    crossed[INDEX["left_wrist"], 0], crossed[INDEX["right_wrist"], 0] = -0.3, 0.3
    facing_away = STANDING.copy()
    facing_away[:, 0] *= -1  # seen from behind: left is on the image left
    hands_crossed = GEOMETRIC_FEATURES.index("hands_crossed")
    assert geometric_features(_held(crossed, 10), 20)[hands_crossed] == 1.0
    assert geometric_features(_held(facing_away, 10), 20)[hands_crossed] == 0.0


# ------------------------------------------------------------------ beats
def test_motion_beats_are_every_stop_of_the_dancer():
    beats = motion_beats(_swinging_arms(20, 4, period=0.5), fps=20)
    np.testing.assert_allclose(beats, np.arange(1, 8) * 0.5, atol=0.05 + 1e-9)
    assert motion_beats(_held(STANDING, 80), fps=20).size == 0
    steady = _held(STANDING, 80)
    steady[:, :, 0] += np.arange(80)[:, None] * 0.05  # gliding at constant speed: no dips
    assert motion_beats(steady, fps=20).size == 0


def test_motion_that_stops_on_the_music_beats_scores_near_one():
    period = 0.5
    music = np.arange(0, 10.01, period)
    for fps in (20, 60):
        motion = motion_beats(_swinging_arms(fps, 10, period), fps)
        assert motion.size >= 15
        assert beat_align_score(motion, music) > 0.9
        assert beat_align_score(motion, music + period / 2) < 0.3
    late = motion_beats(_swinging_arms(20, 10, period, phase=period / 2), fps=20)
    assert beat_align_score(late, music) < 0.3


def test_beat_align_score_is_zero_without_beats():
    assert BEAT_SIGMA_SECONDS == 0.05  # AIST++'s 3 frames at 60 fps
    assert beat_align_score(np.zeros(0), np.array([0.5, 1.0])) == 0.0
    assert beat_align_score(np.array([0.5, 1.0]), np.zeros(0)) == 0.0
    assert beat_align_score(np.array([0.5]), np.array([0.5 + 0.05])) == pytest.approx(np.exp(-0.5))


def test_the_shifted_music_null_is_chance_even_for_a_steady_beat():
    track = TrackBeats(np.arange(0, 60, 0.5), 60.0)  # 120 beats a minute: a whole-second shift lands on a beat
    on_beat = np.arange(20.0, 30.0, 0.5) - 20.0
    score, null = beat_alignment(on_beat, track, start=20.0, seconds=10.0)
    assert score == 1.0
    expected = np.sqrt(2 * np.pi) * 0.05 / 0.5  # a Gaussian of σ 0.05 over a uniform phase in a 0.5 s beat
    assert null == pytest.approx(expected, abs=0.03)
    assert beat_alignment(on_beat, track, start=0.5, seconds=10.0)[1] is not None  # only shifts inside the track
    assert beat_alignment(on_beat, TrackBeats(track.times, 10.5), start=0.5, seconds=10.0)[1] is None


def test_music_beats_of_a_real_cha_cha_are_tracked_on_the_whole_song(data):
    song = data / "mocap" / "tang2018" / "DANCE_C_2" / "audio.mp3"
    track = music_beats(song)
    assert track.seconds > 200 and track.times.max() > 200  # the whole song, not an excerpt
    assert 90 <= 60 / np.median(np.diff(track.times)) <= 140
    start = 30.0  # a "dance" stepping on the song's beats beats its shifted null; one between them does not
    steps = track.times[(track.times > start) & (track.times < start + 10)] - start
    score, null = beat_alignment(steps, track, start, 10.0)
    assert score > 0.9 and null < 0.5
    between = (steps[1:] + steps[:-1]) / 2
    assert beat_alignment(between, track, start, 10.0)[0] < null


# ------------------------------------------------------------------ jitter
def test_jitter_is_zero_for_steady_motion_and_large_for_a_zig_zag():
    frames = np.arange(40)
    steady = np.repeat(STANDING[None], 40, axis=0)
    steady[:, :, 0] += 0.03 * frames[:, None]
    zig_zag = np.repeat(STANDING[None], 40, axis=0)
    zig_zag[:, :, 0] += 0.05 * (-1.0) ** frames[:, None]
    assert jitter(_poses(steady), fps=20) < 1e-9
    assert jitter(_poses(zig_zag), fps=20) == pytest.approx(0.2 * 20**2)
    assert jitter(np.zeros((40, 17, 3)), fps=20) == 0.0


# ------------------------------------------------------------------ words
def test_unique_words_per_window():
    fps, seconds = 2.0, 5.0  # windows of 10 words
    ids = np.concatenate([np.arange(10), np.full(10, 7), [1, 2, 3]])  # 10 distinct, then 1; tail left out
    assert unique_words_per(ids, fps, seconds) == 5.5
    assert unique_words_per(np.array([4, 4, 9, 9, 4]), fps, seconds) == 4.0  # 2 in 2.5 s: 4 per 5 s
    assert unique_words_per(np.zeros(0, dtype=int), fps, seconds) == 0.0


def test_a_verbatim_training_excerpt_is_a_copy_of_its_own_length():
    rng = np.random.default_rng(3)
    training = rng.integers(0, 1000, 100_000)
    flank = lambda count: rng.integers(1000, 2000, count)  # ids training never holds: cannot extend it
    generated = np.concatenate([flank(300), training[5000:5120], flank(200)])
    assert CopyIndex(training).longest_copy(generated) == 120
    assert CopyIndex(training).longest_copy(flank(500)) == 0


def test_longest_copy_matches_a_brute_force_search():
    rng = np.random.default_rng(4)
    for _ in range(20):
        training, generated = rng.integers(0, 3, 300), rng.integers(0, 3, 40)
        text = bytes(training.astype(np.uint8))
        longest = max((length for start in range(len(generated)) for length in range(1, len(generated) - start + 1)
                       if bytes(generated[start:start + length].astype(np.uint8)) in text), default=0)
        assert CopyIndex(training).longest_copy(generated) == longest


def test_suffix_array_sorts_every_suffix():
    rng = np.random.default_rng(5)
    for ids in (rng.integers(0, 3, 300), np.zeros(50, dtype=int), np.arange(40)[::-1]):
        expected = sorted(range(len(ids)), key=lambda start: list(ids[start:]))
        assert list(suffix_array(ids)) == expected

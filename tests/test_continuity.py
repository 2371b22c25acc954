"""The new dance carries on from the user's: the join, the travel model, the frame, and the figures
that measure them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bopbot.choreography.choreograph import hand_over_path, join_smoothly
from bopbot.choreography.framing import LONGEST_EASE_SECONDS, keep_in_frame
from bopbot.data.corpus import Corpus
from bopbot.data.motion import smooth
from bopbot.data.normalise import denormalise
from bopbot.evaluation import continuity
from bopbot.models.travel import PACE_RANGE, hip_steps, load_travel, travel_path, user_speed, window_features
from bopbot.vocabulary.vocabulary import PoseVocabulary

#: A dancer standing facing the camera, in pixels (torso 60 px, 17 joints).
FRONT = np.array([[100, 40], [104, 36], [96, 36], [108, 38], [92, 38], [115, 60], [85, 60], [125, 85], [75, 85],
                  [130, 110], [70, 110], [110, 120], [90, 120], [112, 160], [88, 160], [113, 200], [87, 200]], float)


def _dance(xy: np.ndarray) -> np.ndarray:
    return np.concatenate([xy, np.ones(xy.shape[:2] + (1,))], axis=2).astype(np.float32)


def _walking(frames: int, step: float, start: float = 0.0) -> np.ndarray:
    """The front pose gliding right by `step` pixels a frame."""
    shifts = start + step * np.arange(frames)
    return _dance(FRONT[None] + np.stack([shifts, np.zeros(frames)], axis=1)[:, None, :])


def test_a_steady_walk_joins_with_its_own_step_and_a_jump_does_not():
    context, carried_on = _walking(40, 2.0), _walking(40, 2.0, start=80.0)
    assert continuity.join_ratio(context, carried_on) == pytest.approx(1.0)
    jumped = _walking(40, 2.0, start=100.0)  # ten steps' worth in one frame
    assert continuity.join_ratio(context, jumped) == pytest.approx(11.0)


def test_view_travel_and_frame_figures():
    side = FRONT.copy()
    side[[5, 6, 11, 12], 0] = 100.0  # shoulders and hips one behind the other: seen side-on
    frontal, profile = _dance(np.repeat(FRONT[None], 40, axis=0)), _dance(np.repeat(side[None], 40, axis=0))
    assert continuity.side_on_fraction(frontal) == 0.0 and continuity.side_on_fraction(profile) == 1.0
    turning = np.concatenate([frontal[:30], profile[:10]])  # side-on in a quarter of the frames
    assert continuity.view_shift(frontal, turning, fps=20) == pytest.approx(0.25)
    assert np.isnan(continuity.view_shift(profile, turning, fps=20))  # only frontal contexts count
    walk = _walking(40, 3.0, start=3.0)  # 3 px a frame: 1/20 torso lengths, 1 torso length a second
    assert continuity.hip_excursion(_walking(10, 3.0, start=-27.0), walk) == pytest.approx(2.0)
    assert continuity.root_speed(_walking(10, 3.0, start=-27.0), walk, fps=20) == pytest.approx(1.0)
    assert continuity.inside_frame(walk, (300, 220)) == 1.0
    assert continuity.inside_frame(walk, (200, 220)) == pytest.approx(np.mean(np.arange(40) * 3 + 3 + 130 <= 200))


def test_keep_in_frame_moves_and_shrinks_the_dancer_smoothly_and_leaves_others_alone():
    walking_off = _walking(100, 3.0)
    kept = keep_in_frame(walking_off, (300, 220))
    assert continuity.inside_frame(kept, (300, 220)) == 1.0
    assert kept[:, :, 0].max() <= 300 - 0.15 * 60 + 1e-3  # room for the robot's limbs
    assert np.abs(np.diff(kept[:, 0, 0])).max() <= 3.0 + 1e-3  # never faster than the dancer was
    np.testing.assert_array_equal(keep_in_frame(walking_off[:20], (400, 300)), walking_off[:20])
    tall = keep_in_frame(_walking(20, 0.0), (300, 150))  # 160 px of dancer (plus helmet) on a 150 px canvas
    assert continuity.inside_frame(tall, (300, 150)) == 1.0
    height = tall[:, :, 1].max(axis=1) - tall[:, :, 1].min(axis=1)
    assert np.all(height < 150) and np.ptp(height) < 1e-3  # shrunk, and the same every frame


def test_keep_in_frame_measures_a_dancer_without_hips_by_the_joints_it_has():
    low = _walking(40, 0.0) + np.array([0.0, 400.0, 0.0], np.float32)  # joints 436 to 600 px, hips missing
    low[:, 11:13] = 0.0
    # the robot (about 50 px of torso, 15 px of shadow below) fits a 630 px canvas as it is: it was
    # moved up 25 px when the missing hips' zeros counted into its height (a torso of 182 px)
    np.testing.assert_array_equal(keep_in_frame(low, (300, 630)), low)


def test_keep_in_frame_eases_the_robot_in_from_where_the_user_was():
    tall = _walking(130, 0.0) - np.array([0.0, 30.0, 0.0], np.float32)  # joints 6 to 170 px: the helmet is cut off
    eased = keep_in_frame(tall, (300, 175), ease_in=True)
    np.testing.assert_allclose(eased[0], tall[0])  # starts where the user was
    assert continuity.inside_frame(eased, (300, 175)) == 1.0
    ease = round(LONGEST_EASE_SECONDS * 20)  # a dancer standing still: the ease takes its longest
    helmet = 0.35 * 60 * (eased[:, :, 1].max(axis=1) - eased[:, :, 1].min(axis=1)) / 164
    assert np.all(eased[ease:, :, 1].min(axis=1) - helmet[ease:] >= -1e-3)  # the whole robot in once eased
    height = eased[:, :, 1].max(axis=1) - eased[:, :, 1].min(axis=1)
    assert np.all(np.diff(height[:ease + 1]) <= 1e-6) and np.abs(np.diff(height)).max() < 0.05 * 160  # shrinks gently
    user = _walking(130, 0.0)
    cut_off = keep_in_frame(user, (300, 150), ease_in=True)  # the user's feet below the frame
    np.testing.assert_allclose(cut_off[0], user[0])  # no jump at the join: the feet come in with the ease
    moved_in = np.abs(cut_off[-1, :, :2] - user[-1, :, :2]).max()
    assert moved_in > 5 and np.abs(np.diff(cut_off[:, :, :2], axis=0)).max() < 0.1 * moved_in  # gently
    assert continuity.inside_frame(cut_off[ease:], (300, 150)) == 1.0  # every joint in once eased
    short = keep_in_frame(user[:40], (300, 150), ease_in=True)
    assert continuity.inside_frame(short[20:], (300, 150)) == 1.0  # a short dance eases in over its first half


def test_the_robot_eases_into_the_frame_no_faster_than_it_dances():
    def steps(keypoints: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.diff(keypoints[:, :, :2], axis=0), axis=2).mean(axis=1)

    for swing, within in ((20, 1.6), (40, 1.6), (80, 1.1)):  # arms swinging 20 to 80 px, a second a swing
        user = _walking(200, 0.0)
        user[:, 5:11, 0] += swing * np.sin(2 * np.pi * np.arange(200) / 20)[:, None]
        eased, fitted = keep_in_frame(user, (300, 150), ease_in=True), keep_in_frame(user, (300, 150))
        # the ease's own motion (about 30 px to close) at most about the dance's median step: over a
        # fixed second a gentle dancer's feet came in at 3 times its pace
        assert steps(eased - fitted).max() <= within * np.median(steps(fitted))
        joints_in = [continuity.inside_frame(eased[i:i + 1], (300, 150)) for i in range(len(eased))]
        assert all(joints_in[60:]) and all(joints_in[20:]) == (swing > 20)  # a livelier dancer is in after a second


def test_a_lurch_after_the_first_frame_shows_in_the_handover_not_in_the_join():
    context, steady = _walking(40, 2.0), _walking(100, 2.0, start=80.0)
    assert continuity.handover_ratio(context, steady) == pytest.approx(1.0)
    lurching = steady.copy()
    lurching[5:, :, 0] += 40.0  # twenty steps' worth between the 5th and 6th new frames
    assert continuity.join_ratio(context, lurching) == pytest.approx(1.0)
    assert continuity.handover_ratio(context, lurching) == pytest.approx(21.0)


def test_the_placement_hands_over_from_the_users_own_step():
    context = np.tile(np.array([100.0, 200.0, 50.0], np.float32), (20, 1))
    context[:, 0] += 4.0 * np.arange(20)  # the user walks right 4 px a frame
    model_path = np.tile(context[-1], (40, 1))
    model_path[:, 1] -= 30.0 * np.arange(1, 41)  # the model's path leaps up 30 px a frame at once
    path = hand_over_path(context, model_path)
    assert path[0, 0] - context[-1, 0] == pytest.approx(0.8 * 4.0, abs=0.1)  # the user's step, slowing
    assert abs(path[0, 1] - context[-1, 1]) < 1.0  # not the model's stride yet
    np.testing.assert_allclose(np.diff(path[15:, 1]), -30.0, atol=1e-3)  # then the model's path


def test_the_join_hands_over_from_the_users_own_motion(tiny_model, small_corpus):
    vocabulary = PoseVocabulary.load(tiny_model)
    context = next(Corpus(small_corpus).sequences()).poses[:200]
    keyframes = vocabulary.decode(np.random.default_rng(0).integers(0, vocabulary.k, 100))  # far-off poses
    new = join_smoothly(vocabulary, context, keyframes)
    last_step = context[-1, :, :2] - context[-2, :, :2]
    first_step = new[0, :, :2] - context[-1, :, :2]
    assert np.abs(first_step - 0.8 * last_step).max() < 0.05  # the user's own step, slowing down
    assert np.linalg.norm(new[10:, :, :2] - keyframes[10:, :, :2], axis=2).mean() < 0.5  # then its own dance


def test_the_travel_model_reads_travel_from_the_poses(tiny_model, small_corpus):
    """Trained on four takes it cannot generalise (the evaluation measures that on the default
    model); here it must at least learn its data, and the path must be integrated from where the
    dance left off."""
    described = json.loads((tiny_model / "travel.json").read_text())
    assert set(described["report"]["validation_r2"]) == {"dx", "dy", "dlog_scale"}
    assert described["report"]["gain"]["dx"] >= 1.0  # expected steps are scaled up, never down
    travel = load_travel(tiny_model)
    vocabulary = PoseVocabulary.load(tiny_model)
    agreement = []
    for sequence in list(Corpus(small_corpus).sequences())[:6]:
        frames = min(400, len(sequence.poses))
        words = smooth(vocabulary.decode(vocabulary.encode(sequence.poses[:frames])))  # as the generators' dances are
        path = travel_path(travel, words[:20], words[20:], sequence.placement[19])
        assert path.shape == (frames - 20, 3) and np.isfinite(path).all()
        predicted = hip_steps(np.concatenate([sequence.placement[19:20], path]))
        agreement.append(np.corrcoef(predicted[:, 0], hip_steps(sequence.placement[19:frames])[:, 0])[0, 1])
    assert np.mean(agreement) > 0.2  # it steps the way the dancer stepped
    still = travel_path(None, words[:20], words[20:30], sequence.placement[19])
    assert still.tolist() == np.tile(sequence.placement[19], (10, 1)).tolist()  # no travel model: the dancer stays
    assert window_features(words).shape == (frames, 170)


def test_a_damaged_or_mismatched_travel_model_is_refused_by_name(tiny_model, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    from bopbot.errors import BopBotError
    from bopbot.models.model_folder import Choreographer

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    weights, description = folder / "travel.safetensors", folder / "travel.json"
    whole = weights.read_bytes()
    weights.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(BopBotError, match="travel.safetensors.*unreadable travel model"):
        Choreographer.load(folder)
    weights.write_bytes(whole)
    tensors = load_file(str(weights))
    tensors["net.0.weight"][0, 0] = float("nan")
    save_file(tensors, str(weights))
    with pytest.raises(BopBotError, match="travel.safetensors.*NaN"):
        load_travel(folder)
    weights.write_bytes(whole)
    described = json.loads(description.read_text())
    description.write_text(json.dumps({**described, "window": 4}))
    with pytest.raises(BopBotError, match="travel.json.*another shape"):
        load_travel(folder)
    description.write_text("{")
    with pytest.raises(BopBotError, match="travel.json.*corrupt travel model description"):
        load_travel(folder)
    description.write_text(json.dumps(described))
    assert load_travel(folder) is not None


def test_the_new_dance_travels_at_the_users_own_speed(tiny_model, small_corpus):
    travel = load_travel(tiny_model)
    vocabulary = PoseVocabulary.load(tiny_model)
    sequence = max(Corpus(small_corpus).sequences(), key=lambda s: np.ptp(s.placement[:200, 0]) / s.placement[0, 2])
    words = smooth(vocabulary.decode(vocabulary.encode(sequence.poses[:300])))
    travelled = user_speed(sequence.placement[:200])
    assert travelled > 0.01  # torso lengths a frame
    assert user_speed(np.tile(sequence.placement[199], (200, 1))) == 0.0
    assert user_speed(sequence.placement[:20]) is None  # under 2 s: the model's own speed

    def steps_and_zoom(speed):
        """Each frame's hip step in torso lengths (pixels over the scale it steps from), and the zoom."""
        path = travel_path(travel, words[:200], words[200:], sequence.placement[199], speed).astype(np.float64)
        path = np.concatenate([sequence.placement[199:200].astype(np.float64), path])
        return np.diff(path[:, :2], axis=0) / path[:-1, 2:], np.log(path[1:, 2] / sequence.placement[199, 2])
    (own, own_zoom), (moved, moved_zoom) = steps_and_zoom(None), steps_and_zoom(travelled)
    assert np.abs(own).max() > 1e-3  # the travel model steps
    np.testing.assert_allclose(np.linalg.norm(moved, axis=1).mean(), travelled, rtol=1e-3)
    ratio = np.linalg.norm(moved, axis=1).mean() / np.linalg.norm(own, axis=1).mean()
    np.testing.assert_allclose(moved, ratio * own, rtol=1e-3, atol=1e-5)  # where and when: the model's
    np.testing.assert_allclose(moved_zoom, ratio * own_zoom, rtol=1e-3, atol=1e-6)  # depth too
    still, _ = steps_and_zoom(0.0)
    np.testing.assert_allclose(still, PACE_RANGE[0] * own, rtol=1e-3, atol=1e-5)  # on the spot: the least


def test_a_placed_dance_is_drawn_where_the_context_left_off(tiny_model, small_corpus):
    from bopbot.choreography.choreograph import continue_on_canvas

    vocabulary = PoseVocabulary.load(tiny_model)
    sequence = next(Corpus(small_corpus).sequences())
    context, placement = sequence.poses[:200], sequence.placement[:200]
    shown = continue_on_canvas(vocabulary, load_travel(tiny_model), context, placement,
                               vocabulary.decode(vocabulary.encode(sequence.poses[200:400])), sequence.size)
    last = denormalise(context[-1:], placement[-1:])[0]
    assert np.linalg.norm(shown[0, :, :2] - last[:, :2], axis=1).mean() < 0.1 * placement[-1, 2]
    assert continuity.inside_frame(shown, sequence.size) == 1.0


def test_motion_ratio_says_how_much_the_new_dance_moves_against_the_users_own():
    from bopbot.evaluation.continuity import motion_ratio

    rng = np.random.default_rng(0)
    frames = np.arange(200)[:, None, None]
    base = rng.uniform(200, 400, size=(1, 17, 2))
    sway = 20 * np.sin(2 * np.pi * rng.uniform(0.5, 1.5, size=(1, 17, 2)) * frames / 20 + rng.uniform(0, 6, size=(1, 17, 2)))
    dance = np.concatenate([base + sway, np.ones((200, 17, 1))], axis=2)
    context, continuation = dance[:100], dance[100:]
    assert 0.7 < motion_ratio(context, continuation) < 1.4
    twice = np.concatenate([dance[::2], dance[::2]])[:100]  # the same moves at double speed
    assert 1.7 < motion_ratio(context, twice) < 2.3
    assert 3.0 < motion_ratio(context, twice, order=2) < 5.0  # accelerations go with the square
    still = np.repeat(dance[100:101], 100, axis=0)
    assert motion_ratio(context, still) == 0.0


def test_a_flicker_in_the_last_frame_is_carried_on_as_an_ordinary_step():
    from bopbot.choreography.choreograph import ordinary_step

    steady = np.cumsum(np.full((30, 2, 2), 0.1), axis=0)  # two points stepping 0.1 each axis a frame
    np.testing.assert_allclose(ordinary_step(steady), np.full((2, 2), 0.1))  # an ordinary last step is kept
    flicker = steady.copy()
    flicker[-1] += 2.0  # the last frame jumps 20 steps' worth
    carried = ordinary_step(flicker)
    np.testing.assert_allclose(np.linalg.norm(carried, axis=1), np.linalg.norm(np.full(2, 0.1)), rtol=1e-9)
    np.testing.assert_allclose(carried / np.linalg.norm(carried, axis=1)[:, None], np.full((2, 2), 2 ** -0.5))  # same way


def test_a_lively_users_step_is_carried_on_no_longer_than_the_calmer_new_dances_steps(tiny_model, small_corpus):
    """A user stepping 4x as far a frame as the new dance moves hands over with the new dance's own
    step, so the first new frame is no jump against what follows (the join of `bopbot dance`)."""
    from bopbot.choreography.choreograph import median_step, ordinary_step
    from bopbot.evaluation.continuity import join_ratio

    steady = np.cumsum(np.full((30, 2, 2), 0.1), axis=0)
    calm = steady[-1] + np.cumsum(np.full((40, 2, 2), 0.025), axis=0)
    np.testing.assert_allclose(ordinary_step(steady, calm), np.full((2, 2), 0.025))
    np.testing.assert_allclose(ordinary_step(steady, steady + 9.0), np.full((2, 2), 0.1))  # as lively: kept

    vocabulary = PoseVocabulary.load(tiny_model)
    poses = next(Corpus(small_corpus).sequences()).poses
    lively = poses[:180:3]  # the user's dance at 3x its speed...
    new = join_smoothly(vocabulary, lively, vocabulary.decode(vocabulary.encode(poses[180:240])))  # ...then at its own
    assert median_step(lively[-21:, :, :2]) > 2 * median_step(new[:, :, :2])
    assert np.linalg.norm(new[0, :, :2] - lively[-1, :, :2], axis=1).mean() <= median_step(new[:, :, :2])
    assert join_ratio(lively, new) <= 1.0


def test_a_new_dance_that_starts_far_from_the_user_gets_there_at_its_own_pace(tiny_model, small_corpus):
    """A first word's pose 0.3 torso lengths from a gentle user's last was reached in a fixed half
    second, up to 9 times as fast as the new dance then moved (held-out phone clip xdyna_driving_3,
    seeds 0 to 2): a lurch. The handover now lasts until the way is gone at the new dance's own pace,
    3 s at most, and the first frame still carries on the user's own step."""
    from bopbot.choreography.choreograph import LONGEST_HANDOVER_SECONDS, median_step

    vocabulary = PoseVocabulary.load(tiny_model)
    poses = next(Corpus(small_corpus).sequences()).poses
    context = poses[:120]
    slow = np.linspace(0, 39, 200)  # another stretch of the dance at a fifth of its speed
    keyframes = np.stack([np.interp(slow, np.arange(40), poses[160:200, j, c]) for j in range(17) for c in range(3)],
                         axis=1).reshape(200, 17, 3).astype(np.float32)
    new = join_smoothly(vocabulary, context, keyframes, low_pass=False)
    steps = np.linalg.norm(np.diff(np.concatenate([context[-1:], new])[:, :, :2], axis=0), axis=2).mean(axis=1)
    own = median_step(new[:, :, :2])
    assert np.linalg.norm(keyframes[0, :, :2] - context[-1, :, :2], axis=1).mean() > 10 * own  # far away
    assert steps.max() <= 1.6 * own  # got there no faster than it dances
    longest = round(LONGEST_HANDOVER_SECONDS * 20)
    np.testing.assert_allclose(new[longest:], keyframes[longest:], atol=1e-5)  # then its own dance

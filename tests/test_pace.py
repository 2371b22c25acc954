"""The new dance at the user's pace: played faster or slower to move as fast as the user did."""

from __future__ import annotations

import numpy as np

from bopbot.choreography.pace import PACE_RANGE, Pace, at_pace, frames_to_write, pace_rate, pace_times
from bopbot.data.motion import mean_motion
from bopbot.music.retime import source_frames_needed


def _real_dance(small_corpus, frames: int) -> np.ndarray:
    from bopbot.data.corpus import Corpus

    return next(Corpus(small_corpus).sequences()).poses[:frames]


def test_a_dance_played_at_half_the_rate_moves_at_half_the_speed(small_corpus):
    dance = _real_dance(small_corpus, 400)
    same = at_pace(dance, pace_times(1.0, 200, len(dance)))
    assert np.allclose(same[:, :, :2], dance[:200, :, :2], atol=1e-5)
    slow = at_pace(dance, pace_times(0.5, 200, len(dance)))
    assert np.allclose(slow[::2, :, :2], dance[:100, :, :2], atol=1e-5)  # the same poses, twice the time
    assert 0.45 < mean_motion(slow) / mean_motion(dance[:100]) < 0.55
    assert 0.2 < mean_motion(slow, 2) / mean_motion(dance[:100], 2) < 0.3  # acceleration: the square


def test_the_rate_is_the_users_speed_over_the_written_dances_within_its_range(small_corpus):
    dance = _real_dance(small_corpus, 800)
    written = dance[:frames_to_write(200)]
    slow_user = at_pace(dance, pace_times(0.5, 160, len(dance)))  # 8 s showing the written dance's first 4 s
    assert 0.45 < pace_rate(slow_user, written, 160) < 0.55
    still = np.repeat(dance[:1], 200, axis=0)
    still[:, :, :2] += np.random.default_rng(0).normal(0, 1e-4, size=still[:, :, :2].shape)
    assert pace_rate(still, written, 200) == PACE_RANGE[0]
    fast_user = dance[::3][:200]
    assert pace_rate(fast_user, written, 200) == PACE_RANGE[1]
    unseen = dance[:200].copy()
    unseen[:, :, 2] = 0
    assert pace_rate(unseen, written, 200) == 1.0


def test_on_a_beat_the_dance_is_played_as_written_for_the_warp_and_off_it_at_the_users_pace(small_corpus):
    dance = _real_dance(small_corpus, 800)
    slow_user = at_pace(dance, pace_times(0.5, 160, len(dance)))
    on_beat, off_beat = Pace(160, on_beat=True), Pace(160, on_beat=False)
    assert on_beat.shown == on_beat.written == source_frames_needed(160)
    assert np.array_equal(on_beat.times(slow_user, dance[:on_beat.written]), np.arange(on_beat.shown))
    assert off_beat.shown == 160 and off_beat.written == frames_to_write(160)
    times = off_beat.times(slow_user, dance[:off_beat.written])  # the user showed the dance at half its pace
    assert len(times) == 160 and 0.45 < times[-1] / 159 < 0.55


def test_bopbot_dance_moves_at_the_pace_of_the_user_it_continues(small_corpus, tiny_model):
    """A real dance and the same dance at twice its pace: each is continued as fast as it moved."""
    from bopbot.choreography.choreograph import choreograph
    from bopbot.choreography.user_dance import UserDance
    from bopbot.data.corpus import Corpus
    from bopbot.data.normalise import denormalise, normalise
    from bopbot.data.pose_sequence import CORPUS_FPS, PoseSequence
    from bopbot.evaluation.continuity import motion_ratio
    from bopbot.models.model_folder import Choreographer
    from bopbot.models.sampling import Sampling

    model = Choreographer.load(tiny_model)
    sequence = next(Corpus(small_corpus).sequences())
    speeds, users = [], []
    frames = min(320, len(sequence.poses))  # the committed excerpts are 12 s (240 frames)
    for rate in (1.0, 2.0):
        times = pace_times(rate, frames // 2, frames)
        poses, placement = at_pace(sequence.poses[:frames], times), sequence.placement[np.round(times).astype(int)]
        context = denormalise(poses, placement)
        user = UserDance(PoseSequence(context, CORPUS_FPS, sequence.size, "test"), poses, placement, None, None)
        new = choreograph(model, user, 8.0, Sampling(seed=0))
        assert 0.8 < motion_ratio(context, new.keypoints) < 1.25
        speeds.append(mean_motion(normalise(new.keypoints)[0]))
        users.append(mean_motion(poses))
    assert users[1] > 1.5 * users[0] and 0.8 < (speeds[1] / speeds[0]) / (users[1] / users[0]) < 1.25

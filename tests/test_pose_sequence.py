"""PoseSequence: its .npz format and resampling to the corpus rate."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bopbot.data.pose_sequence import PoseSequence, resample_keypoints
from bopbot.data.skeleton import JOINTS, MIRROR
from bopbot.errors import BopBotError


def _walking_sequence(frames: int, fps: float) -> PoseSequence:
    keypoints = np.zeros((frames, 17, 3), dtype=np.float32)
    keypoints[:, :, 0] = np.arange(frames)[:, None] * 10.0  # moves 10 px a frame
    keypoints[:, :, 1] = np.arange(17)[None, :] * 5.0
    keypoints[:, :, 2] = 1.0
    return PoseSequence(keypoints, fps, (640, 360), "walk", {"take": 1})


def test_npz_round_trip(tmp_path):
    sequence = _walking_sequence(12, 20)
    sequence.save(tmp_path / "seq.npz")
    loaded = PoseSequence.load(tmp_path / "seq.npz")
    np.testing.assert_array_equal(loaded.keypoints, sequence.keypoints)
    assert (loaded.fps, loaded.size, loaded.source, loaded.meta) == (20.0, (640, 360), "walk", {"take": 1})
    with np.load(tmp_path / "seq.npz", allow_pickle=False) as raw:
        assert tuple(raw["joints"]) == JOINTS and raw["keypoints"].dtype == np.float32


def test_a_sequence_prints_as_one_line():
    """`print(bopbot.extract("me.mp4"))`, the README's second call, printed every keypoint: 50 lines."""
    sequence = _walking_sequence(30, 20)
    sequence.keypoints[3] = 0
    assert repr(sequence) == "PoseSequence(30 frames at 20 fps, 1.5 s, 640x360, 1 without a dancer, source='walk')"


def test_resample_30_to_20_fps_interpolates_in_time():
    sequence = _walking_sequence(31, 30).resample(20)  # one second
    assert len(sequence) == 21 and sequence.fps == 20
    np.testing.assert_allclose(sequence.keypoints[:, 0, 0], np.arange(21) * 15.0, atol=1e-3)


def test_resample_keeps_gaps_missing_and_uses_real_timestamps():
    keypoints = _walking_sequence(5, 10).keypoints
    keypoints[2, :, :] = 0  # nobody in frame 2
    times = np.array([0.0, 0.1, 0.2, 0.25, 0.4])  # variable frame rate
    out = resample_keypoints(keypoints, times, 20.0)
    assert len(out) == 9
    assert (out[4, :, 2] == 0).all()  # t=0.2: the missing frame itself
    assert out[5, 0, 0] == pytest.approx(30.0)  # t=0.25 is frame 3 exactly
    np.testing.assert_allclose(out[7, 0, 0], 30 + 10 * 0.1 / 0.15, atol=1e-3)  # t=0.35, between 0.25 and 0.4
    assert np.isfinite(out).all()


def test_mirror_swaps_left_and_right():
    assert JOINTS[MIRROR[JOINTS.index("left_wrist")]] == "right_wrist"
    assert JOINTS[MIRROR[0]] == "nose"


def test_bad_npz_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(BopBotError, match="broken.npz"):
        PoseSequence.load(broken)


@pytest.mark.parametrize("fps, size, said", [("20", (10, 10), "fps must be a positive number, got '20'"),
                                             (float("nan"), (10, 10), "fps must be a positive number, got nan"),
                                             (True, (10, 10), "fps must be a positive number, got True"),
                                             (20, "10x10", "size must be the source's (width, height)"),
                                             (20, (10,), "size must be the source's (width, height)"),
                                             (20, (10, -1), "size must be the source's (width, height)")])
def test_a_sequence_built_with_a_wrong_rate_or_size_says_which(fps, size, said):
    with pytest.raises(ValueError, match=re.escape(said)):
        PoseSequence(np.zeros((3, 17, 3), np.float32), fps, size)


def test_nan_keypoints_are_refused():
    keypoints = np.full((3, 17, 3), np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match="NaN"):
        PoseSequence(keypoints, 20, (10, 10))

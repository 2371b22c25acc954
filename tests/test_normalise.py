"""Normalisation: placement and size drop out, missing joints never leak NaN, and it inverts."""

from __future__ import annotations

import numpy as np
import pytest

from bopbot.data.normalise import denormalise, normalise, placement_of
from bopbot.ingest.extract import extract


@pytest.fixture(scope="module")
def real_dance(fixtures) -> np.ndarray:
    """A real dancer's keypoints: a committed CMU salsa excerpt filmed from the front, with some
    joints missing as a detector misses them (an ankle or a wrist in a frame in eight)."""
    keypoints = extract(fixtures / "cmu_salsa" / "61_13_excerpt.bvh")[0].keypoints.copy()
    keypoints[::8, 15] = 0.0  # missing, as OpenPose and BopBot write it: 0, 0, confidence 0
    keypoints[3::8, 9] = 0.0
    return keypoints


def _seen(keypoints: np.ndarray, scale: float, offset: tuple[float, float]) -> np.ndarray:
    moved = keypoints.copy()
    moved[:, :, :2] = keypoints[:, :, :2] * scale + np.array(offset)
    return moved


def test_small_on_the_left_and_large_in_the_centre_give_the_same_poses(real_dance):
    small_left = _seen(real_dance, 0.25, (-200.0, 300.0))
    large_centre = _seen(real_dance, 1.8, (-800.0, -400.0))
    poses_small, placement_small = normalise(small_left)
    poses_large, placement_large = normalise(large_centre)
    np.testing.assert_allclose(poses_small, poses_large, atol=1e-4)
    assert placement_large[:, 2].mean() / placement_small[:, 2].mean() == pytest.approx(1.8 / 0.25, rel=1e-4)
    # the poses differ from the raw keypoints, so the test is not passing trivially
    assert np.abs(poses_small[:, :, :2] - small_left[:, :, :2]).max() > 10


def test_normalised_scale_is_one_torso(real_dance):
    poses, _ = normalise(real_dance)
    shoulders = poses[:, [5, 6], :2].mean(axis=1)
    hips = poses[:, [11, 12], :2].mean(axis=1)
    np.testing.assert_allclose(hips, 0.0, atol=1e-5)
    assert np.linalg.norm(shoulders - hips, axis=1) == pytest.approx(np.ones(len(poses)), abs=0.05)


def test_denormalise_inverts_normalise(real_dance):
    poses, placement = normalise(real_dance)
    np.testing.assert_allclose(denormalise(poses, placement), real_dance, atol=1e-3)


def test_missing_joints_and_empty_frames_never_give_nan():
    keypoints = np.zeros((6, 17, 3), dtype=np.float32)
    keypoints[1, :, :] = (100.0, 200.0, 1.0)  # every joint on one point: no size at all
    keypoints[2, [5, 11], :] = ((50, 50, 1.0), (50, 150, 1.0))  # one shoulder, one hip
    keypoints[3, 0] = (10, 10, 0.9)  # a single joint
    keypoints[4, [5, 6, 11, 12]] = ((40, 40, 1), (60, 40, 1), (42, 90, 1), (58, 90, 1))
    poses, placement = normalise(keypoints)
    assert np.isfinite(poses).all() and np.isfinite(placement).all()
    assert (placement[:, 2] > 0).all()
    assert (poses[0] == 0).all() and (poses[5] == 0).all()
    np.testing.assert_allclose(placement[2], (50, 150, 100), atol=1e-4)
    assert any(np.allclose(placement[3], placement[n]) for n in (2, 4))  # borrowed from a neighbour
    np.testing.assert_allclose(placement[0], placement[1])  # nobody in frame 0: nearest placeable


def test_placement_of_nobody_is_identity():
    placement = placement_of(np.zeros((3, 17, 3), dtype=np.float32))
    np.testing.assert_array_equal(placement, [[0, 0, 1]] * 3)

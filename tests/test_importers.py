"""OpenPose JSON (BODY_25 and COCO-18) and keypoint array files import into the same PoseSequence."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from bopbot.data.skeleton import FROM_BODY25, FROM_COCO18
from bopbot.errors import BopBotError
from bopbot.ingest.extract import expand_inputs, extract, kind_of
from bopbot.ingest.keypoint_files import load_keypoint_file
from bopbot.ingest.openpose import load_openpose


def test_openpose_body25_maps_to_coco17(data):
    folder = data / "openpose" / "tsnet" / "00110"
    sequence = load_openpose(folder, fps=30)
    first = json.loads(sorted((folder / "json").iterdir())[0].read_text())["people"][0]["pose_keypoints_2d"]
    body25 = np.array(first).reshape(25, 3)
    np.testing.assert_allclose(sequence.keypoints[0], body25[FROM_BODY25], atol=1e-3)
    assert sequence.size == (1920, 1080) and len(sequence) == 30


def test_openpose_coco18_gives_the_same_dancer(data, tmp_path):
    """The same people written in COCO-18 order import to the same COCO-17 keypoints."""
    source = data / "openpose" / "tsnet" / "00110" / "json"
    coco18_of_body25 = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    (tmp_path / "json").mkdir()
    for path in sorted(source.iterdir()):
        frame = json.loads(path.read_text())
        for person in frame["people"]:
            person["pose_keypoints_2d"] = np.array(person["pose_keypoints_2d"]).reshape(25, 3)[coco18_of_body25].ravel().tolist()
        (tmp_path / "json" / path.name).write_text(json.dumps(frame))
    assert np.array_equal(np.array(coco18_of_body25)[FROM_COCO18], FROM_BODY25)
    np.testing.assert_allclose(load_openpose(tmp_path, 30).keypoints, load_openpose(source.parent, 30).keypoints)


def test_openpose_follows_the_most_prominent_dancer(data, tmp_path):
    """A smaller second person added to every frame never takes the dancer's place."""
    source = data / "openpose" / "tsnet" / "00110" / "json"
    (tmp_path / "json").mkdir()
    for path in sorted(source.iterdir()):
        frame = json.loads(path.read_text())
        dancer = np.array(frame["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
        stranger = dancer.copy()
        stranger[:, :2] = stranger[:, :2] * 0.5 + (50, 50)
        frame["people"] = [{"pose_keypoints_2d": stranger.ravel().tolist()}] + frame["people"]
        (tmp_path / "json" / path.name).write_text(json.dumps(frame))
    np.testing.assert_allclose(load_openpose(tmp_path, 30).keypoints, load_openpose(source.parent, 30).keypoints)


def test_keypoint_arrays_in_every_layout(tmp_path):
    rng = np.random.default_rng(0)
    body25 = rng.uniform(10, 500, size=(8, 25, 3))
    body25[:, :, 2] = 0.9
    body25[2, 4] = np.nan  # a missing right wrist
    np.save(tmp_path / "body25.npy", body25)
    sequence = load_keypoint_file(tmp_path / "body25.npy", fps=25)
    assert sequence.fps == 25 and len(sequence) == 8
    np.testing.assert_allclose(sequence.keypoints[0], body25[0][FROM_BODY25], rtol=1e-5)
    assert sequence.keypoints[2, 10].tolist() == [0, 0, 0]  # NaN became a missing joint, not NaN

    np.savez(tmp_path / "coco.npz", keypoints=body25[:, :17, :2], fps=np.float32(50))
    two_d = load_keypoint_file(tmp_path / "coco.npz", fps=25)
    assert two_d.fps == 50 and (two_d.keypoints[~np.isnan(body25[:, :17, 0]), 2] == 1).all()


@pytest.mark.parametrize("shape", [(5, 12, 3), (5, 17)])
def test_keypoint_arrays_of_unknown_shape_are_clear_errors(tmp_path, shape):
    np.save(tmp_path / "odd.npy", np.zeros(shape))
    with pytest.raises(BopBotError, match="odd.npy"):
        load_keypoint_file(tmp_path / "odd.npy", fps=20)


def test_expand_inputs_walks_folders_globs_and_lists(data, tmp_path):
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# dances\n{data / 'mocap' / 'bandai'}\n{data / 'videos' / 'phalp_vid.mp4'}\n")
    found = expand_inputs([str(listing), str(data / "openpose"), str(data / "mocap" / "tang2018" / "DANCE_C_*")])
    names = {p.name for p in found}
    assert "dataset-1_dance-short_normal_001.bvh" in names and "phalp_vid.mp4" in names
    assert {"00110", "00164"} <= names and "DANCE_C_2" in names
    assert {kind_of(p) for p in found} == {"bvh", "video", "openpose", "tang"}
    assert "LICENSE" not in names and "audio.mp3" not in names


def test_one_json_frame_is_not_a_dance(openpose_dances, tmp_path):
    frame = sorted((openpose_dances / "60_01" / "json").iterdir())[0]
    shutil.copy(frame, tmp_path / "frame.json")
    with pytest.raises(BopBotError, match="one frame"):
        extract(tmp_path / "frame.json")

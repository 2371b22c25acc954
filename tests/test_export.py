"""Handing the dance over: OpenPose JSON that `bopbot extract` reads back, and skeletons drawn in
the OpenPose (ControlNet annotator) convention."""

from __future__ import annotations

import json
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest

from bopbot.choreography.export import JOINT_COLOURS, LIMBS, draw_skeleton, write_openpose
from bopbot.data.pose_sequence import PoseSequence
from bopbot.data.skeleton import INDEX, to_openpose
from bopbot.ingest.extract import ExtractOptions, extract

BOPBOT = [sys.executable, "-m", "bopbot"]

#: A dancer facing the camera on a 400x400 canvas (its right side on the picture's left).
FRONT = {
    "nose": (200, 80), "right_eye": (190, 70), "left_eye": (210, 70), "right_ear": (175, 75), "left_ear": (225, 75),
    "right_shoulder": (160, 120), "left_shoulder": (240, 120), "right_elbow": (120, 160), "left_elbow": (280, 160),
    "right_wrist": (90, 210), "left_wrist": (310, 210), "right_hip": (175, 240), "left_hip": (225, 240),
    "right_knee": (165, 310), "left_knee": (235, 310), "right_ankle": (160, 380), "left_ankle": (240, 380),
}


def _pose(joints: dict[str, tuple[int, int]]) -> np.ndarray:
    pose = np.zeros((17, 3), dtype=np.float32)
    for name, (x, y) in joints.items():
        pose[INDEX[name]] = (x, y, 1.0)
    return pose


def test_each_limb_has_its_colour_at_its_middle_and_nothing_beside_it():
    pose = _pose(FRONT)
    joints = to_openpose(pose[None], "COCO-18")[0]
    assert tuple(joints[1, :2]) == (200, 120)  # the neck, between the shoulders
    image = draw_skeleton(np.zeros((400, 400, 3), dtype=np.uint8), pose)
    for limb, (a, b) in enumerate(LIMBS):
        (xa, ya), (xb, yb) = joints[a, :2], joints[b, :2]
        middle = image[int((ya + yb) / 2), int((xa + xb) / 2)]
        assert tuple(middle) == tuple(round(0.6 * c) for c in JOINT_COLOURS[limb]), (limb, a, b)
    # 8 px wide: the upper right arm's middle, 6 px across it, is still the limb; 12 px across is black
    across = np.array([1.0, 1.0]) / np.sqrt(2)  # the arm runs down-left at 45 degrees
    middle = np.array([140.0, 140.0])
    assert image[tuple(np.round(middle + 2.5 * across).astype(int))[::-1]].any()
    assert not image[tuple(np.round(middle + 12 * across).astype(int))[::-1]].any()
    assert not image[20, 20].any() and not image[390, 390].any()


@pytest.mark.parametrize("name", list(FRONT))
def test_a_joint_alone_is_a_dot_of_its_colour(name):
    image = draw_skeleton(np.zeros((400, 400, 3), dtype=np.uint8), _pose({name: FRONT[name]}))
    coco18 = int(np.flatnonzero(to_openpose(_pose({name: FRONT[name]})[None], "COCO-18")[0, :, 2])[0])
    x, y = FRONT[name]
    assert tuple(image[y, x]) == JOINT_COLOURS[coco18]
    assert tuple(image[y, x + 4]) == JOINT_COLOURS[coco18] and not image[y, x + 6].any()  # radius 4
    assert np.count_nonzero(image.any(axis=2)) < 70


@pytest.mark.parametrize("layout", ["BODY_25", "COCO-18"])
def test_openpose_json_reads_back_exactly(tmp_path, layout):
    rng = np.random.default_rng(0)
    keypoints = np.concatenate([rng.uniform(0, 1000, (50, 17, 2)), rng.uniform(0.1, 1, (50, 17, 1))], axis=2)
    keypoints[10, 3] = 0.0  # a missing joint
    keypoints[20] = 0.0  # a frame without a dancer
    assert write_openpose(keypoints.astype(np.float32), tmp_path / "json", "clip", layout) == 50
    names = sorted(p.name for p in (tmp_path / "json").iterdir())
    assert names[0] == "clip_000000000000_keypoints.json" and names[-1] == "clip_000000000049_keypoints.json"
    frame = json.loads((tmp_path / "json" / names[0]).read_text())
    assert len(frame["people"][0]["pose_keypoints_2d"]) == 3 * (25 if layout == "BODY_25" else 18)
    assert json.loads((tmp_path / "json" / names[20]).read_text())["people"] == []
    back = extract(tmp_path / "json", ExtractOptions(source_fps=20.0))[0].keypoints
    present = keypoints[:, :, 2] > 0
    assert np.array_equal(back[:, :, 2] > 0, present)
    assert np.abs(back[present][:, :2] - keypoints[present][:, :2]).max() < 0.5


def test_a_danced_clip_is_handed_over_as_json_pngs_and_a_skeleton_video(puppet_video, tmp_path):
    clip = puppet_video
    output = tmp_path / "dance.mp4"
    run = subprocess.run(BOPBOT + ["dance", str(clip), "-o", str(output), "--seconds", "2", "--seed", "0",
                                   "--layout", "skeleton", "--save-poses", "--export", "openpose", str(tmp_path / "op"),
                                   "--export", "skeleton-png", str(tmp_path / "png")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    user = extract(clip)[0]
    new = PoseSequence.load(output.with_suffix(".npz"))
    both = np.concatenate([user.keypoints, new.keypoints])
    json_files = sorted((tmp_path / "op").glob("puppet_dance_*_keypoints.json"))
    pngs = sorted((tmp_path / "png").glob("puppet_dance_*.png"))
    assert len(json_files) == len(pngs) == len(both) == len(user.keypoints) + 40
    assert f"wrote {tmp_path / 'op'}: {len(both)} frames" in run.stdout

    back = extract(tmp_path / "op", ExtractOptions(source_fps=20.0))[0].keypoints
    present = both[:, :, 2] > 0
    assert np.array_equal(back[:, :, 2] > 0, present)
    assert np.abs(back[present][:, :2] - both[present][:, :2]).max() < 0.5

    width, height = user.size
    last_png = cv2.imread(str(pngs[-1]))
    assert last_png.shape == (height, width, 3) and last_png.any()
    with av.open(str(output)) as video:
        stream = video.streams.video[0]
        assert (stream.width, stream.height) == (width // 2 * 2, height // 2 * 2)
        frames = [frame.to_ndarray(format="rgb24") for frame in video.decode(stream)]
    assert len(frames) == len(both)
    colours = {tuple(c) for c in frames[-1].reshape(-1, 3)[::7]}
    assert (0, 0, 0) in colours and len(colours) > 5  # coloured limbs on black


def test_a_bad_export_is_one_line_before_any_work(fixtures, tmp_path):
    clip = str(fixtures / "cmu_salsa" / "60_01_excerpt.bvh")
    (tmp_path / "a_file").write_text("in the way")
    for export, message in ((["bogus", str(tmp_path / "d")], "the export kind must be one of openpose, "),
                            (["openpose", str(tmp_path / "a_file")], "a_file: --export writes into a folder")):
        run = subprocess.run(BOPBOT + ["dance", clip, "-o", str(tmp_path / "x.mp4"), "--export", *export],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 1 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "x.mp4").exists()

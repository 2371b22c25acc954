"""Motion-capture importers (BVH, Tang 2018) and the virtual cameras that film them into 2D."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bopbot.data.normalise import normalise
from bopbot.data.pose_sequence import PoseSequence
from bopbot.data.skeleton import INDEX, MIRROR, NUM_JOINTS
from bopbot.errors import BopBotError
from bopbot.ingest.bvh import forward_kinematics, load_bvh, read_bvh
from bopbot.ingest.mocap import (
    EYE_HEIGHT,
    Motion3D,
    VirtualCamera,
    camera_pose,
    cameras,
    face_points,
    facing_pieces,
    project,
    view_angles,
)
from bopbot.ingest.tang import load_tang

BANDAI = "mocap/bandai/dataset-1_dance-short_normal_001.bvh"
#: A committed CMU excerpt (tests/data), at 30 fps.
CMU_EXCERPT = "cmu_salsa/60_01_excerpt.bvh"


def _mid(keypoints: np.ndarray, a: str, b: str) -> np.ndarray:
    return (keypoints[:, INDEX[a], :2] + keypoints[:, INDEX[b], :2]) / 2


def _length(keypoints: np.ndarray, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(keypoints[:, INDEX[a], :2] - keypoints[:, INDEX[b], :2], axis=1)


def check_filmed(motion: Motion3D) -> None:
    """Film `motion` front-on and from behind, mirrored, and check it looks like a person dancing."""
    name = Path(motion.source).parent.name + "/" + Path(motion.source).name
    front = project(motion, VirtualCamera(0.0))
    keypoints = front.keypoints
    width, height = front.size
    assert np.isfinite(keypoints).all() and (keypoints[:, :, 2] == 1).all(), name
    assert (keypoints[:, :, 0] > 0).all() and (keypoints[:, :, 0] < width).all(), f"{name} leaves the frame"
    assert (keypoints[:, :, 1] > 0).all() and (keypoints[:, :, 1] < height).all(), f"{name} leaves the frame"

    hips = _mid(keypoints, "left_hip", "right_hip")
    torso = np.linalg.norm(_mid(keypoints, "left_shoulder", "right_shoulder") - hips, axis=1)
    leg = _length(keypoints, "left_hip", "left_knee") + _length(keypoints, "left_knee", "left_ankle")
    assert 1.2 < np.median(leg) / np.median(torso) < 2.6, f"{name}: leg/torso {np.median(leg) / np.median(torso):.2f}"
    shoulders = np.percentile(_length(keypoints, "left_shoulder", "right_shoulder") / torso, 95)  # when front-on
    assert 0.4 < shoulders < 1.2, f"{name}: shoulders/torso {shoulders:.2f}"  # CMU: 0.49, narrow
    head_up = keypoints[:, INDEX["nose"], 1] < hips[:, 1]
    assert head_up.mean() > 0.95, f"{name}: head above hips in only {head_up.mean():.0%} of frames"
    for joint in ("shoulder", "hip"):  # facing the yaw-0 camera, the dancer's left is on the image right
        left, right = keypoints[0, INDEX[f"left_{joint}"], 0], keypoints[0, INDEX[f"right_{joint}"], 0]
        assert left > right, f"{name}: left/right swapped"

    behind, mirrored = project(motion, VirtualCamera(180.0)), project(motion, VirtualCamera(180.0, mirror=True))
    assert np.allclose(mirrored.keypoints[:, MIRROR, 0], width - behind.keypoints[:, :, 0], atol=1e-3), name
    assert np.allclose(mirrored.keypoints[:, MIRROR, 1], behind.keypoints[:, :, 1]), name
    # Seen from behind the left is on the image left, and a mirrored dancer seen from behind too.
    for film in (behind, mirrored):
        assert film.keypoints[0, INDEX["left_shoulder"], 0] < film.keypoints[0, INDEX["right_shoulder"], 0], name


def test_every_cmu_take_imports_and_films_as_a_dancer(data: Path) -> None:
    paths = sorted((data / "mocap/cmu_salsa").glob("*.bvh"))
    assert len(paths) == 24
    for path in paths:
        motion = load_bvh(path)
        assert motion.fps == 120.0 and motion.meta["skeleton"] == "CMU"
        check_filmed(motion)


def test_bandai_take_imports_in_metres_and_films_as_a_dancer(data: Path) -> None:
    motion = load_bvh(data / BANDAI)
    assert (len(motion), motion.fps, motion.meta["skeleton"]) == (1901, 30.0, "Bandai")
    hips = motion.joints[:, [INDEX["left_hip"], INDEX["right_hip"]], 1].mean(axis=1)
    assert 0.8 < np.median(hips) < 1.0  # metres above the floor, not centimetres
    check_filmed(motion)


def test_every_tang_take_imports_with_its_music_and_films_as_a_dancer(data: Path) -> None:
    folders = sorted((data / "mocap/tang2018").glob("DANCE_*"))
    assert len(folders) == 36
    for folder in folders:
        motion = load_tang(folder)
        config = json.loads((folder / "config.json").read_text())
        assert motion.meta["audio"] == str((folder / "audio.mp3").resolve())
        assert motion.meta["audio_offset"] == config["start_position"] / 25
        if motion.meta["style"] == "waltz":
            assert 5.0 < motion.fps < 7.0
        else:
            assert motion.fps == 25.0
        check_filmed(motion)
    assert load_tang(folders[0] / "skeletons.json").joints.shape == load_tang(folders[0]).joints.shape


def test_different_yaws_film_different_poses(data: Path) -> None:
    motion = load_bvh(data / BANDAI)
    poses = [normalise(project(motion, camera).keypoints)[0] for camera in cameras([0, 45, 90], mirror=False)]
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert np.abs(poses[a][:, :, :2] - poses[b][:, :, :2]).mean() > 0.05


def test_facing_keeps_the_stretches_where_the_dancer_faces_the_camera(data: Path) -> None:
    from bopbot.ingest.extract import FACING_SECONDS, ExtractOptions, extract

    take = data / "mocap" / "tang2018" / "DANCE_C_2"
    motion = load_tang(take)
    camera = VirtualCamera(0.0)
    angles = view_angles(motion, camera)
    pieces = facing_pieces(motion, camera, 60.0, FACING_SECONDS)
    assert pieces and all(len(piece) >= FACING_SECONDS * motion.fps for piece in pieces)
    whole = project(motion, camera)
    for piece in pieces:
        start = round(piece.meta["start"] * motion.fps)
        assert (angles[start:start + len(piece)] <= 60.0).all()
        np.testing.assert_array_equal(piece.keypoints, whole.keypoints[start:start + len(piece)])
        assert piece.meta["audio_offset"] == pytest.approx(motion.meta["audio_offset"] + piece.meta["start"])
    kept = sum(len(piece) for piece in pieces)
    assert kept < (angles <= 60.0).sum() + 1 and kept > 0.5 * (angles <= 60.0).sum()
    # facing the camera within 180 degrees is every frame: one piece, the whole film
    assert [len(p) for p in facing_pieces(motion, camera, 180.0, FACING_SECONDS)] == [len(whole)]
    # side-on (about 90 degrees) shows in the 2D poses: the shoulders close up
    filmed = extract(take, ExtractOptions(yaws=(0.0,), facing=30.0))
    poses = normalise(np.concatenate([s.keypoints for s in filmed]))[0]
    width = np.abs(poses[:, INDEX["left_shoulder"], 0] - poses[:, INDEX["right_shoulder"], 0])
    assert np.median(width) > np.median(np.abs(normalise(whole.keypoints)[0][:, INDEX["left_shoulder"], 0]
                                                - normalise(whole.keypoints)[0][:, INDEX["right_shoulder"], 0]))


def test_cameras_lists_each_yaw_then_its_mirror_image() -> None:
    assert cameras([0, 90], mirror=True) == [
        VirtualCamera(0.0), VirtualCamera(0.0, True), VirtualCamera(90.0), VirtualCamera(90.0, True),
    ]
    assert cameras([30], mirror=False) == [VirtualCamera(30.0)]


def test_face_points_sit_around_the_head() -> None:
    head, forward, up = np.zeros((1, 3)), np.array([[0.0, 0.0, 2.0]]), np.array([[0.0, 1.0, 0.1]])
    face = face_points(head, forward, up)[0]  # facing +Z, so the left is +X
    assert np.allclose(face, [[0, 0, 0.1], [0.03, 0.03, 0.08], [-0.03, 0.03, 0.08], [0.075, 0, 0], [-0.075, 0, 0]])


def _standing_figure(frames: int = 5) -> Motion3D:
    """A still figure facing +Z (its left on +X), hips 1 m up at x = 2, z = -1."""
    joints = np.zeros((frames, NUM_JOINTS, 3))
    for name, position in {
        "nose": (0, 1.65, 0.1), "left_eye": (0.03, 1.68, 0.08), "right_eye": (-0.03, 1.68, 0.08),
        "left_ear": (0.075, 1.65, 0), "right_ear": (-0.075, 1.65, 0),
        "left_shoulder": (0.2, 1.45, 0), "right_shoulder": (-0.2, 1.45, 0),
        "left_elbow": (0.25, 1.15, 0), "right_elbow": (-0.25, 1.15, 0),
        "left_wrist": (0.3, 0.9, 0), "right_wrist": (-0.3, 0.9, 0),
        "left_hip": (0.1, 1.0, 0), "right_hip": (-0.1, 1.0, 0),
        "left_knee": (0.1, 0.5, 0), "right_knee": (-0.1, 0.5, 0),
        "left_ankle": (0.1, 0.1, 0), "right_ankle": (-0.1, 0.1, 0),
    }.items():
        joints[:, INDEX[name]] = np.add(position, (2.0, 0.0, -1.0))
    return Motion3D(joints, 25.0, "synthetic")


def test_projection_follows_the_pinhole_model() -> None:
    motion = _standing_figure()
    camera = VirtualCamera(0.0, size=(1000, 500))
    pose = camera_pose(motion, camera)
    focal = 500 / np.tan(np.radians(25))
    assert pose.focal == pytest.approx(focal)
    assert np.allclose(pose.back, [0, 0, 1]) and np.allclose(pose.right, [1, 0, 0])
    assert pose.position[0] == pytest.approx(2.0) and pose.position[1] == pytest.approx(EYE_HEIGHT)
    distance = pose.position[2] + 1.0
    # The vertical fit decides: the floor below the nose (0.1 m nearer than the hips) must sit in
    # 90% of the half-height below the image centre.
    assert distance == pytest.approx(0.1 + EYE_HEIGHT / (0.9 * 250 / focal))

    keypoints = project(motion, camera).keypoints[0]
    for name, (x, y, z) in {"left_wrist": (2.3, 0.9, -1.0), "nose": (2.0, 1.65, -0.9)}.items():
        depth = distance - (z + 1.0)
        expected = (500 + focal * (x - 2.0) / depth, 250 - focal * (y - EYE_HEIGHT) / depth)
        assert keypoints[INDEX[name], :2] == pytest.approx(expected, abs=1e-3)


def test_yaw_turns_the_camera_counter_clockwise_seen_from_above() -> None:
    pose = camera_pose(_standing_figure(), VirtualCamera(90.0))
    assert np.allclose(pose.back, [1, 0, 0])  # on the dancer's left (+X)
    keypoints = project(_standing_figure(), VirtualCamera(90.0)).keypoints[0]
    assert keypoints[INDEX["nose"], 0] < keypoints[INDEX["left_ear"], 0]  # facing image left


def test_a_motion_with_nan_cannot_be_filmed() -> None:
    motion = _standing_figure()
    motion.joints[2, 3, 1] = np.nan
    with pytest.raises(BopBotError, match="NaN"):
        project(motion, VirtualCamera(0.0))


def test_filmed_sequence_keeps_rate_size_source_and_meta(fixtures: Path) -> None:
    motion = load_bvh(fixtures / CMU_EXCERPT)
    film = project(motion, VirtualCamera(45.0, True, (640, 480)))
    assert isinstance(film, PoseSequence) and len(film) == len(motion)
    assert (film.fps, film.size, film.source) == (30.0, (640, 480), motion.source)
    assert film.meta == {"skeleton": "CMU", "yaw": 45.0, "mirror": True}


CHAIN_BVH = """HIERARCHY
ROOT base
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT arm
  {
    OFFSET 0 1 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT hand
    {
      OFFSET 5 5 5
      CHANNELS 3 Xposition Yposition Zposition
      End Site
      {
        OFFSET 0 1 0
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
1 2 3 90 90 0 0 0 0 0 2 0
1 2 3 0 0 0 0 0 0 0 2 0
"""


def test_forward_kinematics_composes_channels_in_listed_order(tmp_path: Path) -> None:
    path = tmp_path / "chain.bvh"
    path.write_text(CHAIN_BVH)
    bvh = read_bvh(path)
    assert [joint.name for joint in bvh.joints] == ["base", "arm", "hand"] and bvh.frame_time == 0.5
    positions, rotations = forward_kinematics(bvh)
    # Rz(90) @ Rx(90) turns the arm's (0, 1, 0) offset to +Z (Rx(90) @ Rz(90) would give -X); the
    # hand's position channels (0, 2, 0) replace its (5, 5, 5) offset.
    assert np.allclose(positions[0], [[1, 2, 3], [1, 2, 4], [1, 2, 6]])
    assert np.allclose(positions[1], [[1, 2, 3], [1, 3, 3], [1, 5, 3]])
    assert np.allclose(rotations[0, 2], [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


def _write_bvh_copy(fixtures: Path, tmp_path: Path, edit) -> Path:
    """A copy of a committed CMU excerpt cut to 10 frames, then changed by `edit(text) -> text`."""
    hierarchy, motion = (fixtures / CMU_EXCERPT).read_text().split("MOTION")
    lines = motion.strip().splitlines()
    text = hierarchy + "MOTION\nFrames: 10\n" + lines[1] + "\n" + "\n".join(lines[2:12]) + "\n"
    path = tmp_path / "take.bvh"
    path.write_text(edit(text))
    return path


def test_a_short_valid_bvh_loads(fixtures: Path, tmp_path: Path) -> None:
    assert len(load_bvh(_write_bvh_copy(fixtures, tmp_path, lambda text: text))) == 10


def test_unknown_bvh_skeleton_is_named(fixtures: Path, tmp_path: Path) -> None:
    path = _write_bvh_copy(fixtures, tmp_path, lambda text: text.replace("lShldr", "leftBicep"))
    with pytest.raises(BopBotError, match=r"unknown BVH skeleton \(joints: hip, abdomen, .*; known: CMU, Bandai"):
        load_bvh(path)


def test_bvh_with_nan_values_is_refused(fixtures: Path, tmp_path: Path) -> None:
    def poison(text: str) -> str:
        head, frames = text.split("Frame Time:")
        lines = frames.splitlines()
        lines[3] = " ".join(["nan"] + lines[3].split()[1:])
        return head + "Frame Time:" + "\n".join(lines)

    with pytest.raises(BopBotError, match="NaN"):
        load_bvh(_write_bvh_copy(fixtures, tmp_path, poison))


@pytest.mark.parametrize("cut, problem", [
    (lambda text: text[: text.index("MOTION") + 2000], "truncated|values"),
    (lambda text: text[: text.index("JOINT chest")], "no MOTION section"),
    (lambda text: text.replace("Frames: 10", "Frames: 0"), "zero frames"),
    (lambda text: text.replace("OFFSET 0.000000 0.161626 -0.005715", "OFFSET 0.000000 zero -0.005715"), "not numbers"),
])
def test_malformed_bvh_is_refused_in_one_sentence(fixtures: Path, tmp_path: Path, cut, problem: str) -> None:
    with pytest.raises(BopBotError, match=problem) as error:
        load_bvh(_write_bvh_copy(fixtures, tmp_path, cut))
    assert "\n" not in str(error.value)


def test_missing_bvh_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BopBotError, match="cannot read"):
        load_bvh(tmp_path / "nothing.bvh")


def _write_tang(folder: Path, text: str) -> Path:
    folder.mkdir()
    (folder / "skeletons.json").write_text(text)
    return folder


def test_corrupt_tang_json_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BopBotError, match="corrupt JSON: Expecting value at line 1 column 12"):
        load_tang(_write_tang(tmp_path / "DANCE_C_1", '{"length": ,'))


@pytest.mark.parametrize("content, problem", [
    ({"center": [[0, 0, 0]]}, "missing key 'skeletons'"),
    ({"center": [[0, 0, 0]], "skeletons": [[[0, 0, 0]] * 21]}, r"shape \(1, 21, 3\)"),
    ({"center": [[0, 0, 0]] * 2, "skeletons": [[[0, 0, 0]] * 23]}, "'center' has 2 frames"),
    ({"center": [[0, 0, 0]], "skeletons": [[[0, 0, "x"]] * 23]}, "not an array of numbers"),
    ({"center": [[0, 0, float("nan")]], "skeletons": [[[0, 0, 0]] * 23]}, "NaN"),
])
def test_malformed_tang_take_is_refused(tmp_path: Path, content: dict, problem: str) -> None:
    with pytest.raises(BopBotError, match=problem):
        load_tang(_write_tang(tmp_path / "DANCE_R_1", json.dumps(content)))


def _turning_figure(seconds: float = 8.0, fps: float = 25.0, turns_per_second: float = 0.25) -> Motion3D:
    """The standing figure turning on the spot about its hips, counter-clockwise seen from above."""
    still = _standing_figure(round(seconds * fps))
    hips = still.joints[0, [INDEX["left_hip"], INDEX["right_hip"]]].mean(axis=0)
    angles = 2 * np.pi * turns_per_second * np.arange(len(still.joints)) / fps
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    relative = still.joints - hips
    turned = relative.copy()
    turned[..., 0] = cos * relative[..., 0] + sin * relative[..., 2]
    turned[..., 2] = -sin * relative[..., 0] + cos * relative[..., 2]
    return Motion3D(turned + hips, fps, "synthetic turning")


def test_a_following_camera_films_the_front_of_a_dancer_who_turns() -> None:
    """A fixed camera sees a dancer turning a full circle from every side; one that follows sees
    the front all along (the views a phone user films), and its yaw is measured from the facing."""
    motion = _turning_figure()
    fixed = view_angles(motion, VirtualCamera(0.0))
    following = view_angles(motion, VirtualCamera(0.0, follow=True))
    assert fixed.max() > 170 and (fixed <= 60).mean() < 0.4
    assert following[50:-50].max() < 5  # away from the ends (2 s of low-pass), where it has less to go on
    side = view_angles(motion, VirtualCamera(90.0, follow=True))
    assert np.abs(side[50:-50] - 90).max() < 5
    film = project(motion, VirtualCamera(0.0, follow=True))
    assert film.meta["follow"] is True and (film.keypoints[:, :, 2] == 1).all()
    # from the front all along: the dancer's left shoulder stays on the image right
    left, right = film.keypoints[:, INDEX["left_shoulder"], 0], film.keypoints[:, INDEX["right_shoulder"], 0]
    assert (left > right).all()
    assert "follow" not in project(motion, VirtualCamera(0.0)).meta


def test_a_following_camera_turns_about_the_dancer_not_the_floor() -> None:
    """A dancer who stood still 3 m away for half the take, then turns on the spot, stays in the
    middle of a following camera's picture: the camera turns about the dancer (as someone filming
    them would), not about the middle of the floor, which would sweep them across the picture."""
    turning = _turning_figure()
    elsewhere = turning.joints[:1] + np.array([-3.0, 0.0, 0.0])  # the first half, standing 3 m off
    motion = Motion3D(np.concatenate([np.repeat(elsewhere, len(turning), axis=0), turning.joints]), turning.fps,
                      "synthetic: stands, then turns 3 m away")
    film = project(motion, VirtualCamera(0.0, follow=True))
    width = film.size[0]
    hips_x = film.keypoints[:, [INDEX["left_hip"], INDEX["right_hip"]], 0].mean(axis=1)
    turn = slice(len(turning) + 50, len(motion) - 50)  # the turn, away from the low-pass's edges
    assert np.abs(hips_x[turn] - width / 2).max() < 0.02 * width
    fixed = project(motion, VirtualCamera(0.0)).keypoints[:, [INDEX["left_hip"], INDEX["right_hip"]], 0].mean(axis=1)
    assert np.abs(fixed[turn] - width / 2).min() > 0.1 * width  # a standing camera sees them off to one side


def test_linear_gap_fills_are_found_and_drawn_again_along_a_curve() -> None:
    """Once a second 5 frames replaced by a straight line, as in the Tang cha-cha and rumba takes:
    found exactly, and redrawn so the kinks at the fill's ends are gone."""
    from bopbot.ingest.tang import linear_fill_frames, repair_linear_gaps

    frames = np.arange(250)
    wave = np.sin(2 * np.pi * 0.7 * frames / 25)[:, None, None] * np.linspace(10, 30, 23)[None, :, None]
    points = np.repeat(wave, 3, axis=2) * np.array([1.0, 0.5, 0.2])
    filled = np.isin(frames % 25, [23, 24, 0, 1, 2]) & (frames > 2) & (frames < 248)
    damaged = points.copy()
    for start in np.flatnonzero(np.diff(np.r_[0, filled.astype(int)]) == 1):
        end = start + 5
        weights = np.arange(1, 6)[:, None, None] / 6
        damaged[start:end] = (1 - weights) * points[start - 1] + weights * points[end]
    assert (linear_fill_frames(damaged) == filled).all()
    assert not linear_fill_frames(points).any()  # real motion is never straight for every joint at once
    repaired, count = repair_linear_gaps(damaged)
    assert count == filled.sum()

    def kink(p: np.ndarray) -> float:  # the largest acceleration, over the true motion's
        return np.abs(np.diff(p, n=2, axis=0)).max() / np.abs(np.diff(points, n=2, axis=0)).max()

    assert kink(damaged) > 3 and kink(repaired) < 1.5
    assert np.abs(repaired - points).max() < np.abs(damaged - points).max() / 5


def test_the_tang_cha_cha_takes_come_with_their_gap_fills_redrawn(data: Path) -> None:
    take = load_tang(data / "mocap" / "tang2018" / "DANCE_C_2")
    assert take.meta["repaired_frames"] == 120  # 5 a second over 80 s
    accelerations = np.linalg.norm(np.diff(take.joints, n=2, axis=0), axis=2).mean(axis=1)
    by_phase = np.array([accelerations[(np.arange(len(accelerations)) + 1) % 25 == k].mean() for k in range(25)])
    assert by_phase.max() / by_phase.mean() < 1.35  # the raw take: 1.73 at frame 3, 1.51 at frame 22

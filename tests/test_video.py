"""Video ingest: decoding (rotation, variable frame rate, bad files) and one dancer's keypoints."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from bopbot.data.skeleton import FROM_BODY25, INDEX
from bopbot.errors import BopBotError
from bopbot.ingest.pose_detector import DancerTracker, detect_images, extract_video
from bopbot.ingest.video import decode_frames, probe

CLIPS = [
    "controlvideo_moonwalk.mp4",
    "hybrik_taiji.mp4",
    "mmhuman3d_single_person_demo.mp4",
    "phalp_vid.mp4",
    "unianimate_source_video.mp4",
]
#: Fraction of frames with a dancer each clip must reach (measured: 1.0 on every clip, the small
#: runner in phalp_vid.mp4 included).
MIN_FOUND = {"phalp_vid.mp4": 0.8}
#: PCK@0.2 torso of BopBot's detector against OpenPose on tsnet/00110 (measured: 0.978).
MIN_PCK = 0.95


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10, rotation: int | None = None,
                pts_ms: list[int] | None = None) -> Path:
    """Encode RGB frames with PyAV (H.264, or MPEG-4 for .avi), optionally rotated or with given pts."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4" if path.suffix == ".avi" else "libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2] if frames else (48, 64)
        stream.pix_fmt = "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        container.start_encoding()
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[index], Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def portrait_marker() -> np.ndarray:
    """A 64×32 portrait frame, red in its top quarter, so its orientation can be checked."""
    image = np.zeros((64, 32, 3), np.uint8)
    image[:16] = (255, 0, 0)
    return image


def centre_x(keypoints: np.ndarray) -> np.ndarray:
    """(T,) mean x of the joints present in each frame (NaN where nobody is)."""
    present = keypoints[:, :, 2] > 0
    total = (keypoints[:, :, 0] * present).sum(axis=1)
    return np.where(present.any(axis=1), total / np.maximum(present.sum(axis=1), 1), np.nan)


# --- decoding ---------------------------------------------------------------------------------


def test_rotated_phone_video_comes_out_upright(tmp_path: Path) -> None:
    stored = np.ascontiguousarray(np.rot90(portrait_marker(), 1))  # stored landscape, 64 wide
    path = write_video(tmp_path / "phone.mp4", [stored] * 3, rotation=-90)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (32, 64, -90)
    for _, image in decode_frames(path):
        assert image.shape == (64, 32, 3)
        assert image[:16, :, 0].mean() > 200 and image[16:, :, 0].mean() < 50


def test_max_side_scales_the_long_side(tmp_path: Path) -> None:
    stored = np.ascontiguousarray(np.rot90(portrait_marker(), 1))
    path = write_video(tmp_path / "phone.mp4", [stored] * 2, rotation=-90)
    shapes = {image.shape for _, image in decode_frames(path, max_side=32)}
    assert shapes == {(32, 16, 3)}


def test_variable_frame_rate_keeps_real_timestamps(tmp_path: Path) -> None:
    pts_ms = [0, 40, 80, 200, 240, 400, 433, 466, 700, 1000]
    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(len(pts_ms))]
    path = write_video(tmp_path / "vfr.mp4", frames, fps=25, pts_ms=pts_ms)
    times = [seconds for seconds, _ in decode_frames(path)]
    np.testing.assert_allclose(times, np.array(pts_ms) / 1000, atol=1e-6)


def test_probe_reads_size_rate_and_audio(puppet_video_with_song: Path, puppet_video: Path) -> None:
    info = probe(puppet_video_with_song)
    assert (info.width, info.height, info.frames, info.has_audio) == (640, 360, 120, True)
    assert info.fps == pytest.approx(30.0) and info.duration == pytest.approx(4.0, abs=0.01)
    assert not probe(puppet_video).has_audio


# --- bad input --------------------------------------------------------------------------------


def assert_refused(path: Path, problem: str) -> None:
    """Decoding `path` raises a BopBotError naming the path and the problem."""
    with pytest.raises(BopBotError, match=problem) as caught:
        list(decode_frames(path))
    assert str(path) in str(caught.value)


def test_missing_path_and_directory(tmp_path: Path) -> None:
    assert_refused(tmp_path / "nope.mp4", "no such file")
    assert_refused(tmp_path, "is a directory")


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("not a video at all\n" * 20)
    assert_refused(path, "not a video")


def test_image_is_not_a_video(puppet_video: Path, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    _, image = next(iter(decode_frames(puppet_video)))
    assert cv2.imwrite(str(photo), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert_refused(photo, "still image")


def test_zero_and_one_frame_videos(tmp_path: Path) -> None:
    assert_refused(write_video(tmp_path / "empty.avi", []), "no video frames")
    assert_refused(write_video(tmp_path / "one.mp4", [portrait_marker()]), "needs at least 2 frames")


def damaged_copy(source: Path, folder: Path, keep_until: float, resume_at: float = 1.0) -> Path:
    """A copy of `source` with bytes from `keep_until` to `resume_at` (fractions) zeroed, or cut at 1.0."""
    whole = source.read_bytes()
    cut, resume = int(len(whole) * keep_until), int(len(whole) * resume_at)
    damaged = whole[:cut] + bytes(resume - cut) + whole[resume:] if resume_at < 1.0 else whole[:cut]
    path = folder / source.name
    path.write_bytes(damaged)
    return path


def test_decoding_keeps_the_frames_nearest_a_20_fps_grid(tmp_path: Path) -> None:
    frames = [np.full((48, 64, 3), 4 * i, np.uint8) for i in range(30)]  # 1 s at 30 fps, each frame its own grey
    path = write_video(tmp_path / "thirty.mp4", frames, fps=30)
    kept = list(decode_frames(path, fps=20))
    times = np.array([seconds for seconds, _ in kept])
    assert len(kept) == 20  # 2 of every 3
    assert np.abs(times - np.round(times * 20) / 20).max() <= 0.5 / 30 + 1e-6  # each within half a source frame
    assert np.all(np.diff(np.round(times * 20)) == 1)  # one frame per tick, none skipped
    every = {round(seconds, 4): image for seconds, image in decode_frames(path)}
    assert all(np.array_equal(image, every[round(seconds, 4)]) for seconds, image in kept)


def index_first_copy(source: Path, path: Path) -> Path:
    """`source`'s streams copied as they are into an MP4 whose index comes first (as phones write them)."""
    with av.open(str(source)) as reading, av.open(str(path), "w", options={"movflags": "faststart"}) as writing:
        streams = {stream.index: writing.add_stream_from_template(stream) for stream in reading.streams}
        for packet in reading.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                writing.mux(packet)
    return path


@pytest.fixture
def index_first(puppet_video: Path, tmp_path: Path) -> Path:
    """The 3 s, 90-frame puppet video with its index at the start."""
    (tmp_path / "whole").mkdir()
    return index_first_copy(puppet_video, tmp_path / "whole" / "puppet_dance.mp4")


def test_cut_short_video_keeps_the_frames_before_the_cut(index_first: Path, tmp_path: Path) -> None:
    path = damaged_copy(index_first, tmp_path, 0.3)
    with pytest.warns(UserWarning, match="truncated"):
        sequence = extract_video(path)
    print(f"\npuppet cut to 30%: detected {sequence.meta['frames_detected']} frames of 90")
    assert 2 <= sequence.meta["frames_detected"] < 60 and len(sequence) > 0


def test_cut_short_video_without_its_index_is_refused(puppet_video: Path, tmp_path: Path) -> None:
    assert_refused(damaged_copy(puppet_video, tmp_path, 0.3), "truncated")  # the index comes last


def test_corrupt_video_keeps_the_frames_before_the_damage(index_first: Path, tmp_path: Path) -> None:
    path = damaged_copy(index_first, tmp_path, 0.3, 0.4)
    with pytest.warns(UserWarning, match="damaged after frame"):
        count = sum(1 for _ in decode_frames(path))
    assert 2 <= count < 90
    ruined = damaged_copy(index_first, tmp_path, 0.05, 0.95)
    assert_refused(ruined, "is damaged")


def test_video_with_nobody_in_it(tmp_path: Path) -> None:
    path = write_video(tmp_path / "blank.mp4", [np.full((120, 160, 3), 128, np.uint8)] * 10)
    with pytest.raises(BopBotError, match=r"nobody found in any of \d+ frames") as caught:
        extract_video(path)
    assert str(path) in str(caught.value)


# --- detection on real clips ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("clip", CLIPS)
def test_every_clip_extracts(data: Path, clip: str) -> None:
    path = data / "videos" / clip
    info = probe(path)
    sequence = extract_video(path)
    found = 1 - sequence.frames_without_dancer / len(sequence)
    detected = sequence.meta["frames_detected"]
    print(f"\n{clip}: {len(sequence)} frames at 20 fps from {detected} detected, dancer in {found:.0%}")
    assert sequence.fps == 20.0 and sequence.size == (info.width, info.height)
    assert abs(len(sequence) - info.duration * 20) <= 2
    assert np.isfinite(sequence.keypoints).all()
    assert found >= MIN_FOUND.get(clip, 0.9)
    present = sequence.keypoints[sequence.present]
    assert (present[:, :, 2] <= 1).all() and np.median(present[:, :, 1]) < info.height
    if clip == "mmhuman3d_single_person_demo.mp4":
        assert sequence.size[1] > sequence.size[0], "the portrait clip must come out portrait"


def test_the_pose_model_finds_a_drawn_dancer_where_the_mocap_put_it(tmp_path: Path) -> None:
    """The committed CMU take drawn as a cartoon person: the real detector finds the person in every
    frame, and its keypoints lie where the mocap put them (the truth a phone clip cannot give)."""
    from puppet import write_puppet_video

    take = Path(__file__).parent / "data" / "cmu_salsa" / "60_09_excerpt.bvh"
    truth = write_puppet_video(take, tmp_path / "drawn.mp4", seconds=3.0)  # 30 fps
    sequence = extract_video(tmp_path / "drawn.mp4")
    assert sequence.frames_without_dancer == 0 and len(sequence) >= 59
    at_20_fps = truth[np.round(np.arange(len(sequence)) * 30 / 20).astype(int).clip(0, len(truth) - 1)]
    torso = np.linalg.norm(at_20_fps[:, INDEX["left_shoulder"], :2] - at_20_fps[:, INDEX["left_hip"], :2], axis=1)
    error = np.linalg.norm(sequence.keypoints[:, :, :2] - at_20_fps[:, :, :2], axis=2) / torso[:, None]
    pck = (error <= 0.3).mean()
    print(f"\ndrawn 60_09: median error {np.median(error):.3f} torso lengths, PCK@0.3 torso {pck:.3f}")
    assert np.median(error) < 0.1 and pck >= 0.95


@pytest.mark.slow
def test_pck_against_openpose(data: Path) -> None:
    folder = data / "openpose" / "tsnet" / "00110"
    images = sorted((folder / "images").glob("*.jpg"))
    reference = np.stack([
        np.reshape(json.loads((folder / "json" / f"{image.stem}_keypoints.json").read_text())
                   ["people"][0]["pose_keypoints_2d"], (25, 3))[FROM_BODY25]
        for image in images
    ])
    detected = detect_images(images)
    shoulders = reference[:, [INDEX["left_shoulder"], INDEX["right_shoulder"]], :2].mean(axis=1)
    hips = reference[:, [INDEX["left_hip"], INDEX["right_hip"]], :2].mean(axis=1)
    torso = np.linalg.norm(shoulders - hips, axis=1)
    both = (reference[:, :, 2] > 0) & (detected[:, :, 2] > 0)
    error = np.linalg.norm(detected[:, :, :2] - reference[:, :, :2], axis=2)
    pck = (error <= 0.2 * torso[:, None])[both].mean()
    print(f"\nPCK@0.2 torso vs OpenPose on tsnet/00110: {pck:.3f} over {both.sum()} joints, {len(images)} images")
    assert len(images) == 30 and both.sum() > 0.8 * both.size
    assert pck >= MIN_PCK


@pytest.mark.slow
def test_native_logs_are_silenced(puppet_video: Path, capfd: pytest.CaptureFixture[str]) -> None:
    extract_video(puppet_video, progress=True)
    err = capfd.readouterr().err
    for native in ("XNNPACK", "W0000", "INFO:", "landmark_projection", "absl::InitializeLog"):
        assert native not in err
    assert "frame/s" in err or "s/frame" in err, "our own progress bar must still show"


# --- following one dancer ---------------------------------------------------------------------


def test_tracker_refuses_a_jump_until_the_dancer_is_lost() -> None:
    tracker = DancerTracker(max_jump=0.75, lost_after=1.0)
    tracker.accept(np.array([0.0, 0.0, 100.0, 200.0]), 0.0)
    assert tracker.plausible(np.array([30.0, 10.0, 130.0, 210.0]), 0.1)
    assert not tracker.plausible(np.array([300.0, 0.0, 400.0, 200.0]), 0.1)
    assert tracker.plausible(np.array([300.0, 0.0, 400.0, 200.0]), 1.5)


@pytest.mark.slow
def test_follows_the_most_prominent_dancer_among_two(data: Path, tmp_path: Path) -> None:
    # A large player (left) beside a dancer half his size (right), whom MediaPipe alone picks
    # first; the player vanishes for 0.5 s in the middle, while the other dancer stays in view.
    videos = data / "videos"
    large = [image for _, image in decode_frames(videos / "mmhuman3d_single_person_demo.mp4", 480)][:36]
    small = [image for _, image in decode_frames(videos / "unianimate_source_video.mp4", 240)][:36]
    height, large_width, small_height = large[0].shape[0], large[0].shape[1], small[0].shape[0]
    width = large_width + small[0].shape[1]
    frames = []
    for index, (player, dancer) in enumerate(zip(large, small)):
        frame = np.zeros((height, width + width % 2, 3), np.uint8)
        if not 12 <= index < 18:
            frame[:, :large_width] = player
        frame[height - small_height:, large_width:width] = dancer
        frames.append(frame)
    sequence = extract_video(write_video(tmp_path / "two.mp4", frames, fps=12))

    x = centre_x(sequence.keypoints)
    followed = ~np.isnan(x)
    print(f"\nfollowed the large player in {followed.sum()} of {len(x)} frames, never the other dancer")
    assert (x[followed] < large_width).all(), "the track jumped to the other dancer"
    times = np.arange(len(x)) / 20
    away = (times > 1.05) & (times < 1.45)
    assert not followed[away].any()
    assert followed[~away & ((times < 0.95) | (times > 1.55))].mean() > 0.9


def test_the_pose_model_loads_without_matplotlib_and_its_drawing_helpers_still_draw() -> None:
    """mediapipe's package imports matplotlib.pyplot (0.4 s of every dance) for helpers BopBot never
    calls: it is imported on their first use instead, and then it is the real one."""
    code = ("import sys; import bopbot.ingest.pose_detector; "
            "assert not [m for m in sys.modules if m.startswith('matplotlib')]; "
            "from mediapipe.python.solutions import drawing_utils; "
            "import matplotlib.pyplot as plt; assert drawing_utils.plt.figure is plt.figure; "
            "assert type(sys.modules['matplotlib.pyplot']).__name__ == 'module'; print('ok')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout == "ok\n", run.stderr

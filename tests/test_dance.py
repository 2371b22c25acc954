"""`bopbot dance`, `demo` and `tokens` end to end, the MP4 they write, and their clear errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from bopbot.app.cli import main
from bopbot.data.pose_sequence import PoseSequence

BOPBOT = [sys.executable, "-m", "bopbot"]


def _streams(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        audio = container.streams.audio[0] if container.streams.audio else None
        return {
            "frames": frames, "size": (video.codec_context.width, video.codec_context.height),
            "codec": video.codec_context.name, "fps": float(video.average_rate),
            "audio": None if audio is None else float(audio.duration * audio.time_base),
        }


def test_dance_on_a_clip_with_sound(puppet_video_with_song, tiny_model, tmp_path):
    """The clip, then 3 s of new dance: frame count, size, H.264, and sound all along (the clip's
    song, then its last bars again, `test_music`)."""
    clip = puppet_video_with_song  # 4 s, 640x360, 30 fps, with a song
    output = tmp_path / "danced.mp4"
    run = subprocess.run(BOPBOT + ["dance", str(clip), "-o", str(output), "--model", str(tiny_model),
                                   "--seconds", "3", "--seed", "0", "--gif", "--save-poses"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    streams = _streams(output)
    user_frames = 79  # the clip at 20 fps, to its last frame (3.967 s)
    assert streams["frames"] == user_frames + 60
    assert streams["size"] == (640, 360) and streams["codec"] == "h264" and streams["fps"] == 20
    assert streams["audio"] == pytest.approx(streams["frames"] / 20, abs=0.1)
    poses = PoseSequence.load(tmp_path / "danced.npz")
    assert len(poses) == 60 and poses.size == (640, 360) and len(poses.meta["words"].split()) == 60
    assert (tmp_path / "danced.gif").stat().st_size > 10_000


@pytest.mark.parametrize("layout,frames,width", [("dancer-only", 40, 640), ("side-by-side", 59, 1280)])
def test_layouts(puppet_video, tiny_model, tmp_path, layout, frames, width):
    clip = puppet_video  # 3 s, 640x360: 59 frames at 20 fps (to its last frame, 2.967 s)
    output = tmp_path / f"{layout}.mp4"
    assert main(["dance", str(clip), "-o", str(output), "--model", str(tiny_model), "--seconds", "2",
                 "--layout", layout]) == 0
    streams = _streams(output)
    assert streams["frames"] == frames and streams["size"][0] == width


def _with_sound_at(clip: Path, out: Path, rate: int) -> Path:
    """`clip`'s video, copied as it is, with clicks at `rate` Hz as its sound (an MKV takes any rate)."""
    from fractions import Fraction

    with av.open(str(clip)) as source, av.open(str(out), "w") as output:
        video_in = source.streams.video[0]
        video_out = output.add_stream_from_template(video_in)
        sound = output.add_stream("pcm_s16le", rate=rate)
        sound.layout = "mono"
        for packet in source.demux(video_in):
            if packet.dts is not None:
                packet.stream = video_out
                output.mux(packet)
        samples = np.zeros(rate * 3, np.int16)
        samples[:: rate // 2] = 20000
        for start in range(0, len(samples), 8192):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + 8192], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            output.mux(sound.encode(frame))
        output.mux(sound.encode())
    return out


def test_a_clip_whose_sound_is_192_khz_is_danced_with_its_sound(puppet_video, tiny_model, tmp_path):
    """AAC takes at most 96 kHz: such a clip once failed after all the work; its sound is resampled."""
    clip = _with_sound_at(puppet_video, tmp_path / "loud.mkv", 192000)
    output = tmp_path / "loud.mp4"
    assert main(["dance", str(clip), "-o", str(output), "--model", str(tiny_model), "--seconds", "1",
                 "--generator", "ngram"]) == 0
    with av.open(str(output)) as written:
        assert written.streams.audio[0].codec_context.sample_rate == 48000


def test_dance_from_motion_capture_carries_its_music(data, tiny_model, tmp_path):
    output = tmp_path / "chacha.mp4"
    assert main(["dance", str(data / "mocap" / "tang2018" / "DANCE_C_7"), "-o", str(output), "--model",
                 str(tiny_model), "--seconds", "2", "--layout", "dancer-only"]) == 0
    assert _streams(output)["audio"] == pytest.approx(2.0, abs=0.1)


def test_tokens_prints_the_sentence_and_sets_the_primer(fixtures, tiny_model, capsys):
    clip = fixtures / "cmu_salsa" / "60_05_excerpt.bvh"
    assert main(["tokens", str(clip), "--model", str(tiny_model), "--seconds", "2", "--set-primer"]) == 0
    words = capsys.readouterr().out.split()
    assert len(words) == 40 and all(len(w) == 5 for w in words)


def test_demo_continues_the_primer(fixtures, tiny_model, tmp_path, capsys):
    """The demo dances on from the primer `tokens --set-primer` stores; without one, it says both
    ways on (the demo takes no input of its own to continue)."""
    bare = tmp_path / "bare"
    shutil.copytree(tiny_model, bare)
    info = json.loads((bare / "bopbot.json").read_text())
    info.pop("primer", None)
    (bare / "bopbot.json").write_text(json.dumps(info))
    assert main(["demo", "-o", str(tmp_path / "none"), "--model", str(bare), "--seconds", "2"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"bopbot: error: {bare}: the model has no primer dance to continue: dance from your own input with "
        f"`bopbot dance INPUT --model {bare}`, or store one with `bopbot tokens INPUT --model {bare} --set-primer`")
    primer = fixtures / "cmu_salsa" / "60_09_excerpt.bvh"
    assert main(["tokens", str(primer), "--model", str(tiny_model), "--seconds", "1.5", "--set-primer"]) == 0
    assert main(["demo", "-o", str(tmp_path / "show"), "--model", str(tiny_model), "--seconds", "2"]) == 0
    said = capsys.readouterr().out
    assert str(tmp_path / "show") in said and "of new dance after 1.5 s of the demo's primer" in said, said
    assert _streams(tmp_path / "show" / "bopbot-demo.mp4")["frames"] == 30 + 40
    assert (tmp_path / "show" / "bopbot-demo.gif").is_file()


def test_demo_on_the_embedded_default_model(tmp_path):
    """The README's main job, on the model committed in the repository (no data needed)."""
    run = subprocess.run(BOPBOT + ["demo", "-o", str(tmp_path), "--seconds", "3"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    streams = _streams(tmp_path / "bopbot-demo.mp4")
    assert streams["frames"] > 60 and streams["size"] == (720, 720)
    assert (tmp_path / "bopbot-demo.gif").stat().st_size > 10_000


def test_errors_are_one_line(puppet_video, tiny_model, tmp_path):
    blank = tmp_path / "empty_room.mp4"
    with av.open(str(blank), "w") as container:
        stream = container.add_stream("libx264", rate=20)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for _ in range(20):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((240, 320, 3), 90, np.uint8), format="rgb24")))
        container.mux(stream.encode())
    broken_model = tmp_path / "broken_model"
    broken_model.mkdir()
    for item in Path(tiny_model).iterdir():
        if item.is_file() and item.name != "tokenizer.json":
            (broken_model / item.name).write_bytes(item.read_bytes())
    clip = str(puppet_video)
    cases = {
        "nobody found": ["dance", str(blank), "-o", str(tmp_path / "a.mp4"), "--model", str(tiny_model)],
        "tokenizer.json: missing": ["dance", clip, "-o", str(tmp_path / "b.mp4"), "--model", str(broken_model)],
        "--seconds must be above 0 and at most 600, got 0": ["dance", clip, "-o", str(tmp_path / "c.mp4"), "--seconds", "0"],
        "--seconds must be above 0 and at most 600, got -2": ["dance", clip, "-o", str(tmp_path / "d.mp4"),
                                                              "--seconds", "-2"],
        "no such model folder": ["dance", clip, "-o", str(tmp_path / "e.mp4"), "--model", str(tmp_path / "nope")],
    }
    for expected, argv in cases.items():
        run = subprocess.run(BOPBOT + argv, capture_output=True, text=True)
        lines = [line for line in run.stderr.splitlines() if "frame/s" not in line and line.strip()]
        assert run.returncode == 1, (expected, run.stderr)
        assert len(lines) == 1 and expected in lines[0] and lines[0].startswith("bopbot: error:"), (expected, lines)
    assert not list(tmp_path.glob("*.mp4")) or [p.name for p in tmp_path.glob("*.mp4")] == ["empty_room.mp4"]


@pytest.mark.parametrize("argv,culprit", [
    (["dance", "clip.mp4", "-o", "x.mp4", "--seconds", "inf"], "--seconds"),
    (["dance", "clip.mp4", "-o", "x.mp4", "--seconds", "nan"], "--seconds"),
    (["dance", "clip.mp4", "-o", "x.mp4", "--seconds", "1e9"], "--seconds"),
    (["dance", "clip.mp4", "-o", "x.mp4", "--temperature", "inf"], "--temperature"),
    (["dance", "clip.mp4", "-o", "x.mp4", "--seed", str(10**30)], "--seed"),
    (["demo", "--top-p", "1.5"], "--top-p"),
    (["extract", "clip.mp4", "-o", "x.npz", "--source-fps", "inf"], "--source-fps"),
    (["vocab", "corpus", "-o", "m", "--niter", "-3"], "--niter"),
    (["train", "corpus", "--model", "m", "--validation-fraction", "-1"], "--validation-fraction"),
    (["train", "corpus", "--model", "m", "--validation-fraction", "1.5"], "--validation-fraction"),
    (["evaluate", "held", "--corpus", "c", "--seeds", "-4"], "--seeds"),
])
def test_every_number_is_checked_before_any_work(argv, culprit, capsys):
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bopbot: error: {culprit} must be"), lines


def test_a_killed_dance_leaves_no_temporary_after_the_next_run(fixtures, tiny_model, tmp_path):
    output = tmp_path / "killed.mp4"
    command = BOPBOT + ["dance", str(fixtures / "cmu_salsa" / "60_01_excerpt.bvh"), "-o", str(output), "--model",
                        str(tiny_model), "--seconds", "2", "--layout", "dancer-only"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob(".tmp-killed.mp4-*")):
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)  # mid-write: the temporary stays behind
    run.wait()
    assert list(tmp_path.glob(".tmp-killed.mp4-*")) and not output.exists()
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert output.is_file() and not list(tmp_path.glob(".tmp-*"))


def test_train_needs_a_vocabulary_first(small_corpus, tmp_path):
    run = subprocess.run(BOPBOT + ["train", str(small_corpus), "--model", str(tmp_path / "empty"), "--generator", "lstm"],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "vocabulary.safetensors: missing" in run.stderr
    assert not (tmp_path / "empty" / "lstm.safetensors").exists()


def test_kept_frames_stop_at_their_budget():
    """The user's frames are kept for the layouts up to a budget; past it, none are (the video is read again)."""
    from bopbot.choreography.user_dance import KeptFrames

    kept = KeptFrames(limit=300)
    for t in range(3):
        kept.append((t / 20, np.zeros(100, np.uint8)))
    assert kept.complete and len(kept) == 3
    kept.append((0.15, np.zeros(100, np.uint8)))
    kept.append((0.2, np.zeros(1, np.uint8)))
    assert not kept.complete and len(kept) == 0


def test_the_shadow_stays_on_the_floor_under_a_kick():
    """The dancer's shadow lies at the lowest ankle's height, under the foot on the floor: a foot
    kicked up once lifted it to mid-shin, off to the kicking side."""
    from bopbot.choreography.draw import background, draw_dancer
    from bopbot.data.skeleton import INDEX

    standing = np.array([[50, 10], [48, 8], [52, 8], [46, 9], [54, 9], [42, 20], [58, 20], [38, 32], [62, 32],
                         [36, 44], [64, 44], [45, 48], [55, 48], [45, 66], [55, 66], [45, 84], [55, 84]], float) * 4
    shadow = np.array([16, 14, 26])

    def shadow_rows(pose: np.ndarray) -> tuple[float, float]:
        frame = np.concatenate([pose, np.ones((17, 1))], axis=1)
        canvas = draw_dancer(background(400, 400), frame)
        rows, columns = np.nonzero((np.abs(canvas.astype(int) - shadow) <= 2).all(axis=2))
        return rows.mean(), columns.mean()

    row, column = shadow_rows(standing)
    kick = standing.copy()
    kick[INDEX["right_knee"]] = (260, 220)
    kick[INDEX["right_ankle"]] = (330, 200)  # the right foot high and out to the side
    kicked_row, kicked_column = shadow_rows(kick)
    assert abs(kicked_row - row) < 4 and abs(kicked_column - standing[INDEX["left_ankle"], 0]) < 12
    assert abs(column - 200) < 4  # feet together on the floor: between them

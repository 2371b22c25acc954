"""BopBot under hostile input and faults: every case ends in one line on stderr that names the
culprit, with the documented exit code, and never in the catch-all line kept for bugs.

The table covers damaged inputs, damaged model folders, damaged corpora, write failures and bad
numbers; hypothesis draws the numbers and keypoint arrays.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bopbot.app.cli import main
from bopbot.choreography.render import GIF_PALETTE_SECONDS, GifWriter
from bopbot.data.pose_sequence import PoseSequence
from bopbot.models.model_folder import DEFAULT_MODEL

BOPBOT = [sys.executable, "-m", "bopbot"]
#: The catch-all line kept for bugs: "unexpected ValueError: ..." (also in batch failure reasons).
CATCH_ALL = re.compile(r"unexpected \w+(Error|Exception|Interrupt)\b")


def _said(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def _one_line(capsys, code: int, expected_code: int, culprit: str, besides_warnings: bool = False) -> str:
    """Assert the exit code and a single stderr line naming `culprit`, not the catch-all (after
    BopBot's warnings, where `besides_warnings`)."""
    lines = [line for line in _said(capsys) if not (besides_warnings and line.startswith("bopbot: warning:"))]
    assert code == expected_code, lines
    assert len(lines) == 1, lines
    assert culprit in lines[0] and not CATCH_ALL.search(lines[0]), lines[0]
    return lines[0]


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse's own mistakes end here, with 2
        return int(exit_.code)


# -- damaged inputs: `bopbot extract INPUT -o seq.npz` says what is wrong with INPUT ---------------

_BVH = """HIERARCHY
ROOT Hips
{{
OFFSET 0 0 0
CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
{joints}}}
MOTION
Frames: 2
Frame Time: {frame_time}
{frames}
"""


def _bvh(path: Path, frame_time: str = "0.05", depth: int = 0) -> Path:
    joints = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n" for i in range(depth))
    joints += "}\n" * depth
    row = " ".join(["0"] * (6 + 3 * depth))
    path.write_text(_BVH.format(joints=joints, frame_time=frame_time, frames=f"{row}\n{row}"))
    return path


DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: A committed CMU take.
FIXTURES_BVH = Path(__file__).resolve().parent / "data" / "cmu_salsa" / "60_01_excerpt.bvh"


def _real_bvh(path: Path, frame_time: str) -> Path:
    """A real CMU take (the committed excerpt) with its frame time replaced."""
    take = Path(__file__).resolve().parent / "data" / "cmu_salsa" / "60_01_excerpt.bvh"
    path.write_text(re.sub(r"Frame Time:\s*\S+", f"Frame Time: {frame_time}", take.read_text()))
    return path


#: A COCO-17 dancer standing, in pixels: head, shoulders, elbows, wrists, hips, knees, ankles.
_STANDING = np.array([[50, 10], [48, 8], [52, 8], [46, 9], [54, 9], [42, 20], [58, 20], [38, 32], [62, 32],
                      [36, 44], [64, 44], [45, 48], [55, 48], [45, 66], [55, 66], [45, 84], [55, 84]], float)


def _dancer(path: Path, frames: int = 80) -> Path:
    """A dancer swaying its arms, as a bare keypoint array (read at 30 fps)."""
    keypoints = np.ones((frames, 17, 3))
    keypoints[:, :, :2] = _STANDING
    keypoints[:, 7:11, 1] -= 8 * np.sin(np.arange(frames) / 4)[:, None]
    np.save(path, keypoints)
    return path


def _openpose(folder: Path, person) -> Path:
    folder.mkdir()
    for number in range(3):
        (folder / f"clip_{number:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": [person]}))
    return folder


def _music_with_cover(path: Path) -> Path:
    """An MP3 with a cover picture: FFmpeg sees one 'video' frame, which is no dance."""
    rate = 44100
    with av.open(str(path), "w") as output:
        sound = output.add_stream("libmp3lame", rate=rate)
        sound.layout = "mono"
        cover = output.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 32, 32, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 128, np.uint8), format="rgb24")
        output.mux(cover.encode(picture.reformat(format="yuvj420p")))
        output.mux(cover.encode())
        samples = (np.sin(np.arange(rate) * 0.06) * 8000).astype(np.int16)
        for start in range(0, rate, 1152):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + 1152], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            output.mux(sound.encode(frame))
        output.mux(sound.encode())
    return path


INPUTS = {
    "OpenPose keypoints as a string": (lambda d: _openpose(d / "op", {"pose_keypoints_2d": "1 2 3"}),
                                       "pose_keypoints_2d is not a list of numbers"),
    "OpenPose person not an object": (lambda d: _openpose(d / "op", [1, 2, 3]), "not an OpenPose person object"),
    "npz of Python objects": (lambda d: _saved_npz(d / "objects.npz", np.array([[1, 2], [3]], dtype=object)),
                              "number array"),
    "all-NaN keypoints": (lambda d: _saved_npy(d / "nan.npy", np.full((40, 17, 3), np.nan)), "no frame has a dancer"),
    "BVH infinite frame time": (lambda d: _bvh(d / "inf.bvh", "inf"), "is not a positive number of seconds"),
    "BVH absurd frame rate": (lambda d: _real_bvh(d / "fast.bvh", "1e-9"), "is not a dance's"),
    "BVH a frame a million seconds": (lambda d: _real_bvh(d / "slow.bvh", "1e6"), "is not a dance's"),
    "BVH nested 5000 deep": (lambda d: _bvh(d / "deep.bvh", depth=5000), "nested more than"),
    "input list not UTF-8": (lambda d: _written(d / "list.txt", "caf\xe9.mp4\n".encode("latin-1")), "must be UTF-8"),
    "MP3 with cover art": (lambda d: _music_with_cover(d / "song.mp3"), "music with cover art"),
    "Tang folder without skeletons.json": (lambda d: _written(d / "DANCE_C_1" / "config.json", b"{}").parent,
                                           "no OpenPose JSON frames or Tang skeletons.json"),
    "text named .mp4": (lambda d: _written(d / "clip.mp4", b"not a video\n"), "not a video file"),
    "truncated MP4": (lambda d: _written(d / "cut.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40), "truncated or corrupt"),
    "pose file of text keypoints": (lambda d: _pose_file(d / "text.npz", keypoints=np.full((40, 17, 3), "1")),
                                    "keypoints must be numbers, got <U1"),
    "pose file naming a number as its music": (lambda d: _pose_file(d / "music5.npz", meta={"audio": 5}),
                                               "its meta's 'audio' must name a music file, got 5"),
    "pose file starting its music at NaN s": (lambda d: _pose_file(d / "nan.npz", meta={"audio_offset": float("nan")}),
                                              "its meta's 'audio_offset' must be seconds"),
    "pose file starting its music at 1e308 s": (lambda d: _pose_file(d / "far.npz", meta={"audio_offset": 1e308}),
                                                "its meta's 'audio_offset' must be seconds"),
    "keypoint array at NaN fps": (lambda d: _fps_npz(d / "nanfps.npz", float("nan")), "'fps' must be one number"),
    "keypoint array at -5 fps": (lambda d: _fps_npz(d / "negfps.npz", -5.0), "'fps' must be one number"),
    "keypoint array at two fps (was read at --source-fps)": (lambda d: _fps_npz(d / "twofps.npz", [20.0, 30.0]),
                                                             "'fps' must be one number of 0.1 to 1000, got [20.0, 30."),
    "OpenPose first frame a number": (lambda d: _written(d / "op" / "clip_000000000000_keypoints.json", b"5").parent,
                                      "not an OpenPose frame"),
}


def _written(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _pose_file(path: Path, keypoints: np.ndarray | None = None, meta: dict | None = None, source: str = "take",
               frames: int = 40) -> Path:
    """A BopBot pose sequence file (`PoseSequence.save`'s arrays) of a swaying dancer, its
    `keypoints`, `meta` and `source` as given."""
    if keypoints is None:
        keypoints = np.load(_dancer(path.with_suffix(".npy"), frames))
        keypoints[:, :, 2] = 1.0
    np.savez(path, keypoints=keypoints, fps=np.float32(20), size=np.array([160, 240], np.int32),
             joints=np.array(PoseSequence.joints), source=np.array(source), meta=np.array(json.dumps(meta or {})))
    return path


def _fps_npz(path: Path, fps: float | list[float]) -> Path:
    np.savez(path, keypoints=np.load(_dancer(path.with_suffix(".npy"))), fps=np.array(fps))
    return path


def _saved_npz(path: Path, array: np.ndarray) -> Path:
    np.savez(path, keypoints=array)
    return path


def _saved_npy(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


@pytest.mark.parametrize("case", list(INPUTS))
def test_a_damaged_input_is_named_in_one_line(case, tmp_path, capsys):
    make, problem = INPUTS[case]
    culprit = make(tmp_path)
    code = _run(["extract", str(culprit), "-o", str(tmp_path / "out.npz")])
    assert problem in _one_line(capsys, code, 1, culprit.name)
    assert not (tmp_path / "out.npz").exists()


def test_damaged_inputs_in_a_batch_are_each_named_and_the_rest_extracted(tmp_path, capsys):
    good = _dancer(tmp_path / "good.npy")
    bad = [INPUTS[case][0](tmp_path) for case in ("BVH infinite frame time", "all-NaN keypoints", "text named .mp4")]
    code = main(["extract", str(good), *map(str, bad), "-o", str(tmp_path / "corpus"), "-q"])
    assert code == 3  # some inputs failed, the others are in the corpus
    failures = [json.loads(p.read_text()) for p in (tmp_path / "corpus" / "failures").iterdir()]
    assert sorted(Path(f["input"]).name for f in failures) == sorted(p.name for p in bad)
    assert not any(CATCH_ALL.search(f["reason"]) for f in failures)
    assert len(list((tmp_path / "corpus" / "shards").glob("*.npz"))) == 1


@settings(max_examples=60, deadline=None, derandomize=True,  # the same examples on every run: CI is repeatable
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=6),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=64)))
def test_any_keypoint_array_is_read_or_refused_in_one_line(tmp_path_factory, array):
    from bopbot.errors import BopBotError
    from bopbot.ingest.extract import extract

    path = tmp_path_factory.mktemp("array") / "keypoints.npy"
    np.save(path, array)
    try:
        sequences = extract(path)
    except BopBotError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:
        assert all(len(s) >= 2 and s.present.any() and np.isfinite(s.keypoints).all() for s in sequences)


# -- damaged model folders: `bopbot demo --model DIR` names the file ----------------------------

def _edit_json(name: str, edit):
    def apply(folder: Path) -> Path:
        path = folder / name
        content = json.loads(path.read_text())
        edit(content)
        path.write_text(json.dumps(content))
        return path
    return apply


def _cut(name: str, keep: int):
    def apply(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(path.read_bytes()[:keep])
        return path
    return apply


def _nan_centroids(folder: Path) -> Path:
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    path = folder / "vocabulary.safetensors"
    with safe_open(str(path), framework="numpy") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    tensors["centroids"] = np.full_like(tensors["centroids"], np.nan)
    save_file(tensors, str(path), metadata=metadata)
    return path


def _swap_two_words(content: dict) -> None:
    vocab = content["model"]["vocab"]
    first, second = list(vocab)[:2]
    vocab[first], vocab[second] = vocab[second], vocab[first]


MODELS = {
    "config with more layers than the weights": (_edit_json("config.json", lambda c: c.update(n_layer=8)), "gpt2",
                                                 "does not match config.json"),
    "config with fewer layers than the weights": (_edit_json("config.json", lambda c: c.update(n_layer=2)), "gpt2",
                                                  "does not match config.json"),
    "truncated GPT-2 weights": (_cut("model.safetensors", 100_000), "gpt2", "unreadable GPT-2 weights"),
    "empty GPT-2 weights": (_cut("model.safetensors", 0), "gpt2", "unreadable GPT-2 weights"),
    "tokenizer without its keys": (_edit_json("tokenizer.json", lambda c: c.clear()), "gpt2", "unreadable tokenizer"),
    "tokenizer with other words": (_edit_json("tokenizer.json", _swap_two_words), "gpt2",
                                   "not the pose vocabulary's"),
    "primer not a word list": (_edit_json("bopbot.json", lambda c: c.update(primer={"words": [1, 2]})), "gpt2",
                               "damaged primer"),
    "primer of unknown words": (_edit_json("bopbot.json", lambda c: c.update(primer={"words": "zzzzz"})), "gpt2",
                                "damaged primer"),
    "vocabulary of NaN centroids": (_nan_centroids, "gpt2", "NaN"),
    "truncated n-gram tables": (_cut("ngram.safetensors", 1000), "ngram", "unreadable n-gram tables"),
    "truncated training sentences": (_cut("sentences.safetensors", 5000), "nearest", "unreadable training sentences"),
    "truncated LSTM": (_cut("lstm.safetensors", 5000), "lstm", "unreadable LSTM"),
    "LSTM description without its keys": (_edit_json("lstm.json", lambda c: c.clear()), "lstm",
                                          "unreadable LSTM description"),
    "truncated travel model": (_cut("travel.safetensors", 3000), "gpt2", "unreadable travel model"),
}


@pytest.mark.parametrize("case", list(MODELS))
def test_a_damaged_model_folder_is_named_in_one_line(case, tmp_path, capsys):
    damage, generator, problem = MODELS[case]
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, folder, ignore=shutil.ignore_patterns("music", "checkpoint*"))
    culprit = damage(folder)
    code = main(["demo", "--model", str(folder), "--generator", generator, "--seconds", "1",
                 "-o", str(tmp_path / "demo")])
    line = _one_line(capsys, code, 1, str(folder))
    assert problem in line
    assert culprit.name in line or culprit.name == "config.json"  # a config is blamed on the weights it misfits
    assert not (tmp_path / "demo" / "bopbot-demo.mp4").exists()


# -- numbers: every numeric option is checked before any work --------------------------------

NUMBERS = {"--seconds": "dance", "--temperature": "dance", "--top-p": "dance", "--top-k": "dance", "--seed": "dance",
           "--echo": "dance", "--source-fps": "extract", "--jobs": "extract", "--niter": "vocab", "-k": "vocab",
           "--steps": "train", "--validation-fraction": "train", "--dropout": "train", "--seeds": "evaluate"}


def _argv(verb: str, option: str, value: str, tmp_path: Path) -> list[str]:
    missing = str(tmp_path / "missing.bvh")
    return {"dance": ["dance", missing, "-o", str(tmp_path / "out.mp4")],
            "extract": ["extract", missing, "-o", str(tmp_path / "out.npz")],
            "vocab": ["vocab", str(tmp_path / "no-corpus"), "-o", str(tmp_path / "model")],
            "train": ["train", str(tmp_path / "no-corpus"), "--model", str(tmp_path / "no-model")],
            "evaluate": ["evaluate", missing, "--corpus", str(tmp_path / "no-corpus")]}[verb] + [option, value]


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(NUMBERS)),
       st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10**30, 10**30).map(str),
                 st.sampled_from(["nan", "inf", "-inf", "1e9", "1e400", "-0", "0x10", "", "ten"])))
def test_any_number_is_checked_before_the_work(tmp_path, capsys, option, value):
    code = _run(_argv(NUMBERS[option], option, value, tmp_path))
    lines = _said(capsys)
    assert len(lines) == 1 and not CATCH_ALL.search(lines[0]), lines
    assert code in (1, 2), lines
    # either the option is refused by name, or it passed and the missing input is named
    assert option in lines[0] or "missing.bvh" in lines[0] or "no-corpus" in lines[0] or "no-model" in lines[0], lines


@pytest.mark.parametrize("option, verb, value", [("-k", "vocab", "0"), ("--niter", "vocab", "0"),
                                                 ("--top-k", "dance", "-1")])
def test_a_number_out_of_range_is_named_as_it_is_spelled(tmp_path, capsys, option, verb, value):
    """The option refused is named as the user can type it: `-k`, never `--k`, which is no option."""
    line = _one_line(capsys, _run(_argv(verb, option, value, tmp_path)), 1, option)
    assert line.startswith(f"bopbot: error: {option} must be "), line


@pytest.mark.parametrize("generator, options, named", [
    ("nearest", ["--temperature", "0.5"], "--temperature: the nearest generator does not read it"),
    ("lstm", ["--top-k", "5", "--echo", "3"], "--top-k, --echo: the lstm generator does not read them"),
    ("ngram", ["--top-p", "0.9"], "--top-p: the ngram generator does not read it"),
    ("gpt2", ["--force"], "--force lets --export write into a folder that holds files")])
def test_an_option_the_dance_would_not_read_is_refused(tmp_path, capsys, generator, options, named):
    """Given where it would be ignored (a sampling option to a generator that does not read it,
    `--force` without `--export`), an option is one line before any work, not a dance that silently
    differs from what was asked."""
    take = _dancer(tmp_path / "take.npy")
    _one_line(capsys, _run(["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--generator", generator,
                              *options]), 1, named)
    assert not (tmp_path / "out.mp4").exists()


def test_sampling_options_not_given_are_the_samplings_defaults():
    from bopbot.app.cli import build_parser
    from bopbot.app.verbs.options import sampling_options
    from bopbot.models.generators import NAMES, READS
    from bopbot.models.sampling import Sampling

    assert set(READS) == set(NAMES)  # every generator says which options it reads

    args = build_parser("dance").parse_args(["dance", "in.mp4", "-o", "out.mp4", "--seed", "4"])
    assert sampling_options(args) == Sampling(seed=4)
    args = build_parser("dance").parse_args(["dance", "in.mp4", "-o", "out.mp4", "--top-k", "7", "--echo", "0"])
    assert sampling_options(args) == Sampling(top_k=7, echo=0.0)


# -- writing: a folder that cannot be made, a full disk ----------------------------------------

def test_an_output_that_cannot_be_written_is_said_before_the_work(tmp_path, capsys):
    blocker = _written(tmp_path / "not-a-folder", b"")
    take = _dancer(tmp_path / "take.npy")
    for argv in (["dance", str(take), "-o", str(blocker / "out.mp4")],
                 ["extract", str(take), "-o", str(blocker / "corpus")],
                 ["demo", "-o", str(blocker / "demo")]):
        line = _one_line(capsys, main(argv), 1, str(blocker))
        assert "is a file" in line


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KB tmpfs (root only), nearly full: writes there fail with ENOSPC."""
    mount = tmp_path / "full"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("making a full disk needs root and tmpfs")
    try:
        _written(mount / "filler", b"\0" * 60_000)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_one_line_naming_the_output_and_leaves_nothing(full_disk, tmp_path):
    take = _dancer(tmp_path / "take.npy", frames=3000)
    for output in (full_disk / "take.npz", full_disk / "corpus"):
        run = subprocess.run(BOPBOT + ["extract", str(take), "-o", str(output), "-q"], capture_output=True, text=True)
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        reasons = [json.loads(p.read_text())["reason"] for p in (output / "failures").glob("*.json")] \
            if output.is_dir() else []
        said = lines + reasons
        assert run.returncode in (1, 3) and "Traceback" not in run.stderr, run.stderr
        assert any("No space left on device" in line for line in said), said
        assert not any(CATCH_ALL.search(line) or ".tmp-" in line for line in said), said
    assert not list(full_disk.rglob(".tmp-*"))


# -- memory: the GIF streams --------------------------------------------------------------------

def test_the_gif_streams_its_frames_and_keeps_their_colours(tmp_path):
    from PIL import Image

    fps, frames = 20, 130
    held = []
    with GifWriter(tmp_path / "dance.gif", fps) as gif:
        for number in range(frames):
            image = np.zeros((60, 80, 3), np.uint8)
            image[:, : 10 + number % 60] = (200, 40 + number, 90)  # every frame its own colour and extent
            gif.add(image)
            held.append(len(gif._held))
    assert max(held) < GIF_PALETTE_SECONDS * fps  # never the whole dance, only the frames sharing a palette
    assert gif.frames == frames
    with Image.open(tmp_path / "dance.gif") as written:
        assert written.n_frames == frames and written.info["duration"] == 50 and written.info["loop"] == 0
        written.seek(77)
        np.testing.assert_allclose(np.asarray(written.convert("RGB"))[0, 0], (200, 117, 90), atol=4)  # the octree's rounding
    with pytest.raises(ValueError, match="at least one frame"):
        with GifWriter(tmp_path / "empty.gif", fps):
            pass
    assert not list(tmp_path.glob("*empty*")) and not list(tmp_path.glob(".tmp-*"))


def test_the_pages_gif_is_made_from_the_written_video_frame_for_frame(tmp_path):
    from PIL import Image

    from bopbot.choreography.render import gif_of_video, write_mp4

    frames = []
    for number in range(30):
        image = np.full((96, 64, 3), (30, 60, 90), np.uint8)
        image[: 10 + 2 * number, :32] = (220, 180 - 4 * number, 40)  # a bar growing, its colour changing
        frames.append(image)
    write_mp4(frames, tmp_path / "dance.mp4", 20.0)
    assert gif_of_video(tmp_path / "dance.mp4", tmp_path / "later.gif", start=12) == 18  # from frame 12 on
    assert gif_of_video(tmp_path / "dance.mp4", tmp_path / "dance.gif") == 30
    with Image.open(tmp_path / "dance.gif") as written:
        assert written.n_frames == 30 and written.info["duration"] == 50
        written.seek(20)
        shown = np.asarray(written.convert("RGB")).astype(int)
    assert np.abs(shown[40, 10] - (220, 100, 40)).max() <= 8 and np.abs(shown[80, 50] - (30, 60, 90)).max() <= 8


def test_a_gif_frame_shrinks_without_aliasing():
    """Shrunk a little, bilinearly (within a level of the area average); by half or more, by area:
    a one-pixel line every four pixels turns the grey it averages to, not the black between them
    that bilinear samples would see."""
    import cv2

    from bopbot.choreography.render import gif_frame

    gradient = np.tile(np.linspace(0, 255, 540, dtype=np.float32)[None, :, None], (960, 1, 3)).astype(np.uint8)
    small = gif_frame(gradient, 480)
    area = cv2.resize(gradient, (480, 853), interpolation=cv2.INTER_AREA)
    assert small.shape == (853, 480, 3) and np.abs(small.astype(int) - area).mean() < 1.0
    lines = np.zeros((480, 1920, 3), np.uint8)
    lines[:, ::4] = 255
    shrunk = gif_frame(lines, 480)
    assert shrunk.shape == (120, 480, 3) and np.abs(shrunk.astype(float) - 255 / 4).max() <= 1


def _dead_pid() -> int:
    """The process id of a process that has ended."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def _temporary_of(output: Path, pid: int) -> Path:
    """A temporary of `output` as the process `pid` of this machine would have named it."""
    from bopbot.files import TMP_PREFIX, _host

    return output.parent / f"{TMP_PREFIX}{output.name}-{pid}-{_host()}-abcd1234{output.suffix}"


def test_a_reader_that_goes_away_ends_the_run_quietly():
    """`bopbot tokens TAKE | head`, its reader gone before the words are printed: the run ends as
    other tools do, with 141 (SIGPIPE's) and nothing said, not the catch-all line kept for bugs."""
    take = Path(__file__).parent / "data" / "cmu_salsa" / "60_01_excerpt.bvh"
    run = subprocess.Popen(BOPBOT + ["tokens", str(take)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run.stdout.close()  # long before the words come: Python and the model take a second to start
    said = run.stderr.read()
    assert run.wait(timeout=120) == 141, said
    assert said == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_full_output_is_said_in_one_line():
    """`bopbot tokens TAKE > /dev/full`: the words cannot be written, and the line says why, not the
    catch-all kept for bugs."""
    take = Path(__file__).parent / "data" / "cmu_salsa" / "60_01_excerpt.bvh"
    with open("/dev/full", "w") as full:
        run = subprocess.run(BOPBOT + ["tokens", str(take)], stdout=full, stderr=subprocess.PIPE, text=True)
    assert run.returncode == 1
    assert run.stderr.strip() == ("bopbot: error: cannot write: No space left on device "
                                  "(the standard output, or the disk written to, is full)")


def test_a_killed_dance_leaves_no_temporary_after_the_next_run(tmp_path):
    take = _dancer(tmp_path / "take.npy")
    leftover = _written(_temporary_of(tmp_path / "out.mp4", _dead_pid()), b"half a video")  # a killed run's
    run = subprocess.run(BOPBOT + ["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--seconds", "1",
                                   "--generator", "ngram"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out.mp4").is_file() and not leftover.exists()
    assert not re.search(r"\.tmp-", " ".join(p.name for p in tmp_path.iterdir()))


# -- round two: outputs never land on inputs ----------------------------------------------------

def _refused_untouched(capsys, argv: list[str], keep: Path, culprit: str, problem: str) -> None:
    """`argv` is refused in one line naming `culprit` with `problem`, and `keep` is as it was."""
    before = keep.read_bytes() if keep.is_file() else sorted(p.name for p in keep.iterdir())
    line = _one_line(capsys, _run(argv), 1, culprit)
    assert problem in line, line
    assert (keep.read_bytes() if keep.is_file() else sorted(p.name for p in keep.iterdir())) == before


def test_an_output_that_is_the_input_is_refused_however_it_is_named(tmp_path, capsys):
    clip = _written(tmp_path / "me.mp4", b"the user's only recording")  # refused before it is ever read
    (tmp_path / "sub").mkdir()
    os.link(clip, tmp_path / "linked.mp4")
    os.symlink(clip, tmp_path / "pointer.mp4")
    for output in (clip, tmp_path / "linked.mp4", tmp_path / "pointer.mp4", tmp_path / "sub" / ".." / "me.mp4"):
        _refused_untouched(capsys, ["dance", str(clip), "-o", str(output)], clip, output.name, "is also an input")


def test_the_poses_the_gif_and_the_song_beside_an_output_never_replace_an_input(tmp_path, capsys):
    take = _dancer(tmp_path / "dance.npy")
    poses = tmp_path / "mydance.npz"
    np.savez(poses, keypoints=np.load(take))
    gif = _written(tmp_path / "clip.gif", b"GIF89a the user's GIF")
    song = _wav(tmp_path / "song.mp4", 8000, 2)  # the user's song, whatever its name says
    _refused_untouched(capsys, ["dance", str(poses), "-o", str(tmp_path / "mydance.mp4"), "--save-poses"],
                       poses, "mydance.npz", "is also an input")
    _refused_untouched(capsys, ["dance", str(gif), "-o", str(tmp_path / "clip.mp4"), "--gif"], gif, "clip.gif",
                       "is also an input")
    _refused_untouched(capsys, ["dance", str(take), "-o", str(song), "--music", str(song)], song, "song.mp4",
                       "is also an input")
    _refused_untouched(capsys, ["extract", str(poses), "-o", str(poses)], poses, "mydance.npz", "is also an input")
    named_like_the_demo = _wav(tmp_path / "bopbot-demo.gif", 8000, 2)
    _refused_untouched(capsys, ["demo", "-o", str(tmp_path), "--music", str(named_like_the_demo)], named_like_the_demo,
                       "bopbot-demo.gif", "is also an input")


def test_an_export_never_mixes_into_the_input_or_another_dance(tmp_path, capsys):
    folder = _openpose(tmp_path / "op", {"pose_keypoints_2d": [float(v) for v in np.ones(75)]})
    before = sorted(p.name for p in folder.iterdir())
    for extra in ([], ["--force"]):  # the input folder itself: refused, whatever --force says
        _refused_untouched(capsys, ["dance", str(folder), "-o", str(tmp_path / "out.mp4"), "--export", "openpose",
                                    str(folder), *extra], folder, "op", "input folder" if extra else "new or empty")
    take = _dancer(tmp_path / "take.npy")
    _refused_untouched(capsys, ["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--export", "openpose",
                                str(folder)], folder, "op", "new or empty folder")
    _refused_untouched(capsys, ["extract", str(folder), "-o", str(folder / "corpus")], folder, "corpus",
                       "inside the input folder")
    clips = tmp_path / "clips"  # a folder searched for inputs: a corpus in it would be read back as inputs
    clips.mkdir()
    _dancer(clips / "one.npy")
    _refused_untouched(capsys, ["extract", str(clips), "-o", str(clips / "corpus")], clips, "corpus",
                       "inside the input folder")
    assert sorted(p.name for p in folder.iterdir()) == before
    code = _run(["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--seconds", "1", "--generator", "ngram",
                 "--export", "openpose", str(folder), "--force"])
    assert code == 0 and len(list(folder.glob("take_*_keypoints.json"))) > 40  # --force: written among them


def test_a_run_never_removes_the_live_temporary_of_another(tmp_path):
    from bopbot.files import atomic_path, remove_stale_temporaries

    output = tmp_path / "out.mp4"
    alive = subprocess.Popen(["sleep", "30"])
    try:
        live = _written(_temporary_of(output, alive.pid), b"another run, still writing")
        dead = _written(_temporary_of(output, _dead_pid()), b"a killed run's")
        with atomic_path(output) as tmp:
            tmp.write_bytes(b"this run's")
        assert output.read_bytes() == b"this run's" and live.exists() and not dead.exists()
        corpus_tmp = _written(_temporary_of(tmp_path / "shard.npz", _dead_pid()), b"")
        assert remove_stale_temporaries(tmp_path) == 1 and live.exists() and not corpus_tmp.exists()
    finally:
        alive.kill()
        alive.wait()


def test_two_runs_writing_one_output_both_succeed(tmp_path):
    take = _dancer(tmp_path / "take.npy")
    command = BOPBOT + ["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--seconds", "3", "--generator", "ngram"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    second = subprocess.run(command, capture_output=True, text=True)
    first.communicate()
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert not list(tmp_path.glob(".tmp-*"))


def test_the_longest_legal_output_name_is_written(tmp_path):
    take = _dancer(tmp_path / "take.npy")
    output = tmp_path / ("d" * 251 + ".mp4")  # 255 bytes: the most a name may have
    assert _run(["dance", str(take), "-o", str(output), "--seconds", "1", "--generator", "ngram"]) == 0
    assert output.is_file() and not list(tmp_path.glob(".tmp-*"))


def test_a_failed_run_leaves_no_folder_it_made(tmp_path, capsys):
    take = _dancer(tmp_path / "take.npy")
    code = _run(["dance", str(take), "-o", str(tmp_path / "new" / "deeper" / "out.mp4"), "--model",
                 str(tmp_path / "no-model")])
    assert code == 1 and not (tmp_path / "new").exists()
    assert _run(["dance", str(tmp_path / "missing.npy"), "-o", str(tmp_path / "made" / "out.mp4")]) == 1
    assert not (tmp_path / "made").exists()
    capsys.readouterr()


# -- round two: sizes and lengths from what is read, never a header ------------------------------

def test_declared_sizes_past_the_limits_are_refused_before_anything_is_allocated(tmp_path, capsys):
    huge = tmp_path / "huge.npy"
    with open(huge, "wb") as handle:  # 1 KB declaring a million million frames
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (10**12, 17, 3)})
        handle.write(b"\0" * 600)
    many = np.zeros((10_000_000, 17, 3), np.float32)  # 10M frames, compressed to 8 MB
    many[:, :, 2] = 1
    np.savez_compressed(tmp_path / "many.npz", keypoints=many)
    del many
    for path in (huge, tmp_path / "many.npz"):
        line = _one_line(capsys, _run(["extract", str(path), "-o", str(tmp_path / "out.npz")]), 1, path.name)
        assert "a dance may hold at most 72,000" in line  # benchmarks/hostile.py has the time and memory


def _model_copy(tmp_path: Path, **config) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, folder, ignore=shutil.ignore_patterns("music", "checkpoint*"))
    _edit_json("config.json", lambda c: c.update(config))(folder)
    return folder


@pytest.mark.parametrize("config, culprit, problem", [
    ({"n_layer": 100_000}, "config.json", "n_layer = 100000"),
    ({"n_layer": 16, "n_embd": 2048}, "model.safetensors", "does not match config.json: 'transformer.wte.weight'"),
])
def test_a_model_config_is_checked_against_its_weights_before_it_is_built(tmp_path, capsys, config, culprit, problem):
    folder = _model_copy(tmp_path, **config)
    line = _one_line(capsys, _run(["demo", "--model", str(folder), "--seconds", "1", "-o", str(tmp_path / "d")]), 1,
                     culprit)
    assert problem in line and "above" not in line


def test_an_lstm_description_past_the_limits_is_refused(tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, folder, ignore=shutil.ignore_patterns("music", "checkpoint*"))
    _edit_json("lstm.json", lambda c: c["size"].update(hidden=10**9))(folder)
    line = _one_line(capsys, _run(["demo", "--model", str(folder), "--generator", "lstm", "--seconds", "1",
                                   "-o", str(tmp_path / "d")]), 1, "lstm.json")
    assert "hidden = 1000000000" in line


def _video(path: Path, seconds: float, fps: int = 20, pts=None, container: str | None = None) -> Path:
    """A small grey video of `seconds` at `fps`; `pts(i)` gives frame i's timestamp in 1/fps units."""
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for number in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), number % 200, np.uint8), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts(number), Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return path


def _lying_mkv(path: Path, seconds: float, declared: float) -> Path:
    """An MKV of `seconds` whose header declares it lasts `declared` seconds."""
    import struct

    _video(path, seconds)
    data = bytearray(path.read_bytes())
    at = data.index(b"\x44\x89\x88")  # Matroska's Duration element, an 8-byte float in milliseconds
    data[at + 3:at + 11] = struct.pack(">d", declared * 1000)
    path.write_bytes(bytes(data))
    return path


def test_a_clip_is_measured_by_its_frames_not_its_header(tmp_path):
    from bopbot.choreography.user_dance import read_user_dance
    from bopbot.errors import BopBotError
    from bopbot.ingest.video import probe

    lying = _lying_mkv(tmp_path / "lying.mkv", 8, declared=1)
    raw = _video(tmp_path / "raw.h264", 8, container="h264")  # a bare stream: no length at all
    assert probe(lying).duration == pytest.approx(1, abs=0.1) and probe(raw).duration < 1
    for clip in (lying, raw):
        with pytest.raises(BopBotError, match=r"is longer than 3 s, the longest clip taken here"):
            read_user_dance(clip, max_seconds=3)


def test_a_gap_in_the_timeline_is_closed_not_drawn(tmp_path, capsys):
    from bopbot.ingest.video import decode_frames

    gap = 10 * 3600 * 20  # ten hours, in frames
    clip = _video(tmp_path / "gap.mkv", 5, pts=lambda i: i if i < 50 else i + gap)
    with pytest.warns(UserWarning, match="timestamps jump 1 time"):
        times = [seconds for seconds, _ in decode_frames(clip, fps=20)]
    assert len(times) == 100 and times[-1] == pytest.approx(4.95, abs=0.06)
    # on the command line: one warning, then nobody found in the 5 s there are
    assert _run(["extract", str(clip), "-o", str(tmp_path / "out.npz")]) == 1
    lines = _said(capsys)
    assert "nobody found in any of 100 frames" in lines[-1], lines


def _wav(path: Path, rate: int, seconds: float) -> Path:
    """A WAV (whatever `path`'s suffix says) of mono clicks, twice a second, at `rate` Hz."""
    samples = np.zeros(max(1, round(rate * seconds)), np.int16)
    samples[:: max(1, rate // 2)] = 20000
    with av.open(str(path), "w", format="wav") as output:
        stream = output.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        step = 4096
        for start in range(0, len(samples), step):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + step], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return path


def test_a_long_song_is_heard_for_its_first_ten_minutes(tmp_path):
    from bopbot.music.beats import MAX_TRACK_SECONDS, music_beats

    song = _wav(tmp_path / "long.wav", 4000, MAX_TRACK_SECONDS + 120)
    track = music_beats(str(song))
    assert track.seconds == pytest.approx(MAX_TRACK_SECONDS) and track.cut
    assert track.tempo == pytest.approx(120, rel=0.05)


def test_songs_at_any_rate_are_danced_to_or_refused_in_one_line(tmp_path, capsys):
    take = _dancer(tmp_path / "take.npy")
    base = ["dance", str(take), "--seconds", "2", "--generator", "ngram"]
    line = _one_line(capsys, _run(base + ["-o", str(tmp_path / "a.mp4"), "--music",
                                          str(_wav(tmp_path / "one-hertz.wav", 1, 30))]), 1, "one-hertz.wav")
    assert "sampled at 1 Hz" in line
    assert _run(base + ["-o", str(tmp_path / "b.mp4"), "--music", str(_wav(tmp_path / "high.wav", 384000, 3))]) == 0
    with av.open(str(tmp_path / "b.mp4")) as written:  # the AAC sound, resampled to a rate it takes
        assert written.streams.audio[0].codec_context.sample_rate == 48000
    capsys.readouterr()


# -- round two: ordinary conditions are ordinary -------------------------------------------------

def test_loops_of_links_and_of_lists_are_named(tmp_path, capsys):
    os.symlink(tmp_path / "b.npy", tmp_path / "a.npy")
    os.symlink(tmp_path / "a.npy", tmp_path / "b.npy")
    assert "loop of symbolic links" in _one_line(capsys, _run(["dance", str(tmp_path / "a.npy"), "-o",
                                                               str(tmp_path / "o.mp4")]), 1, "a.npy")
    itself = _written(tmp_path / "itself.txt", b"itself.txt\n")
    _written(tmp_path / "one.txt", b"two.txt\n")
    two = _written(tmp_path / "two.txt", b"one.txt\n")
    for listed in (itself, two):
        line = _one_line(capsys, _run(["extract", str(listed), "-o", str(tmp_path / "c")]), 1, ".txt")
        assert "names itself" in line


def test_a_batch_keeps_its_good_inputs_beside_loops_odd_names_and_pipes(tmp_path, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    _dancer(folder / "good.npy")
    _dancer(Path(os.fsdecode(bytes(folder) + b"/caf\xe9.npy")))  # a name that is not UTF-8
    os.symlink(folder / "loop2.npy", folder / "loop1.npy")
    os.symlink(folder / "loop1.npy", folder / "loop2.npy")
    os.symlink(folder, folder / "up")  # a link back up the tree
    os.mkfifo(folder / "pipe.npy")
    code = _run(["extract", str(folder), "-o", str(tmp_path / "corpus"), "-q"])
    assert code == 3
    out = capsys.readouterr()
    assert not CATCH_ALL.search(out.out + out.err), out
    failures = {json.loads(p.read_text())["reason"] for p in (tmp_path / "corpus" / "failures").iterdir()}
    assert len(failures) == 3 and all("loop of symbolic links" in f or "not a regular file" in f for f in failures)
    assert len(list((tmp_path / "corpus" / "shards").glob("*.npz"))) == 2


def test_a_pipe_and_a_name_with_a_newline_are_one_line_at_once(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.mp4")
    run = subprocess.run(BOPBOT + ["dance", str(tmp_path / "pipe.mp4"), "-o", str(tmp_path / "o.mp4")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "not a regular file" in run.stderr
    odd = tmp_path / "my\ndance.npy"
    line = _one_line(capsys, _run(["dance", str(odd), "-o", str(tmp_path / "o.mp4")]), 1, "my\\ndance.npy")
    assert "no such file" in line


def _model_process(pid: int) -> int:
    """The process id of the model's worker that the run `pid` spawned (not multiprocessing's helpers)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"multiprocessing.spawn" in command and b"resource_tracker" not in command:
                return int(child)
        time.sleep(0.05)
    raise AssertionError("no model process started")


def test_a_killed_dance_takes_its_model_process_with_it(tmp_path):
    take = _dancer(tmp_path / "take.npy")
    run = subprocess.Popen(BOPBOT + ["dance", str(take), "-o", str(tmp_path / "o.mp4"), "--seconds", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    model = _model_process(run.pid)
    time.sleep(0.5)  # still importing torch
    run.kill()
    run.wait()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and Path(f"/proc/{model}").exists():
        time.sleep(0.05)
    assert not Path(f"/proc/{model}").exists() or "Z" in Path(f"/proc/{model}/stat").read_text().split()[2]


NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-net_bind_service"]


@pytest.fixture
def as_ordinary_user():
    """Commands run as root without its power over file modes and low ports, as a user runs them."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("running without root's file powers needs root and setpriv (util-linux)")
    return lambda argv, **kw: subprocess.run(NO_DAC + BOPBOT + argv, capture_output=True, text=True, **kw)


def test_unreadable_files_and_folders_are_named(tmp_path, as_ordinary_user):
    folder = tmp_path / "clips"
    folder.mkdir()
    _dancer(folder / "good.npy")
    secret = _dancer(folder / "secret.npy")
    closed = folder / "closed"
    closed.mkdir()
    _dancer(closed / "inside.npy")
    secret.chmod(0)
    closed.chmod(0)
    try:
        alone = as_ordinary_user(["dance", str(secret), "-o", str(tmp_path / "o.mp4")])
        assert alone.returncode == 1 and alone.stderr.strip().endswith("secret.npy: cannot read it: Permission denied")
        batch = as_ordinary_user(["extract", str(folder), "-o", str(tmp_path / "corpus"), "-q"])
        assert batch.returncode == 3 and not CATCH_ALL.search(batch.stdout + batch.stderr), batch.stdout
        assert "secret.npy: cannot read it: Permission denied" in batch.stdout
        assert "closed: cannot read this folder: Permission denied" in batch.stdout
        assert len(list((tmp_path / "corpus" / "shards").glob("*.npz"))) == 1
        listed = _written(tmp_path / "inputs.txt", b"clips/secret.npy\n")
        from_list = as_ordinary_user(["extract", str(listed), "-o", str(tmp_path / "o.npz")])
        assert from_list.returncode == 1 and from_list.stderr.strip().endswith(
            f"{listed} line 1: {secret}: cannot read it: Permission denied")
    finally:
        closed.chmod(0o755)


def test_a_port_that_is_taken_or_not_allowed_is_one_line(capsys, as_ordinary_user):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line(capsys, _run(["serve", "--port", str(port)]), 1, f"127.0.0.1:{port}")
        assert "Address already in use" in line
    low = as_ordinary_user(["serve", "--port", "80"], timeout=60)
    assert low.returncode == 1 and low.stderr.strip() == "bopbot: error: cannot listen on 127.0.0.1:80: Permission denied"


# -- round three: what a file declares is held to what a dance can be ----------------------------

def _sequence_npz(path: Path, **changes) -> Path:
    """A BopBot pose sequence `.npz` of the swaying dancer, with `changes` to its arrays."""
    from bopbot.data.pose_sequence import PoseSequence

    keypoints = np.load(_dancer(path.with_suffix(".npy")))
    PoseSequence(keypoints, 30.0, (100, 100), "swaying").save(path)
    arrays = dict(np.load(path))
    arrays.update(changes)
    np.savez(path, **arrays)
    return path


SEQUENCES = {
    "no size": ({"size": np.array([0, 0], np.int32)}, "'size' must be the source's width and height"),
    "a size of 60000 px": ({"size": np.array([60000, 60000], np.int32)}, "1 to 16384 pixels"),
    "a size of three numbers": ({"size": np.array([1, 2, 3], np.int32)}, "'size' must be"),
    "a negative size": ({"size": np.array([-5, -5], np.int32)}, "'size' must be"),
    "meta a list": ({"meta": np.array("[1, 2]")}, "'meta' must be a JSON object"),
    "fps a vector": ({"fps": np.array([20.0, 30.0])}, "'fps' must be one number"),
    "joints at 1e27 px": ({"keypoints": np.tile(np.float32([1e27, 1e27, 1]), (80, 17, 1))}, "a joint lies at 1e+27"),
}


@pytest.mark.parametrize("case", list(SEQUENCES))
def test_a_pose_sequence_out_of_bounds_is_named_in_one_line(case, tmp_path, capsys):
    changes, problem = SEQUENCES[case]
    path = _sequence_npz(tmp_path / "seq.npz", **changes)
    line = _one_line(capsys, _run(["dance", str(path), "-o", str(tmp_path / "out.mp4"), "--export", "skeleton-png",
                                   str(tmp_path / "pngs")]), 1, "seq.npz")
    assert problem in line and not (tmp_path / "pngs").exists()


def test_keypoints_past_any_video_are_refused(tmp_path, capsys):
    wide = np.load(_dancer(tmp_path / "take.npy"))
    wide[:, :, :2] *= 300  # 25,000 px: no video is that wide
    np.save(tmp_path / "wide.npy", wide)
    far = np.load(tmp_path / "take.npy") * np.float32(1e30)
    np.save(tmp_path / "far.npy", far)
    for name, problem in (("wide.npy", "a source video is at most 16384 px"), ("far.npy", "a joint lies at")):
        line = _one_line(capsys, _run(["dance", str(tmp_path / name), "-o", str(tmp_path / "o.mp4")]), 1, name)
        assert problem in line


def test_a_dance_from_a_tiny_or_unit_square_source_is_drawn(tmp_path, capsys):
    unit = np.load(_dancer(tmp_path / "take.npy"))
    unit[:, :, :2] /= 100  # keypoints in a unit square, as some tools write them
    np.save(tmp_path / "unit.npy", unit)
    thin = _sequence_npz(tmp_path / "thin.npz", size=np.array([1, 1080], np.int32))
    for source in (tmp_path / "unit.npy", thin):
        output = tmp_path / f"{source.stem}.mp4"
        assert _run(["dance", str(source), "-o", str(output), "--seconds", "1", "--generator", "ngram"]) == 0
        with av.open(str(output)) as written:
            stream = written.streams.video[0]
            assert max(stream.width, stream.height) >= 240 and min(stream.width, stream.height) >= 2
    capsys.readouterr()


def test_skeletons_of_a_huge_source_are_drawn_at_most_2048_px():
    from bopbot.choreography.export import skeleton_canvas

    assert skeleton_canvas((1080, 1920), even=True) == (1.0, (1080, 1920))
    factor, size = skeleton_canvas((16000, 9000), even=True)
    assert size == (2048, 1152) and factor == pytest.approx(2048 / 16000)


def test_an_archive_of_many_arrays_is_refused_before_they_are_read(tmp_path, capsys):
    arrays = {f"a{number}": np.zeros(1) for number in range(100)}
    np.savez(tmp_path / "many.npz", keypoints=np.load(_dancer(tmp_path / "take.npy")), **arrays)
    line = _one_line(capsys, _run(["dance", str(tmp_path / "many.npz"), "-o", str(tmp_path / "o.mp4")]), 1, "many.npz")
    assert "holds 101 arrays" in line


DEEP = "[" * 100_000 + "]" * 100_000


def test_json_nested_past_what_python_parses_is_named(tmp_path, capsys):
    folder = _openpose(tmp_path / "op", {"pose_keypoints_2d": [float(v) for v in np.ones(75)]})
    _written(folder / "clip_000000000001_keypoints.json", DEEP.encode())
    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, model, ignore=shutil.ignore_patterns("music", "checkpoint*"))
    _written(model / "bopbot.json", DEEP.encode())
    for argv, culprit in ((["extract", str(folder), "-o", str(tmp_path / "o.npz")], "clip_000000000001_keypoints.json"),
                          (["demo", "--model", str(model), "-o", str(tmp_path / "d")], "bopbot.json")):
        assert "nested too deeply" in _one_line(capsys, _run(argv), 1, culprit)


def test_openpose_coordinates_past_any_video_are_named(tmp_path, capsys):
    folder = _openpose(tmp_path / "op", {"pose_keypoints_2d": [1e308, 1e308, 1.0] * 25})
    line = _one_line(capsys, _run(["extract", str(folder), "-o", str(tmp_path / "o.npz")]), 1, "keypoints.json")
    assert "a joint lies at 1e+308 px" in line


@pytest.mark.parametrize("config, problem", [
    ('{"start_position": 1e15, "end_position": 1e15}', "must be frames of the song"),
    ('{"start_position": NaN, "end_position": 1}', "must be frames of the song"),
    ('{"start_position": 1e400, "end_position": 1e400}', "must be frames of the song"),
    (DEEP, "nested too deeply"),
])
def test_a_tang_config_out_of_bounds_is_named(config, problem, tmp_path, capsys):
    take = tmp_path / "DANCE_C_9"
    take.mkdir()
    frames = np.zeros((40, 23, 3))
    frames[:, :, 1] = np.arange(23) * 5  # joints stacked up a line: a body of sorts
    frames[:, :, 0] = np.sin(np.arange(40) / 5)[:, None] * 10
    (take / "skeletons.json").write_text(json.dumps({"skeletons": frames.tolist(), "center": np.zeros((40, 3)).tolist(),
                                                     "length": 40}))
    (take / "config.json").write_text(config)
    line = _one_line(capsys, _run(["extract", str(take), "-o", str(tmp_path / "o.npz")]), 1, "config.json")
    assert problem in line


# -- round three: settings and the system -------------------------------------------------------

def test_a_vanishing_temperature_picks_the_likeliest_word(tmp_path):
    take = _dancer(tmp_path / "take.npy")
    assert _run(["dance", str(take), "-o", str(tmp_path / "o.mp4"), "--seconds", "1", "--temperature", "1e-300"]) == 0


@pytest.mark.parametrize("device, problem", [("tpu", "--device must be auto, cpu or cuda"),
                                             ("cuda:7", "sees no such GPU")])
def test_a_device_that_is_not_there_is_one_line(device, problem, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    assert _run(["extract", str(_dancer(tmp_path / "take.npy", frames=400)), str(_dancer(tmp_path / "two.npy")),
                 "-o", str(corpus), "-q"]) == 0
    assert _run(["vocab", str(corpus), "-k", "4", "-o", str(tmp_path / "model"), "-q"]) == 0
    capsys.readouterr()
    line = _one_line(capsys, _run(["train", str(corpus), "--model", str(tmp_path / "model"), "--device", device,
                                   "--steps", "1", "-q"]), 1, "--device")
    assert problem in line


def test_a_model_process_that_dies_is_said_in_one_line(tmp_path):
    take = _dancer(tmp_path / "take.npy")
    run = subprocess.Popen(BOPBOT + ["dance", str(take), "-o", str(tmp_path / "o.mp4"), "--seconds", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    os.kill(_model_process(run.pid), signal.SIGKILL)  # as the out-of-memory killer would
    said = [line for line in run.communicate(timeout=60)[1].splitlines() if line.strip()]
    assert run.returncode == 1 and len(said) == 1, said
    assert "the model's process ended before it wrote the dance (killed by signal 9" in said[0]


def test_many_missing_inputs_are_said_at_once(tmp_path, capsys):
    listed = _written(tmp_path / "list.txt", "".join(f"/nowhere/{n}.mp4\n" for n in range(5000)).encode())
    line = _one_line(capsys, _run(["extract", str(listed), "-o", str(tmp_path / "c"), "-q"]), 1, "/nowhere/0.mp4")
    assert "nor any of the other 4,999 inputs" in line and not (tmp_path / "c").exists()
    _written(listed, f"{_dancer(tmp_path / 'take.npy')}\n".encode() + listed.read_bytes())
    assert _run(["extract", str(listed), "-o", str(tmp_path / "c"), "-q"]) == 3  # the one that is there lands
    assert len(list((tmp_path / "c" / "shards").glob("*.npz"))) == 1
    capsys.readouterr()


def test_an_input_a_list_names_that_is_not_there_is_said_with_the_list_and_line(tmp_path, capsys, small_corpus):
    """`extract` and `evaluate` read `.txt` lists of inputs (paths relative to the list): a listed
    input that was not there was said by its path alone, naming neither the list nor the line."""
    take = _dancer(tmp_path / "take.npy")
    holdout = _written(tmp_path / "holdout.txt", f"# held out\n{take}\n\nclips/foo.mp4\n".encode())
    said = f"{holdout} line 4: {tmp_path / 'clips' / 'foo.mp4'}: no such file or folder"
    evaluate = ["evaluate", str(holdout), "--corpus", str(small_corpus), "--generators", "ngram", "--seeds", "1",
                "-o", str(tmp_path / "report"), "-q"]
    assert _one_line(capsys, _run(evaluate), 1, "holdout.txt line 4") == f"bopbot: error: {said}"
    assert not (tmp_path / "report").exists()
    one = _written(tmp_path / "one.txt", b"# the clip\nclips/foo.mp4\n")
    line = _one_line(capsys, _run(["extract", str(one), "-o", str(tmp_path / "one.npz")]), 1, "one.txt line 2")
    assert line == f"bopbot: error: {one} line 2: {tmp_path / 'clips' / 'foo.mp4'}: no such file or folder"
    everything = _written(tmp_path / "all.lst", b"holdout.txt\n")  # said by the list that names it
    assert _run(["extract", str(everything), "-o", str(tmp_path / "corpus"), "-q"]) == 3  # the rest lands
    assert f"failed: {said}" in capsys.readouterr().out
    failures = [json.loads(p.read_text())["reason"] for p in (tmp_path / "corpus" / "failures").iterdir()]
    assert failures == [said] and len(list((tmp_path / "corpus" / "shards").glob("*.npz"))) == 1


def test_a_read_only_output_is_not_replaced(tmp_path, as_ordinary_user):
    kept = _written(tmp_path / "kept.mp4", b"a video the user protected")
    kept.chmod(0o444)
    run = as_ordinary_user(["dance", str(_dancer(tmp_path / "take.npy")), "-o", str(kept)])
    assert run.returncode == 1 and run.stderr.strip().endswith("kept.mp4: is read-only: BopBot does not replace it "
                                                              "(make it writable, or give another name)")
    assert kept.read_bytes() == b"a video the user protected"


def test_a_corpus_is_never_written_among_other_files(tmp_path, capsys):
    folder = tmp_path / "mine"
    mine = _written(folder / "corpus.json", b'{"mine": 1}')
    line = _one_line(capsys, _run(["extract", str(_dancer(tmp_path / "a.npy")), str(_dancer(tmp_path / "b.npy")),
                                   "-o", str(folder)]), 1, "mine")
    assert "holds files but no corpus" in line and mine.read_bytes() == b'{"mine": 1}'


def test_two_exports_in_one_folder_or_of_one_kind_are_refused_before_the_work(tmp_path, capsys):
    """openpose and openpose-coco18 in one folder wrote the second's frames over the first's, any two
    kinds there mixed their frames, and a kind given twice wrote only its last folder, all with exit 0."""
    take = _dancer(tmp_path / "take.npy")
    for exports, culprit, said in [(["openpose", "a", "openpose-coco18", "a/"], "a", "give each export a folder"),
                                   (["openpose", "a", "skeleton-png", "a/png"], "a/png", "give each export a folder"),
                                   (["skeleton-png", "a/png", "openpose", "a"], "a", "give each export a folder"),
                                   (["openpose", "a", "openpose", "b"], "--export openpose", "given twice")]:
        pairs = [arg for kind, folder in zip(exports[::2], exports[1::2])
                 for arg in ("--export", kind, str(tmp_path / folder))]
        line = _one_line(capsys, _run(["dance", str(take), "-o", str(tmp_path / "o.mp4"), *pairs]), 1, culprit)
        assert said in line
        assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists() and not (tmp_path / "o.mp4").exists()


def test_a_pose_file_named_in_capitals_is_one_pose_file(tmp_path):
    """`-o OUT.NPZ` made a corpus folder of that name, and a pose file named `TAKE.NPZ` was read as a
    bare array: its size and its music were dropped."""
    take = _pose_file(tmp_path / "take.npz", meta={"audio_offset": 2.0}).rename(tmp_path / "TAKE.NPZ")
    assert _run(["extract", str(take), "-o", str(tmp_path / "OUT.NPZ")]) == 0
    back = PoseSequence.load(tmp_path / "OUT.NPZ")
    assert (tmp_path / "OUT.NPZ").is_file() and back.size == (160, 240) and back.meta["audio_offset"] == 2.0


def test_an_export_folder_named_as_the_output_is_refused_before_the_work(tmp_path, capsys):
    line = _one_line(capsys, _run(["dance", str(_dancer(tmp_path / "take.npy")), "-o", str(tmp_path / "o.mp4"),
                                   "--export", "openpose", str(tmp_path / "o.mp4")]), 1, "o.mp4")
    assert "is also an output file" in line and not (tmp_path / "o.mp4").exists()


def test_a_shard_replaced_by_a_folder_is_made_again(tmp_path):
    take = _dancer(tmp_path / "take.npy")
    assert _run(["extract", str(take), "-o", str(tmp_path / "c"), "-q"]) == 0
    shard = next((tmp_path / "c" / "shards").glob("*.npz"))
    shard.unlink()
    (shard / "inside").mkdir(parents=True)
    assert _run(["extract", str(take), "-o", str(tmp_path / "c"), "-q"]) == 0 and shard.is_file()


def test_a_seed_past_32_bits_is_said_with_its_digits(tmp_path, capsys):
    line = _one_line(capsys, _run(["dance", str(tmp_path / "x.npy"), "-o", str(tmp_path / "o.mp4"), "--seed",
                                   "4294967296"]), 1, "--seed")
    assert line.endswith("at most 4294967295, got 4294967296")


def test_a_bvh_with_a_byte_order_mark_is_read_and_utf16_is_named(tmp_path, capsys):
    text = _bvh(tmp_path / "plain.bvh").read_text()
    _written(tmp_path / "marked.bvh", b"\xef\xbb\xbf" + text.encode())
    _written(tmp_path / "wide.bvh", text.encode("utf-16"))
    from bopbot.ingest.bvh import read_bvh

    assert len(read_bvh(tmp_path / "marked.bvh").values) == 2
    line = _one_line(capsys, _run(["extract", str(tmp_path / "wide.bvh"), "-o", str(tmp_path / "o.npz")]), 1,
                     "wide.bvh")
    assert "is UTF-16 text" in line


def test_set_primer_never_changes_the_embedded_model(tmp_path, capsys):
    line = _one_line(capsys, _run(["tokens", str(_dancer(tmp_path / "take.npy")), "--set-primer"]), 1, "--model")
    assert "--set-primer changes a model folder" in line


# -- round four: a model folder is one run's at a time, and the system's refusals are said ---------

def _tiny_corpus_and_vocabulary(tmp_path: Path, capsys) -> tuple[Path, Path]:
    corpus, model = tmp_path / "corpus", tmp_path / "model"
    assert _run(["extract", str(_dancer(tmp_path / "a.npy", frames=400)), str(_dancer(tmp_path / "b.npy")),
                 "-o", str(corpus), "-q"]) == 0
    assert _run(["vocab", str(corpus), "-k", "4", "-o", str(model), "-q"]) == 0
    capsys.readouterr()
    return corpus, model


def test_a_new_vocabulary_never_replaces_one_a_model_was_trained_on(tmp_path, capsys):
    from bopbot.files import held_folder

    corpus, model = _tiny_corpus_and_vocabulary(tmp_path, capsys)
    before = (model / "vocabulary.safetensors").read_bytes()
    with held_folder(model, "training in it"):  # as a training run holds it, before its first checkpoint
        line = _one_line(capsys, _run(["vocab", str(corpus), "-k", "3", "-o", str(model)]), 1, "model")
        assert "another BopBot run is using this folder" in line
    assert _run(["train", str(corpus), "--model", str(model), "--generator", "ngram", "-q"]) == 0
    capsys.readouterr()
    line = _one_line(capsys, _run(["vocab", str(corpus), "-k", "3", "-o", str(model)]), 1, "model")
    assert "already holds ngram.safetensors" in line
    assert (model / "vocabulary.safetensors").read_bytes() == before


def test_training_onto_a_full_disk_is_one_line_and_leaves_no_half_checkpoint(full_disk, tmp_path, capsys):
    corpus, model = _tiny_corpus_and_vocabulary(tmp_path, capsys)
    (full_disk / "filler").unlink()
    cramped = full_disk / "model"
    shutil.copytree(model, cramped)
    room = os.statvfs(full_disk)
    _written(full_disk / "filler", b"\0" * max(0, room.f_bavail * room.f_frsize - 8192))  # too little for a checkpoint
    line = _one_line(capsys, _run(["train", str(corpus), "--model", str(cramped), "--steps", "4", "--eval-every", "2",
                                   "--n-layer", "1", "--n-head", "1", "--n-embd", "16", "--context", "16", "-q"]),
                     1, "model", besides_warnings=True)  # two inputs: the split's hash of their paths may warn it is lopsided
    assert "No space left on device" in line
    assert not [p for p in cramped.iterdir() if p.name.startswith(".tmp")]


def test_a_number_of_thousands_of_digits_is_named(tmp_path, capsys):
    folder = _openpose(tmp_path / "op", {"pose_keypoints_2d": [float(v) for v in np.ones(75)]})
    _written(folder / "clip_000000000001_keypoints.json",
             ('{"people": [{"pose_keypoints_2d": [' + "9" * 5000 + "]}]}").encode())
    line = _one_line(capsys, _run(["extract", str(folder), "-o", str(tmp_path / "o.npz")]), 1,
                     "clip_000000000001_keypoints.json")
    assert "corrupt JSON" in line


@pytest.mark.parametrize("damage, culprit, problem", [
    (lambda folder: (folder / "model.safetensors").unlink() or os.symlink("model.safetensors",
                                                                          folder / "model.safetensors"),
     "model.safetensors", "is a loop of symbolic links"),
    (lambda folder: _written(folder / "generation_config.json", b"[1, 2]"), "generation_config.json",
     "unreadable generation settings"),
])
def test_model_files_that_are_no_files_are_named_for_what_they_are(damage, culprit, problem, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, folder, ignore=shutil.ignore_patterns("music", "checkpoint*"))
    damage(folder)
    line = _one_line(capsys, _run(["demo", "--model", str(folder), "--seconds", "1", "-o", str(tmp_path / "d")]), 1,
                     culprit)
    assert problem in line


def test_a_corpus_is_not_extracted_from_itself(tmp_path, capsys):
    assert _run(["extract", str(_dancer(tmp_path / "a.npy")), "-o", str(tmp_path / "corpus"), "-q"]) == 0
    capsys.readouterr()
    summary = (tmp_path / "corpus" / "corpus.json").read_bytes()
    line = _one_line(capsys, _run(["extract", str(tmp_path / "corpus" / "shards"), "-o", str(tmp_path / "corpus")]),
                     1, ".npz")
    assert "lies inside the output corpus" in line and (tmp_path / "corpus" / "corpus.json").read_bytes() == summary


def test_the_dance_is_read_from_the_video_stream_that_moves_not_a_cover(tmp_path):
    from bopbot.ingest.video import decode_frames, probe

    clip = tmp_path / "two.mp4"
    with av.open(str(clip), "w") as output:
        cover = output.add_stream("libx264", rate=20)
        dance = output.add_stream("libx264", rate=20)
        for stream, size in ((cover, 32), (dance, 64)):
            stream.width = stream.height = size
            stream.pix_fmt = "yuv420p"
        for number in range(40):
            for stream, size in ((cover, 32), (dance, 64)):
                if stream is cover and number >= 2:
                    continue
                image = np.full((size, size, 3), number * 5, np.uint8)
                output.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        output.mux(cover.encode())
        output.mux(dance.encode())
    frames = [image for _, image in decode_frames(clip)]
    assert len(frames) == 40 and frames[0].shape == (64, 64, 3) and probe(clip).width == 64


def test_odd_frame_counts_and_names_too_long_are_said_as_they_are(tmp_path, capsys):
    negative = _bvh(tmp_path / "neg.bvh")
    negative.write_text(negative.read_text().replace("Frames: 2", "Frames: -5"))
    line = _one_line(capsys, _run(["extract", str(negative), "-o", str(tmp_path / "o.npz")]), 1, "neg.bvh")
    assert "'Frames: -5' is not a count of frames" in line
    long_name = tmp_path / ("n" * 300 + ".mp4")
    line = _one_line(capsys, _run(["dance", str(_dancer(tmp_path / "take.npy")), "-o", str(long_name)]), 1, "nnnn")
    assert "cannot write it: File name too long" in line


def test_an_interrupted_dance_says_so_without_promising_a_resume(tmp_path):
    # started as from a shell, Ctrl-C at its default: a SIGINT ignored by the test process (which an
    # earlier test can leave so) would be inherited through exec, and Python then never raises it
    run = subprocess.Popen(BOPBOT + ["dance", str(_dancer(tmp_path / "take.npy")), "-o", str(tmp_path / "o.mp4")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _model_process(run.pid)
    run.send_signal(signal.SIGINT)
    said = [line for line in run.communicate(timeout=60)[1].splitlines() if line.strip()]
    assert run.returncode == 130 and said == ["bopbot: interrupted"], said


# -- a file that names other files: BopBot reads the file it is given, nothing it points at -----------

def test_a_playlist_is_refused_though_the_video_it_names_is_readable(puppet_video, tmp_path, capsys):
    """FFmpeg follows an HLS playlist to the files it lists: uploaded to the page, one made the
    server read, and show, a video elsewhere on it. A playlist (or a list of files) is refused in one
    line; the video it names, given itself, is read."""
    playlist = _written(tmp_path / "clip.m3u8", f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3.0,\n{puppet_video}\n"
                                                 "#EXT-X-ENDLIST\n".encode())
    listed = _written(tmp_path / "list.mp4", f"ffconcat version 1.0\nfile '{puppet_video}'\n".encode())
    for culprit in (playlist, listed):
        code = _run(["extract", str(culprit), "-o", str(tmp_path / "out.npz")])
        assert "is a playlist or a list of other media" in _one_line(capsys, code, 1, culprit.name)
    assert _run(["extract", str(puppet_video), "-o", str(tmp_path / "out.npz")]) == 0


def test_music_a_pose_file_names_is_read_only_if_it_is_a_song_file(puppet_video_with_song, tmp_path, capsys):
    """A pose file's meta names the music its dance had (`extract clip.mp4 -o clip.npz` keeps the
    clip's): read like --music, only as one regular local file. A pipe (which hung the dance), a
    protocol such as concat: or tcp: (which FFmpeg would have followed) or a playlist is a warning,
    and the dance goes on in its own time; a song is danced to."""
    song = puppet_video_with_song.parent / "song.wav"
    fifo = tmp_path / "fifo.mp3"
    os.mkfifo(fifo)
    playlist = _written(tmp_path / "song.m3u8", f"#EXTM3U\n#EXTINF:3.0,\n{song}\n#EXT-X-ENDLIST\n".encode())
    for audio in (str(fifo), f"concat:{song}|{song}", "tcp:127.0.0.1:9", str(playlist)):
        take = _pose_file(tmp_path / "take.npz", meta={"audio": audio}, frames=60)
        run = subprocess.run(BOPBOT + ["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--seconds", "1",
                                       "--layout", "dancer-only"], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert f"the music it names cannot be danced to ({audio}" in run.stderr, run.stderr
        assert "no music: the new dance keeps its own time" in run.stdout
    take = _pose_file(tmp_path / "take.npz", meta={"audio": str(song)}, frames=60)
    assert _run(["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--seconds", "1", "--layout", "dancer-only"]) == 0
    assert "danced to song.wav" in capsys.readouterr().out


def test_the_source_a_pose_file_states_is_a_description_not_a_path(tmp_path, capsys):
    """A pose file's `source` says where its dance came from; no output check reads it as a path (a
    source of "/" refused every export as inside the input, one with a NUL byte every dance), and a
    new dance's poses name only its file name (the page's gave away the server's upload folder)."""
    for source in ("/", "a\0b", "x" * 300):
        take = _pose_file(tmp_path / "take.npz", source=source)
        shutil.rmtree(tmp_path / "export", ignore_errors=True)
        assert _run(["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--seconds", "1", "--save-poses",
                     "--export", "openpose", str(tmp_path / "export")]) == 0, _said(capsys)
    assert PoseSequence.load(tmp_path / "out.npz").source == f"bopbot dance of {'x' * 300}"
    take = _pose_file(tmp_path / "take.npz", source="/srv/private/uploads/take.mp4")
    assert _run(["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--seconds", "1", "--save-poses"]) == 0
    assert PoseSequence.load(tmp_path / "out.npz").source == "bopbot dance of take.mp4"


def test_an_openpose_confidence_past_1_is_read_as_1(tmp_path):
    from bopbot.ingest.extract import extract

    person = {"pose_keypoints_2d": [v for x, y in _STANDING.tolist() + [[50, 90]] for v in (x, y, 1e300)]}
    person["pose_keypoints_2d"] += [50, 90, 1.0] * (25 - 18)
    folder = _openpose(tmp_path / "op", person)
    sequence = extract(folder)[0]
    assert sequence.keypoints[:, :, 2].max() == 1.0 and np.isfinite(sequence.keypoints).all()


def test_vocab_never_makes_a_model_in_a_folder_of_other_files(tmp_path, capsys):
    """Training writes config.json, tokenizer.json and training.json into the model folder: `vocab`
    refuses a folder that holds files but no model (a project of the user's, a corpus) rather than
    let a later training write over them."""
    corpus = tmp_path / "corpus"
    assert _run(["extract", str(_dancer(tmp_path / "a.npy", 200)), "-o", str(corpus), "-q"]) == 0
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text('{"mine": true}')
    line = _one_line(capsys, _run(["vocab", str(corpus), "-k", "3", "-o", str(project)]), 1, str(project))
    assert "holds files but no BopBot model" in line
    line = _one_line(capsys, _run(["vocab", str(corpus), "-k", "3", "-o", str(corpus)]), 1, str(corpus))
    assert "is inside the input folder" in line  # the corpus is the input
    assert (project / "config.json").read_text() == '{"mine": true}'


def test_openpose_images_that_are_no_frames_do_not_size_the_dance(tmp_path):
    """The frame size of an OpenPose folder comes from its `images/` when FFmpeg reads the first as
    an image the keypoints fit in: a sound named 0.png (the catch-all line), a damaged PNG (a 2x2
    video, then a division by zero drawing skeletons) or a name with '%' (FFmpeg read a numbered
    sequence of other files) leave it to the keypoints' extent."""
    from bopbot.ingest.extract import extract

    person = {"pose_keypoints_2d": [v for x, y in _STANDING.tolist() + [[50, 90]] * 8 for v in (x, y, 1.0)]}
    for name, content in (("0.png", (Path(__file__).parent / "data" / "cmu_salsa" / "README.md").read_bytes()),
                          ("0.png", b"\x89PNG\r\n\x1a\n garbage"), ("%d.png", b"")):
        folder = tmp_path / f"op{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        _openpose(folder / "json", person)
        (folder / "images").mkdir()
        (folder / "images" / name).write_bytes(content)
        sequence = extract(folder)[0]
        assert sequence.size == (64, 90), name


def test_a_ctrl_c_as_the_model_worker_starts_waits_until_it_has(ctrl_c_at_worker_start):
    """A Ctrl-C the moment the model's worker exists, before its start-up data is written to it (the
    interrupted-dance test met it now and then): the run is interrupted once the worker has started,
    and the worker, given all its data, never dies printing a traceback (`EOFError` before)."""
    script = ctrl_c_at_worker_start + """
from bopbot.choreography.model_process import ModelProcess
try:
    ModelProcess(None, "ngram")
except KeyboardInterrupt:
    print("interrupted once it had started")
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "interrupted once it had started" in run.stdout and "Traceback" not in run.stderr, run.stderr


# -- round six ------------------------------------------------------------------------------------

def test_a_report_or_a_model_never_lands_on_what_the_run_reads(tmp_path, capsys, small_corpus):
    """`evaluate -o` into the folder of a held-out take named like a report file, or into the model
    folder; `vocab -o` inside the corpus it fits (its failures/ folder is read back as records)."""
    from bopbot.models.model_folder import DEFAULT_MODEL

    take = tmp_path / "report" / "features.npz"  # the user's poses, named as evaluate names its features
    take.parent.mkdir()
    np.savez(take, keypoints=np.load(_dancer(tmp_path / "take.npy")))
    evaluate = ["evaluate", str(take), "--corpus", str(small_corpus), "--generators", "ngram", "--seeds", "1", "-q"]
    _refused_untouched(capsys, [*evaluate, "-o", str(take.parent)], take, "features.npz", "is also an input")
    _refused_untouched(capsys, [*evaluate, "-o", str(DEFAULT_MODEL)], DEFAULT_MODEL, "default_model",
                       "inside the input folder")
    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus, corpus)
    _refused_untouched(capsys, ["vocab", str(corpus), "-k", "8", "-o", str(corpus / "failures"), "-q"], corpus,
                       "failures", "inside the input folder")
    _refused_untouched(capsys, ["train", str(corpus), "--model", str(corpus / "model"), "-q"], corpus, "model",
                       "inside the input folder")


def test_a_stray_file_among_a_corpus_failures_is_named(tmp_path, capsys):
    take, corpus = _dancer(tmp_path / "take.npy"), tmp_path / "corpus"
    assert _run(["extract", str(take), "-o", str(corpus), "-q"]) == 0
    (corpus / "failures").mkdir(exist_ok=True)
    for text in ("garbage", "[]", '{"reason": "x"}'):
        (corpus / "failures" / "stray.json").write_text(text)
        for argv in (["vocab", str(corpus), "-k", "8", "-o", str(tmp_path / "model"), "-q"],
                     ["extract", str(take), "-o", str(corpus), "-q"]):
            line = _one_line(capsys, _run(argv), 1, "stray.json")
            assert "corrupt failure record" in line or "is not a failure record" in line, line


def test_a_loop_of_links_where_a_folder_goes_is_named_as_one(tmp_path, capsys):
    take = _dancer(tmp_path / "take.npy")
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    loop = str(tmp_path / "a")
    for argv in (["extract", str(take), "-o", loop], ["extract", str(take), "-o", f"{loop}/poses.npz"],
                 ["demo", "-o", loop], ["dance", str(take), "-o", str(tmp_path / "o.mp4"), "--export", "openpose", loop],
                 ["dance", str(take), "-o", str(tmp_path / "o.mp4"), "--model", loop]):
        assert "loop of symbolic links" in _one_line(capsys, _run(argv), 1, "a"), argv
    line = _one_line(capsys, _run(["dance", str(take), "-o", str(tmp_path / "o.mp4"), "--model", str(take)]), 1, "take.npy")
    assert "the model folder is a file, not a folder" in line


def test_a_kmeans_sample_smaller_than_the_words_is_named_as_the_option(tmp_path, capsys, small_corpus):
    code = _run(["vocab", str(small_corpus), "-k", "8", "--max-training-frames", "1", "-o", str(tmp_path / "v"), "-q"])
    assert "--max-training-frames 1 is fewer than the 8 words" in _one_line(capsys, code, 1, "")
    assert not (tmp_path / "v").exists()


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux's /proc")
def test_a_file_that_will_not_be_read_is_named(tmp_path):
    """/proc/self/mem opens but every read fails (EIO), as a failing disk's would."""
    for verb, output in (("dance", "o.mp4"), ("extract", "o.npz")):
        run = subprocess.run([sys.executable, "-m", "bopbot", verb, "/proc/self/mem", "-o", str(tmp_path / output)],
                             capture_output=True, text=True)
        assert run.returncode == 1 and run.stderr.strip() == "bopbot: error: /proc/self/mem: cannot read it: Input/output error"


def test_an_interrupted_evaluation_leaves_no_empty_folder(tmp_path, fixtures, tiny_model, small_corpus):
    """Nothing resumes an evaluation: Ctrl-C takes back the report folder it made, still empty."""
    output = tmp_path / "report"
    run = subprocess.Popen([sys.executable, "-m", "bopbot", "evaluate", str(fixtures / "cmu_salsa_held_out"),
                            "--model", str(tiny_model), "--corpus", str(small_corpus), "--generators", "ngram",
                            "--seeds", "1", "--context-seconds", "2", "--seconds", "2", "-o", str(output), "-q"],
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not output.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=60) == 130, run.stderr.read()
    assert run.stderr.read().strip().endswith("bopbot: interrupted") and not output.exists()


# -- round seven ----------------------------------------------------------------------------------

def test_every_step_count_trains(tmp_path, capsys, small_corpus):
    """The learning rate of every training is a finite positive number at every step of 1 to 60: the
    decoder's one cycle ended its warm-up at step 0 of 20 and divided by it (ZeroDivisionError)."""
    import math

    import torch

    from bopbot.models import train, train_lstm
    from bopbot.models.train_decoder import DecoderSettings, one_cycle

    for steps in range(1, 61):
        weight = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.AdamW([weight], lr=DecoderSettings.learning_rate)
        schedule = one_cycle(optimizer, DecoderSettings(steps=steps))
        rates = []
        for _ in range(steps):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        rates += [train._learning_rate(step, train.TrainSettings(steps=steps)) for step in range(steps)]
        rates += [train_lstm._learning_rate(step, train_lstm.LSTMSettings(steps=steps)) for step in range(steps)]
        assert all(math.isfinite(rate) and rate > 0 for rate in rates), steps
    model = tmp_path / "model"
    assert _run(["vocab", str(small_corpus), "-k", "8", "-o", str(model), "-q"]) == 0
    for training in ("--decoder", "--travel"):
        assert _run(["train", str(small_corpus), "--model", str(model), training, "--steps", "20", "--batch-size", "2",
                     "-q"]) == 0, _said(capsys)


def _console_script() -> str:
    """The console script as pyproject.toml names it, run as pip's script runs it."""
    import tomllib

    with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as file:
        module, function = tomllib.load(file)["project"]["scripts"]["bopbot"].split(":")
    return f"import sys\nfrom {module} import {function}\nsys.exit({function}())\n"


#: Python to run before the program: a Ctrl-C the moment the module AT starts to be imported.
_CTRL_C_AT_IMPORT = """
import os, signal, sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == AT:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, CtrlC())
"""


@pytest.mark.parametrize("at", ["bopbot.app.cli", "numpy", "cv2", "bopbot.choreography.dance"])
def test_a_ctrl_c_while_the_program_starts_is_said_in_one_line(tmp_path, at):
    """A Ctrl-C as BopBot's modules are imported, before `main` catches it, as the user may press it in
    the first half second: a traceback, or exit 1 with `ImportError: numpy._core.multiarray failed to
    import` (OpenCV's loading of NumPy's C interface turns it into that); in the console script and
    in `python -m bopbot` alike. The last is after `main` took over."""
    take = _dancer(tmp_path / "take.npy")
    for program in (_console_script(), "import runpy\nrunpy.run_module('bopbot', run_name='__main__', alter_sys=True)\n"):
        run = subprocess.run([sys.executable, "-c", f"AT = {at!r}\n{_CTRL_C_AT_IMPORT}\n{program}", "dance", str(take),
                              "-o", str(tmp_path / "new.mp4")], capture_output=True, text=True, timeout=120)
        assert (run.returncode, run.stderr) == (130, "bopbot: interrupted\n"), (program, run.stderr)
        assert not (tmp_path / "new.mp4").exists()


def test_a_second_ctrl_c_while_the_first_is_said_is_ignored(tmp_path):
    """`timeout -s INT` sends two (to the process and to its group), and a user may press twice: the
    second, landing while `main` said the first, was a KeyboardInterrupt there, a traceback under the
    line. Here the second is sent as `main` starts saying the first."""
    take = _dancer(tmp_path / "take.npy")
    second = """
import bopbot.app.cli as cli
close_bars = cli._close_bars
def close_bars_after_a_ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)
    close_bars()
cli._close_bars = close_bars_after_a_ctrl_c
"""
    at = "bopbot.choreography.dance"  # the first, once `main` catches it
    run = subprocess.run([sys.executable, "-c", f"AT = {at!r}\n{_CTRL_C_AT_IMPORT}\n{second}\n{_console_script()}",
                          "dance", str(take), "-o", str(tmp_path / "new.mp4")], capture_output=True, text=True,
                         timeout=120)
    assert (run.returncode, run.stderr) == (130, "bopbot: interrupted\n"), run.stderr


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_a_ctrl_c_as_the_model_process_starts_python_is_the_runs_alone(tmp_path):
    """The terminal sends a Ctrl-C to the model's process too: one that came while Python started in
    it, before its code ignores Ctrl-C, printed a traceback under `bopbot: interrupted`. Here it is
    sent to them all once Python in the new process handles Ctrl-C, and the run goes on once that
    process has ended for it or holds it back."""
    take = _dancer(tmp_path / "take.npy")
    ctrl_c = """
import os, signal, time
from multiprocessing import util
spawn = util.spawnv_passfds
def spawn_then_ctrl_c(*args):
    pid = spawn(*args)
    if "--multiprocessing-fork" in args[1]:  # the model's process
        def status(field):
            return open(f"/proc/{pid}/status").read().split(f"{field}:")[1].split()[0]
        while not int(status("SigCgt"), 16) & 2:  # Python there catches Ctrl-C
            time.sleep(0.001)
        os.killpg(0, signal.SIGINT)
        while status("State") != "Z" and not int(status("ShdPnd"), 16) & int(status("SigBlk"), 16) & 2:
            time.sleep(0.001)  # until it has ended for it, or holds it back
    return pid
util.spawnv_passfds = spawn_then_ctrl_c
"""
    run = subprocess.run([sys.executable, "-c", f"{ctrl_c}\n{_console_script()}", "dance", str(take), "-o",
                          str(tmp_path / "new.mp4")], capture_output=True, text=True, timeout=120, start_new_session=True)
    assert (run.returncode, run.stderr) == (130, "bopbot: interrupted\n"), run.stderr


def test_a_loop_of_links_named_as_a_song_a_corpus_or_a_model_is_named_as_one(tmp_path, capsys, small_corpus):
    """`--music`, a corpus and `train`'s, `evaluate`'s and `tokens`' `--model` said a loop of links
    was missing ("no such music file", "not a BopBot corpus", "vocabulary.safetensors: missing"),
    as `dance`'s input and `--model` did not; a link to nothing is said as one too."""
    take = _dancer(tmp_path / "take.npy")
    os.symlink(tmp_path / "loopb", tmp_path / "loopa")
    os.symlink(tmp_path / "loopa", tmp_path / "loopb")
    os.symlink(tmp_path / "nothing", tmp_path / "dangling")
    model = tmp_path / "model"
    assert _run(["vocab", str(small_corpus), "-k", "8", "-o", str(model), "-q"]) == 0
    for name, problem in (("loopa", "a loop of symbolic links"), ("dangling", "a symbolic link to nothing")):
        link = str(tmp_path / name)
        evaluate = ["evaluate", str(take), "--generators", "ngram", "--seeds", "1", "-o", str(tmp_path / "report")]
        for argv, what in ((["dance", str(take), "-o", str(tmp_path / "o.mp4"), "--music", link], "music file"),
                           (["demo", "-o", str(tmp_path / "o.mp4"), "--music", link], "music file"),
                           (["vocab", link, "-o", str(tmp_path / "v"), "-q"], "corpus folder"),
                           ([*evaluate, "--corpus", link], "corpus folder"),
                           (["train", link, "--model", str(model), "-q"], "corpus folder"),
                           (["train", str(small_corpus), "--model", link, "-q"], "model folder"),
                           ([*evaluate, "--corpus", str(small_corpus), "--model", link], "model folder"),
                           (["tokens", str(take), "--model", link], "model folder")):
            assert _one_line(capsys, _run(argv), 1, name).endswith(f"{name}: the {what} is {problem}"), argv
    assert _one_line(capsys, _run(["vocab", str(tmp_path / "none"), "-o", str(tmp_path / "v")]), 1, "none").endswith(
        "none: no such corpus folder; build one with `bopbot extract INPUTS -o FOLDER`")
    assert _one_line(capsys, _run(["train", str(small_corpus), "--model", str(tmp_path / "none")]), 1, "none").endswith(
        "vocabulary.safetensors: missing: make the model folder with `bopbot vocab` first")
    assert not (tmp_path / "report").exists() and not (tmp_path / "v").exists()


def test_an_output_folder_named_as_an_input_file_is_said_to_be_the_input(tmp_path, capsys, small_corpus):
    """`extract me.bvh -o me.bvh` (a corpus folder) and `evaluate held.npz -o held.npz` called the
    input file a folder: "is inside the input folder me.bvh"."""
    take = tmp_path / "me.bvh"
    shutil.copy(FIXTURES_BVH, take)
    held = _dancer(tmp_path / "held.npy")
    for argv, named in ((["extract", str(take), "-o", str(take)], take),
                        (["evaluate", str(held), "--corpus", str(small_corpus), "--generators", "ngram", "-o", str(held)],
                         held)):
        line = _one_line(capsys, _run(argv), 1, named.name)
        assert line.endswith(f"{named}: is also an input ({named}): writing it would destroy it; give another folder"), line
    assert take.read_bytes() == FIXTURES_BVH.read_bytes() and np.load(held).shape == (80, 17, 3)


def test_too_few_frames_for_a_part_wise_vocabulary_is_said_of_parts(tmp_path, capsys, small_corpus):
    """`vocab --parts 1000x1000` on too little dance said to lower -k, which --parts ignores."""
    code = _run(["vocab", str(small_corpus), "--parts", "1000x1000", "-o", str(tmp_path / "v"), "-q"])
    assert _one_line(capsys, code, 1, str(small_corpus)).endswith("cannot make 1000000 words; lower --parts or add data")
    assert _run(["vocab", str(small_corpus), "--parts", "150x2", "-o", str(tmp_path / "w"), "-q"]) == 0
    assert "give more dance or a smaller --parts" in capsys.readouterr().err
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("name, generator", [("decoder.json", "gpt2"), ("travel.json", "gpt2"), ("lstm.json", "lstm"),
                                             ("config.json", "gpt2"), ("tokenizer.json", "gpt2")])
def test_a_cut_or_missing_model_description_is_said_as_the_other_files_are(name, generator, tmp_path, capsys):
    """A description cut off inside a string said "Unterminated string starting at at line 26"; a
    missing decoder.json or travel.json, its weights there, "unreadable word decoder description
    ([Errno 2] No such file or directory: ...)", where a missing config.json says the folder is
    incomplete."""
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, folder, ignore=shutil.ignore_patterns("music", "checkpoint*"))
    text = (folder / name).read_text()
    (folder / name).write_text(text[: 100 + re.search(r'"\w\w\w', text[100:]).start() + 2])  # inside a string
    demo = ["demo", "--model", str(folder), "--generator", generator, "--seconds", "1", "-o", str(tmp_path / "demo")]
    line = _one_line(capsys, _run(demo), 1, name)
    assert "Unterminated string starting at line " in line and "at at" not in line, line
    (folder / name).unlink()
    line = _one_line(capsys, _run(demo), 1, name)
    missing = "missing: no trained LSTM here" if name == "lstm.json" else "missing: the model folder is incomplete"
    assert line.endswith(f"{folder / name}: {missing}") or name == "lstm.json" and missing in line, line


@pytest.mark.parametrize("training, options, named", [
    (["--generator", "lstm"], ["--n-layer", "2"], "--n-layer: training the LSTM does not read it; leave it out"),
    (["--travel"], ["--context", "64"], "--context: training the travel model does not read it; leave it out"),
    (["--decoder"], ["--generator", "gpt2", "--dropout", "0"],
     "--generator, --dropout: training the word decoder does not read them; leave them out"),
    (["--generator", "ngram"], ["--n-embd", "64", "--steps", "5"],
     "--steps, --n-embd: training the ngram baseline does not read them; leave them out"),
    (["--generator", "random"], ["--seed", "3"], "--seed: training the random baseline does not read it; leave it out")])
def test_an_option_the_training_would_not_read_is_refused(tmp_path, capsys, small_corpus, training, options, named):
    """`train --generator lstm --n-layer 2` and `train --travel --context 64` trained as without them,
    without a word, though --help says those options size the GPT-2 only."""
    model = tmp_path / "model"
    assert _run(["vocab", str(small_corpus), "-k", "8", "-o", str(model), "-q"]) == 0
    capsys.readouterr()
    before = sorted(model.iterdir())
    line = _one_line(capsys, _run(["train", str(small_corpus), "--model", str(model), *training, *options, "-q"]), 1, "")
    assert line == f"bopbot: error: {named}"
    assert sorted(model.iterdir()) == before


def test_every_option_of_train_is_read_by_some_training():
    from bopbot.app.cli import build_parser
    from bopbot.app.verbs import train

    args = build_parser("train").parse_args(["train", "corpus", "--model", "m"])
    assert {name for reads in train.READS.values() for name in reads} == set(train.OPTIONS)
    assert all(getattr(args, name) is None for name in train.OPTIONS)  # given or not is told apart
    assert set(train.READS) == set(train.GENERATOR_NAMES) | {"decoder", "travel"}


def test_a_sampling_setting_no_generator_evaluated_reads_is_refused(tmp_path, capsys, small_corpus):
    """`evaluate --generators nearest --temperature 3` scored the nearest dances as without it, without a
    word, where `dance --generator nearest --temperature 3` refuses; one that some of them read is theirs."""
    from bopbot.models.generators import check_read_by_any

    take = _dancer(tmp_path / "take.npy")
    evaluate = ["evaluate", str(take), "--corpus", str(small_corpus), "-o", str(tmp_path / "report"), "-q"]
    for generators, options, named in (
            ("nearest", ["--temperature", "3"], "--temperature: the nearest generator does not read it; leave it out"),
            ("nearest,ngram+beats", ["--temperature", "2", "--top-k", "3", "--echo", "1"],
             "--top-k, --echo: none of the generators nearest, ngram reads them; leave them out")):
        line = _one_line(capsys, _run([*evaluate, "--generators", generators, *options]), 1, "")
        assert line == f"bopbot: error: {named}"
    check_read_by_any(["nearest", "ngram", "lstm"], {"temperature": 2.0}, str)
    check_read_by_any(["nearest", "gpt2"], {"top_k": 5, "echo": 1.0}, str)
    assert not (tmp_path / "report").exists()


def test_a_report_is_written_only_into_a_new_or_empty_folder_or_an_evaluations(tmp_path, capsys, small_corpus):
    """`evaluate -o rep` into a folder of the user's replaced their own rep/report.md without a word.
    As `extract` writes a corpus only into a new or empty folder or a corpus, a report goes only into
    a new or empty folder or an earlier evaluation's, whose report it writes again."""
    take = _dancer(tmp_path / "take.npy", frames=200)
    evaluate = ["evaluate", str(take), "--corpus", str(small_corpus), "--generators", "ngram", "--seeds", "1",
                "--context-seconds", "2", "--seconds", "2", "--resamples", "10", "-q", "-o"]
    report = tmp_path / "report"
    report.mkdir()
    for name in ("report.md", "notes.txt"):
        (report / name).write_text("# mine\n")
        line = _one_line(capsys, _run([*evaluate, str(report)]), 1, str(report))
        assert line.endswith(f"{report}: holds files but no evaluation (e.g. {name}): give a new or empty folder, "
                             "or an evaluation's folder to write it again"), line
        assert sorted(report.iterdir()) == [report / name] and (report / name).read_text() == "# mine\n"
        (report / name).unlink()
    assert _run([*evaluate, str(report)]) == 0, _said(capsys)  # empty
    (report / "notes.txt").write_text("# mine\n")
    written = (report / "results.json").stat().st_mtime_ns
    assert _run([*evaluate, str(report)]) == 0  # an evaluation's, with a note of the user's beside it
    assert (report / "results.json").stat().st_mtime_ns != written and (report / "notes.txt").read_text() == "# mine\n"

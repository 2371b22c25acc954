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
import subprocess
import sys
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
from bopbot.models.model_folder import DEFAULT_MODEL

BOPBOT = [sys.executable, "-m", "bopbot"]
#: The catch-all line kept for bugs: "unexpected ValueError: ..." (also in batch failure reasons).
CATCH_ALL = re.compile(r"unexpected \w+(Error|Exception|Interrupt)\b")


def _said(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def _one_line(capsys, code: int, expected_code: int, culprit: str) -> str:
    """Assert the exit code and a single stderr line naming `culprit`, not the catch-all."""
    lines = _said(capsys)
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


def _real_bvh(path: Path, frame_time: str) -> Path:
    """A real CMU take with its frame time replaced."""
    take = DATA / "mocap" / "cmu_salsa" / "60_01_scaled.bvh"
    if not take.is_file():
        pytest.skip(f"real dance data not found at {DATA}")
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
                              "unreadable keypoint file"),
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
}


def _written(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
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


def test_a_killed_dance_leaves_no_temporary_after_the_next_run(tmp_path):
    take = _dancer(tmp_path / "take.npy")
    leftover = _written(tmp_path / ".tmp-out.mp4-abcd1234.mp4", b"half a video")  # as a killed run leaves it
    run = subprocess.run(BOPBOT + ["dance", str(take), "-o", str(tmp_path / "out.mp4"), "--seconds", "1",
                                   "--generator", "ngram"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out.mp4").is_file() and not leftover.exists()
    assert not re.search(r"\.tmp-", " ".join(p.name for p in tmp_path.iterdir()))

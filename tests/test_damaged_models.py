"""Model folders and JSON inputs damaged but still there: a pipe or a device in place of a file is
named at once (never waited on, never read without end), and a model file whose values are
readable but wrong (its metadata, its shapes, weights so large that the network overflows) is
named in one line, with the field where there is one, never a crash further on or a dance made of
NaN. Each case runs the command line in its own process, under a time limit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from bopbot.errors import BopBotError
from bopbot.models.model_folder import DEFAULT_MODEL

from test_hostile_input import BOPBOT, CATCH_ALL, _dancer, _openpose

#: Seconds a refusal may take: a run waiting on a pipe would never end.
LIMIT = 120


def _bopbot(*argv) -> tuple[int, list[str]]:
    """The exit code and stderr's lines of `bopbot ARGV`, run in a process of its own (a hang fails
    the test rather than stalling it)."""
    done = subprocess.run(BOPBOT + [str(arg) for arg in argv], capture_output=True, text=True, timeout=LIMIT)
    return done.returncode, [line for line in done.stderr.splitlines() if line.strip()]


def _refused(argv: list, culprit: str, problem: str) -> None:
    """`bopbot ARGV` exits with 1 and one line naming `culprit` and the `problem`, and nothing else."""
    code, lines = _bopbot(*argv)
    assert code == 1 and len(lines) == 1, lines
    assert culprit in lines[0] and problem in lines[0] and not CATCH_ALL.search(lines[0]), lines[0]


def _fifo(name: str):
    def apply(folder):
        (folder / name).unlink()
        os.mkfifo(folder / name)
    return apply


def _device(name: str):
    def apply(folder):
        (folder / name).unlink()
        (folder / name).symlink_to("/dev/zero")
    return apply


def _folder(name: str):
    def apply(folder):
        (folder / name).unlink()
        (folder / name).mkdir()
    return apply


def _tensors(name: str, change):
    """Rewrite the safetensors file `name` with `change(tensors, metadata)` applied, metadata kept."""
    def apply(folder):
        path = str(folder / name)
        with safe_open(path, framework="numpy") as handle:
            metadata = handle.metadata()
        tensors = load_file(path)
        change(tensors, metadata)
        save_file(tensors, path, metadata=metadata)
    return apply


def _all(value: float):
    def change(tensors, _):
        for key in tensors:
            tensors[key] = np.full_like(tensors[key], value)
    return change


PIPE = "is not a regular file (a pipe or a device)"
NOT_FINITE = "gave non-finite values: is it damaged?"
#: case: (damage, generator, the file named, what is said of it)
CASES = {
    "decoder.json a pipe": (_fifo("decoder.json"), "ngram", "decoder.json", PIPE),
    "travel.json a link to /dev/zero": (_device("travel.json"), "ngram", "travel.json", PIPE),
    "generation_config.json a pipe": (_fifo("generation_config.json"), "gpt2", "generation_config.json", PIPE),
    "bopbot.json a pipe": (_fifo("bopbot.json"), "random", "bopbot.json", PIPE),
    "n-gram tables a pipe": (_fifo("ngram.safetensors"), "ngram", "ngram.safetensors", PIPE),
    "training sentences a link to /dev/zero": (_device("sentences.safetensors"), "nearest", "sentences.safetensors",
                                               PIPE),
    "vocabulary a folder": (_folder("vocabulary.safetensors"), "random", "vocabulary.safetensors", "is a folder"),
    "vocabulary a link to /dev/zero": (_device("vocabulary.safetensors"), "random", "vocabulary.safetensors", PIPE),
    "vocabulary niter not a number": (_tensors("vocabulary.safetensors", lambda t, m: m.update(niter="abc")),
                                      "random", "vocabulary.safetensors", "'niter' is 'abc'"),
    "vocabulary seed not whole": (_tensors("vocabulary.safetensors", lambda t, m: m.update(seed="1.5")),
                                  "random", "vocabulary.safetensors", "'seed' is '1.5'"),
    "vocabulary of one upper-body pose": (_tensors("vocabulary.safetensors", lambda t, m: m.update(parts="1x1024")),
                                          "random", "vocabulary.safetensors", "'parts' '1x1024'"),
    "vocabulary counts NaN": (_tensors("vocabulary.safetensors", lambda t, m: t.update(counts=np.full(1024, np.nan))),
                              "random", "vocabulary.safetensors", "'counts' holds NaN"),
    "vocabulary counts of two columns": (_tensors("vocabulary.safetensors",
                                                  lambda t, m: t.update(counts=np.ones((1024, 2), np.int64))),
                                         "random", "vocabulary.safetensors", "'counts' should be 1024"),
    "vocabulary counts of five words": (_tensors("vocabulary.safetensors",
                                                 lambda t, m: t.update(counts=np.ones(5, np.int64))),
                                        "random", "vocabulary.safetensors", "'counts' should be 1024"),
    "vocabulary centroids far away": (_tensors("vocabulary.safetensors",
                                               lambda t, m: t.update(centroids=np.full_like(t["centroids"], 1e30))),
                                      "random", "vocabulary.safetensors", "'centroids' holds joints past"),
    "training sentences empty": (_tensors("sentences.safetensors", lambda t, m: t.update(ids=t["ids"][:0])),
                                 "nearest", "sentences.safetensors", "no dance in them lasts"),
    "travel gain 1e30": (_tensors("travel.safetensors", lambda t, m: t.update(gain=np.full_like(t["gain"], 1e30))),
                         "ngram", "travel.safetensors", "is it damaged?"),  # non-finite, or finite and absurd
    "travel feature_std 0": (_tensors("travel.safetensors",
                                      lambda t, m: t.update(feature_std=np.zeros_like(t["feature_std"]))),
                             "ngram", "travel.safetensors", "'feature_std' must be above 0"),
    "decoder weights 1e30": (_tensors("decoder.safetensors", _all(1e30)), "ngram", "decoder.safetensors", NOT_FINITE),
    "LSTM weights 1e30": (_tensors("lstm.safetensors", _all(1e30)), "lstm", "lstm.safetensors", NOT_FINITE),
    "GPT-2 weights 3e38": (_tensors("model.safetensors", _all(3e38)), "gpt2", "model.safetensors", NOT_FINITE),
}


@pytest.fixture
def model(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, folder, ignore=shutil.ignore_patterns("music", "checkpoint*"))
    return folder


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_model_file_is_named_in_one_line(case, model, tmp_path):
    damage, generator, culprit, problem = CASES[case]
    damage(model)
    take = _dancer(tmp_path / "take.npy")
    _refused(["dance", take, "--model", model, "--generator", generator, "--seconds", 2, "--seed", 0,  # seed 0: the
              "-o", tmp_path / "o.mp4"],  # travel gain's path stays finite at 1e27 px, which reached the drawing
             str(model / culprit), problem)
    assert not (tmp_path / "o.mp4").exists()


def test_transformers_is_not_handed_a_folder_holding_a_pipe(model):
    _fifo("tokenizer_config.json")(model)
    script = (f"from bopbot.models.language_model import load_gpt2\nfrom bopbot.errors import BopBotError\n"
              f"try:\n    load_gpt2({str(model)!r})\nexcept BopBotError as exc:\n    print(exc)")
    done = subprocess.run([BOPBOT[0], "-c", script], capture_output=True, text=True, timeout=LIMIT)
    assert done.stdout.strip() == f"{model / 'tokenizer_config.json'}: {PIPE}", done.stderr


def test_an_empty_model_folder_name_is_refused(tmp_path, monkeypatch):
    import bopbot

    monkeypatch.chdir(tmp_path)  # "" once loaded the current folder, and said its vocabulary was missing
    with pytest.raises(BopBotError, match="the model folder's name is empty"):
        bopbot.Dancer.load("")


@pytest.mark.parametrize("damage", [_fifo, _device])
def test_an_openpose_frame_that_is_a_pipe_or_a_device_is_named(damage, tmp_path):
    folder = _openpose(tmp_path / "op", {"pose_keypoints_2d": [50.0, 50.0, 1.0] * 25})
    frame = sorted(folder.iterdir())[0]  # the one that also tells an OpenPose folder
    damage(frame.name)(folder)
    _refused(["extract", folder, "-o", tmp_path / "o.npz"], frame.name, PIPE)


def test_a_tang_config_that_is_a_pipe_is_named(tmp_path):
    take = tmp_path / "DANCE_C_9"
    take.mkdir()
    frames = np.zeros((40, 23, 3))
    frames[:, :, 1] = np.arange(23) * 5
    (take / "skeletons.json").write_text(json.dumps({"skeletons": frames.tolist(), "center": np.zeros((40, 3)).tolist(),
                                                     "length": 40}))
    os.mkfifo(take / "config.json")
    _refused(["extract", take, "-o", tmp_path / "o.npz"], "config.json", PIPE)

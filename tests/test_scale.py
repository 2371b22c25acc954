"""Scale-out on one machine: a local Ray cluster builds the same corpus as the process pool, and
GPT-2 training under torchrun (2 processes, gloo) follows the single-process loss curve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bopbot.data.corpus import Corpus
from bopbot.ingest.build_corpus import build_corpus
from bopbot.ingest.extract import ExtractOptions

BOPBOT = [sys.executable, "-m", "bopbot"]


def _sequences(folder: Path) -> dict[str, list]:
    """Every shard's sequences by input, as (source, poses, placement, size, meta)."""
    out = {}
    for info, sequences in Corpus(folder).shards():
        out[info["input"]] = [(s.source, s.poses, s.placement, s.size, s.meta) for s in sequences]
    return out


def test_a_local_ray_cluster_builds_the_same_corpus_as_the_process_pool(fixtures, openpose_dances, tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (it is in requirements.lock)")
    inputs = [fixtures / "cmu_salsa" / "60_01_excerpt.bvh", fixtures / "cmu_salsa_held_out" / "60_12_excerpt.bvh",
              openpose_dances / "61_13"]
    broken = tmp_path / "broken.bvh"
    broken.write_text("HIERARCHY\nROOT Hips\n{")
    options = ExtractOptions(yaws=(0.0, 90.0), mirror=True)
    local = build_corpus(inputs + [broken], tmp_path / "local", options, jobs=2, progress=False)
    on_ray = build_corpus(inputs + [broken], tmp_path / "ray", options, jobs=2, progress=False, ray="local")

    assert (on_ray.done, on_ray.skipped, len(on_ray.failed)) == (local.done, local.skipped, len(local.failed)) == (3, 0, 1)
    assert on_ray.failed == local.failed and "broken.bvh" in on_ray.failed[0]
    ours, theirs = _sequences(tmp_path / "local"), _sequences(tmp_path / "ray")
    assert sorted(ours) == sorted(theirs) == sorted(str(p) for p in inputs)
    for name, sequences in ours.items():
        assert len(sequences) == len(theirs[name]) == (1 if name.endswith("61_13") else 4)
        for (source, poses, placement, size, meta), other in zip(sequences, theirs[name]):
            assert (source, size, meta) == (other[0], other[3], other[4])
            assert np.array_equal(poses, other[1]) and np.array_equal(placement, other[2])
    summaries = [json.loads((tmp_path / f / "corpus.json").read_text()) for f in ("local", "ray")]
    assert summaries[0] == summaries[1]
    assert sorted(p.name for p in (tmp_path / "ray" / "shards").iterdir()) == \
        sorted(p.name for p in (tmp_path / "local" / "shards").iterdir())


def test_ray_resumes_a_corpus_and_says_when_it_cannot_join(fixtures, tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (it is in requirements.lock)")
    bvh = str(fixtures / "cmu_salsa" / "60_01_excerpt.bvh")
    run = subprocess.run(BOPBOT + ["extract", bvh, "-o", str(tmp_path / "c"), "-q"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    again = subprocess.run(BOPBOT + ["extract", bvh, "-o", str(tmp_path / "c"), "-q", "--ray"],
                           capture_output=True, text=True)
    assert again.returncode == 0 and "0 input(s) extracted now, 1 already done" in again.stdout
    wrong = subprocess.run(BOPBOT + ["extract", bvh, "-o", str(tmp_path / "d"), "-q", "--ray", "127.0.0.1:1"],
                           capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 1
    assert wrong.stderr.strip().startswith("bopbot: error: --ray 127.0.0.1:1: cannot join the Ray cluster: nothing answers")
    assert len(wrong.stderr.strip().splitlines()) == 1


#: A tiny GPT-2 with a learning rate that moves it in 6 steps of the 100-step warm-up (0.002 to 0.012).
TINY_GPT2 = ["--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--context", "64", "--batch-size", "8",
             "--dropout", "0", "--eval-every", "3", "--learning-rate", "0.2", "-q"]


def _train(corpus: Path, model: Path, steps: int, processes: int) -> subprocess.CompletedProcess:
    """`bopbot train` of the tiny GPT-2, alone or under torchrun with `processes` on the CPU."""
    launch = BOPBOT if processes == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                             "--nproc_per_node", str(processes), "-m", "bopbot"]
    return subprocess.run(launch + ["train", str(corpus), "--model", str(model), "--steps", str(steps),
                                    "--device", "cpu"] + TINY_GPT2, capture_output=True, text=True, timeout=600)


def _losses(model: Path) -> np.ndarray:
    return np.array(json.loads((model / "checkpoint" / "state.json").read_text())["losses"])


@pytest.fixture(scope="module")
def vocabulary_folders(small_corpus, tmp_path_factory):
    """A fresh model folder (a 64-word vocabulary) for each run that follows."""
    from bopbot.app.cli import main

    root = tmp_path_factory.mktemp("ddp")
    assert main(["vocab", str(small_corpus), "-k", "64", "-o", str(root / "alone"), "-q"]) == 0

    def fresh(name: str) -> Path:
        folder = root / name
        folder.mkdir()
        for item in (root / "alone").iterdir():
            (folder / item.name).write_bytes(item.read_bytes())
        return folder

    return fresh


def test_two_processes_follow_the_one_process_loss_curve(small_corpus, vocabulary_folders):
    alone, together = vocabulary_folders("one"), vocabulary_folders("two")
    first = _train(small_corpus, alone, 6, 1)
    assert first.returncode == 0, first.stderr
    second = _train(small_corpus, together, 6, 2)
    assert second.returncode == 0, second.stderr
    assert "by 2 processes: 6 steps" in second.stdout and second.stdout.count("trained gpt2") == 1
    curve, ddp_curve = _losses(alone), _losses(together)
    assert len(curve) == len(ddp_curve) == 6 and curve[3:].mean() < curve[:3].mean() - 0.1  # it learns
    np.testing.assert_allclose(ddp_curve, curve, atol=2e-3)
    assert (together / "model.safetensors").is_file() and not (together / ".tokens").exists()
    assert json.loads((together / "training.json").read_text())["processes"] == 2


def test_a_checkpoint_resumes_under_another_number_of_processes(small_corpus, vocabulary_folders):
    reference, moved = vocabulary_folders("reference"), vocabulary_folders("moved")
    assert _train(small_corpus, reference, 6, 1).returncode == 0
    # the learning rate warms up over 100 steps, so stopping at 3 of 6 changes no step's rate
    started = _train(small_corpus, moved, 3, 2)
    assert started.returncode == 0, started.stderr
    resumed = _train(small_corpus, moved, 6, 1)
    assert resumed.returncode == 0, resumed.stderr
    np.testing.assert_allclose(_losses(moved), _losses(reference), atol=2e-3)


def test_only_the_gpt2_trains_in_many_processes(small_corpus, vocabulary_folders):
    folder = vocabulary_folders("lstm")
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "bopbot", "train", str(small_corpus), "--model", str(folder), "--generator", "lstm",
                          "-q"], capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "bopbot: error: only the GPT-2 trains in many processes" in run.stderr


def test_a_damaged_checkpoint_is_named_before_the_corpus_is_encoded(small_corpus, vocabulary_folders):
    folder = vocabulary_folders("damaged")
    (folder / "checkpoint").mkdir()
    (folder / "checkpoint" / "state.json").write_text('{"step": 3, "si')
    run = _train(small_corpus, folder, 6, 1)
    assert run.returncode == 1
    assert run.stderr.strip() == (f"bopbot: error: {folder / 'checkpoint' / 'state.json'}: damaged checkpoint state "
                                  "(JSONDecodeError); remove the checkpoint to start over")
    assert not (folder / ".tokens").exists()

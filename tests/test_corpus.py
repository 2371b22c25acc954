"""The corpus: sharded, streamed back exactly, resumable after a kill, bad inputs skipped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bopbot.data.corpus import Corpus
from bopbot.files import TMP_PREFIX
from bopbot.ingest.build_corpus import build_corpus
from bopbot.ingest.extract import expand_inputs, extract

BOPBOT = [sys.executable, "-m", "bopbot"]


@pytest.fixture()
def openpose_copy(openpose_dances, tmp_path) -> Path:
    """A writable copy of one OpenPose folder, to break on purpose."""
    copy = tmp_path / "op_copy"
    shutil.copytree(openpose_dances / "61_13" / "json", copy / "json")
    return copy


def test_corpus_round_trip_streams_back_what_was_extracted(openpose_dances, tmp_path):
    inputs = [openpose_dances / "60_01", openpose_dances / "61_13"]
    arrays = tmp_path / "arrays.npy"
    np.save(arrays, extract(inputs[0])[0].keypoints)
    report = build_corpus(inputs + [arrays], tmp_path / "corpus", jobs=2, progress=False)
    assert report.done == 3 and not report.failed

    corpus = Corpus(tmp_path / "corpus")
    streamed = {Path(s.source).parent.name if s.source.endswith("json") else Path(s.source).name: s for s in corpus.sequences()}
    assert set(streamed) == {"60_01", "61_13", "arrays.npy"}
    for path in inputs:
        direct = extract(path)[0]
        back = streamed[path.name].to_pose_sequence()
        np.testing.assert_allclose(back.keypoints, direct.keypoints, atol=1e-3)
        assert back.size == direct.size
    summary = json.loads((tmp_path / "corpus" / "corpus.json").read_text())
    assert summary["inputs"] == 3 and summary["frames"] == sum(len(s.poses) for s in streamed.values())
    assert summary["seconds"] == pytest.approx(summary["frames"] / 20)


def test_batch_reports_bad_inputs_and_lands_the_rest(openpose_dances, tmp_path, openpose_copy):
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("this is not a video")
    broken_frame = sorted((openpose_copy / "json").iterdir())[3]
    broken_frame.write_text('{"people": [{"pose_keypoints_2d": [1, 2')
    good = openpose_dances / "60_01"
    inputs = expand_inputs([str(good), str(not_video), str(openpose_copy), str(tmp_path / "missing.bvh")])

    report = build_corpus(inputs, tmp_path / "corpus", jobs=2, progress=False)
    assert report.done == 1 and len(report.failed) == 3
    reasons = "\n".join(report.failed)
    assert "notes.mp4" in reasons and broken_frame.name in reasons and "corrupt JSON" in reasons
    assert "missing.bvh: no such file" in reasons
    assert len(report.summary["failures"]) == 3 and report.summary["inputs"] == 1

    shutil.copy(openpose_dances / "61_13" / "json" / broken_frame.name, broken_frame)  # mend it
    again = build_corpus(inputs, tmp_path / "corpus", jobs=2, progress=False)
    assert again.skipped == 1 and again.done == 1 and len(again.failed) == 2
    assert len(again.summary["failures"]) == 2 and again.summary["inputs"] == 2


def test_cli_exit_codes_and_one_line_errors(openpose_dances, tmp_path):
    single = subprocess.run(BOPBOT + ["extract", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "x.npz")],
                            capture_output=True, text=True)
    assert single.returncode == 1
    assert single.stderr.strip().splitlines() == [f"bopbot: error: {tmp_path / 'nope.mp4'}: no such file or folder"]

    batch = subprocess.run(
        BOPBOT + ["extract", str(openpose_dances / "60_01"), str(tmp_path / "nope.mp4"), "-o",
                  str(tmp_path / "corpus"), "-q"], capture_output=True, text=True)
    assert batch.returncode == 3, batch.stderr
    assert "1 input(s) extracted now" in batch.stdout and "failed: " in batch.stdout
    assert "Traceback" not in batch.stderr + batch.stdout


def test_resume_after_a_kill(puppet_videos, tmp_path):
    """Killed mid-batch, the next run skips what landed and completes; no file is half-written."""
    videos = puppet_videos
    corpus = tmp_path / "corpus"
    command = BOPBOT + ["extract", *map(str, videos), "-o", str(corpus), "-q", "-j", "2"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def whole_shards() -> list[Path]:  # whole shards only: pathlib's glob also finds the hidden temporaries being written
        return [p for p in (corpus / "shards").glob("*.npz") if not p.name.startswith(TMP_PREFIX)]

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not whole_shards():
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)  # the whole process group, workers included, mid-write or not
    run.wait()
    landed = whole_shards()
    assert 1 <= len(landed) < len(videos), "the kill should land between the first and the last input"

    rerun = subprocess.run(command, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(landed)} already done" in rerun.stdout
    assert not [p for p in (corpus / "shards").iterdir() if p.name.startswith(TMP_PREFIX)]
    summary = Corpus(corpus).summary()
    assert summary["inputs"] == len(videos) and summary["frames"] > 0
    assert sum(1 for _ in Corpus(corpus).sequences()) == len(videos)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the workers")
def test_workers_end_soon_after_their_parent_is_killed(puppet_videos, tmp_path):
    videos = puppet_videos
    command = BOPBOT + ["extract", *map(str, videos), "-o", str(tmp_path / "corpus"), "-q", "-j", "2"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(_children(run.pid)) < 2:
        time.sleep(0.1)
    time.sleep(2.0)  # the workers are busy extracting
    workers = _children(run.pid)
    assert len(workers) >= 2
    os.kill(run.pid, signal.SIGKILL)  # the parent alone: nobody tells the workers
    run.wait()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.1)
    left = [pid for pid in workers if Path(f"/proc/{pid}").exists()
            and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not left, f"workers still running 5 s after their parent was killed: {left}"


def test_a_damaged_shard_is_named_when_read_and_redone_on_the_next_run(fixtures, tmp_path):
    take = fixtures / "cmu_salsa" / "60_01_excerpt.bvh"
    corpus = tmp_path / "corpus"
    command = BOPBOT + ["extract", str(take), "-o", str(corpus), "-q"]
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert subprocess.run(BOPBOT + ["vocab", str(corpus), "-o", str(tmp_path / "m"), "-k", "4", "-q"]).returncode == 0
    shard = next((corpus / "shards").glob("*.npz"))
    whole = shard.read_bytes()
    with np.load(shard, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["poses"] = np.full_like(arrays["poses"], np.nan)
    for damage in (b"", whole[: len(whole) // 2], None):
        if damage is None:
            np.savez(shard, **arrays)  # loads, but its poses are NaN
        else:
            shard.write_bytes(damage)
        for verb in (["vocab", str(corpus), "-o", str(tmp_path / "m2"), "-k", "4", "-q"],
                     ["train", str(corpus), "--model", str(tmp_path / "m"), "-q"]):
            run = subprocess.run(BOPBOT + verb, capture_output=True, text=True)
            lines = run.stderr.strip().splitlines()
            assert run.returncode == 1 and len(lines) == 1 and shard.name in lines[0], (verb, run.stderr)
            assert "damaged corpus shard" in lines[0] and "bopbot extract" in lines[0]
        rerun = subprocess.run(command, capture_output=True, text=True)
        assert rerun.returncode == 0 and "1 input(s) extracted now" in rerun.stdout, rerun.stdout
        assert shard.read_bytes() == whole


def test_camera_options_for_one_2d_dance_are_said_to_do_nothing(openpose_dances, tmp_path, capsys):
    """`--yaws`, `--mirror`, `--follow` and `--facing` film 3D motion capture: given for one OpenPose
    dance they change nothing, and a warning says so; for a BVH take they film it, silently."""
    from bopbot.app.cli import main
    from bopbot.data.pose_sequence import PoseSequence

    dance = openpose_dances / "60_01"
    assert main(["extract", str(dance), "-o", str(tmp_path / "plain.npz"), "-q"]) == 0
    capsys.readouterr()
    assert main(["extract", str(dance), "-o", str(tmp_path / "asked.npz"), "--yaws", "0,90", "--mirror", "-q"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line]
    assert warned == [f"bopbot: warning: {dance}: a 2D dance, read as filmed: --yaws, --mirror film 3D motion "
                      "capture only"]
    plain, asked = PoseSequence.load(tmp_path / "plain.npz"), PoseSequence.load(tmp_path / "asked.npz")
    assert np.array_equal(plain.keypoints, asked.keypoints)
    take = Path(__file__).parent / "data" / "cmu_salsa" / "60_01_excerpt.bvh"
    assert main(["extract", str(take), "-o", str(tmp_path / "take.npz"), "--yaws", "0,90", "--mirror", "-q"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_changed_input_replaces_its_shard_and_other_options_are_refused(fixtures, tmp_path, capsys):
    """Extracted again after it changed, an input's new shard replaces its old one (both stayed: the
    same dance twice in the training data); a run with options other than the corpus was made with
    is refused, the corpus as it was."""
    from bopbot.app.cli import main

    take, corpus = tmp_path / "take.bvh", tmp_path / "corpus"
    shutil.copy(fixtures / "cmu_salsa" / "60_01_excerpt.bvh", take)
    assert main(["extract", str(take), "-o", str(corpus), "--yaws", "0,90", "--mirror", "-q"]) == 0
    made = sorted((corpus / "shards").iterdir())
    capsys.readouterr()
    assert main(["extract", str(take), "-o", str(corpus), "--yaws", "45", "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"bopbot: error: {corpus.resolve()}: is a corpus extracted with other options (mirror True, now False; "
        "yaws [0.0, 90.0], now [45.0]): add to it with the options it was made with, or extract into a new folder")
    assert sorted((corpus / "shards").iterdir()) == made
    take.write_text(take.read_text() + "\n")  # the same take, saved again
    assert main(["extract", str(take), "-o", str(corpus), "--yaws", "0,90", "--mirror", "-q"]) == 0
    assert "1 input(s) extracted now, 0 already done, 0 failed, 1 changed since and extracted anew" in \
        capsys.readouterr().out
    assert len(list((corpus / "shards").iterdir())) == 1 and sorted((corpus / "shards").iterdir()) != made
    assert Corpus(corpus).summary()["sequences"] == 4  # two cameras, each mirrored


def test_an_input_the_facing_keeps_nothing_of_is_not_a_failure(fixtures, tmp_path, capsys):
    """`--facing` keeps the stretches where the dancer faces a camera: an input with none is said
    once, kept as an input with no dances, and not retried on every run as a failure would be."""
    from bopbot.app.cli import main

    take, corpus = fixtures / "cmu_salsa" / "60_01_excerpt.bvh", tmp_path / "corpus"
    assert main(["extract", str(take), "-o", str(corpus), "--yaws", "90", "--facing", "1", "-q"]) == 0
    said = capsys.readouterr()
    assert f"warning: {take}: the dancer never faces a camera within 1 degrees for" in said.out
    assert "nothing of it is kept" in said.out and "0 failed" in said.out
    summary = Corpus(corpus).summary()
    assert (summary["inputs"], summary["sequences"], summary["failures"]) == (1, 0, [])
    assert main(["extract", str(take), "-o", str(corpus), "--yaws", "90", "--facing", "1", "-q"]) == 0
    assert "0 input(s) extracted now, 1 already done" in capsys.readouterr().out
    assert main(["extract", str(take), "-o", str(tmp_path / "alone.npz"), "--yaws", "90", "--facing", "1"]) == 1


def test_a_corpus_keeps_one_set_of_options_however_it_is_reached(fixtures, tmp_path, monkeypatch, capsys):
    """The options check holds where corpus.json is damaged (the shards say how they were made),
    refuses a corpus.json that is a folder before any work, and a second run into a corpus another
    holds waits its turn; an input named relative to another folder is still known as the same."""
    from bopbot.app.cli import main
    from bopbot.files import held_folder

    (tmp_path / "A").mkdir()
    take, corpus = tmp_path / "A" / "clip.bvh", tmp_path / "corpus"
    shutil.copy(fixtures / "cmu_salsa" / "60_01_excerpt.bvh", take)
    monkeypatch.chdir(tmp_path / "A")
    assert main(["extract", "clip.bvh", "-o", str(corpus), "-q"]) == 0
    take.write_text(take.read_text() + "\n")
    monkeypatch.chdir(tmp_path)
    assert main(["extract", "A/clip.bvh", "-o", str(corpus), "-q"]) == 0
    assert len(list((corpus / "shards").iterdir())) == 1  # the changed take replaced, not beside its old self
    (corpus / "corpus.json").write_text("{")
    capsys.readouterr()
    assert main(["extract", "A/clip.bvh", "-o", str(corpus), "--mirror", "-q"]) == 1
    assert "is a corpus extracted with other options (mirror False, now True" in capsys.readouterr().err
    (corpus / "corpus.json").unlink()
    (corpus / "corpus.json").mkdir()
    assert main(["extract", "A/clip.bvh", "-o", str(corpus), "-q"]) == 1
    assert "corpus.json: is not a file" in capsys.readouterr().err
    (corpus / "corpus.json").rmdir()
    with held_folder(corpus, "a test"):
        assert main(["extract", "A/clip.bvh", "-o", str(corpus), "-q"]) == 1
    assert "another BopBot run is using this folder: wait for it to end before adding to this corpus" in \
        capsys.readouterr().err
    assert len(list((corpus / "shards").iterdir())) == 1


def test_a_ctrl_c_as_the_extracting_workers_start_leaves_no_traceback(ctrl_c_at_worker_start, tmp_path):
    """A Ctrl-C the moment the pool's first worker exists, before its start-up data is written to it:
    the run says it was interrupted, and no worker dies printing `EOFError: Ran out of input`."""
    takes = [str(take) for take in sorted((Path(__file__).parent / "data" / "cmu_salsa").glob("*.bvh"))[:2]]
    (tmp_path / "run.py").write_text(ctrl_c_at_worker_start + f"""
import sys
from bopbot.app.cli import main
if __name__ == "__main__":
    sys.exit(main(["extract", *{takes!r}, "-o", {str(tmp_path / "corpus")!r}, "-q"]))
""")
    run = subprocess.run([sys.executable, str(tmp_path / "run.py")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 130 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.strip() == "bopbot: interrupted; run the same command again to resume"


def test_an_extracting_workers_progress_bar_holds_no_semaphore_that_a_ctrl_c_would_leak():
    """A worker stopped by a Ctrl-C leaves behind what it registered with multiprocessing's resource
    tracker, which then warns of 'leaked semaphore objects' after the run's last line: tqdm's default
    lock is such a semaphore, so a worker's (hidden) bars take a thread lock."""
    code = """
import multiprocessing, os
from multiprocessing import resource_tracker
multiprocessing.set_start_method("spawn")  # as the pool starts its workers
registered = []
resource_tracker.register = lambda name, kind: registered.append(kind)
from bopbot.ingest.build_corpus import _start_worker
_start_worker(os.getppid())
from tqdm import tqdm
tqdm(total=1, disable=True).close()
print(registered)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr


def test_extract_runs_at_most_twice_the_cores_processes(tmp_path, capsys):
    """`-j 64` on a few small inputs started 64 processes (35 MB each) whatever the cores: it runs
    twice the cores at most (and never more than the inputs), and says so."""
    from bopbot.app.cli import main

    cores = os.cpu_count() or 1
    dance = np.ones((3, 17, 3))
    dance[:, :, :2] = np.random.default_rng(0).uniform(0, 100, (17, 2))
    (tmp_path / "dances").mkdir()
    for index in range(2 * cores + 1):
        np.save(tmp_path / "dances" / f"dance{index}.npy", dance)
    assert main(["extract", str(tmp_path / "dances"), "-o", str(tmp_path / "corpus"), "-j", "64", "-q"]) == 0
    assert capsys.readouterr().err == (f"bopbot: warning: -j 64: {2 * cores} processes, twice this machine's {cores} "
                                       "cores (more would only share them)\n")

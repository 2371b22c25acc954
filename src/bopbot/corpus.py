"""The pose corpus: many normalised dances on disk in shards, built resumably, read as a stream.

Layout of a corpus folder:
- `shards/<key>.npz`, one per input: `poses` (N, 17, 3) normalised frames of all the input's
  sequences back to back, `placement` (N, 3) to put them back on a canvas, `lengths` (S,) frames
  per sequence, `sizes` (S, 2) source sizes, and `info`, a JSON text (input, kind, sources, meta);
- `failures/<key>.json` for inputs that could not be read, with the reason (retried next run);
- `corpus.json`, the summary of everything in the folder.

Every file is written atomically, so a run killed at any moment leaves only whole files; run
again, it skips inputs whose shard exists. A shard's key hashes the input's path, size, modified
time and the extraction options, so a changed input or option is extracted anew.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import active_children, get_context
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm import tqdm

from .errors import BopBotError
from .extract import ExtractOptions, extract, kind_of, options_key
from .files import TMP_PREFIX, make_folder, remove_stale_temporaries, write_npz, write_text_atomic
from .normalise import denormalise, normalise
from .pose_sequence import CORPUS_FPS, PoseSequence
from .skeleton import JOINTS, NUM_JOINTS

SHARDS = "shards"
FAILURES = "failures"
SUMMARY = "corpus.json"


def input_key(path: Path, options: ExtractOptions) -> str:
    """The shard name of one input: readable stem plus a hash of what the shard depends on."""
    resolved = path.resolve()
    stat = resolved.stat() if resolved.exists() else None
    identity = f"{resolved}|{stat.st_size if stat else -1}|{stat.st_mtime_ns if stat else -1}|{options_key(options)}"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{resolved.parent.name}_{resolved.stem}")[-48:]
    return f"{stem}-{hashlib.sha1(identity.encode()).hexdigest()[:12]}"


def failure_key(path: Path) -> str:
    """The failure record's name of one input: by path alone, so a fixed input clears it."""
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def write_shard(path: Path, input_path: Path, kind: str, sequences: list[PoseSequence]) -> dict:
    """Normalise `sequences` and write them as one shard; return the shard's info."""
    normalised = [normalise(sequence.keypoints) for sequence in sequences]
    info = {
        "input": str(input_path),
        "kind": kind,
        "fps": CORPUS_FPS,
        "sequences": [
            {"source": s.source, "meta": s.meta, "frames": len(s), "frames_without_dancer": s.frames_without_dancer}
            for s in sequences
        ],
    }
    write_npz(
        path,
        poses=np.concatenate([poses for poses, _ in normalised]),
        placement=np.concatenate([placement for _, placement in normalised]),
        lengths=np.array([len(s) for s in sequences], dtype=np.int64),
        sizes=np.array([s.size for s in sequences], dtype=np.int32),
        info=np.array(json.dumps(info)),
    )
    return info


def extract_to_shard(input_path: Path, shard: Path, failure: Path, options: ExtractOptions) -> dict:
    """Worker job: extract one input into its shard, or record why it failed. Never raises."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kind = kind_of(input_path)
            sequences = extract(input_path, options)
        info = write_shard(shard, input_path, kind, sequences)
        failure.unlink(missing_ok=True)
        return {"ok": True, "info": info, "warnings": [str(w.message) for w in caught]}
    except BopBotError as exc:
        reason = str(exc)
    except Exception as exc:  # a bug or a library failure must not take the batch down
        reason = f"{input_path}: unexpected {type(exc).__name__}: {exc}"
    write_text_atomic(failure, json.dumps({"input": str(input_path), "reason": reason}))
    return {"ok": False, "reason": reason}


#: How often a worker checks that the run that started it is still there, in seconds.
PARENT_CHECK_SECONDS = 0.5


def _start_worker(parent: int) -> None:
    """Workers leave Ctrl-C to the parent, which stops the batch cleanly, and end as soon as the
    parent is gone (killed with -9, it cannot stop them): a thread watches for it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)  # nothing half-written stays: every file is written atomically

    threading.Thread(target=watch, name="bopbot-parent-watch", daemon=True).start()


@dataclass
class CorpusSequence:
    """One dance of the corpus: normalised poses, their placement, and where they came from."""

    poses: np.ndarray
    placement: np.ndarray
    size: tuple[int, int]
    source: str
    meta: dict = field(default_factory=dict)

    def to_pose_sequence(self) -> PoseSequence:
        """Back on the canvas of its source, in pixels."""
        return PoseSequence(denormalise(self.poses, self.placement), CORPUS_FPS, self.size, self.source, self.meta)


def read_shard(path: Path, frames: bool = True) -> dict:
    """A shard's `info` (parsed) and `lengths`, and with `frames` its `poses`, `placement` and
    `sizes`, checked to be whole and consistent; a BopBotError naming the shard if it is not."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            shard = {"info": json.loads(str(stored["info"])), "lengths": stored["lengths"]}
            if frames:
                shard.update(poses=stored["poses"], placement=stored["placement"], sizes=stored["sizes"])
        described = shard["info"]["sequences"]
        if "input" not in shard["info"] or not all({"source", "meta", "frames_without_dancer"} <= set(d)
                                                   for d in described):
            raise KeyError("its info lacks the input, or a sequence's source, meta or frames without a dancer")
        sequences = len(described)
    except Exception as exc:  # numpy, zipfile and json raise many kinds for a damaged file
        raise BopBotError(path, f"damaged corpus shard ({type(exc).__name__}: {exc}); run the same `bopbot extract` "
                                "again to redo it") from None
    problem = None
    if shard["lengths"].ndim != 1 or len(shard["lengths"]) != sequences or (shard["lengths"] < 0).any():
        problem = f"{len(shard['lengths'])} sequence lengths for {sequences} sequences"
    elif frames and (len(shard["poses"]) != shard["lengths"].sum() or shard["poses"].shape[1:] != (NUM_JOINTS, 3)
                     or len(shard["placement"]) != len(shard["poses"]) or len(shard["sizes"]) != sequences):
        problem = f"poses {shard['poses'].shape} do not match its lengths and placement"
    elif frames and not (np.isfinite(shard["poses"]).all() and np.isfinite(shard["placement"]).all()):
        problem = "poses that are not finite numbers"
    if problem:
        raise BopBotError(path, f"damaged corpus shard ({problem}); run the same `bopbot extract` again to redo it")
    return shard


def shard_is_whole(path: Path) -> bool:
    """Whether `path` is a shard `read_shard` reads without complaint."""
    try:
        read_shard(path)
        return True
    except BopBotError:
        return False


class Corpus:
    """A corpus folder, read lazily: one shard in memory at a time."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        if not (self.folder / SHARDS).is_dir():
            raise BopBotError(self.folder, "not a BopBot corpus (no shards/ folder); build one with `bopbot extract INPUTS -o FOLDER`")

    def shard_paths(self) -> list[Path]:
        """The whole shards (not the hidden temporaries of a run still writing, or killed)."""
        return sorted(p for p in (self.folder / SHARDS).glob("*.npz") if not p.name.startswith(TMP_PREFIX))

    def infos(self) -> Iterator[tuple[dict, np.ndarray]]:
        """Each shard's info and sequence lengths, without reading its frames."""
        for path in self.shard_paths():
            shard = read_shard(path, frames=False)
            yield shard["info"], shard["lengths"]

    def shards(self) -> Iterator[tuple[dict, list[CorpusSequence]]]:
        """Each shard's info and its dances, one shard in memory at a time."""
        for path in self.shard_paths():
            shard = read_shard(path)
            info, poses, placement, sizes = shard["info"], shard["poses"], shard["placement"], shard["sizes"]
            bounds = np.concatenate([[0], np.cumsum(shard["lengths"])])
            yield info, [
                CorpusSequence(poses[bounds[i]:bounds[i + 1]], placement[bounds[i]:bounds[i + 1]],
                               (int(sizes[i][0]), int(sizes[i][1])), described["source"], described["meta"])
                for i, described in enumerate(info["sequences"])
            ]

    def sequences(self) -> Iterator[CorpusSequence]:
        """Every dance in the corpus, shard by shard."""
        for _, sequences in self.shards():
            yield from sequences

    def frame_chunks(self) -> Iterator[np.ndarray]:
        """All normalised frames, (N, 17, 3) a shard at a time (for streaming passes)."""
        for path in self.shard_paths():
            yield read_shard(path)["poses"]

    def failures(self) -> list[dict]:
        folder = self.folder / FAILURES
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []

    def summary(self) -> dict:
        """Totals over the whole folder: inputs, sequences, frames, seconds, frames without a dancer, failures."""
        inputs = sequences = frames = missing = 0
        for info, lengths in self.infos():
            inputs += 1
            sequences += len(lengths)
            frames += int(lengths.sum())
            missing += sum(s["frames_without_dancer"] for s in info["sequences"])
        return {
            "fps": CORPUS_FPS,
            "joints": list(JOINTS),
            "inputs": inputs,
            "sequences": sequences,
            "frames": frames,
            "seconds": round(frames / CORPUS_FPS, 2),
            "frames_without_dancer": missing,
            "failures": self.failures(),
        }


@dataclass
class BatchReport:
    """What one `build_corpus` run did, and the corpus totals after it."""

    done: int
    skipped: int
    failed: list[str]
    summary: dict


def build_corpus(
    inputs: list[Path], folder: str | os.PathLike, options: ExtractOptions = ExtractOptions(),
    jobs: int | None = None, progress: bool = True,
) -> BatchReport:
    """Extract every input into the corpus at `folder`, a process per input, skipping finished ones."""
    folder = Path(folder)
    shards, failures = folder / SHARDS, folder / FAILURES
    for sub in (shards, failures):
        make_folder(sub)
        remove_stale_temporaries(sub)
    keys = {path: input_key(path, options) for path in inputs}
    todo = []
    for path in inputs:
        shard = shards / f"{keys[path]}.npz"
        if shard.exists() and shard_is_whole(shard):
            (failures / f"{failure_key(path)}.json").unlink(missing_ok=True)
        else:
            shard.unlink(missing_ok=True)  # a damaged shard is made again
            todo.append(path)
    failed: list[str] = []
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    bar = tqdm(total=len(todo), desc="extracting", unit="input", disable=not progress or not todo)
    pool = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_start_worker,
                               initargs=(os.getpid(),))
    pending = {
        pool.submit(
            extract_to_shard, path, shards / f"{keys[path]}.npz", failures / f"{failure_key(path)}.json", options
        ): path
        for path in todo
    }
    try:
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                path = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    result = {"ok": False, "reason": f"{path}: the extracting process died (run again to retry)"}
                for warning in result.get("warnings", []):
                    bar.write(f"warning: {warning}")
                if not result["ok"]:
                    failed.append(result["reason"])
                    bar.write(f"skipped: {result['reason']}")
                bar.update(1)
                bar.set_postfix(failed=len(failed))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        for child in active_children():
            child.terminate()  # safe: every file is written atomically
        raise
    finally:
        bar.close()
    pool.shutdown()
    summary = Corpus(folder).summary()
    summary["options"] = options.to_json()
    write_text_atomic(folder / SUMMARY, json.dumps(summary, indent=2))
    return BatchReport(len(todo) - len(failed), len(inputs) - len(todo), failed, summary)

"""Build a pose corpus (`data.corpus`) from many inputs: a process per input, resumable.

Every file is written atomically, so a run killed at any moment leaves only whole files; run
again, it skips inputs whose shard exists. A shard's key hashes the input's path, size, modified
time and the extraction options, so a changed input or option is extracted anew. An input that
cannot be read gets a record in `failures/` with the reason, and is retried next run.
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
from dataclasses import dataclass
from multiprocessing import active_children, get_context
from pathlib import Path

from tqdm import tqdm

from ..data.corpus import FAILURES, SHARDS, SUMMARY, Corpus, shard_is_whole, write_shard
from ..errors import BopBotError
from ..files import make_folder, remove_stale_temporaries, write_text_atomic
from .extract import ExtractOptions, extract, kind_of, options_key


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

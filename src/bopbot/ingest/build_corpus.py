"""Build a pose corpus (`data.corpus`) from many inputs: a process per input, resumable.

Every file is written atomically, so a run killed at any moment leaves only whole files; run
again, it skips inputs whose shard exists. A shard's key hashes the input's path, size, modified
time and the extraction options, so a changed input is extracted anew, and its new shard replaces
the old one. A corpus is made with one set of options (kept in `corpus.json`): a run with others is
refused, as its dances would not be comparable with the rest. An input that cannot be read gets a
record in `failures/` with the reason, and is retried next run; one the options keep nothing of (no
stretch facing the camera) gets a shard with no dances, and is not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import active_children, get_context
from pathlib import Path
from typing import Iterator

from tqdm import tqdm

from ..data.corpus import FAILURES, SHARDS, SUMMARY, Corpus, read_shard, shard_is_whole, write_shard
from ..errors import BopBotError, os_error, shown
from ..files import TMP_PREFIX, held_folder, make_folder, remove_stale_temporaries, write_text_atomic
from ..workers import ctrl_c_held
from .extract import ExtractOptions, NothingKept, extract, kind_of, options_key


def input_key(path: Path, options: ExtractOptions) -> str:
    """The shard name of one input: readable stem plus a hash of what the shard depends on."""
    resolved = Path(os.path.realpath(path))  # never raises, not even for a loop of links
    try:
        stat = resolved.stat()
    except OSError:  # missing or unreadable: its job says why
        stat = None
    identity = f"{resolved}|{stat.st_size if stat else -1}|{stat.st_mtime_ns if stat else -1}|{options_key(options)}"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{resolved.parent.name}_{resolved.stem}")[-48:]
    return f"{stem}-{hashlib.sha1(os.fsencode(identity)).hexdigest()[:12]}"


def failure_key(path: Path) -> str:
    """The failure record's name of one input: by path alone, so a fixed input clears it."""
    return hashlib.sha1(os.fsencode(os.path.realpath(path))).hexdigest()[:16]


def extract_to_shard(input_path: Path, shard: Path, failure: Path, options: ExtractOptions,
                     listed_at: str | None = None) -> dict:
    """Worker job: extract one input into its shard, or record why it failed. Never raises. An input
    read from a list that is none (missing, unreadable) is said with the list and line, `listed_at`."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kind = kind_of(input_path, listed_at)
            try:
                sequences = extract(input_path, options)
            except NothingKept as exc:
                warnings.warn(f"{exc}: nothing of it is kept")
                sequences = []
        info = write_shard(shard, input_path, kind, sequences, options.to_json())
        failure.unlink(missing_ok=True)
        return {"ok": True, "info": info, "warnings": [str(w.message) for w in caught]}
    except BopBotError as exc:
        reason = str(exc)
    except OSError as exc:  # the system's refusals (no permission, a loop of links) name their file
        reason = str(os_error(exc, input_path if exc.filename is None else None))
    except Exception as exc:  # a bug or a library failure must not take the batch down
        reason = shown(f"{input_path}: unexpected {type(exc).__name__}: {exc}")
    write_text_atomic(failure, json.dumps({"input": str(input_path), "reason": reason}))
    return {"ok": False, "reason": reason}


#: How often a worker checks that the run that started it is still there, in seconds.
PARENT_CHECK_SECONDS = 0.5


def _start_worker(parent: int) -> None:
    """Workers leave Ctrl-C to the parent, which stops the batch cleanly, and end as soon as the
    parent is gone (killed with -9, it cannot stop them): a thread watches for it. Their (hidden)
    progress bars take a thread lock: tqdm's default, a process-shared semaphore, outlived a worker
    stopped by a Ctrl-C, and Python warned of 'leaked semaphore objects' after the run's last line."""
    from tqdm import tqdm

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tqdm.set_lock(threading.RLock())

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
    #: Shards of inputs changed since they were made, replaced by this run's.
    replaced: int = 0


#: `build_corpus(ray=LOCAL_RAY)` starts a Ray cluster on this machine for the run.
LOCAL_RAY = "local"


def build_corpus(
    inputs: list[Path], folder: str | os.PathLike, options: ExtractOptions = ExtractOptions(),
    jobs: int | None = None, progress: bool = True, ray: str | None = None, listed: dict[Path, str] | None = None,
) -> BatchReport:
    """Extract every input into the corpus at `folder`, a job per input, skipping finished ones.

    The jobs run in a pool of `jobs` processes here, or with `ray` as Ray tasks: on a cluster this
    run starts on this machine with `jobs` workers (`LOCAL_RAY`), or on the running cluster at
    that address ("auto" or "ray://host:10001"), whose workers must see the inputs and `folder` at
    the same paths (shared storage) and have bopbot installed. Either way each job is the same
    `extract_to_shard`, so the corpus is the same. `listed` (from `expand_inputs`) gives the list
    and line of each input read from a list, which its failure names where it is no input (missing,
    unreadable).
    """
    folder = Path(folder).resolve()
    if folder.is_dir() and not (folder / SHARDS).is_dir() and any(folder.iterdir()):
        raise BopBotError(folder, "holds files but no corpus (no shards/ folder): give a new or empty folder, or a "
                                  "corpus to add to")
    with held_folder(folder, "adding to this corpus"):  # two runs at once could mix their options
        _check_same_options(folder, options)
        return _build(inputs, folder, options, jobs, progress, ray, listed or {})


def _build(inputs: list[Path], folder: Path, options: ExtractOptions, jobs: int | None, progress: bool,
           ray: str | None, listed: dict[Path, str]) -> BatchReport:
    """`build_corpus` in the corpus `folder`, held by this run and checked to be of these options."""
    shards, failures = folder / SHARDS, folder / FAILURES
    for sub in (shards, failures):
        make_folder(sub)
        remove_stale_temporaries(sub)
    keys = {path: input_key(path, options) for path in inputs}
    todo = []
    for path in inputs:
        shard = shards / f"{keys[path]}.npz"
        if shard.is_file() and not shard.is_symlink() and shard_is_whole(shard):
            (failures / f"{failure_key(path)}.json").unlink(missing_ok=True)
        else:  # a damaged shard, or anything else in its place, is made again
            if shard.is_dir() and not shard.is_symlink():
                shutil.rmtree(shard)
            else:
                shard.unlink(missing_ok=True)
            todo.append(path)
    jobs_of = {path: (path, shards / f"{keys[path]}.npz", failures / f"{failure_key(path)}.json", options,
                      listed.get(path)) for path in todo}
    # a missing input is said here at once, not in a process of its own (20,000 took minutes)
    failed = [extract_to_shard(*jobs_of.pop(path))["reason"] for path in todo if not os.path.lexists(path)]
    if jobs_of:
        jobs = _workers(jobs, len(jobs_of))
        results = _on_ray(ray, jobs, jobs_of) if ray else _in_processes(jobs, jobs_of)
        with tqdm(total=len(jobs_of), desc="extracting", unit="input", disable=not progress) as bar:
            for result in results:
                for warning in result.get("warnings", []):
                    bar.write(f"warning: {warning}")
                if not result["ok"]:
                    failed.append(result["reason"])
                    bar.write(f"skipped: {result['reason']}")
                bar.update(1)
                bar.set_postfix(failed=len(failed))
    replaced = _remove_replaced_shards(shards, keys)
    summary = Corpus(folder).summary()
    summary["options"] = options.to_json()
    write_text_atomic(folder / SUMMARY, json.dumps(summary, indent=2))
    return BatchReport(len(todo) - len(failed), len(inputs) - len(todo), failed, summary, replaced)


def _check_same_options(folder: Path, options: ExtractOptions) -> None:
    """Refuse to add to a corpus made with other extraction options: those its corpus.json gives,
    or, where that cannot be read, those its shards were made with."""
    summary = folder / SUMMARY
    if summary.is_dir() or (summary.exists() and not summary.is_file()):
        raise BopBotError(summary, "is not a file: the corpus's summary goes there; move it away and run again")
    try:
        made_with = json.loads(summary.read_text(encoding="utf-8"))["options"]
    except (OSError, ValueError, KeyError, TypeError):
        made_with = next((info.get("options") for info in _shard_infos(folder / SHARDS) if info.get("options")), None)
    asked = options.to_json()
    if isinstance(made_with, dict) and made_with != asked:
        differ = "; ".join(f"{name} {made_with.get(name)}, now {asked.get(name)}"
                           for name in sorted(set(made_with) | set(asked)) if made_with.get(name) != asked.get(name))
        raise BopBotError(folder, f"is a corpus extracted with other options ({differ}): add to it with the options "
                                  "it was made with, or extract into a new folder")


def _shard_infos(shards: Path) -> Iterator[dict]:
    """The info of each whole shard in `shards` (none where the folder is not there yet)."""
    for shard in sorted(shards.glob("*.npz")) if shards.is_dir() else []:
        if not shard.name.startswith(TMP_PREFIX):
            try:
                yield read_shard(shard, frames=False)["info"]
            except BopBotError:
                continue


def _remove_replaced_shards(shards: Path, keys: dict[Path, str]) -> int:
    """Remove the shards of this run's inputs made from an earlier version of the file (another size
    or time, so another key), now that the input has a whole shard of its own; how many went. Only
    shards whose name starts as an input's does are read: a corpus of 20,000 costs nothing more."""
    by_stem: dict[str, list[Path]] = {}
    for shard in shards.glob("*.npz"):
        by_stem.setdefault(shard.stem.rpartition("-")[0], []).append(shard)
    replaced = 0
    for path, key in keys.items():
        if not (shards / f"{key}.npz").is_file():  # failed this time: its earlier shard is all there is
            continue
        for shard in by_stem.get(key.rpartition("-")[0], []):
            if shard.stem == key or shard.name.startswith(TMP_PREFIX):
                continue
            try:
                info = read_shard(shard, frames=False)["info"]
            except BopBotError:
                continue
            # resolved where it was made (a name relative to that run's folder is not to this one's)
            if info.get("resolved", os.path.realpath(info["input"])) == os.path.realpath(path):
                shard.unlink(missing_ok=True)
                replaced += 1
    return replaced


def _workers(asked: int | None, inputs: int) -> int:
    """How many processes (or local Ray workers) extract `inputs` for `-j asked` (one per core if
    None): never more than the inputs, nor than twice the cores (more only share them, at some
    35 MB each), said where that is fewer than asked."""
    cores = os.cpu_count() or 1
    workers = min(asked or cores, 2 * cores, inputs)
    if asked and workers < min(asked, inputs):
        warnings.warn(f"-j {asked}: {workers} processes, twice this machine's {cores} cores (more would only share them)")
    return workers


def _in_processes(jobs: int, jobs_of: dict[Path, tuple]) -> Iterator[dict]:
    """Each job's result as it finishes, from a pool of `jobs` processes on this machine."""
    pool = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_start_worker,
                               initargs=(os.getpid(),))
    try:
        with ctrl_c_held():  # the pool starts its processes here: cut short, one dies with a traceback
            pending = {pool.submit(extract_to_shard, *job): path for path, job in jobs_of.items()}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                path = pending.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    yield {"ok": False, "reason": shown(f"{path}: the extracting process died (run again to retry)")}
    except BaseException:  # Ctrl-C, or the caller gone: stop now; every file is written atomically
        pool.shutdown(wait=False, cancel_futures=True)
        for child in active_children():
            child.terminate()
        raise
    pool.shutdown()


def _on_ray(address: str, jobs: int, jobs_of: dict[Path, tuple]) -> Iterator[dict]:
    """Each job's result as it finishes, from Ray tasks of one CPU each (see `build_corpus`)."""
    try:
        import ray
    except ImportError:
        raise BopBotError(None, "--ray needs Ray: pip install ray (it is in requirements.lock)") from None
    started = not ray.is_initialized()
    if started:
        try:
            if address == LOCAL_RAY:
                ray.init(num_cpus=jobs, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
            else:
                _check_reachable(address)
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, OSError, RuntimeError, ValueError) as exc:
            raise BopBotError(None, f"--ray {address}: cannot join the Ray cluster: {str(exc).splitlines()[0]}") from None
    task = ray.remote(num_cpus=1, max_retries=1)(extract_to_shard)
    pending = {task.remote(*job): path for path, job in jobs_of.items()}
    try:
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                path = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:
                    reason = f"{path}: the Ray task failed ({type(exc).__name__}; run again to retry)"
                    yield {"ok": False, "reason": shown(reason)}
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def _check_reachable(address: str, seconds: float = 10.0) -> None:
    """Raise ConnectionError at once where a HOST:PORT address does not answer (Ray itself keeps
    retrying for minutes); "auto" and addresses without a port are left to Ray."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {host}:{port} ({exc.strerror or exc})") from None

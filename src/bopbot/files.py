"""Atomic file writes: a reader, or a run killed halfway, never sees a half-written file."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from pathlib import Path
from typing import Iterator

TMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path` in one step.

    Temporaries are named after their output (`.tmp-NAME-XXXXXXXX.suffix`, eight random characters),
    so writing `path` also removes the ones a killed run of `path` left behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp makes 0600 (and some writers replace the file): give it a new file's usual mode
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
        leftovers = glob.escape(f"{TMP_PREFIX}{path.name}-") + "?" * 8 + glob.escape(path.suffix)
        for leftover in path.parent.glob(leftovers):
            leftover.unlink(missing_ok=True)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete temporaries left by a killed run in `folder`; return how many were removed."""
    removed = 0
    for leftover in Path(folder).glob(f"{TMP_PREFIX}*"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed

"""Atomic file writes (a reader, or a run killed halfway, never sees a half-written file), and the
one safetensors reader for the model folder's own arrays."""

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
    tmp_path = _temporary(path)
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
    except OSError as exc:  # the output's own write failing (disk full, permissions) is said of the output
        if exc.filename not in (None, str(tmp_path), str(path)):  # another file's error is that file's
            raise
        raise _cannot_write(path, exc) from None
    finally:
        tmp_path.unlink(missing_ok=True)


def _cannot_write(path: Path, exc: OSError):
    from .errors import BopBotError

    return BopBotError(path, f"cannot write it: {exc.strerror or exc}")


def make_folder(folder: str | os.PathLike) -> None:
    """Make `folder` and its parents, or raise a BopBotError naming it and what is in the way."""
    from .errors import BopBotError

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise BopBotError(folder, f"cannot make this folder: {blocking} is a file") from None
        raise BopBotError(folder, f"cannot make this folder: {exc.strerror or exc}") from None


def check_writable(path: str | os.PathLike) -> None:
    """Raise a BopBotError naming `path` unless a file can be written there (its folder made if
    needed): said before long work, not after it."""
    from .errors import BopBotError

    path = Path(path)
    if path.is_dir():
        raise BopBotError(path, "is a folder: give a file name to write")
    _temporary(path).unlink()


def _temporary(path: Path) -> Path:
    """A new empty temporary beside `path` (named after it), its folder made if needed."""
    make_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}-", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    os.close(fd)
    return Path(tmp)


def write_npz(path: str | os.PathLike, compressed: bool = False, **arrays) -> None:
    """Write `arrays` as one `.npz` at `path`, atomically. The archive is made in memory and written
    in one piece: numpy writing into a file that fails halfway (a full disk) leaves a zip object
    that prints a traceback when it is collected."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def write_npy(path: str | os.PathLike, array) -> None:
    """Write one array as a `.npy` at `path`, atomically (a file `np.load(mmap_mode="r")` can map)."""
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as out:
            np.save(out, array)


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


def read_tensors(path: str | os.PathLike, what: str, names: tuple[str, ...]) -> dict:
    """The numpy arrays of the safetensors file `path` (`what` it holds, for messages): a BopBotError
    naming the file when it is missing, unreadable, lacks one of `names` or holds NaN or infinity."""
    import numpy as np
    from safetensors.numpy import load_file

    from .errors import BopBotError

    path = Path(path)
    if not path.is_file():
        raise BopBotError(path, f"missing: the model folder has no {what}")
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises several kinds for a damaged file
        raise BopBotError(path, f"unreadable {what} ({' '.join(str(exc).split())[:200]})") from None
    lacking = [name for name in names if name not in tensors]
    if lacking:
        raise BopBotError(path, f"unreadable {what}: no {', '.join(lacking)} array")
    for name, array in tensors.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise BopBotError(path, f"damaged {what}: '{name}' holds NaN or infinite values")
    return tensors

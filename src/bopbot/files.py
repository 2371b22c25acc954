"""Files are sacred: outputs never land on inputs, writes are atomic (a reader, or a run killed
halfway, never sees a half-written file), and temporaries belong to the run that made them. Reading
files BopBot did not write is `reading.py`'s job.

A temporary is named `.tmp-NAME-PID-HOST-XXXXXXXX.suffix`: its output's name (cut short where the
whole would pass the 255 bytes a file name may have), the writing process's id, a short hash of its
machine's name and eight random characters. A sweep removes only temporaries whose process is gone
from this machine: two runs writing the same output never delete each other's live temporary, and
the last to finish wins.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

TMP_PREFIX = ".tmp-"
#: The longest file name most file systems take, in bytes.
NAME_MAX = 255
#: What follows a temporary's name: -PID-HOST-XXXXXXXX (mkstemp's eight random characters).
_OWNER = r"-(?P<pid>\d+)-(?P<host>[0-9a-f]{6})-[a-z0-9_]{8}"
#: The folders this process made (`make_folder`), first made first; `remove_made_folders` takes
#: back the empty ones after a failed run.
made_folders: list[Path] = []
#: The folders whose orphaned temporaries this process has removed (`atomic_path`).
_swept: set[Path] = set()


def _host() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


def _name_part(path: Path) -> str:
    """The part of `path`'s name its temporaries carry: all of it where the temporary's name fits."""
    room = NAME_MAX - len(TMP_PREFIX) - len(os.fsencode(path.suffix)) - len("-4194304-abcdef-") - 8
    name = path.name
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return name


def _run_is_gone(pid: int, host: str) -> bool:
    """True when the process `pid` of machine `host` has ended (only this machine's can be known)."""
    if host != _host() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process: alive
        return False
    return False


def _remove_if_orphaned(candidate: Path, pattern: re.Pattern) -> bool:
    """Delete `candidate` if it is a temporary matching `pattern` whose run is gone; True if deleted."""
    match = pattern.fullmatch(candidate.name)
    if match is None or not _run_is_gone(int(match["pid"]), match["host"]):
        return False
    candidate.unlink(missing_ok=True)
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path` in one step, and
    the temporaries that killed runs left in its folder are removed (see the module docs)."""
    path = Path(path)
    tmp_path = _temporary(path)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp makes 0600 (and some writers replace the file): give it a new file's usual mode
        give_usual_mode(tmp_path)
        os.replace(tmp_path, path)
        if path.parent not in _swept:  # once a folder a process: a folder of 5,000 files was scanned 5,000 times
            remove_stale_temporaries(path.parent)
            _swept.add(path.parent)
    except OSError as exc:  # the output's own write failing (disk full, permissions) is said of the output
        if exc.filename not in (None, str(tmp_path), str(path)):  # another file's error is that file's
            raise
        raise _cannot_write(path, exc) from None
    finally:
        tmp_path.unlink(missing_ok=True)


def _cannot_write(path: Path, exc: OSError):
    from .errors import BopBotError

    return BopBotError(path, f"cannot write it: {exc.strerror or exc}")


def folder_problem(path: str | os.PathLike) -> str | None:
    """What keeps `path` from being a folder, in a few words ("missing", "a loop of symbolic links",
    "a file, not a folder", ...), or None when it is one."""
    import errno

    try:
        return None if os.path.isdir(os.path.realpath(path, strict=True)) else "a file, not a folder"
    except FileNotFoundError:
        return "a symbolic link to nothing" if os.path.lexists(path) else "missing"
    except OSError as exc:
        return "a loop of symbolic links" if exc.errno == errno.ELOOP else f"unreadable ({exc.strerror})"


def make_folder(folder: str | os.PathLike) -> None:
    """Make `folder` and its parents (each one made is noted in `made_folders`), or raise a
    BopBotError naming it and what is in the way."""
    from .errors import BopBotError

    folder = Path(folder)
    for link in filter(os.path.islink, (folder, *folder.parents)):
        problem = folder_problem(link)
        if problem in ("a loop of symbolic links", "a symbolic link to nothing"):
            raise BopBotError(link, f"cannot make a folder here: it is {problem}")
    missing = []
    for parent in (folder, *folder.parents):
        if os.path.lexists(parent):
            break
        missing.append(parent)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise BopBotError(folder, f"cannot make this folder: {blocking} is a file") from None
        raise BopBotError(folder, f"cannot make this folder: {exc.strerror or exc}") from None
    made_folders.extend(reversed(missing))


def remove_made_folders() -> None:
    """Remove the folders `make_folder` made that are still empty, deepest first: a run that failed
    leaves no folder behind that it made."""
    while made_folders:
        with contextlib.suppress(OSError):
            made_folders.pop().rmdir()


@contextlib.contextmanager
def held_folder(folder: str | os.PathLike, doing: str) -> Iterator[Path]:
    """Hold `folder` (made if needed) for this run, with an exclusive lock on the folder itself
    (released when the run ends, however it ends), or raise a BopBotError naming it while another
    run holds it; `doing` says what this run came to do."""
    import fcntl

    from .errors import BopBotError

    folder = Path(folder)
    make_folder(folder)
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BopBotError(folder, f"another BopBot run is using this folder: wait for it to end before "
                                      f"{doing}") from None
        yield folder
    finally:
        os.close(handle)


def check_writable(path: str | os.PathLike) -> None:
    """Raise a BopBotError naming `path` unless a file can be written there (its folder made if
    needed): said before long work, not after it. A read-only file there is not replaced (a
    rename would replace it whatever its mode says)."""
    from .errors import BopBotError

    path = Path(path)
    try:
        if path.is_dir():
            raise BopBotError(path, "is a folder: give a file name to write")
        if path.is_file() and not os.access(path, os.W_OK):
            raise BopBotError(path, "is read-only: BopBot does not replace it (make it writable, or give another name)")
    except OSError as exc:  # a name or path too long to be a file
        raise _cannot_write(path, exc) from None
    _temporary(path).unlink()


def _temporary(path: Path) -> Path:
    """A new empty temporary beside `path`, named after it and owned by this process (module docs)."""
    make_folder(path.parent)
    prefix = f"{TMP_PREFIX}{_name_part(path)}-{os.getpid()}-{_host()}-"
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    os.close(fd)
    return Path(tmp)


def same_place(one: str | os.PathLike, other: str | os.PathLike) -> bool:
    """True when two paths name the same file or folder: the same file on disk (a hard link, a
    symbolic link, another spelling), or for a path not made yet, the same real path."""
    try:
        return os.path.samefile(one, other)
    except OSError:
        return os.path.realpath(one) == os.path.realpath(other)


def inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """True when `path` is `folder` or lies somewhere inside it (links followed)."""
    real, inner = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return real == inner or inner in real.parents or same_place(path, folder)


def check_apart(inputs: Iterable[str | os.PathLike | None], files: Iterable[str | os.PathLike | None] = (),
                folders: Iterable[str | os.PathLike | None] = ()) -> None:
    """Raise a BopBotError, before any work, where a run would write over what it reads: one of
    the output `files` is one of the `inputs` (by identity: the same file however it is reached), or
    one of the output `folders` is an input (a file or a folder), lies inside an input folder, or is
    an output file. None entries are skipped."""
    from .errors import BopBotError

    inputs = [Path(p) for p in inputs if p is not None]
    files = [Path(p) for p in files if p is not None]
    for output in files:
        for source in inputs:
            if same_place(output, source):
                raise BopBotError(output, f"is also an input ({source}): writing it would destroy it; "
                                          "give another output name")
    for output in (Path(p) for p in folders if p is not None):
        if any(same_place(output, file) for file in files):
            raise BopBotError(output, "is also an output file: give the folder another name")
        for source in inputs:
            if same_place(output, source) and not source.is_dir():  # an input file, where a folder would go
                raise BopBotError(output, f"is also an input ({source}): writing it would destroy it; "
                                          "give another folder")
            if same_place(output, source) or (source.is_dir() and inside(output, source)):
                raise BopBotError(output, f"is inside the input folder {source}: writing there would mix "
                                          "the output into the input; give another folder")


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


def give_usual_mode(path: str | os.PathLike) -> None:
    """Give the file `path` a new file's usual mode, 0666 less the umask: mkstemp and safetensors'
    own writer (behind `save_pretrained` and `save_file`) make files only their owner can read.
    A folder keeps its mode (0666 would shut it)."""
    if not os.path.isdir(path):
        os.chmod(path, 0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete the temporaries in `folder` whose run is gone (module docs); return how many."""
    pattern = re.compile(re.escape(TMP_PREFIX) + ".*" + _OWNER + r".*")
    return sum(_remove_if_orphaned(leftover, pattern) for leftover in Path(folder).glob(f"{TMP_PREFIX}*"))


def write_tensors(path: str | os.PathLike, tensors: dict, metadata: dict[str, str] | None = None) -> None:
    """Write `tensors` (numpy arrays, or torch tensors) as one safetensors file at `path`, atomically.
    They are serialised in memory first: a full disk is then an OSError said of `path` (safetensors
    writing a file itself raises an error of its own kind)."""
    if any(type(value).__module__.startswith("torch") for value in tensors.values()):
        from safetensors.torch import save
    else:
        from safetensors.numpy import save
    data = save(tensors, metadata=metadata)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)

"""Files are sacred: outputs never land on inputs, writes are atomic (a reader, or a run killed
halfway, never sees a half-written file), temporaries belong to the run that made them, and the one
safetensors reader for the model folder's own arrays.

A temporary is named `.tmp-NAME-PID-HOST-XXXXXXXX.suffix`: its output's name (cut short where the
whole would pass the 255 bytes a file name may have), the writing process's id, a short hash of its
machine's name and eight random characters. A sweep removes only temporaries whose process is gone
from this machine: two runs writing the same output never delete each other's live temporary, and
the last to finish wins.
"""

from __future__ import annotations

import contextlib
import functools
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
        os.chmod(tmp_path, 0o666 & ~_umask())
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
    one of the output `folders` is an input folder or lies inside one, or an output file. None
    entries are skipped."""
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


#: The most arrays a `.npz` BopBot reads may hold (a pose sequence has six).
MAX_ARRAYS = 64


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


def array_names(path: str | os.PathLike) -> list[str]:
    """The names of the arrays in a `.npz` (its members less `.npy`), or [""] for a `.npy`; an archive
    of more than MAX_ARRAYS, or a file that is neither, is a BopBotError naming it."""
    import zipfile

    from .errors import BopBotError

    if not zipfile.is_zipfile(path):
        return [""]
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.filename is not None:
            raise
        raise BopBotError(path, f"unreadable array file ({' '.join(str(exc).split())[:200]})") from None
    if len(names) > MAX_ARRAYS:
        raise BopBotError(path, f"holds {len(names):,} arrays; a keypoint file holds a few (at most {MAX_ARRAYS})")
    return [name.removesuffix(".npy") for name in names]


def array_header(path: str | os.PathLike, name: str = "") -> tuple[tuple[int, ...], object]:
    """(shape, dtype) of the array `name` of a `.npz` (or of a `.npy`, name ""), from its header
    alone: what a file declares is checked before anything of that size is allocated."""
    import zipfile

    import numpy as np

    from .errors import BopBotError

    try:
        with contextlib.ExitStack() as stack:
            if name:
                handle = stack.enter_context(stack.enter_context(zipfile.ZipFile(path)).open(f"{name}.npy"))
            else:
                handle = stack.enter_context(open(path, "rb"))
            version = np.lib.format.read_magic(handle)
            read = {(1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read is None:
                raise ValueError(f"array format version {version} is not read here")
            shape, _, dtype = read(handle)
            return tuple(int(n) for n in shape), dtype
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, NotImplementedError) as exc:
        if isinstance(exc, OSError) and exc.filename is not None:
            raise
        raise BopBotError(path, f"unreadable array file ({' '.join(str(exc).split())[:200]})") from None


def read_json(path: str | os.PathLike, what: str = "JSON"):
    """The JSON value in `path` (`what` it holds, for messages), or a BopBotError naming the file when
    it is not a regular file (a pipe would be waited on forever, a device read without end), not
    UTF-8 text, not JSON, or nested deeper than Python parses. A missing file, or one this user may
    not read, is the OSError reading it raises."""
    import json

    from .errors import BopBotError

    problem = file_problem(path)
    if problem and problem != "missing":
        raise BopBotError(path, f"is {problem}")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BopBotError(path, f"corrupt {what}: the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BopBotError(path, f"corrupt {what}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BopBotError(path, f"corrupt {what}: nested too deeply to read") from None
    except ValueError as exc:  # a number of thousands of digits
        raise BopBotError(path, f"corrupt {what}: {' '.join(str(exc).split())[:120]}") from None


def tensor_shapes(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor in the safetensors file `path`, from its header alone."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}


def check_shapes(path: str | os.PathLike, expected: dict[str, tuple[int, ...]], what: str,
                 described_in: str) -> None:
    """Raise a BopBotError naming the safetensors file `path` (holding `what`) unless it holds a
    tensor of each `expected` shape: checked from its header before a model of the size that
    `described_in` (its description file) declares is allocated."""
    from .errors import BopBotError

    try:
        found = tensor_shapes(path)
    except Exception as exc:  # safetensors raises several kinds for a damaged file
        raise BopBotError(path, f"unreadable {what} ({' '.join(str(exc).split())[:200]})") from None
    for name, shape in expected.items():
        if found.get(name) != tuple(shape):
            got = "none" if name not in found else f"{list(found[name])}"
            raise BopBotError(path, f"does not match {described_in}: '{name}' should be {list(shape)}, the file "
                                    f"has {got}")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise BopBotError(path, f"does not match {described_in}: {len(extra)} weight(s) it does not describe "
                                f"(e.g. '{extra[0]}')")


def file_problem(path: str | os.PathLike) -> str | None:
    """What keeps `path` from being a file to read, in a few words ("missing", "a loop of symbolic
    links", "a folder, not a file", ...), or None when it is a regular file."""
    import errno
    import stat

    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "a symbolic link to nothing" if os.path.lexists(path) else "missing"
    except OSError as exc:
        return "a loop of symbolic links" if exc.errno == errno.ELOOP else f"unreadable ({exc.strerror})"
    if stat.S_ISDIR(info.st_mode):
        return "a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a pipe or a device)"
    return None


def read_tensors(path: str | os.PathLike, what: str, names: tuple[str, ...]) -> dict:
    """The numpy arrays of the safetensors file `path` (`what` it holds, for messages): a BopBotError
    naming the file when it is missing, unreadable, lacks one of `names` or holds NaN or infinity."""
    import numpy as np
    from safetensors.numpy import load_file

    from .errors import BopBotError

    path = Path(path)
    problem = file_problem(path)
    if problem == "missing":
        raise BopBotError(path, f"missing: the model folder has no {what}")
    if problem:
        raise BopBotError(path, f"is {problem}: the model folder's {what} should be here")
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


#: FFmpeg readers that open further files or reach the network as the file itself tells them:
#: playlists (HLS, DASH), lists of files (concat, IMF) and stream descriptions (SDP, RTSP, RTP).
#: A video or a song BopBot reads is all the media there is in that one file: an uploaded playlist
#: once made the web page read, and show, a video elsewhere on the server (hostile round 3).
FOLLOWING_FORMATS = frozenset({"hls", "applehttp", "dash", "concat", "imf", "sdp", "rtsp", "rtp"})


def open_media(path: str | os.PathLike):
    """The media file `path` opened by PyAV for reading as that one local file: by FFmpeg's file
    protocol only (a name such as `concat:a|b`, `http://...` or `tcp:...` is not a way in) and by
    none of the `FOLLOWING_FORMATS`; a BopBotError where it is not a regular file (a pipe would
    wait forever), else av.FFmpegError as `av.open` raises."""
    import av

    from .errors import BopBotError

    problem = file_problem(path)
    if problem:
        raise BopBotError(path, f"is {problem}" if problem != "missing" else "no such file")
    return av.open(os.path.abspath(path), options={"protocol_whitelist": "file", "format_whitelist": _readers()})


@functools.cache
def _readers() -> str:
    """FFmpeg's readers, but the `FOLLOWING_FORMATS`, as its `format_whitelist` option takes them."""
    import av

    return ",".join(sorted(av.formats_available - FOLLOWING_FORMATS))

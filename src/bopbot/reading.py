"""Files read as checked: the one reader of each kind of file BopBot reads whole (the arrays of a
`.npz` or `.npy`, JSON, the model folder's safetensors, a video or song), each refusing in one line,
naming the file, what is not that kind of file, before anything of the size it declares is allocated.
(Writing safely is `files.py`'s job.)
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path


#: The most arrays a `.npz` BopBot reads may hold (a pose sequence has six).
MAX_ARRAYS = 64


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
        # some of json's messages end in "at" ("Unterminated string starting at"): said once
        raise BopBotError(path, f"corrupt {what}: {exc.msg.removesuffix(' at')} at line {exc.lineno} column "
                                f"{exc.colno}") from None
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

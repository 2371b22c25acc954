"""The one error type BopBot raises for bad input: it names the file and the problem."""

from __future__ import annotations

import errno
import os


def shown(text: str | os.PathLike) -> str:
    """`text` (a path, or a message holding one) as one printable line: what a terminal would act on
    (a newline, an escape) is written as Python writes it in a string, and the bytes of a file name
    that are not UTF-8 (legal on Linux, held by Python as surrogates) as `\\xNN`."""
    text = os.fsdecode(text) if isinstance(text, bytes) else str(text)
    if text.isprintable():
        return text
    out = []
    for char in text:
        if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte os.fsdecode could not read as UTF-8
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif char.isprintable():
            out.append(char)
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


class BopBotError(Exception):
    """A problem with an input that the user can fix; printed as one line, never a traceback."""

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fsdecode(path)
        self.problem = problem
        super().__init__(shown(f"{self.path}: {problem}" if self.path else problem))

    def __reduce__(self):
        """Pickled by its path and problem, so it crosses from the model's process intact."""
        return BopBotError, (self.path, self.problem)


def reason(exc: BaseException) -> str:
    """Why `exc` happened, in one line: the system's own words for an OSError ("No space left on
    device"), else the exception's text with its line breaks folded."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split())[:200]


def os_error(exc: OSError, path: str | os.PathLike | None = None, doing: str | None = None) -> BopBotError:
    """An OSError of the system (no permission, a symlink loop, a name too long) as the BopBotError
    that names its file (`path` if given, else the file the system named), with what could not be
    done where the caller knows it ("cannot read it: Permission denied"), else the system's words
    alone: a refusal caught far from its cause may have come from a read or a write."""
    path = path if path is not None else exc.filename
    if exc.errno == errno.ELOOP:
        return BopBotError(path, "is a loop of symbolic links (it leads back to itself)")
    why = exc.strerror or str(exc)
    return BopBotError(path, f"cannot {doing} it: {why}" if doing else why)

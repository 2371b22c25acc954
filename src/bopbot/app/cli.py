"""The `bopbot` command line: one program, a verb per job (each in `bopbot.app.verbs`).

Exit codes: 0 success; 1 an input or option was bad (one line on stderr says which and why);
2 the command line itself was wrong; 3 a batch finished but some inputs failed (they are listed
and the rest landed); 130 interrupted (run the same command again to resume); 141 the reader of
its output went away (`| head`), said by nothing, as other tools end.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import select
import sys
import warnings

from ..errors import BopBotError, os_error, shown
from ..files import made_folders, remove_made_folders
from . import startup
from .limits import check_numbers
from .verbs import dance, demo, evaluate, extract, serve, tokens, train, vocab
from .verbs.options import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_NO_READER

#: The verbs that carry on from where an interrupted run stopped.
RESUMABLE = ("extract", "train")
#: The verbs, in the order `bopbot --help` lists them.
VERBS = {"extract": extract, "vocab": vocab, "train": train, "dance": dance, "demo": demo, "tokens": tokens,
         "evaluate": evaluate, "serve": serve}


def _forget_an_interrupted_exec() -> None:
    """A Ctrl-C that lands inside an `exec` of a string (dataclasses and other libraries make code so
    as modules load) leaves CPython's note that a KeyboardInterrupt went unhandled set, although this
    run caught it, and at its exit `python -m bopbot` killed itself with SIGINT (status -2, not 130:
    8 of 60 interrupted `evaluate`s, none of 70 with this). Each `exec` of a string clears that note
    as it starts: this one clears it, and does nothing else."""
    exec("")


def _reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (`| head` that read what it wanted)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # stdout replaced by something with no descriptor
        return False


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line of BopBot's own, without the source location, above any progress bar
    being drawn (tqdm clears it, writes the line and draws it again), not inside the bar's line."""
    _say(f"bopbot: warning: {shown(message)}")


def _say(line: str) -> None:
    """`line` on stderr, on a line of its own where progress bars are drawn there."""
    if "tqdm" in sys.modules:
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr)


def _close_bars() -> None:
    """Close the progress bars a run that ends in an error or a Ctrl-C left drawn, so that the line
    saying why comes last, on a line of its own: it was written into the bar's line, and the bar,
    closed only when collected, drawn again after it."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", ())):
        bar.close()


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line said in one line (its usage is in --help)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line. With `only`, just that verb's arguments are built (none for a name that is
    no verb): building a verb's arguments imports its modules for their defaults, and neither
    `bopbot --help` nor any one verb needs the others'."""
    parser = _Parser(prog="bopbot", description="BopBot, the AI dancer: watches a dance and keeps dancing.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name, verb in VERBS.items():
        if only is None or only == name:
            verb.add_parser(verbs)
        else:
            verbs.add_parser(name, help=verb.SUMMARY)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; bad input ends in one line on stderr and a non-zero exit, never a traceback.
    A run that fails takes back the empty folders it made."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(only=argv[0] if argv else "").parse_args(argv)
    warnings.showwarning = _show_warning
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is printed, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    made_folders.clear()
    try:
        startup.ready()  # a Ctrl-C from here on is a KeyboardInterrupt (one), said below
        check_numbers(args)
        code = VERBS[args.verb].run(args)
        sys.stdout.flush()  # a reader gone before the last line is found here, not at Python's exit
    except BopBotError as exc:
        code = _fail(str(exc))
    except KeyboardInterrupt:
        again = "; run the same command again to resume" if args.verb in RESUMABLE else ""
        _close_bars()
        print(f"bopbot: interrupted{again}", file=sys.stderr)
        _forget_an_interrupted_exec()
        if args.verb not in RESUMABLE:  # nothing to resume into: the empty folders it made go
            remove_made_folders()
        return EXIT_INTERRUPTED
    except Exception as exc:
        loop = re.fullmatch(r"Symlink loop from '(.*)'", str(exc)) if isinstance(exc, RuntimeError) else None
        if isinstance(exc, BrokenPipeError) and _reader_gone():  # nothing wrong, nobody to tell
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # what is left goes nowhere at exit
            return EXIT_NO_READER
        if isinstance(exc, OSError) and exc.filename is not None:  # the system refused a file: ordinary
            code = _fail(str(os_error(exc)))
        elif isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):  # no file named:
            code = _fail(f"cannot write: {exc.strerror} (the standard output, or the disk written to, is full)")
        elif loop:  # pathlib's resolve() says so for a loop of symbolic links (Python 3.11)
            code = _fail(str(BopBotError(loop[1], "is a loop of symbolic links (it leads back to itself)")))
        elif os.environ.get("BOPBOT_DEBUG"):
            raise
        else:
            code = _fail(f"unexpected {type(exc).__name__}: {shown(exc)} (set BOPBOT_DEBUG=1 for the traceback)")
    if code == EXIT_BAD_INPUT:
        remove_made_folders()
    return code


def _fail(said: str) -> int:
    _close_bars()
    print(f"bopbot: error: {said}", file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())

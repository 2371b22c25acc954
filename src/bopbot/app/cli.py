"""The `bopbot` command line: one program, a verb per job (each in `bopbot.app.verbs`).

Exit codes: 0 success; 1 an input or option was bad (one line on stderr says which and why);
2 the command line itself was wrong; 3 a batch finished but some inputs failed (they are listed
and the rest landed); 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import numbers
import os
import re
import sys
import warnings

from ..errors import BopBotError, os_error, shown
from ..files import made_folders, remove_made_folders
from .verbs import dance, demo, evaluate, extract, serve, tokens, train, vocab
from .verbs.options import EXIT_BAD_INPUT, EXIT_INTERRUPTED

#: The longest new dance `--seconds` asks for (10 minutes: 12,000 words, a few minutes' work here).
MAX_SECONDS = 600.0
#: Every numeric option, by its name in `args`: (lowest, highest, whether the lowest itself is
#: allowed). `check_numbers` holds every verb to it, and `api.Dancer.dance` its keywords of these
#: names, so no infinite, NaN, huge or negative value gets past the command line or the API.
LIMITS = {
    "seconds": (0.0, MAX_SECONDS, False), "context_seconds": (0.0, 3600.0, False),
    "min_context_seconds": (0.0, 3600.0, False), "temperature": (0.0, 100.0, False), "top_k": (0, 10**6, True),
    "top_p": (0.0, 1.0, False), "echo": (0.0, 100.0, True), "seed": (0, 2**32 - 1, True),
    "source_fps": (0.1, 1000.0, True), "jobs": (1, 1024, True), "k": (2, 10**7, True), "niter": (1, 10**5, True),
    "max_training_frames": (1, 10**10, True), "steps": (1, 10**8, True), "batch_size": (1, 10**5, True),
    "learning_rate": (0.0, 10.0, False), "eval_every": (1, 10**8, True), "n_layer": (1, 128, True),
    "n_head": (1, 128, True), "n_embd": (1, 16384, True), "context": (2, 8192, True), "dropout": (0.0, 0.95, True),
    "validation_fraction": (0.0, 0.5, True), "seeds": (1, 1000, True), "resamples": (10, 10**6, True),
    "port": (1, 65535, True), "max_upload_mb": (0.0, 10**5, False), "max_clip_seconds": (0.0, 3600.0, False),
}

#: The verbs that carry on from where an interrupted run stopped.
RESUMABLE = ("extract", "train")
#: The verbs, in the order `bopbot --help` lists them.
VERBS = {"extract": extract, "vocab": vocab, "train": train, "dance": dance, "demo": demo, "tokens": tokens,
         "evaluate": evaluate, "serve": serve}


def check_numbers(args: argparse.Namespace) -> None:
    """Raise a BopBotError naming the first option of `LIMITS` that `args` holds outside its range."""
    for name in LIMITS:
        check_number(name, getattr(args, name, None), f"--{name.replace('_', '-')}")


def check_number(name: str, value, called: str) -> None:
    """Raise a BopBotError naming the option as it was `called` (`--top-k` on the command line,
    `top_k=` in Python) unless `value` is None (not given) or a number in the range `LIMITS[name]`
    holds: a whole number where the range is of integers."""
    if value is None:
        return
    low, high, low_allowed = LIMITS[name]
    whole = isinstance(low, int)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if whole else numbers.Real):
        raise BopBotError(None, f"{called} must be {'a whole number' if whole else 'a number'}, got {value!r:.60}")
    above_low = value >= low if low_allowed else value > low
    if not (above_low and value <= high):  # NaN fails both
        floor = f"at least {low:.12g}" if low_allowed else f"above {low:.12g}"
        huge = isinstance(value, numbers.Integral) and abs(value) > 1e308  # past what a float shows
        raise BopBotError(None, f"{called} must be {floor} and at most {high:.12g}, "
                                f"got {'an integer of over 308 digits' if huge else format(value, '.12g')}")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line of BopBot's own, without the source location."""
    print(f"bopbot: warning: {shown(message)}", file=sys.stderr)


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
        check_numbers(args)
        code = VERBS[args.verb].run(args)
    except BopBotError as exc:
        code = _fail(str(exc))
    except KeyboardInterrupt:
        again = "; run the same command again to resume" if args.verb in RESUMABLE else ""
        print(f"bopbot: interrupted{again}", file=sys.stderr)
        if args.verb not in RESUMABLE:  # nothing to resume into: the empty folders it made go
            remove_made_folders()
        return EXIT_INTERRUPTED
    except Exception as exc:
        loop = re.fullmatch(r"Symlink loop from '(.*)'", str(exc)) if isinstance(exc, RuntimeError) else None
        if isinstance(exc, OSError) and exc.filename is not None:  # the system refused a file: ordinary
            code = _fail(str(os_error(exc)))
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
    print(f"bopbot: error: {said}", file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())

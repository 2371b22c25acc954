"""Where the `bopbot` program starts (its console script and `python -m bopbot`): Ctrl-C is taken
care of before anything else is imported.

The command line says a Ctrl-C in one line once its `main` is under way. Before that, for the
0.1 to 0.5 s its modules take to import, Python's own handling of a Ctrl-C showed a traceback, or an
`ImportError: numpy._core.multiarray failed to import` with exit 1: an extension module that loads
NumPy's C interface (OpenCV, PyAV) prints the KeyboardInterrupt that lands there and raises that
error in its place, so no `except` can tell it for a Ctrl-C. Here a Ctrl-C during start-up ends the
program at once, saying `bopbot: interrupted`, with exit 130: it has made nothing to take back yet.
`ready` gives Ctrl-C back to Python once `cli.main` catches it. This module imports nothing heavy.
"""

from __future__ import annotations

import os

import _signal as signal  # the module `signal` wraps, there at once: `signal` first builds enums (4 ms)

#: The handler there was before `main`'s, given back by `ready`.
_before = None


def _interrupted_at_start(number, frame) -> None:
    """A Ctrl-C before the command line can say it: said as it says it, and the program ends (no
    exception is raised, which an import under way could turn into another)."""
    os.write(2, b"bopbot: interrupted\n")
    os._exit(130)  # `cli.EXIT_INTERRUPTED`, which is not imported yet


def main() -> int:
    """Run the command line, a Ctrl-C during its start-up said in one line (where Python would have
    raised a KeyboardInterrupt for it: not where the program was started with Ctrl-C ignored)."""
    global _before

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        _before = signal.signal(signal.SIGINT, _interrupted_at_start)
    from .cli import main as run

    return run()


def ready() -> None:
    """The command line now says a Ctrl-C itself: Python's handling of it is given back (where
    `main` changed it; a program that runs `cli.main` itself keeps its own)."""
    global _before

    if _before is not None and signal.getsignal(signal.SIGINT) is _interrupted_at_start:
        signal.signal(signal.SIGINT, _before)
        _before = None

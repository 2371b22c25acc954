"""A Ctrl-C while the `bopbot` program starts (`bopbot.__main__.main`, its console script and `python
-m bopbot`) is said in one line, before anything else is imported.

The command line says a Ctrl-C in one line once its `main` is under way. Before that, for the
0.1 to 0.5 s its modules take to import, Python's own handling of a Ctrl-C showed a traceback, or an
`ImportError: numpy._core.multiarray failed to import` with exit 1: an extension module that loads
NumPy's C interface (OpenCV, PyAV) prints the KeyboardInterrupt that lands there and raises that
error in its place, so no `except` can tell it for a Ctrl-C. `say_ctrl_c` makes a Ctrl-C during
start-up end the program at once, saying `bopbot: interrupted`, with exit 130: it has made nothing
to take back yet. `ready` makes it a KeyboardInterrupt again once `cli.main` catches it, and only
the first: more while the run ends are ignored. This module imports nothing heavy.
"""

from __future__ import annotations

import os

import _signal as signal  # the module `signal` wraps, there at once: `signal` first builds enums (4 ms)

#: Whether `say_ctrl_c` took Ctrl-C over, for `ready` to hand it on.
_taken = False
#: Whether a Ctrl-C is ending the program.
_ending = False


def _interrupted_at_start(number, frame) -> None:
    """A Ctrl-C before the command line can say it: said as it says it, and the program ends (no
    exception is raised, which an import under way could turn into another). A second Ctrl-C that
    comes meanwhile (`timeout -s INT` sends two: to the process, and to its group) is ignored: it
    said the line twice. (Not by SIG_IGN: Python raises "Signal 2 ignored due to race condition"
    for one that came before it.)"""
    global _ending

    if _ending:
        return
    _ending = True
    os.write(2, b"bopbot: interrupted\n")
    os._exit(130)  # `cli.EXIT_INTERRUPTED`, which is not imported yet


def _interrupt(number, frame) -> None:
    """A Ctrl-C once the command line says it: the first is a KeyboardInterrupt, as Python makes it;
    any more while the run ends for it are ignored (a second press, or the second signal of
    `timeout -s INT`, raised another inside `cli.main`'s handling of the first: a traceback under
    its line)."""
    global _ending

    if not _ending:
        _ending = True
        raise KeyboardInterrupt


def say_ctrl_c() -> None:
    """From now until `ready`, a Ctrl-C ends the program saying so (where Python would have raised a
    KeyboardInterrupt for it: not where the program was started with Ctrl-C ignored)."""
    global _taken

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted_at_start)
        _taken = True


def ready() -> None:
    """The command line now says a Ctrl-C itself: from here it is a KeyboardInterrupt, once
    (`_interrupt`). Only where `say_ctrl_c` took it over: a program that runs `cli.main` itself
    (a test) keeps its own handling."""
    if _taken and signal.getsignal(signal.SIGINT) is _interrupted_at_start:
        signal.signal(signal.SIGINT, _interrupt)

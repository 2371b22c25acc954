"""Starting worker processes safely under Ctrl-C.

A process started by multiprocessing's spawn is sent its start-up data through a pipe just after it
is created. A Ctrl-C in between (Python raises it at the next instruction) leaves the pipe empty,
and the new process dies printing `EOFError: Ran out of input` under the run's own one-line
message: seen in the interrupted-dance test, and reproduced for `bopbot extract`'s workers too.
`ctrl_c_held` holds a Ctrl-C back while processes start, and raises it once they have: the run
then stops them as it stops any (`ModelProcess.close`, the corpus's pool shut down). The processes
it starts never see a Ctrl-C themselves (the terminal sends it to them too): they leave it to the
run, and one that came in their own start-up printed a traceback.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """While inside, a Ctrl-C is only noted; once out, it is raised (by the handler there was). Blocking
    the signal in this thread would not do for that (any other thread may take it, and Python raises
    it in the main one all the same); it is blocked as well, for the processes started inside, which
    inherit it so. Outside the main thread (which alone has Ctrl-C), nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append((number, frame)))
    blocked = None
    if hasattr(signal, "pthread_sigmask"):  # POSIX
        # The processes started here inherit it blocked: a Ctrl-C, which the terminal sends them too,
        # never lands in their start-up (Python's own, before their code ignores it), where it
        # printed a traceback under the run's one line. multiprocessing starts its resource tracker
        # so, and then unblocks it, whatever it was: the tracker is started first. Unblocked below,
        # a Ctrl-C that came meanwhile is noted by the handler above.
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if blocked is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(*caught[0])

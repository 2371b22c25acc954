"""Work ahead in a thread: the next items of an iterator made while the caller uses the last one
(`read_ahead`); or behind: items the caller made, used in a thread while it makes the next (`Behind`).

On two cores, decoding the video runs ahead of pose detection, and drawing the dancer ahead of
H.264 encoding, so each pair keeps both cores busy. PyAV, MediaPipe and OpenCV release Python's
GIL in their C code, so the thread runs alongside (`benchmarks/extract.py`: extraction at 0.97x
bare MediaPipe's throughput, decoding included, against 0.78x decoding first). The queue is
bounded, so a fast producer holds at most `depth` items; an exception in the thread is raised in
the caller where that item would have come; a caller that stops early stops the thread and closes
the iterator (a video file is closed at once).

Every such thread is a daemon, so a run that ends never waits on one; but Python kills a daemon
thread mid-call when the interpreter finalises, and one killed inside OpenCV or PyAV aborts the
whole process ("terminate called without an active exception", exit -6: an interrupted dance did
so where its drawing thread was left running). So each live thread is listed with how to stop it,
and `stop_all`, run at exit (before Python stops its daemon threads), ends them first: for the
command line, the page and a program using the Python API alike.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import threading
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")

_END = object()

#: The threads working ahead or behind now, each with what stops it.
_LIVE: dict[threading.Thread, Callable[[], None]] = {}
_LIVE_LOCK = threading.Lock()


def _started(thread: threading.Thread, stop: Callable[[], None]) -> None:
    with _LIVE_LOCK:
        _LIVE[thread] = stop
    thread.start()


def _ended() -> None:
    """Said by a listed thread as it ends."""
    with _LIVE_LOCK:
        _LIVE.pop(threading.current_thread(), None)


def stop_all(timeout: float = 10.0) -> None:
    """Stop every thread still working ahead or behind, and wait (up to `timeout` s each) until
    each has left the item it was on: afterwards none is inside a library's code."""
    with _LIVE_LOCK:
        live = list(_LIVE.items())
    for _, stop in live:
        stop()
    for thread, _ in live:
        with contextlib.suppress(RuntimeError):  # "before it is started": a Ctrl-C came as it was listed
            thread.join(timeout)


atexit.register(stop_all)


def read_ahead(items: Iterable[T], depth: int = 8) -> Iterator[T]:
    """Yield what `items` yields, computed up to `depth` items ahead in a thread."""
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        """Queue `entry` unless the caller has gone; False when it has."""
        while not stop.is_set():
            try:
                waiting.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as exc:  # handed to the caller, which raises it
            put((_END, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
            _ended()

    thread = threading.Thread(target=produce, name="bopbot-read-ahead", daemon=True)
    _started(thread, stop.set)
    try:
        while True:
            item, error = waiting.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()


class Behind:
    """Items handed to `consume`, in order, in a thread, while the caller goes on making the next:
    the other way round from `read_ahead` (`bopbot dance` encodes the user's clip while the detector
    reads it). At most `depth` items wait; `put` blocks while that many do. An exception in the
    thread is raised by the next `put` or by `finish`; `stop` abandons what is left.

    With `low_priority`, the thread (and the threads it starts, such as x264's, which inherit it on
    Linux) runs at nice 10: it takes the cores only when the caller's work leaves them idle.
    """

    def __init__(self, consume: Callable[[T], None], depth: int = 8, low_priority: bool = False):
        self._consume, self._low_priority = consume, low_priority
        self._waiting: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bopbot-behind", daemon=True)
        _started(self._thread, self._abandon)

    def _run(self) -> None:
        if self._low_priority:
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # this thread alone, on Linux
            except (AttributeError, OSError):
                pass
        try:
            while (item := self._waiting.get()) is not _END and not self._stop.is_set():
                self._consume(item)
        except BaseException as exc:  # raised in the caller by its next put or finish
            self._error = exc
        finally:
            self._stop.set()
            _ended()

    def put(self, item: T) -> None:
        """Queue `item` for the thread (blocking while `depth` wait); raises the thread's error."""
        while not self._stop.is_set():
            try:
                self._waiting.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        self._raise("no longer takes items")

    def finish(self) -> None:
        """Wait until every item is consumed; raises the thread's error."""
        self.put(_END)
        self._thread.join()
        self._raise(None)

    def stop(self) -> None:
        """Abandon the items left and wait for the thread to end (its error, if any, is dropped)."""
        self._abandon()
        self._thread.join()

    def _abandon(self) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._waiting.put_nowait(_END)

    def _raise(self, otherwise: str | None) -> None:
        if self._error is not None:
            raise self._error
        if otherwise is not None:
            raise RuntimeError(f"the thread {otherwise}")

"""Work ahead in a thread: the next items of an iterator made while the caller uses the last one.

On two cores, decoding the video runs ahead of pose detection, and drawing the dancer ahead of
H.264 encoding, so each pair keeps both cores busy. PyAV, MediaPipe and OpenCV release Python's
GIL in their C code, so the thread runs alongside (`benchmarks/extract.py`: extraction at 0.97x
bare MediaPipe's throughput, decoding included, against 0.78x decoding first). The queue is
bounded, so a fast producer holds at most `depth` items; an exception in the thread is raised in
the caller where that item would have come; a caller that stops early stops the thread and closes
the iterator (a video file is closed at once).
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

_END = object()


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

    thread = threading.Thread(target=produce, name="bopbot-read-ahead", daemon=True)
    thread.start()
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

"""Work done ahead in a thread (`bopbot.ahead`) and the lazy imports that keep `bopbot --help` fast."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from bopbot.ahead import Behind, read_ahead
from bopbot.errors import BopBotError


def test_read_ahead_keeps_order_and_runs_ahead():
    made = []

    def numbers():
        for n in range(50):
            made.append(n)
            yield n

    items = read_ahead(numbers(), depth=4)
    assert next(items) == 0
    deadline = time.monotonic() + 5.0
    while len(made) < 5 and time.monotonic() < deadline:  # made ahead without being asked
        time.sleep(0.01)
    time.sleep(0.2)
    assert 5 <= len(made) <= 6  # 1 taken, 4 queued, at most 1 waiting to be queued: no further
    assert list(items) == list(range(1, 50))


def test_read_ahead_raises_where_the_item_would_have_come():
    def failing():
        yield 1
        yield 2
        raise BopBotError("clip.mp4", "is damaged")

    items = read_ahead(failing())
    assert [next(items), next(items)] == [1, 2]
    with pytest.raises(BopBotError, match="clip.mp4: is damaged"):
        next(items)


def test_a_caller_that_stops_early_closes_the_source():
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    items = read_ahead(endless(), depth=2)
    assert next(items) == 0
    items.close()
    assert closed.wait(2.0)


def test_behind_consumes_in_order_in_its_thread_while_the_caller_goes_on():
    done, threads = [], set()
    release = threading.Event()

    def consume(n):
        release.wait(5.0)
        threads.add(threading.get_ident())
        done.append(n)

    behind = Behind(consume, depth=100, low_priority=True)
    for n in range(50):
        behind.put(n)  # returns at once: nothing is consumed until released
    assert done == []
    release.set()
    behind.finish()
    assert done == list(range(50)) and threading.get_ident() not in threads


def test_behind_raises_its_error_in_the_caller_and_takes_nothing_more():
    def consume(n):
        if n == 3:
            raise BopBotError("out.mp4", "disk full")

    behind = Behind(consume, depth=2)
    with pytest.raises(BopBotError, match="out.mp4: disk full"):
        for n in range(100):
            behind.put(n)
    with pytest.raises(BopBotError, match="disk full"):
        behind.finish()


def test_behind_stopped_abandons_what_is_left():
    done, release = [], threading.Event()
    behind = Behind(lambda n: (release.wait(5.0), done.append(n)), depth=10)
    for n in range(5):
        behind.put(n)
    threading.Timer(0.2, release.set).start()
    behind.stop()
    assert len(done) <= 1


#: A program that ends while threads still work ahead and behind in OpenCV (the generator never
#: closed, as an interruption could leave it): before `stop_all`, 3 runs in 5 of this script aborted.
_LEFT_DRAWING = """
import sys, numpy as np, cv2
from bopbot.ahead import Behind, read_ahead

def frames():
    big = np.zeros((2000, 2000, 3), np.uint8)
    while True:
        yield cv2.GaussianBlur(big, (31, 31), 0)  # long calls into OpenCV, Python's lock let go

left = read_ahead(frames(), depth=1)
next(left)
behind = Behind(lambda image: cv2.GaussianBlur(image, (31, 31), 0), depth=1)
behind.put(next(left))
print("ending", file=sys.stderr)
sys.exit(7)
"""


def test_a_run_that_ends_with_threads_inside_opencv_exits_cleanly(tmp_path):
    """Python kills a daemon thread mid-call as the interpreter ends, and one killed inside OpenCV
    aborts the process ("terminate called without an active exception"): every thread working
    ahead or behind is stopped at exit first, so the program ends with its own code, every time."""
    for _ in range(5):
        run = subprocess.run([sys.executable, "-c", _LEFT_DRAWING], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120)
        assert run.returncode == 7 and run.stderr.strip() == "ending", (run.returncode, run.stderr)


_CTRL_C_AS_A_THREAD_STARTS = """
import sys, threading
from bopbot.ahead import read_ahead

def interrupted(thread):
    raise KeyboardInterrupt  # as a Ctrl-C lands after the thread is listed and before it runs

threading.Thread.start = interrupted
try:
    next(read_ahead(iter(range(3))))
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
sys.exit(130)
"""


def test_a_ctrl_c_as_a_thread_starts_ends_the_run_without_a_traceback(tmp_path):
    """A thread listed to be stopped at exit, and interrupted before it started: joining it at exit was
    a RuntimeError's traceback after `bopbot: interrupted` (seen once in a CI run of an interrupted dance)."""
    run = subprocess.run([sys.executable, "-c", _CTRL_C_AS_A_THREAD_STARTS], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 130 and run.stderr.strip() == "interrupted", (run.returncode, run.stderr)


@pytest.mark.parametrize("argv", [["--help"], ["dance", "--help"], ["demo", "--help"], ["extract", "--help"],
                                  ["evaluate", "--help"]])
def test_help_imports_neither_torch_nor_mediapipe(argv):
    """The parser builds only the verb asked for, so help never pays for torch (2 s), MediaPipe (1 s)
    or the evaluation's SciPy (`evaluate --help` took 1.3 s for its defaults)."""
    probe = ("import sys\nfrom bopbot.app.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
             "heavy = [m for m in ('torch', 'transformers', 'mediapipe', 'scipy.interpolate', 'scipy.signal') if m in sys.modules]\n"
             "print(','.join(heavy) or 'none')" % argv)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "none"

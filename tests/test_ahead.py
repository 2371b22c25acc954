"""Work done ahead in a thread (`bopbot.ahead`) and the lazy imports that keep `bopbot --help` fast."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from bopbot.ahead import read_ahead
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


@pytest.mark.parametrize("argv", [["--help"], ["dance", "--help"], ["demo", "--help"], ["extract", "--help"]])
def test_help_imports_neither_torch_nor_mediapipe(argv):
    """The parser builds only the verb asked for, so help never pays for torch (2 s) or MediaPipe (1 s)."""
    probe = ("import sys\nfrom bopbot.app.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
             "heavy = [m for m in ('torch', 'transformers', 'mediapipe', 'scipy.interpolate') if m in sys.modules]\n"
             "print(','.join(heavy) or 'none')" % argv)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "none"

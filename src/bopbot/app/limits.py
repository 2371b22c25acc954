"""The ranges every numeric option and keyword is held to, the command line's (`cli`), the Python
API's (`api`) and the web page's sampling settings (`serve`) alike, in one place: no infinite, NaN,
huge or negative value gets past them."""

from __future__ import annotations

import argparse
import numbers

from ..errors import BopBotError

#: The longest new dance `--seconds` asks for (10 minutes: 12,000 words, a few minutes' work here).
MAX_SECONDS = 600.0
#: Every numeric option, by its name in `args`: (lowest, highest, whether the lowest itself is
#: allowed). `check_numbers` holds every verb of `cli` to it, `api.Dancer.dance` its keywords of these
#: names and `serve.Dancer.dance` the page's sampling settings, so no infinite, NaN, huge or negative
#: value gets past the command line, the API or the page.
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


def check_numbers(args: argparse.Namespace) -> None:
    """Raise a BopBotError naming the first option of `LIMITS` that `args` holds outside its range,
    as it is spelled on the command line (`-k`, `--top-k`)."""
    for name in LIMITS:
        dashes = "-" if len(name) == 1 else "--"  # a one-letter option is only ever a short one
        check_number(name, getattr(args, name, None), dashes + name.replace("_", "-"))


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

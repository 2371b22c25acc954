"""`data/splines.py`: the curves that move pose words and play a dance at the user's pace, held to
SciPy's `PchipInterpolator` and `CubicSpline`, which they stand in for without their import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.interpolate import CubicSpline, PchipInterpolator

from bopbot.data.splines import cubic_spline, pchip


@pytest.mark.parametrize("knots", [2, 3, 4, 5, 9, 240])
def test_the_not_a_knot_spline_is_scipys(knots):
    rng = np.random.default_rng(knots)
    y = rng.normal(size=(knots, 17, 2))
    y[rng.random(knots) < 0.2] = 0.0  # held stretches too
    at = np.sort(rng.uniform(-0.5, knots - 0.5, 500))  # a little past either end as well
    expected = CubicSpline(np.arange(knots), y, axis=0)(at)
    np.testing.assert_allclose(cubic_spline(y, at), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("knots", [2, 3, 4, 7, 120])
def test_the_monotone_cubic_is_scipys(knots):
    rng = np.random.default_rng(knots)
    x = np.cumsum(rng.uniform(0.5, 3.0, knots))
    y = rng.normal(size=(knots, 34))
    y[rng.random(knots) < 0.3] = 0.0  # flats and turns, where its slopes are zero
    at = np.concatenate([x, np.sort(rng.uniform(x[0], x[-1], 500))])
    expected = PchipInterpolator(x, y, axis=0)(at)
    np.testing.assert_allclose(pchip(x, y, at), expected, rtol=0, atol=1e-9)


def test_the_monotone_cubic_never_overshoots_a_keyframe():
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([0.0, 0.0, 1.0, 1.0, 0.5])[:, None]
    moved = pchip(x, y, np.linspace(0, 4, 401))
    assert moved.min() >= 0.0 and moved.max() <= 1.0


def test_a_dance_is_written_without_importing_scipy_interpolate():
    """What the demo writes, in a fresh interpreter: importing scipy.interpolate was 0.5 to 0.9 s of it."""
    code = ("import sys\n"
            "from bopbot.app.api import Dancer\n"
            "Dancer.load().dance(None, 2, seed=0).keypoints\n"
            "print('scipy.interpolate' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1:] == ["False"], done.stderr[-2000:]

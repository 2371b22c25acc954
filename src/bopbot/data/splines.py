"""Cubic curves through keyframes, in NumPy: the monotone cubic (PCHIP) that moves pose words
(`word_motion`) and the not-a-knot cubic spline that plays a dance at the user's pace (`pace`).

They compute what SciPy's `PchipInterpolator` and `CubicSpline` (its default, not-a-knot, ends)
do, to float rounding (`tests/test_splines.py` holds them to SciPy's), without importing
`scipy.interpolate`, which `bopbot demo` and the model's process of `bopbot dance` paid at every
start: 0.26 to 0.36 s once numpy and scipy.ndimage are in (5 runs). The demo's poses are the same
to 6e-5 px; the whole demo, alternated 10 times with the commit before, was faster in 6 (median
-0.08 s, within the machine's noise of +-0.9 s).
"""

from __future__ import annotations

import numpy as np


def pchip(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The monotone piecewise cubic through (`x`, `y`) (x increasing; y of shape (len(x), ...)) at
    `at`, which must lie within x's range: Fritsch and Butland's slopes (a weighted harmonic mean of
    the secants either side, zero where they change sign), three-point slopes at the ends kept to
    the data's shape (Moler's `pchip`), and Hermite cubics between."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    at = np.asarray(at, dtype=np.float64)
    flat = y.reshape(len(x), -1)
    h = np.diff(x)[:, None]
    secant = np.diff(flat, axis=0) / h
    slopes = _pchip_slopes(h, secant)
    piece = np.clip(np.searchsorted(x, at, side="right") - 1, 0, len(x) - 2)
    width = h[piece]
    t = (at - x[piece])[:, None] / width
    t2, t3 = t * t, t * t * t
    out = ((2 * t3 - 3 * t2 + 1) * flat[piece] + (t3 - 2 * t2 + t) * width * slopes[piece]
           + (-2 * t3 + 3 * t2) * flat[piece + 1] + (t3 - t2) * width * slopes[piece + 1])
    return out.reshape((len(at),) + y.shape[1:])


def _pchip_slopes(h: np.ndarray, secant: np.ndarray) -> np.ndarray:
    """The slope at every knot, from the (n-1, 1) interval widths and (n-1, m) secants."""
    if len(secant) == 1:  # two knots: the straight line
        return np.repeat(secant, 2, axis=0)
    slopes = np.zeros((len(secant) + 1, secant.shape[1]))
    before, after = secant[:-1], secant[1:]
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    flat_or_turning = (np.sign(before) != np.sign(after)) | (before == 0) | (after == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 / before + w2 / after) / (w1 + w2)
        slopes[1:-1] = np.where(flat_or_turning, 0.0, 1.0 / harmonic)
    slopes[0] = _end_slope(h[0], h[1], secant[0], secant[1])
    slopes[-1] = _end_slope(h[-1], h[-2], secant[-1], secant[-2])
    return slopes


def _end_slope(h0: np.ndarray, h1: np.ndarray, m0: np.ndarray, m1: np.ndarray) -> np.ndarray:
    """The end knot's slope: the three-point estimate, zero where its sign is not the first secant's,
    and at most three times that secant where the secants turn."""
    slope = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    wrong_sign = np.sign(slope) != np.sign(m0)
    overshoots = (np.sign(m0) != np.sign(m1)) & (np.abs(slope) > 3 * np.abs(m0))
    return np.where(wrong_sign, 0.0, np.where(overshoots, 3 * m0, slope))


def cubic_spline(y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The cubic spline with not-a-knot ends through `y` (shape (n, ...)) at the knots 0, 1, ..., n-1,
    evaluated at `at` (beyond the ends, the end pieces carry on). Two knots give the line, three the
    parabola through them."""
    y = np.asarray(y, dtype=np.float64)
    at = np.asarray(at, dtype=np.float64)
    flat = y.reshape(len(y), -1)
    n = len(flat)
    curvature = _not_a_knot_curvatures(flat)  # the second derivative at each knot
    piece = np.clip(np.floor(at).astype(np.int64), 0, n - 2)
    u = (at - piece)[:, None]
    v = 1 - u
    m0, m1 = curvature[piece], curvature[piece + 1]
    out = m0 * v**3 / 6 + m1 * u**3 / 6 + (flat[piece] - m0 / 6) * v + (flat[piece + 1] - m1 / 6) * u
    return out.reshape((len(at),) + y.shape[1:])


def _not_a_knot_curvatures(y: np.ndarray) -> np.ndarray:
    """Second derivatives M at unit-spaced knots: M[i-1] + 4 M[i] + M[i+1] = 6 (y[i-1] - 2 y[i] + y[i+1])
    inside, and not-a-knot ends (M[0] - 2 M[1] + M[2] = 0, the same at the other end). Put into the
    first and last equations, the ends give 6 M[1] and 6 M[n-2] their right-hand sides; the rest is
    tridiagonal (1, 4, 1), solved by elimination down and back."""
    n = len(y)
    curvature = np.zeros_like(y)
    if n < 3:
        return curvature
    right = 6 * (y[:-2] - 2 * y[1:-1] + y[2:])  # for knots 1 .. n-2
    if n == 3:
        curvature[:] = right[0] / 6
        return curvature
    curvature[1], curvature[n - 2] = right[0] / 6, right[-1] / 6
    inner = right[1:-1].copy()  # knots 2 .. n-3
    if len(inner):
        inner[0] -= curvature[1]
        inner[-1] -= curvature[n - 2]
        diagonal = np.full(len(inner), 4.0)
        for i in range(1, len(inner)):
            factor = 1.0 / diagonal[i - 1]
            diagonal[i] -= factor
            inner[i] -= factor * inner[i - 1]
        inner[-1] /= diagonal[-1]
        for i in range(len(inner) - 2, -1, -1):
            inner[i] = (inner[i] - inner[i + 1]) / diagonal[i]
        curvature[2:n - 2] = inner
    curvature[0] = 2 * curvature[1] - curvature[2]
    curvature[n - 1] = 2 * curvature[n - 2] - curvature[n - 3]
    return curvature

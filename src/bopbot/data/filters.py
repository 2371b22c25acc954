"""Smoothing and running extremes along one axis, in NumPy: the numbers of `scipy.ndimage`'s
`gaussian_filter1d`, `minimum_filter1d`, `maximum_filter1d` and `uniform_filter1d`, to the bit.

Why not scipy's own: a dance imports what it runs, and importing `scipy.ndimage` (with the
`scipy.special` and `scipy.sparse` it pulls in) took 0.27 s of each of the two processes of
`bopbot dance` (the video's and the model's), where every use is a filter over a few hundred
frames (measured once, 2026-12-07). Now the video's process imports no scipy; the model's imports
`scipy.special` alone, for the exact GELU of the word decoder and travel model (`models/runtime.py`).
Training and the evaluation keep scipy.

Each function does what scipy's C code does, in the same order of floating-point operations, so
the results are equal, not merely close (`tests/test_filters.py` holds them to scipy's on random
arrays, every mode, axis and size used here): the line is extended at its ends, copied to float64,
filtered, and written back in the input's floating type. Only the two boundary modes BopBot uses are
offered: "reflect" (d c b a | a b c d | d c b a) and "nearest" (a a a a | a b c d | d d d d).
"""

from __future__ import annotations

import numpy as np

#: scipy.ndimage's boundary modes, as `np.pad` names them.
_PADDING = {"reflect": "symmetric", "nearest": "edge"}


def gaussian_filter1d(values: np.ndarray, sigma: float, axis: int = -1, mode: str = "reflect",
                      truncate: float = 4.0) -> np.ndarray:
    """`values` smoothed along `axis` by a Gaussian of `sigma` samples, cut at `truncate` sigmas."""
    radius = int(truncate * float(sigma) + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 / (sigma * sigma) * offsets**2)
    weights = weights / weights.sum()
    line, length, out_type = _extended(values, axis, radius, radius, mode)
    # scipy's symmetric-kernel loop: the centre times its weight, then each pair of samples the same
    # distance either side, summed first and weighted, from the farthest pair in
    out = line[radius:radius + length] * weights[radius]
    for distance in range(radius, 0, -1):
        out += (line[radius - distance:radius - distance + length] + line[radius + distance:radius + distance + length]) \
            * weights[radius - distance]
    return np.moveaxis(out, 0, axis).astype(out_type, copy=False)


def minimum_filter1d(values: np.ndarray, size: int, axis: int = -1, mode: str = "reflect",
                     origin: int = 0) -> np.ndarray:
    """The smallest of each `size` samples along `axis` (the window as scipy places it, `origin` included)."""
    return _extreme(np.minimum, values, size, axis, mode, origin)


def maximum_filter1d(values: np.ndarray, size: int, axis: int = -1, mode: str = "reflect",
                     origin: int = 0) -> np.ndarray:
    """The largest of each `size` samples along `axis` (the window as scipy places it, `origin` included)."""
    return _extreme(np.maximum, values, size, axis, mode, origin)


def uniform_filter1d(values: np.ndarray, size: int, axis: int = -1, mode: str = "reflect") -> np.ndarray:
    """The mean of each `size` samples along `axis`, as scipy computes it: a running sum (the first
    window's, then adding the sample entering and taking away the one leaving), over `size`."""
    before = size // 2
    line, length, out_type = _extended(values, axis, before, size - before - 1, mode)
    steps = np.empty_like(line[:length])
    steps[0] = np.add.accumulate(line[:size], axis=0)[-1]
    steps[1:] = line[size:size + length - 1] - line[:length - 1]
    return np.moveaxis(np.add.accumulate(steps, axis=0) / size, 0, axis).astype(out_type, copy=False)


def _extreme(pick, values: np.ndarray, size: int, axis: int, mode: str, origin: int) -> np.ndarray:
    if not -(size // 2) <= origin <= (size - 1) // 2:
        raise ValueError(f"origin {origin} puts a window of {size} outside its sample")
    before = size // 2 + origin
    line, length, out_type = _extended(values, axis, before, size - 1 - before, mode)
    out = line[:length].copy()
    for offset in range(1, size):
        pick(out, line[offset:offset + length], out=out)
    return np.moveaxis(out, 0, axis).astype(out_type, copy=False)


def _extended(values: np.ndarray, axis: int, before: int, after: int, mode: str) -> tuple[np.ndarray, int, np.dtype]:
    """`values` as float64 with `axis` first, extended by `before` and `after` samples at its ends
    by `mode`; its length along the axis; the type to write the result in."""
    if mode not in _PADDING:
        raise ValueError(f"mode {mode!r}: one of {', '.join(_PADDING)}")
    values = np.asarray(values)
    out_type = values.dtype if np.issubdtype(values.dtype, np.floating) else np.dtype(np.float64)
    line = np.moveaxis(values.astype(np.float64, copy=False), axis, 0)
    extended = np.pad(line, [(before, after)] + [(0, 0)] * (line.ndim - 1), mode=_PADDING[mode])
    return extended, len(line), out_type

"""`bopbot.data.filters` gives scipy.ndimage's numbers to the bit (scipy stays installed for training
and the evaluation, so it is the reference here)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from bopbot.data import filters

#: Lengths from shorter than a kernel's reach (the ends reflected more than once) to a long dance.
LENGTHS = (1, 2, 5, 17, 240, 1201)


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("mode", ["reflect", "nearest"])
def test_gaussian_filter1d_equals_scipy(length, mode):
    rng = np.random.default_rng(length)
    for dtype in (np.float32, np.float64):
        values = rng.normal(size=(length, 17, 2)).astype(dtype) * 100
        for sigma, truncate in ((0.6, 4.0), (1.0, 4.0), (2.5, 4.0), (5.0, 4.0), (12.3, 4.0), (3.0, 2.0)):
            for axis in (0, 1, -1):
                expected = ndimage.gaussian_filter1d(values, sigma, axis=axis, mode=mode, truncate=truncate)
                found = filters.gaussian_filter1d(values, sigma, axis=axis, mode=mode, truncate=truncate)
                assert found.dtype == expected.dtype
                np.testing.assert_array_equal(found, expected, err_msg=f"sigma {sigma} axis {axis} {dtype}")


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("mode", ["reflect", "nearest"])
def test_minimum_maximum_and_uniform_filter1d_equal_scipy(length, mode):
    rng = np.random.default_rng(length + 1)
    values = rng.normal(size=(length, 3)) * 10
    for size in (1, 2, 3, 4, 9, 41):
        for origin in range(-(size // 2), (size - 1) // 2 + 1):
            for ours, theirs in ((filters.minimum_filter1d, ndimage.minimum_filter1d),
                                 (filters.maximum_filter1d, ndimage.maximum_filter1d)):
                np.testing.assert_array_equal(ours(values, size, axis=0, mode=mode, origin=origin),
                                              theirs(values, size, axis=0, mode=mode, origin=origin))
        np.testing.assert_array_equal(filters.uniform_filter1d(values, size, axis=0, mode=mode),
                                      ndimage.uniform_filter1d(values, size, axis=0, mode=mode))
        np.testing.assert_array_equal(filters.uniform_filter1d(values.astype(np.float32), size, axis=0, mode=mode),
                                      ndimage.uniform_filter1d(values.astype(np.float32), size, axis=0, mode=mode))


def test_an_unknown_mode_or_origin_is_refused():
    with pytest.raises(ValueError, match="mode 'wrap'"):
        filters.gaussian_filter1d(np.ones(5), 1.0, mode="wrap")
    with pytest.raises(ValueError, match="origin 3"):
        filters.maximum_filter1d(np.ones(5), 4, origin=3)

"""Float32 pixels that are bytes in disguise: every value ``float32(u) / float32(d)`` for a byte ``u``.

The original tutorial's ``mnist.pkl.gz`` stores its images as float32 rows, four bytes a pixel,
though each pixel holds one of 256 values: ``u / 256`` there (its pixels lie on a grid of 1/256
steps), ``u / 255`` in a pickle made from the IDX files by float32 division (as this package's
readers and torchvision scale bytes). Found so, bit for bit over the whole array, the bytes ``u``
and the divisor ``d`` stand for the floats exactly: a reader keeps them (a quarter of the memory,
a quarter of the bytes read an epoch) and hands out the same floats, or the bytes to kernels that
scale them as they load them (:func:`logistic_sgd.backends.numba.kernels.bytes_exact`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

DIVISORS = (255, 256)  # float32 division by 255 (IDX bytes scaled), and the original pickle's 1/256 grid
_CHUNK = 1 << 18  # values checked at a time: the temporaries stay in a core's cache


def find_bytes(x: NDArray[Any], divisors: tuple[int, ...] = DIVISORS) -> tuple[NDArray[np.uint8], int] | None:
    """``(u, d)`` with ``u`` uint8 of ``x``'s shape and ``d`` in ``divisors`` such that
    ``float32(u) / float32(d)`` equals ``x`` bit for bit, value by value; None where ``x`` is not
    float32 or no divisor gives every value (the first divisor that fits the first values is
    checked over the whole array).

    For each value, ``u = rint(x * d)`` must lie in ``[0, 255]`` and give ``x`` back: NaN, infinity,
    ``-0.0`` and any value off the grid fail. The check runs over blocks of values, and stops at the
    first block that fails.
    """
    if x.dtype != np.float32 or x.size == 0:
        return None
    flat = np.ascontiguousarray(x).reshape(-1)
    first = flat[:_CHUNK]
    u = np.empty(flat.shape, np.uint8)
    for d in divisors:
        if _fits(first, np.float32(d), u[: len(first)]) and _fits_all(flat, np.float32(d), u):
            return u.reshape(x.shape), d
    return None


def _fits_all(flat: NDArray[np.float32], d: np.float32, u: NDArray[np.uint8]) -> bool:
    return all(_fits(flat[lo : lo + _CHUNK], d, u[lo : lo + _CHUNK]) for lo in range(0, len(flat), _CHUNK))


def _fits(block: NDArray[np.float32], d: np.float32, out: NDArray[np.uint8]) -> bool:
    """Whether every value of ``block`` is ``float32(u) / d`` for a byte ``u``; the bytes go to ``out``."""
    grid = np.multiply(block, d)
    np.rint(grid, out=grid)
    grid += np.float32(0)  # -0.0 becomes 0.0, whose quotient then differs from -0.0 bit for bit
    if not (grid.min() >= 0 and grid.max() <= 255):  # NaN fails both
        return False
    back = np.divide(grid, d)
    if not np.array_equal(back.view(np.uint32), block.view(np.uint32)):  # -0.0 differs from 0.0 here
        return False
    np.copyto(out, grid, casting="unsafe")
    return True

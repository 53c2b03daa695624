"""Eight-lane float32 values in compiled kernels: loads, stores, and a multiply-add rounded once."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")
from numba import njit
from numba.core.errors import TypingError

from logistic_sgd.backends.numba.simd import fma8, load8, store8


@njit
def _copy_lanes(src: np.ndarray, i: int, j: int, dst: np.ndarray, k: int, m: int) -> None:
    store8(dst, k, m, load8(src, i, j))


@njit
def _fma_lanes(s: np.float32, x: np.ndarray, acc: np.ndarray, out: np.ndarray) -> None:
    store8(out, 0, 0, fma8(s, load8(x, 0, 0), load8(acc, 0, 0)))


def test_load8_and_store8_move_eight_floats_at_any_offset() -> None:
    src = np.arange(60, dtype=np.float32).reshape(3, 20)
    dst = np.zeros((2, 12), np.float32)
    _copy_lanes(src, 2, 5, dst, 1, 3)  # an unaligned start, in the middle of a row
    want = np.zeros((2, 12), np.float32)
    want[1, 3:11] = src[2, 5:13]
    np.testing.assert_array_equal(dst, want)


def test_fma8_rounds_once() -> None:
    """(1 + 2**-12)**2 - 1 = 2**-11 + 2**-24: a float32 product first would lose the 2**-24."""
    u = np.float32(1 + 2.0**-12)
    x = np.full((1, 8), u, np.float32)
    acc = np.full((1, 8), -1, np.float32)
    acc[0, 1:] = np.arange(1, 8, dtype=np.float32)
    out = np.empty((1, 8), np.float32)
    _fma_lanes(u, x, acc, out)
    assert out[0, 0] == np.float32(2.0**-11 + 2.0**-24) != u * u - np.float32(1)
    want = (np.float64(u) * np.float64(u) + acc[0, 1:].astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(out[0, 1:], want)


def test_only_c_ordered_float32_matrices_are_taken() -> None:
    dst = np.zeros((1, 8), np.float32)
    with pytest.raises(TypingError, match="C-ordered 2-D float32"):
        _copy_lanes(np.zeros((1, 8), np.float64), 0, 0, dst, 0, 0)
    with pytest.raises(TypingError, match="C-ordered 2-D float32"):
        _copy_lanes(np.zeros((8, 8), np.float32).T, 0, 0, dst, 0, 0)
    with pytest.raises(TypingError, match="scales by a float32"):
        _fma_lanes(1.0, dst, dst, dst)  # a float64 scale

"""Vectors of every width in compiled kernels: loads, stores, multiply-adds rounded once, the lanes'
sum in its stated order, and an exponential rounded correctly."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")
from numba import njit
from numba.core.errors import TypingError

from logistic_sgd.backends.numba.simd import (
    Width,
    add,
    div,
    exp,
    fma,
    full,
    hsum,
    hsums,
    lane,
    lane_count,
    load,
    load_first,
    maximum,
    registers,
    store,
    store_first,
    sub,
    where_greater,
    where_not_at_most,
    zeros,
)

WIDTHS = (16, 8, 4)


@njit
def _copy(w: Width, src: np.ndarray, i: int, j: int, dst: np.ndarray, k: int, m: int) -> None:
    store(dst, k, m, load(w, src, i, j))


@njit
def _copy_first(w: Width, src: np.ndarray, i: int, j: int, dst: np.ndarray, k: int, m: int, n: int) -> None:
    store_first(dst, k, m, load_first(w, src, i, j, n), n)


@njit
def _lanes_of(w: Width, a: np.ndarray) -> int:
    return lane_count(w, a)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loads_and_stores_move_one_vector_at_any_offset(width: int, dtype: type) -> None:
    count = width * 4 // np.dtype(dtype).itemsize  # a float64 lane takes two float32 lanes' room
    assert _lanes_of(Width(width), np.zeros((1, 1), dtype)) == count
    src = np.arange(3 * 40, dtype=dtype).reshape(3, 40)
    dst = np.zeros((2, 40), dtype)
    _copy(Width(width), src, 2, 5, dst, 1, 3)  # an unaligned start, in the middle of a row
    want = np.zeros((2, 40), dtype)
    want[1, 3 : 3 + count] = src[2, 5 : 5 + count]
    np.testing.assert_array_equal(dst, want)


@pytest.mark.parametrize("width", WIDTHS)
def test_first_lanes_read_zeros_past_n_and_write_nothing_past_n(width: int) -> None:
    src = np.arange(1, 41, dtype=np.float32).reshape(1, 40)
    for n in (-1, 0, 1, width - 1, width, width + 3):
        dst = np.full((1, 40), -7, np.float32)
        _copy_first(Width(width), src, 0, 2, dst, 0, 1, n)
        want = np.full((1, 40), -7, np.float32)
        m = min(max(n, 0), width)
        want[0, 1 : 1 + m] = src[0, 2 : 2 + m]
        np.testing.assert_array_equal(dst, want)


@njit
def _fma_scalar(w: Width, s: np.float32, x: np.ndarray, acc: np.ndarray, out: np.ndarray) -> None:
    store(out, 0, 0, fma(s, load(w, x, 0, 0), load(w, acc, 0, 0)))


@njit
def _fma_vector(w: Width, s: np.ndarray, x: np.ndarray, acc: np.ndarray, out: np.ndarray) -> None:
    store(out, 0, 0, fma(load(w, s, 0, 0), load(w, x, 0, 0), load(w, acc, 0, 0)))


@pytest.mark.parametrize("width", WIDTHS)
def test_fma_rounds_once(width: int) -> None:
    """(1 + 2**-12)**2 - 1 = 2**-11 + 2**-24: a float32 product first would lose the 2**-24."""
    u = np.float32(1 + 2.0**-12)
    x = np.full((1, width), u, np.float32)
    acc = np.arange(width, dtype=np.float32).reshape(1, width) - 1
    want = (np.float64(u) * np.float64(u) + acc.astype(np.float64)).astype(np.float32)
    for run, s in ((_fma_scalar, u), (_fma_vector, x)):
        out = np.empty((1, width), np.float32)
        run(Width(width), s, x, acc, out)
        assert out[0, 0] == np.float32(2.0**-11 + 2.0**-24) != u * u - np.float32(1)
        np.testing.assert_array_equal(out, want)


@njit
def _hsum(w: Width, v: np.ndarray) -> float:
    return hsum(load(w, v, 0, 0))


@pytest.mark.parametrize("width", WIDTHS)
def test_hsum_adds_the_halves_down_to_one_lane(width: int) -> None:
    """Lanes chosen so that every other order of the additions gives another float32."""
    rng = np.random.default_rng(width)
    for _ in range(50):
        v = (rng.normal(size=(1, width)) * 10.0 ** rng.integers(-8, 9, size=(1, width))).astype(np.float32)
        h = v[0]
        while len(h) > 1:
            h = h[: len(h) // 2] + h[len(h) // 2 :]
        assert _hsum(Width(width), v) == h[0]
    v = np.zeros((1, width), np.float32)
    v[0, :2] = 1e8, 1.0
    v[0, width // 2] = -1e8  # the tree adds 1e8 and -1e8 first: 1; in lane order 1 would be lost
    assert _hsum(Width(width), v) == 1.0


@njit
def _hsums(w: Width, a: np.ndarray) -> tuple:
    vectors = (load(w, a, 0, 0), load(w, a, 1, 0), load(w, a, 2, 0), load(w, a, 3, 0), load(w, a, 4, 0),
               load(w, a, 5, 0), load(w, a, 6, 0), load(w, a, 7, 0))
    return hsums(vectors), hsums(vectors[:4]), hsums(vectors[:1]), registers(w)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hsums_is_hsum_of_each_vector(width: int, dtype: type) -> None:
    """Several vectors' sums at once, in the same order as each alone (and so the same numbers)."""
    rng = np.random.default_rng(width)
    for _ in range(20):
        a = (rng.normal(size=(8, 16)) * 10.0 ** rng.integers(-8, 9, size=(8, 16))).astype(dtype)
        eight, four, one, regs = _hsums(Width(width, 32), a)
        want = [_hsum(Width(width), a[i : i + 1]) for i in range(8)]
        assert list(eight) == want and list(four) == want[:4] and list(one) == want[:1]
        assert regs == 32


@njit
def _arithmetic(w: Width, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    x, y = load(w, a, 0, 0), load(w, b, 0, 0)
    store(out, 0, 0, add(x, y))
    store(out, 1, 0, sub(x, y))
    store(out, 2, 0, div(x, y))
    store(out, 3, 0, maximum(x, y))
    store(out, 4, 0, full(w, a, 2.5))
    store(out, 5, 0, zeros(w, a))


@pytest.mark.parametrize("width", WIDTHS)
def test_lane_arithmetic_is_ieee(width: int) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 1, width)).astype(np.float32)
    b[0, 0] = np.nan  # maximum passes over a NaN in its second argument
    out = np.empty((6, width), np.float32)
    _arithmetic(Width(width), a, b, out)
    np.testing.assert_array_equal(out[0], a[0] + b[0])
    np.testing.assert_array_equal(out[1], a[0] - b[0])
    np.testing.assert_array_equal(out[2], a[0] / b[0])
    np.testing.assert_array_equal(out[3], np.where(b[0] > a[0], b[0], a[0]))
    np.testing.assert_array_equal(out[4:], [[2.5] * width, [0] * width])


@njit
def _choices(w: Width, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    for r in range(x.shape[0]):
        u, v, p, q = load(w, x, r, 0), load(w, y, r, 0), full(w, x, 1.0), full(w, x, 2.0)
        store(out, 3 * r, 0, where_greater(u, v, p, q))
        store(out, 3 * r + 1, 0, where_not_at_most(u, v, p, q))
        for i in range(lane_count(w, x)):
            out[3 * r + 2, i] = lane(u, i)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_choices_compare_as_ieee_and_lanes_read_back(width: int, dtype: type) -> None:
    """``where_greater`` is false and ``where_not_at_most`` true where either side is NaN; -0 and +0 are equal."""
    n = width * 4 // np.dtype(dtype).itemsize  # lanes
    pairs = [(1.0, 2.0), (2.0, 1.0), (1.0, 1.0), (-0.0, 0.0), (np.nan, 1.0), (1.0, np.nan), (np.inf, np.inf),
             (-np.inf, 3.0), (np.nan, np.nan), (5e-324 if dtype == np.float64 else 1e-45, 0.0)]
    rows = -(-len(pairs) // n)
    pairs = (pairs * n)[: rows * n]  # every pair on some row, every lane used
    x = np.array([a for a, _ in pairs], dtype).reshape(rows, n)
    y = np.array([b for _, b in pairs], dtype).reshape(rows, n)
    out = np.empty((3 * rows, n), dtype)
    _choices(Width(width), x, y, out)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(out[0::3], np.where(x > y, 1.0, 2.0))
        np.testing.assert_array_equal(out[1::3], np.where(~(x <= y), 1.0, 2.0))
    np.testing.assert_array_equal(out[2::3], x)


@njit
def _exp_all(w: Width, x: np.ndarray, out: np.ndarray) -> None:
    L, n = lane_count(w, x), x.shape[1]
    for k in range(0, n, L):
        store_first(out, 0, k, exp(load_first(w, x, 0, k, n - k)), n - k)


SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 88.72283, 88.7229, -87.33654, -103.97208, -103.9721,
           -104.0, -150.0, -1e30, 1e30, 1.0, -1.0, 0.5 * np.log(2), -0.5 * np.log(2)]


@pytest.mark.parametrize("width", WIDTHS)
def test_exp_of_float32_is_correctly_rounded(width: int) -> None:
    """Against exp in double precision rounded to float32, on 10**6 arguments over the whole range
    (below -103.97 the result is 0, above 88.72 infinity), and the special values; the same numbers
    on every width."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-110, 90, 600_000), rng.uniform(-2, 0, 400_000), SPECIAL]).astype(np.float32)
    x = x[None, :]
    with np.errstate(over="ignore"):
        want = np.exp(x.astype(np.float64)).astype(np.float32)
    out = np.empty_like(x)
    _exp_all(Width(width), x, out)
    np.testing.assert_array_equal(out, want)  # NaN where NaN, inf, 0 and denormals included


@pytest.mark.parametrize("width", WIDTHS)
def test_exp_of_float64_is_the_c_librarys(width: int) -> None:
    import math

    x = np.array([[-745.2, -700.0, -1.5, -1e-300, 0.0, 0.25, 1.0, 709.0, 710.0, -np.inf, np.nan] * 2])
    out = np.empty_like(x)
    _exp_all(Width(width), x, out)
    want = np.array([[math.exp(v) if not v > 709.8 else np.inf for v in x[0]]])  # math.exp raises on overflow
    np.testing.assert_array_equal(out, want)


def test_widths_are_powers_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        Width(12)
    with pytest.raises(ValueError, match="power of two"):
        Width(1)


def test_only_c_ordered_float_matrices_are_taken() -> None:
    dst = np.zeros((1, 8), np.float32)
    with pytest.raises(TypingError, match="C-ordered 2-D float32 or float64"):
        _copy(Width(8), np.zeros((1, 8), np.int32), 0, 0, dst, 0, 0)
    with pytest.raises(TypingError, match="C-ordered 2-D float32 or float64"):
        _copy(Width(8), np.zeros((8, 8), np.float32).T, 0, 0, dst, 0, 0)
    with pytest.raises(TypingError, match="expected a Width"):
        _copy(8, np.zeros((1, 8), np.float32), 0, 0, dst, 0, 0)
    with pytest.raises(TypingError, match="scales by a float32"):
        _fma_scalar(Width(8), 1.0, dst, dst, dst)  # a float64 scale
    with pytest.raises(TypingError, match="vector of the array's dtype"):
        _copy(Width(8), np.zeros((1, 8), np.float32), 0, 0, np.zeros((1, 8)), 0, 0)

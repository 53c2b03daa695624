"""The numba backend's compiled kernels compute the model's math: held to the array-API reference."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import itertools
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import LogisticRegression, TrainConfig
from logistic_sgd.backends import NUMPY, get_backend
from logistic_sgd.core.model import Workspace
from logistic_sgd.data.rows import ScaledArray
from logistic_sgd.errors import MissingExtraError, UsageError
from logistic_sgd.experiment import Outputs, run_experiment
from logistic_sgd.util.arrays import read_only

pytest.importorskip("numba")
from logistic_sgd.backends.numba import kernels
from logistic_sgd.backends.numba.simd import Width

from compile_ahead import TILES
from conftest import child_environment

NUMBA = get_backend("numba")
TOL = {"float32": 2e-6, "float64": 1e-13}


@contextlib.contextmanager
def _numba_threads(threads: int) -> Iterator[None]:
    """The kernels on ``threads`` threads inside the block (skipped where the pool has fewer)."""
    import numba

    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip(f"a pool of {numba.config.NUMBA_NUM_THREADS} thread(s)")
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _step_gradient(model: LogisticRegression, x: np.ndarray, y: np.ndarray, mean_over: int | None = None) -> tuple:
    """The numba backend's training step on the minibatch ``x, y``: its gradient."""
    return NUMBA.trainer(model, x, y, len(y), mean_over or len(y)).gradient(x, y)


def _pair(n_in: int, n_out: int, dtype: str, seed: int = 0) -> tuple[LogisticRegression, LogisticRegression]:
    rng = np.random.default_rng(seed)
    ref = LogisticRegression(n_in, n_out, dtype=dtype)
    ref.W[...] = rng.normal(size=(n_in, n_out)) * 0.1
    ref.b[...] = rng.normal(size=n_out)
    fast = NUMBA.new_model(n_in, n_out, dtype)
    fast.W[...], fast.b[...] = ref.W, ref.b
    return ref, fast


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_out", [2, 3, 10, 11])
@pytest.mark.parametrize("rows", [1, 3, 8, 13, 37, 600])
def test_gradient_matches_the_reference(dtype: str, n_out: int, rows: int) -> None:
    """Every remainder path: rows not a multiple of 4 or 8, an odd number of classes, one row."""
    rng = np.random.default_rng(rows)
    x = rng.random((rows, 50)).astype(dtype)
    y = rng.integers(0, n_out, size=rows).astype(np.int32)
    ref, fast = _pair(50, n_out, dtype)
    want = [a.copy() for a in ref.gradient_into(x, y, Workspace.for_batch(ref, rows))]
    got = _step_gradient(fast, x, y)
    for a, b in zip(want, got, strict=True):
        assert np.abs(a - b).max() <= TOL[dtype] * max(1.0, np.abs(a).max())
    np.testing.assert_allclose(NUMBA.logits(fast, x), ref.decision_function(x), rtol=TOL[dtype] * 10,
                               atol=TOL[dtype] * 10)


def test_a_slice_of_a_minibatch_divides_by_the_global_size() -> None:
    """What a rank computes under --distributed: its rows' gradient over the whole minibatch's size."""
    rng = np.random.default_rng(1)
    x, y = rng.random((40, 20)), rng.integers(0, 10, size=40)
    ref, fast = _pair(20, 10, "float64")
    want = [a.copy() for a in ref.gradient_into(x[:15], y[:15], Workspace.for_batch(ref, 15, mean_over=40))]
    got = _step_gradient(fast, x[:15], y[:15], mean_over=40)
    for a, b in zip(want, got, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)


# The kernels' arithmetic, operation by operation, in NumPy (and in exact fractions for float64), for
# each vector width: the kernels must give these numbers to the last bit.

WIDTHS = (16, 8, 4)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` rounded once to ``c``'s dtype, elementwise (broadcasting), exactly."""
    a, b, c = np.broadcast_arrays(a, b, c)
    if c.dtype == np.float64:
        return _fma64(a, b, c)
    p = a.astype(np.float64) * b.astype(np.float64)  # exact: two 24-bit significands
    c64 = c.astype(np.float64)
    s = p + c64
    bp = s - p
    err = (p - (s - bp)) + (c64 - bp)  # s + err == p + c exactly (TwoSum)
    r = s.astype(np.float32)
    # rounding s is rounding p + c, unless s lies exactly halfway between two float32: err decides then
    low = np.where(r.astype(np.float64) <= s, r, np.nextafter(r, np.float32(-np.inf)))
    high = np.nextafter(low, np.float32(np.inf))
    tie = (s == (low.astype(np.float64) + high.astype(np.float64)) / 2) & (err != 0)
    return np.where(tie, np.where(err > 0, high, low), r)


def _fma64(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` in float64 rounded once: Boldo and Melquiond's emulation of a fused multiply-add
    (2008), exact products and sums then one rounding to odd; in exact fractions where the numbers
    are so large or small that a product's parts could overflow or underflow."""
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    uh = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    ul = ((ah * bh - uh) + ah * bl + al * bh) + al * bl  # a * b == uh + ul exactly
    th, tl = _two_sum(c, uh)
    v, e = _two_sum(tl, ul)  # c + a * b == th + v + e exactly
    even = (v.view(np.int64) & 1) == 0
    v = np.where((e != 0) & even, np.nextafter(v, np.where(e > 0, np.inf, -np.inf)), v)  # v + e rounded to odd
    out = th + v
    wild = ~np.all([(x == 0) | ((np.abs(x) > 2.0**-400) & (np.abs(x) < 2.0**400)) for x in (a, b, c)], axis=0)
    if wild.any():
        out[wild] = [_fma_fraction(u, w, z) for u, w, z in zip(a[wild], b[wild], c[wild], strict=True)]
    return out


def _fma_fraction(a: float, b: float, c: float) -> float:
    from fractions import Fraction

    return float(Fraction(a) * Fraction(b) + Fraction(c))


def _two_sum(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``s, e`` with ``s = x + y`` rounded and ``s + e == x + y`` exactly."""
    s = x + y
    t = s - x
    return s, (x - (s - t)) + (y - t)


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` as ``hi + lo``, each with 26 significant bits at most (Veltkamp)."""
    t = x * 134217729.0  # 2**27 + 1
    hi = t - (t - x)
    return hi, x - hi


def test_the_reference_fma_rounds_once() -> None:
    """:func:`_fma64` is the exact sum rounded once, near the halfway points too (against fractions)."""
    rng = np.random.default_rng(0)
    n = 3000
    a, b = rng.normal(size=n), rng.normal(size=n)
    c = np.concatenate([rng.normal(size=n // 3), -(a * b)[: n // 3] * (1 + rng.normal(size=n // 3) * 1e-15),
                        np.zeros(n - 2 * (n // 3))])
    # a * b a few quarter-steps of the float64 grid above c, give or take a last bit: sums on and near halfway
    ties = 1 + rng.integers(0, 2**52, n) * 2.0**-52
    small = rng.integers(-8, 9, n) * 2.0**-54 * (1 + rng.choice([0, 2**-52, -(2**-52), 2**-30], n))
    near = rng.choice([1.0, 1 + 2**-52, 1 - 2**-53], n)
    huge = np.array([1e300, 1e-300, 3.0]), np.array([1e5, 1e-20, 1e-320]), np.array([-1e305, 1e-310, 1.0])
    for x, y, z in [(a, b, c), (small, near, ties), (small, near, -ties), huge]:
        expected = [_fma_fraction(*t) for t in zip(x, y, z, strict=True)]
        np.testing.assert_array_equal(_fma64(x, y, z), expected)


def _forward_exact(x: np.ndarray, WT: np.ndarray, b: np.ndarray, width: int) -> np.ndarray:
    """Lane ``i`` of a vector of ``width`` sums the products of features ``k = i (mod lanes)`` in order,
    one rounded multiply-add each; the lanes are added as a halving tree; then ``b``."""
    L = width * 4 // x.itemsize
    acc = np.zeros((x.shape[0], WT.shape[0], L), x.dtype)
    for k in range(0, x.shape[1], L):
        n = min(L, x.shape[1] - k)
        acc[:, :, :n] = _fma(x[:, None, k : k + n], WT[None, :, k : k + n], acc[:, :, :n])
    while acc.shape[2] > 1:
        acc = acc[:, :, : acc.shape[2] // 2] + acc[:, :, acc.shape[2] // 2 :]
    return b + acc[:, :, 0]


def _softmax_exact(z: np.ndarray, y: np.ndarray, n: float) -> tuple[np.ndarray, np.ndarray]:
    """``(softmax(z) - onehot(y)) / n`` row by row, each operation rounded once (exp correctly rounded
    for float32, the C library's for float64; the sum in class order), and the sum of the rows in order."""
    import math

    e = z - z.max(axis=1, keepdims=True)
    e = np.exp(e.astype(np.float64)).astype(np.float32) if z.dtype == np.float32 else np.vectorize(math.exp)(e)
    t = e[:, 0]
    for j in range(1, z.shape[1]):
        t = t + e[:, j]
    d = e / t[:, None]
    d[np.arange(len(z)), y] -= 1
    d = d / z.dtype.type(n)
    gb = np.zeros(z.shape[1], z.dtype)
    for row in d:
        gb = gb + row
    return d, gb


def _backward_exact(x: np.ndarray, d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``g[j, k] <- fma(d[r, j], x[r, k], g[j, k])`` for r = 0, 1, ...: the rows in order."""
    for r in range(len(x)):
        g = _fma(d[r][:, None], x[r][None, :], g)
    return g


def _gradient_exact(x: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray, n: float, width: int,
                    threads: int) -> tuple[np.ndarray, np.ndarray]:
    """The step as the kernels take it: the rows shared out between threads (a multiple of 4 each),
    each thread's sums from zero over its rows in order, then thread 0's plus thread 1's, ..."""
    d, _ = _softmax_exact(_forward_exact(x, np.ascontiguousarray(W.T), b, width), y, n)
    per = ((len(x) + threads - 1) // threads + 3) // 4 * 4
    g, gb = None, None
    for t in range(threads):
        rows = slice(t * per, min(len(x), (t + 1) * per))
        part = _backward_exact(x[rows], d[rows], np.zeros(W.T.shape, W.dtype))
        part_b = _softmax_exact(_forward_exact(x[rows], np.ascontiguousarray(W.T), b, width), y[rows], n)[1]
        g, gb = (part, part_b) if g is None else (g + part, gb + part_b)
    return g.T, gb


def _data(rows: int, n_in: int, n_out: int, dtype: str, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.random((rows, n_in)).astype(dtype)
    W = (rng.normal(size=(n_in, n_out)) * 0.3).astype(dtype)
    return x, W, rng.normal(size=n_out).astype(dtype), rng.integers(0, n_out, size=rows)


# shapes: features with and without a partial vector at the end, classes in tiles of 5 and left over
SHAPES = {"float32": [(32, 784, 10), (7, 50, 3), (13, 17, 11), (6, 40, 12)], "float64": [(7, 50, 3), (5, 17, 6)]}
CASES = [(dtype, *shape) for dtype, shapes in SHAPES.items() for shape in shapes]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("fresh", [False, True])
@pytest.mark.parametrize(("dtype", "rows", "n_in", "n_out"), CASES)
def test_backward_adds_the_rows_in_order_with_one_rounding_each(
    width: int, fresh: bool, dtype: str, rows: int, n_in: int, n_out: int
) -> None:
    """The backward product (tiles of 5 classes by two vectors, partial vectors, the classes left
    over) is ``g <- fma(d[r, j], x[r, k], g)`` for r = 0, 1, ...: the same numbers on every width;
    ``fresh``, it starts from zeros, whatever ``g`` held."""
    x, _, _, _ = _data(rows + 3, n_in, n_out, dtype, rows * n_out + n_in)
    rng = np.random.default_rng(rows)
    d = rng.normal(size=(rows, n_out)).astype(dtype)
    g = rng.normal(size=(n_out, n_in)).astype(dtype)
    want = _backward_exact(x[2 : 2 + rows], d, np.zeros_like(g) if fresh else g)
    dT = np.zeros((n_out, 32), dtype)
    dT[:, :rows] = d.T  # the block's layout: one row per class
    # rows 2 .. 2 + rows of x, a block; read-only, as the kernels pass rows of floats
    kernels._backward(kernels._width(width), read_only(x), 2, 2 + rows, dT, g, fresh)
    np.testing.assert_array_equal(g, want)




@pytest.mark.parametrize(("width", "registers"), TILES)
@pytest.mark.parametrize(("dtype", "rows", "n_in", "n_out"), CASES)
def test_forward_sums_each_lane_in_order_then_the_lanes_as_a_tree(
    width: int, registers: int, dtype: str, rows: int, n_in: int, n_out: int
) -> None:
    """Tiles of four rows by two classes (16 registers) or by five (32), and what they leave: the
    same numbers."""
    x, W, b, _ = _data(rows + 2, n_in, n_out, dtype, rows + n_in)
    WT = np.ascontiguousarray(W.T)
    z = np.full((n_out, 32), np.nan, dtype).T  # class-major, read-only rows: the types the kernels pass
    x = read_only(x)
    kernels._forward(Width(width, registers), x, WT, b, 1, 1 + rows, z, x, 1 + rows, len(x))  # the rows after fetched
    np.testing.assert_array_equal(z[:rows], _forward_exact(x[1 : 1 + rows], WT, b, width))
    assert np.isnan(z[rows:]).all()


def test_the_widths_add_in_different_orders() -> None:
    """What makes the logits of two widths differ in the last bits (so the test above can tell them apart)."""
    x, W, b, _ = _data(32, 784, 10, "float32", 0)
    WT = np.ascontiguousarray(W.T)
    logits = [_forward_exact(x, WT, b, width) for width in WIDTHS]
    for a, c in itertools.pairwise(logits):
        assert not np.array_equal(a, c)
        np.testing.assert_allclose(a, c, rtol=0, atol=1e-6 * np.abs(a).max())


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("dtype", "rows"), [("float32", 32), ("float32", 13), ("float32", 1), ("float64", 11)])
def test_softmax_minus_onehot_is_the_models_arithmetic(width: int, dtype: str, rows: int) -> None:
    rng = np.random.default_rng(rows)
    z = (rng.normal(size=(rows, 10)) * 8).astype(dtype)
    z[0, 3] = z[0, 7]  # a tie for the largest
    y = rng.integers(0, 10, size=rows + 4).astype(np.intp)
    dT = np.full((10, 32), np.nan, dtype)
    dT[:, :rows] = z.T
    gb = np.zeros(16, dtype)
    kernels._softmax_minus_onehot(kernels._width(width), y, 4, 4 + rows, dT, np.dtype(dtype).type(600), gb)
    want, want_b = _softmax_exact(z, y[4:], 600)
    np.testing.assert_array_equal(dT[:, :rows], want.T)
    np.testing.assert_array_equal(gb[:10], want_b)
    assert np.isnan(dT[:, rows:]).all() and not gb[10:].any()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("dtype", "rows", "n_in", "n_out"), [("float32", 600, 784, 10), ("float32", 37, 50, 11),
                                                               ("float64", 37, 50, 3), ("float32", 1500, 784, 3)])
def test_gradient_is_exactly_its_parts(width: int, threads: int, dtype: str, rows: int, n_in: int,
                                       n_out: int) -> None:
    """The whole step, threads included, to the last bit: logits, softmax, backward, the threads'
    sums added in order (1,500 rows of 784 floats: more than one block of rows for a thread)."""
    x, W, b, y = _data(rows, n_in, n_out, dtype, rows)
    with _numba_threads(threads):
        scratch = kernels.Scratch.for_model(n_in, n_out, dtype)
        gW, gb = np.empty_like(W), np.empty_like(b)
        kernels.gradient_into(x, y, W, b, 600, gW, gb, scratch, lanes=width)
    want_W, want_b = _gradient_exact(x, y, W, b, 600, width, threads)
    np.testing.assert_array_equal(gW, want_W)
    np.testing.assert_array_equal(gb, want_b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_gradient_and_the_steps_are_one_compiled_kernel(dtype: str) -> None:
    """``gradient_into`` and ``sgd_steps`` run one compiled function, and so do ``predict`` and
    ``logits_into``: on the same rows, in memory or read-only (as memory-mapped rows are), the
    later calls compile nothing more."""
    x, W, b, y = _data(13, 20, 3, dtype, 1)
    mapped = read_only(x)  # as memory-mapped rows are
    scratch = kernels.Scratch.for_model(20, 3, dtype)
    kernels.gradient_into(x, y, W, b, 13, np.empty_like(W), np.empty_like(b), scratch, nll=True)
    compiled = set(kernels._steps.signatures)
    kernels.sgd_steps(x, y, 0, 13, np.array([0.1]), W.copy(), b.copy(), 13, scratch)
    kernels.sgd_steps(mapped, y, 0, 13, np.array([0.1]), W.copy(), b.copy(), 13, scratch)
    assert set(kernels._steps.signatures) == compiled
    kernels.predict(x, W, b)
    compiled = set(kernels._predict.signatures)
    kernels.logits_into(x, W, b, np.empty((13, 3), dtype))
    kernels.predict(mapped, W, b)
    assert set(kernels._predict.signatures) == compiled
    assert x.flags.writeable  # the caller's array is left as it was


def kernel_outputs(lanes: int | None = None) -> dict[str, np.ndarray]:
    """Every public kernel on small float32 inputs (a partial vector, 11 classes), at ``lanes`` (the
    CPU's width if None): what the tests below compare across CPUs. The gradient and the steps (one
    compiled kernel) take floats, the logits and the classes (another) take bytes: each kernel is
    compiled for one type of rows, and both types are read."""
    x, W, b, y = _data(45, 50, 11, "float32", 9)
    u = np.random.default_rng(9).integers(0, 256, size=(45, 50), dtype=np.uint8)
    out: dict[str, np.ndarray] = {"lanes": np.array(kernels.native_lanes() if lanes is None else lanes)}
    scratch = kernels.Scratch.for_model(50, 11, np.float32)
    out["gW"], out["gb"] = np.empty_like(W), np.empty_like(b)
    kernels.gradient_into(x, y, W, b, 45, out["gW"], out["gb"], scratch, lanes=lanes)
    out["W"], out["b"] = W.copy(), b.copy()
    kernels.sgd_steps(x, y, 0, 15, np.array([0.5, 0.25, 0.125]), out["W"], out["b"], 15, scratch, lanes=lanes)
    out["z"] = np.empty((45, 11), np.float32)
    kernels.logits_into(u, W, b, out["z"], 255.0, lanes=lanes)
    out["classes"] = kernels.predict(u, W, b, 255.0, lanes=lanes)
    return out


_RUN = ("import sys; sys.path.insert(0, sys.argv[1]); import numpy as np; from test_kernels import kernel_outputs; "
        "np.savez(sys.argv[2], **kernel_outputs())")
# Numba's targets for an AVX2 CPU without AVX-512, and for any x86-64 (no AVX, no FMA)
AVX2 = {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+cx8,+f16c,"
        "+fma,+fxsr,+lzcnt,+mmx,+movbe,+popcnt,+sahf,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,-avx512f"}
PORTABLE = {"NUMBA_CPU_NAME": "generic"}


def _host_has(*features: str) -> bool:
    import llvmlite.binding as llvm

    host = llvm.get_host_cpu_features()
    return all(host.get(f, False) for f in features)


@pytest.mark.parametrize(("target", "lanes"), [
    pytest.param(AVX2, 8, marks=pytest.mark.skipif(not _host_has("avx2", "fma"), reason="no AVX2 here")),
    (PORTABLE, 4),
    pytest.param({}, 16, marks=pytest.mark.skipif(not _host_has("avx512f"), reason="no AVX-512 here")),
], ids=["avx2", "portable", "avx512"])
def test_each_cpu_takes_its_width_and_the_same_bits(target: dict[str, str], lanes: int, tmp_path: Path) -> None:
    """Compiled for another CPU in a process of its own (code for an AVX2 CPU or any x86-64 runs
    here too), the kernels pick that CPU's width and give, bit for bit, what that width gives here
    (compiled for this CPU: other instructions, the same arithmetic)."""
    env = {k: v for k, v in child_environment().items() if not k.startswith("NUMBA_CPU")} | target
    run = subprocess.run([sys.executable, "-c", _RUN, str(Path(__file__).parent), str(tmp_path / "o.npz")],
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    there = dict(np.load(tmp_path / "o.npz"))
    assert there["lanes"] == lanes
    here = kernel_outputs(lanes)
    assert here.keys() == there.keys()
    for key in here:
        np.testing.assert_array_equal(there[key], here[key], err_msg=key)


@pytest.mark.parametrize(("target", "lanes"), [
    ({"NUMBA_CPU_NAME": "skylake-avx512", "NUMBA_CPU_FEATURES": ""}, 16),
    ({"NUMBA_CPU_NAME": "znver4", "NUMBA_CPU_FEATURES": ""}, 16),
    ({"NUMBA_CPU_NAME": "znver4", "NUMBA_CPU_FEATURES": "-avx512f"}, 8),
    ({"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": ""}, 8),
    (AVX2, 8),
    ({"NUMBA_CPU_NAME": "sandybridge", "NUMBA_CPU_FEATURES": ""}, 4),  # AVX without FMA
    (PORTABLE, 4),
])
def test_the_width_is_the_one_numba_compiles_for(target: dict[str, str], lanes: int) -> None:
    """The CPU Numba compiles for, named or by its features (nothing runs there: LLVM is only asked).
    Numba's reading of ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` (no features for ``generic``) is
    checked in processes of their own by :func:`test_each_cpu_takes_its_width_and_the_same_bits`."""
    from numba.core.registry import cpu_target

    triple = cpu_target.target_context.codegen().magic_tuple()[0]
    assert kernels.width_of(triple, target["NUMBA_CPU_NAME"], target.get("NUMBA_CPU_FEATURES", "")).lanes == lanes


_CACHED = ("import sys, numpy as np; from logistic_sgd.backends.numba import kernels; "
           "u = (np.arange(45 * 784) % 251).reshape(45, 784).astype(np.uint8); "
           "x = (u / np.float32(255)).astype(np.float32); "
           "WT = np.ascontiguousarray(np.sin(np.arange(784 * 11, dtype=np.float32)).reshape(784, 11).T); "
           "w, b = kernels._width(int(sys.argv[1])), np.zeros(11, np.float32); "
           "z = np.array([[kernels._dot(w, x, r, WT, j, b) for j in range(11)] for r in range(45)], np.float32); "
           "np.save(sys.argv[2], z); print(sum(kernels._dot.stats.cache_hits.values()))")


def test_numbas_cache_keeps_each_width_apart(tmp_path: Path) -> None:
    """The width is in each compiled function's type signature: one on-disk cache holds a version
    per width, and a process asking for a width loads that width's code (one logit, compiled on its
    own: the logits of two widths differ in the last bits, and each process gets its own width's,
    the last from the cache)."""
    env = child_environment() | {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    hits = []
    for i, lanes in enumerate((8, 16, 8)):
        run = subprocess.run([sys.executable, "-c", _CACHED, str(lanes), str(tmp_path / f"{i}.npy")], env=env,
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr[-3000:]
        hits.append(int(run.stdout.split()[-1]))
    z8, z16, z8_again = (np.load(tmp_path / f"{i}.npy") for i in range(3))
    assert hits[0] == hits[1] == 0 and hits[2] > 0  # compiled twice, then read from the cache
    u = (np.arange(45 * 784) % 251).reshape(45, 784).astype(np.uint8)
    W = np.sin(np.arange(784 * 11, dtype=np.float32)).reshape(784, 11)
    x = (u / np.float32(255)).astype(np.float32)
    np.testing.assert_array_equal(z8, _forward_exact(x, np.ascontiguousarray(W.T), np.zeros(11, np.float32), 8))
    np.testing.assert_array_equal(z16, _forward_exact(x, np.ascontiguousarray(W.T), np.zeros(11, np.float32), 16))
    np.testing.assert_array_equal(z8_again, z8)
    assert not np.array_equal(z8, z16)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_matches_the_reference(dtype: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.random((5001, 784)).astype(dtype)
    ref, fast = _pair(784, 10, dtype, seed=3)
    np.testing.assert_array_equal(NUMBA.predict(fast, x), ref.predict(x))
    y = ref.predict(x)
    y[::7] = (y[::7] + 1) % 10
    assert fast.errors(x, y) == ref.errors(x, y)


@functools.cache
def _full_rule() -> Callable[[np.ndarray, np.ndarray], None]:
    """The kernels' full rule, softmax then the first largest probability, compiled as ``_predict`` is
    (the same fast-math flags), so that the softmax is the very one ``predict`` falls back on."""
    import numba

    @numba.njit(fastmath=kernels._fastmath)
    def rule(z: np.ndarray, out: np.ndarray) -> None:
        for q in range(z.shape[0]):
            kernels._softmax_row(z, q)
            arg = 0
            for j in range(1, z.shape[1]):
                if z[q, j] > z[q, arg]:
                    arg = j
            out[q] = arg

    return rule


def _argmax_of_softmax(z: np.ndarray) -> np.ndarray:
    out = np.empty(len(z), np.int64)
    _full_rule()(np.array(z, order="F"), out)  # a copy, class-major as _predict keeps the logits
    return out


@pytest.mark.parametrize(("dtype", "lanes"), [("float32", None), ("float64", None), ("float32", 4)])
def test_predict_skips_the_softmax_only_where_it_cannot_change_the_class(dtype: str, lanes: int | None) -> None:
    """Where the logits alone decide, predict skips the softmax; where two classes' probabilities
    may round to a tie (logits within 2**-16), it computes it. Rows of crafted logits (through
    one-hot inputs, so the logits are exact), near ties of 1, 2, 100 ulps and 2**-28 to 2**-14 apart,
    before and after the largest, at several magnitudes, and rows on a coarse grid (many ties)."""
    rng = np.random.default_rng(5)
    rows = []
    for m in (0.0, 1.0, -3.5, 7.25, 1000.0, 1e-30):
        for gap_ulps in (1, 2, 100):
            below = m
            for _ in range(gap_ulps):
                below = np.nextafter(np.array(below, dtype), np.array(-np.inf, dtype))
            rows += [[below, m, -5.0], [m, below, -5.0], [-5.0, below, m]]
        for gap in (2.0**-28, 2.0**-26, 2.0**-18, 2.0**-17, 2.0**-16, 2.0**-15, 2.0**-14):
            rows += [[m - gap, m, 0.5 * m - 9.0], [m, m - gap, -9.0]]
        rows += [[m, m, m], [-9.0, m, m]]
    grid = rng.integers(0, 3, size=(500, 3)) / 4 + rng.choice([0, 0, 2.0**-20, 2.0**-16], size=(500, 3))
    z = np.concatenate([np.array(rows, dtype), grid.astype(dtype)])
    z = np.pad(z, ((0, 0), (0, 7)), constant_values=-20.0)  # 10 classes, the last 7 far below
    z[:, 3:] = z[:, [*range(3, 9), 0]]  # and some classes before the close ones
    z[:, 0] = -20.0
    x = np.eye(len(z), dtype=np.uint8)  # one-hot rows (bytes over 1: ones): the logits are the rows of W, exactly
    got = kernels.predict(x, np.ascontiguousarray(z), np.zeros(10, dtype), 1.0, lanes=lanes)
    np.testing.assert_array_equal(got, _argmax_of_softmax(z))
    assert (got != z.argmax(axis=1)).any()  # some near ties do go to an earlier class than the logits'
    # rows that are not finite: through the bias (a zero input times an infinite weight would be NaN)
    for special in ([np.inf, 1.0, 2.0], [1.0, np.nan, 2.0], [-np.inf] * 3, [2.0, -np.inf, 1.0], [np.inf, np.inf, 0]):
        b = np.array([*special, *[-20.0] * 7], dtype)
        got = kernels.predict(np.zeros((2, 1), np.uint8), np.zeros((1, 10), dtype), b, 1.0, lanes=lanes)
        np.testing.assert_array_equal(got, _argmax_of_softmax(np.tile(b, (2, 1))))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("rows", "n_out"), [(1, 2), (13, 3), (37, 11), (600, 10)])
def test_bytes_are_read_as_the_floats_they_stand_for(dtype: str, rows: int, n_out: int) -> None:
    """Bytes scaled inside the kernels give the very numbers the float32 data give, bit for bit."""
    rng = np.random.default_rng(rows)
    u = rng.integers(0, 256, size=(rows, 784), dtype=np.uint8)
    u[0, :256] = np.arange(256)  # every byte value
    x = (u / np.float32(255)).astype(dtype)
    y = rng.integers(0, n_out, size=rows)
    _, fast = _pair(784, n_out, dtype)
    as_bytes = ScaledArray(u, 255).unscaled()[:]
    for a, b in zip(_step_gradient(fast, x, y),
                    _step_gradient(fast, as_bytes, y), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(NUMBA.logits(fast, as_bytes), NUMBA.logits(fast, x))
    np.testing.assert_array_equal(NUMBA.predict(fast, as_bytes), NUMBA.predict(fast, x))


def test_every_whole_divisor_scales_bytes_exactly() -> None:
    """The kernels scale a byte as ``u * hi + u * lo`` rounded once; that is float32 division for these
    divisors, on every byte of every feature (a vector's lanes and the masked tail of a row)."""
    assert all(kernels.bytes_exact(d) for d in range(1, 2001))
    u = np.arange(260, dtype=np.uint8).reshape(4, 65)  # 65 features: whole vectors and a tail
    W, b = np.eye(65, dtype=np.float32), np.zeros(65, np.float32)
    for d in (1, 7, 255, 1000):
        z = np.empty((4, 65), np.float32)
        kernels.logits_into(u, W, b, z, divisor=d)
        np.testing.assert_array_equal(z, (u / np.float32(d)).astype(np.float32))


def test_bytes_without_a_divisor_are_refused() -> None:
    fast = NUMBA.new_model(4, 2, "float32")
    with pytest.raises(ValueError, match="divisor"):
        kernels.predict(np.zeros((2, 4), np.uint8), fast.W, fast.b)
    with pytest.raises(ValueError, match="floats or bytes"):
        kernels.predict(np.zeros((2, 4), np.int16), fast.W, fast.b)
    assert not kernels.reads(ScaledArray(np.zeros((2, 4), np.uint16), 255))  # the model scales these itself
    np.testing.assert_array_equal(NUMBA.predict(fast, ScaledArray(np.full((2, 4), 7, np.uint16), 7)), [0, 0])


def test_large_logits_stay_finite_and_nan_shows() -> None:
    x = np.ones((8, 4), np.float32)
    y = np.arange(8, dtype=np.int64) % 3
    fast = NUMBA.new_model(4, 3, "float32")
    fast.W[...] = np.array([[1e4, -1e4, 0]] * 4, np.float32)
    gW, gb = _step_gradient(fast, x, y)
    assert np.isfinite(gW).all() and np.isfinite(gb).all()
    fast.W[0, 0] = np.nan
    gW, _ = _step_gradient(fast, x, y)
    assert np.isnan(gW).any()  # divergence detection relies on NaN getting through


def test_calls_from_two_threads_are_safe() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.random((600, 784)).astype(np.float32), rng.integers(0, 10, size=600)
    _, fast = _pair(784, 10, "float32")
    results: list[np.ndarray] = []
    # Reference from a new thread as well: Numba's thread count is per calling thread (a test
    # worker may have set its own), and the sums' order follows the thread count.
    first = threading.Thread(target=lambda: results.append(_step_gradient(fast, x, y)[0].copy()))
    first.start()
    first.join()
    want = results.pop()

    def work() -> None:
        for _ in range(20):
            results.append(_step_gradient(fast, x, y)[0].copy())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40
    for r in results:
        np.testing.assert_array_equal(r, want)


@pytest.mark.parametrize("threads", [2, 3])
def test_predict_and_logits_on_several_threads_are_one_threads(threads: int) -> None:
    """The rows shared out between threads, parts of a multiple of 4 rows of several blocks each:
    the logits and classes of one thread, bit for bit, also with two callers at once."""
    x, W, b, _ = _data(1001, 784, 10, "float32", 3)
    u = np.random.default_rng(3).integers(0, 256, size=x.shape, dtype=np.uint8)

    def run() -> tuple[np.ndarray, np.ndarray]:
        z = np.empty((len(x), 10), np.float32)
        kernels.logits_into(u, W, b, z, 255.0)
        return z, kernels.predict(x, W, b)

    with _numba_threads(1):
        want = run()
    with _numba_threads(threads):
        got = [run()]
        callers = [threading.Thread(target=lambda: got.append(run())) for _ in range(2)]
        for caller in callers:  # a thread of its own runs on Numba's default count of threads
            caller.start()
        for caller in callers:
            caller.join()
    assert len(got) == 3
    for z, classes in got:
        np.testing.assert_array_equal(z, want[0])
        np.testing.assert_array_equal(classes, want[1])


def _train(idx_folder: Path, floatx: str, backend: str) -> tuple[list[str], object]:
    out = io.StringIO()
    config = TrainConfig(batch_size=50, n_epochs=8, patience=60, floatx=floatx)
    result = run_experiment(idx_folder, config, outputs=Outputs(stream=out), backend=backend)
    return [line for line in out.getvalue().splitlines() if "epoch" in line and "epochs/sec" not in line], result


def test_float64_trajectory_is_numpys(idx_folder: Path) -> None:
    ours, r_np = _train(idx_folder, "float64", "numpy")
    theirs, r_nb = _train(idx_folder, "float64", "numba")
    assert theirs == ours and r_nb.best_iteration == r_np.best_iteration
    np.testing.assert_allclose(r_nb.best_model.W, r_np.best_model.W, rtol=1e-9, atol=1e-12)


def test_float32_trajectory_within_rounding(idx_folder: Path) -> None:
    _, r_np = _train(idx_folder, "float32", "numpy")
    _, r_nb = _train(idx_folder, "float32", "numba")
    assert r_nb.epochs == r_np.epochs and len(r_nb.history) == len(r_np.history)
    for a, b in zip(r_np.history, r_nb.history, strict=True):
        assert abs(a["validation_error"] - b["validation_error"]) <= 2 / 200  # at most 2 borderline images
    assert np.abs(r_nb.best_model.W - r_np.best_model.W).max() <= 1e-4 * np.abs(r_np.best_model.W).max()


def test_auto_is_numba_when_installed_else_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_backend("auto").name == "numba"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a))
    assert get_backend("auto") is NUMPY
    with pytest.raises(MissingExtraError, match=r"pip install 'logistic-sgd\[numba\]'"):
        get_backend("numba")
    with pytest.raises(UsageError, match="cpu only"):
        get_backend("numba", "cuda")


def test_labels_outside_the_classes_are_refused() -> None:
    x = np.ones((4, 3))
    _, fast = _pair(3, 3, "float64")
    with pytest.raises(IndexError, match="labels"):
        _step_gradient(fast, x, np.array([0, 1, 2, 3]))
    with pytest.raises(IndexError, match="integers"):
        _step_gradient(fast, x, np.array([0.0, 1.0, 2.0, 1.0]))


def test_compiles_without_a_cache_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a read-only install with no writable home, Numba refuses cache=True: compile per process."""
    from logistic_sgd.backends.numba import compile

    real, seen = compile.njit, []

    def njit(**options: object) -> object:
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'kernels.py'")
        seen.append(options)
        return real(**options)

    monkeypatch.setattr(compile, "njit", njit)
    add_one = kernels._compiled()(lambda v: v + 1)
    assert add_one(1) == 2 and seen


def test_parallel_code_of_other_libraries_compiles_as_numba_compiles_it() -> None:
    """The kernels' parallel loops get no machine code of their own (:mod:`.compile`); in the same
    process, another library's parallel gufunc (whose wrapper Numba calls through a pointer) and
    parallel loop compile and run as Numba makes them."""
    import numba

    @numba.guvectorize(["void(float64[:], float64[:])"], "(n)->(n)", target="parallel")
    def double(a: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
        for i in range(a.shape[0]):
            out[i] = 2 * a[i]

    @numba.njit(parallel=True)
    def total(a: np.ndarray) -> float:  # pragma: no cover - compiled
        s = 0.0
        for i in numba.prange(a.shape[0]):
            s += a[i]
        return s

    kernels.predict(np.ones((5, 3), np.float32), np.ones((3, 2), np.float32), np.zeros(2, np.float32))
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(double(a), 2 * a)
    assert total(a.ravel()) == 66.0


def test_the_kernels_cache_is_keyed_by_their_source(tmp_path: Path) -> None:
    """Two copies of the package with the same kernels share their compiled code, as does one whose
    backend object (``__init__.py``, no compiled code) changed; a changed kernel file gets a cache of
    its own (a subprocess per copy: each imports the package afresh)."""
    import shutil

    src = Path(kernels.__file__).resolve().parents[3]
    script = ("from logistic_sgd.backends.numba import compile, kernels; kernels._share(10, 2, 4); "
              "print(compile.cache_root() / compile.source_key())")
    folders = []
    changed = {"changed": "kernels.py", "backend": "__init__.py"}
    for copy in ("a", "b", "changed", "backend"):
        shutil.copytree(src / "logistic_sgd", tmp_path / copy / "logistic_sgd",
                        ignore=shutil.ignore_patterns("__pycache__"))
        if copy in changed:
            with (tmp_path / copy / "logistic_sgd" / "backends" / "numba" / changed[copy]).open("a") as f:
                f.write("\n# a change\n")
        env = {**child_environment(), "PYTHONPATH": str(tmp_path / copy), "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
        run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        folders.append(Path(run.stdout.strip()))
    assert folders[0] == folders[1] == folders[3] != folders[2]
    assert any(folders[0].glob("kernels._share-*.nbi")) and any(folders[2].glob("kernels._share-*.nbi"))
    assert not any((tmp_path / "a").rglob("*.nbi"))  # nothing beside the source


BROKEN_NUMBA = "raise ImportError('numba 0.0 needs NumPy < 2 (simulated)')\n"


@pytest.mark.parametrize("backend", ["auto", "numba"])
def test_a_numba_that_cannot_be_imported(backend: str, tmp_path: Path) -> None:
    """auto trains on NumPy and says so; --backend numba is a one-line error, exit 2."""
    (tmp_path / "numba").mkdir()
    (tmp_path / "numba" / "__init__.py").write_text(BROKEN_NUMBA)
    rng = np.random.default_rng(0)
    arrays = {f"{s}_{k}": (rng.random((60, 5)) if k == "x" else rng.integers(0, 3, 60))
              for s in ("train", "valid", "test") for k in ("x", "y")}
    np.savez(tmp_path / "d.npz", **arrays)
    env = {**child_environment(), "PYTHONPATH": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "logistic_sgd", "train", "--data", str(tmp_path / "d.npz"), "--batch-size", "20",
         "--n-epochs", "2", "--backend", backend, "--model-out", str(tmp_path / "m.npz")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    if backend == "auto":
        assert run.returncode == 0, run.stderr
        assert "numba backend unavailable" in run.stderr and "using numpy" in run.stderr
        assert (tmp_path / "m.npz").is_file()
    else:
        assert run.returncode == 2
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
        assert "--backend numba: Numba cannot be used here" in run.stderr, run.stderr


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("batch", "n_out", "as_bytes"), [(37, 3, False), (600, 10, False), (8, 11, True),
                                                          (45, 10, True)])
def test_runs_of_steps_are_single_steps_bit_for_bit(threads: int, dtype: str, batch: int, n_out: int,
                                                    as_bytes: bool) -> None:
    """A run of steps is the kernels' single step then ``sgd``'s update, step after step,
    to the last bit: minibatches of every remainder, bytes and floats, a rate that changes at every step,
    on one thread and on two (each updates its copy of the weights from both threads' partial gradients)."""
    with _numba_threads(threads):
        check_runs_are_single_steps(dtype, batch, n_out, as_bytes)


def test_runs_of_steps_on_three_threads_are_single_steps(tmp_path: Path) -> None:
    """From three threads on, the partial gradients before the last are summed in a buffer first: in
    a process whose pool has three threads, whatever the cores."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import numba; numba.set_num_threads(3); "
            "from test_kernels import check_runs_are_single_steps as check; "
            "check('float32', 600, 10, True); check('float64', 37, 3, False); print('ok')")
    run = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], capture_output=True, text=True,
                         env=child_environment() | {"NUMBA_NUM_THREADS": "3"}, timeout=900)
    assert run.returncode == 0 and run.stdout.split() == ["ok"], run.stderr[-3000:]


def check_runs_are_single_steps(dtype: str, batch: int, n_out: int, as_bytes: bool) -> None:
    """Five steps in two runs against the same five steps one at a time, on this process's threads."""
    from logistic_sgd.core.optim import sgd

    rng = np.random.default_rng(batch)
    stored = rng.integers(0, 256, size=(3 + 5 * batch, 60)).astype(np.uint8)
    y = rng.integers(0, n_out, size=len(stored)).astype(np.int64)
    x = ScaledArray(stored, 255.0, dtype=dtype).unscaled() if as_bytes else (stored / 255.0).astype(dtype)
    opt = sgd(lambda step: 0.5 / (1 + step))
    _, one = _pair(60, n_out, dtype)
    _, runs = _pair(60, n_out, dtype)
    step = NUMBA.trainer(one, x, y, batch, batch)
    state = opt.init(one.params)
    for i in range(5):
        rows = slice(3 + i * batch, 3 + (i + 1) * batch)
        state = opt.update(step.gradient(x[rows], y[rows]), state, one.params)
    first, after_two = opt.run_rates(opt.init(runs.params), 2, dtype)
    rest, after_five = opt.run_rates(after_two, 3, dtype)
    trainer = NUMBA.trainer(runs, x, y, batch, batch)
    assert trainer.takes_runs
    trainer.run(3, first)
    trainer.run(3 + 2 * batch, rest.astype(np.float64))  # cast back
    np.testing.assert_array_equal(runs.W, one.W)
    np.testing.assert_array_equal(runs.b, one.b)
    assert after_five == state
    assert not np.array_equal(runs.W, _pair(60, n_out, dtype)[1].W)  # the steps did move the weights


def test_runs_of_steps_refuse_bad_labels_and_rows_past_the_end() -> None:
    _, fast = _pair(3, 3, "float64")
    before = fast.W.copy(), fast.b.copy()
    x, y = np.ones((8, 3)), np.array([0, 1, 2, 0, 1, 2, 3, 0])
    trainer = NUMBA.trainer(fast, x, y, 4, 4)
    with pytest.raises(IndexError, match="labels"):
        trainer.run(0, np.full(2, 0.1))
    with pytest.raises(ValueError, match="rows 4:12"):
        trainer.run(4, np.full(2, 0.1))
    np.testing.assert_array_equal(fast.W, before[0])
    np.testing.assert_array_equal(fast.b, before[1])


@pytest.mark.parametrize(("floatx", "as_bytes", "schedule"), [("float32", False, "constant"),
                                                              ("float64", False, "cosine"),
                                                              ("float32", True, "step")])
def test_training_in_runs_of_steps_is_training_step_by_step(
    monkeypatch: pytest.MonkeyPatch, floatx: str, as_bytes: bool, schedule: str
) -> None:
    """The loop hands the kernels every run of steps between two looks (a validation, an epoch's end,
    the iteration where patience runs out: 47 here, inside an epoch) and gets the step-by-step run."""
    from logistic_sgd.training import loop as train

    from conftest import make_images

    def split(n: int, seed: int) -> tuple[object, np.ndarray]:
        images, labels = make_images(n, seed)
        stored = images.reshape(n, -1)
        x = ScaledArray(stored, 255.0) if as_bytes else (stored / np.float32(255)).astype(floatx)
        return x, labels.astype(np.int64)

    datasets = (split(1000, 1), split(200, 2), split(300, 3))
    config = TrainConfig(batch_size=37, n_epochs=6, patience=47, floatx=floatx, lr_schedule=schedule,
                         lr_step_epochs=1)
    from logistic_sgd.backends.numba import KernelTrainer

    runs: list[int] = []
    real = KernelTrainer.run
    monkeypatch.setattr(KernelTrainer, "run", lambda self, start, rates, decay=0.0: runs.append(len(rates))
                        or real(self, start, rates, decay))
    models = [LogisticRegression(784, 10, dtype=floatx) for _ in range(2)]
    in_runs = train.fit(datasets, config, model=models[0], backend=NUMBA)
    steps_in_runs = sum(runs)
    real_init = KernelTrainer.__init__

    def step_by_step(self: KernelTrainer, *args: object) -> None:
        real_init(self, *args)
        self.takes_runs = False

    monkeypatch.setattr(KernelTrainer, "__init__", step_by_step)
    single = train.fit(datasets, config, model=models[1], backend=NUMBA)
    assert sum(runs) == steps_in_runs == in_runs.iterations  # every step in runs (and the compile call's none)
    assert in_runs.iterations == single.iterations and in_runs.iterations % 27 and in_runs.iterations % 23
    assert in_runs.history == [{**h, "elapsed": f["elapsed"]} for h, f in zip(single.history, in_runs.history,
                                                                              strict=True)]
    for a, b in ((in_runs.best_model, single.best_model), (models[0], models[1])):
        np.testing.assert_array_equal(a.W, b.W)
        np.testing.assert_array_equal(a.b, b.b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_full_batch_loss_and_gradient_are_the_references(dtype: str) -> None:
    """What L-BFGS and CG call: the mean NLL over every row and its gradient, from bytes or floats."""
    rng = np.random.default_rng(7)
    u = rng.integers(0, 256, size=(1234, 50), dtype=np.uint8)
    y = rng.integers(0, 10, size=1234)
    ref, fast = _pair(50, 10, dtype)
    loss, gW, gb = ref.loss_and_gradient((u / np.float32(255)).astype(dtype), y)
    for x in ((u / np.float32(255)).astype(dtype), ScaledArray(u, 255).astype(dtype).unscaled()):
        got_loss, got_gW, got_gb = NUMBA.loss_and_gradient(fast, x, y)
        assert got_loss == pytest.approx(loss, rel=TOL[dtype] * 10)
        np.testing.assert_allclose(got_gW, gW, rtol=0, atol=TOL[dtype] * np.abs(gW).max())
        np.testing.assert_allclose(got_gb, gb, rtol=0, atol=TOL[dtype] * np.abs(gb).max())


def test_solvers_run_with_blas_in_one_thread() -> None:
    """While L-BFGS or CG runs on the kernels, BLAS keeps no spinning threads; afterwards it has its
    threads back."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(2, user_api="blas"):  # a pool of several, whatever the worker's share
        before = blas_threads()
        assert before and set(before) == {2}
        with NUMBA.solving():
            assert set(blas_threads()) == {1}
        assert blas_threads() == before

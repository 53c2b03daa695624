"""Compiled CPU kernels for the training step (the ``numba`` backend; the ``[numba]`` extra).

The products of an epoch have a skinny shape: ``x @ W`` with ``W`` of 10 columns, ``x.T @ d``
with ``d`` of 10 columns. BLAS libraries tune for square blocks and reach a fraction of their
square-matrix rate on these; the kernels are written for few columns (their speed is on the docs'
benchmarks page):

- the forward pass computes four rows by two classes per sweep over the features, so each load of
  ``x`` and of ``W`` feeds several multiply-adds held in registers;
- the backward pass (float32) keeps a tile of ``gW^T``, 5 classes by 16 features, in vector
  registers while every row of the block adds to it (:mod:`logistic_sgd.simd`), the rows in order,
  one rounded multiply-add each (float64 takes sweeps of eight rows into each row of ``gW^T``);
- one step (logits, softmax minus one-hot, gradient) runs block by block over the minibatch, so
  each block of rows is read from memory once and reused from cache; the rows are shared out
  between threads, each with its own partial gradient, summed in a fixed order at the end;
- :func:`sgd_steps` runs many steps (each step, then the SGD update) in one call: the training loop
  hands it every run of minibatches between two validations, without a Python round trip per step.

The arithmetic is the model's (:meth:`LogisticRegression.gradient_into` is the reference and the
tests hold these kernels to it); the order of the additions differs, as it does between BLAS
libraries, so the results agree to rounding, not to the bit.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import prange, types
from numba.extending import overload
from numpy.typing import NDArray

from .compile import compiled
from .simd import fma8, load8, store8

_TIE = 2.0**-16  # logits closer than this to the largest may tie with it in the softmax: see _clear_argmax
BLOCK = 32  # rows per block: forward, softmax and backward on 32 rows (100 KB of float32) in cache
_lock = threading.Lock()  # numba's default thread pool must not be entered from two threads at once

_fastmath = {"contract", "reassoc", "nsz", "arcp"}  # no nnan/ninf: NaN and Inf must show


def _compiled(**options: Any) -> Any:
    """``njit`` with the kernels' on-disk cache (see :mod:`.compile`), with this module's fast-math flags."""
    return compiled(fastmath=_fastmath, **options)


@_compiled(inline="always")
def _forward(X: Any, WT: Any, b: Any, r0: int, r1: int, z: Any) -> None:  # pragma: no cover - compiled
    """``z[r - r0, j] = b[j] + X[r] . WT[j]`` for rows ``r0 <= r < r1``."""
    K, J = X.shape[1], WT.shape[0]
    r = r0
    while r + 4 <= r1:
        q = r - r0
        j = 0
        while j + 2 <= J:
            a0 = a1 = a2 = a3 = b[j]
            c0 = c1 = c2 = c3 = b[j + 1]
            for k in range(K):
                w, v = WT[j, k], WT[j + 1, k]
                x0, x1, x2, x3 = X[r, k], X[r + 1, k], X[r + 2, k], X[r + 3, k]
                a0 += x0 * w
                a1 += x1 * w
                a2 += x2 * w
                a3 += x3 * w
                c0 += x0 * v
                c1 += x1 * v
                c2 += x2 * v
                c3 += x3 * v
            z[q, j], z[q + 1, j], z[q + 2, j], z[q + 3, j] = a0, a1, a2, a3
            z[q, j + 1], z[q + 1, j + 1], z[q + 2, j + 1], z[q + 3, j + 1] = c0, c1, c2, c3
            j += 2
        if j < J:  # an odd number of classes
            for i in range(4):
                s = b[j]
                for k in range(K):
                    s += X[r + i, k] * WT[j, k]
                z[q + i, j] = s
        r += 4
    while r < r1:
        for j in range(J):
            s = b[j]
            for k in range(K):
                s += X[r, k] * WT[j, k]
            z[r - r0, j] = s
        r += 1


@_compiled(inline="always")
def _softmax_row(z: Any, q: int) -> None:  # pragma: no cover - compiled
    """``z[q] <- softmax(z[q])``: ``exp(z - max z) / sum exp(z - max z)``, as the model computes it."""
    J = z.shape[1]
    m = z[q, 0]
    for j in range(1, J):
        m = max(m, z[q, j])
    t = np.exp(z[q, 0] - m)
    z[q, 0] = t
    for j in range(1, J):
        e = np.exp(z[q, j] - m)
        z[q, j] = e
        t += e
    for j in range(J):
        z[q, j] /= t


def _clear_argmax(z: Any, q: int) -> int:
    """The class of ``argmax softmax(z[q])`` (the first on ties) where the logits alone decide it, else -1.

    With ``m`` the largest logit and ``a`` the first class holding it, the softmax gives class ``a``
    ``exp(0) / t = 1 / t`` and every class ``j`` at most that, rounding being monotone. Only a class
    before ``a`` can win a tie, and only if its ``exp(z_j - m)`` rounds to within a few ulps of 1.
    When every earlier ``z_j - m`` is at most ``-2**-16``, its ``exp`` is below ``1 - 2**-17``, far
    outside rounding: ``a`` is the answer, and the softmax is skipped. Otherwise (a near tie, NaN
    or infinity in the row) -1: the caller computes the softmax. Compiled through the overload
    below, without fast-math, so that ``z_j - m`` and the comparisons are taken as written."""
    raise NotImplementedError  # pragma: no cover - only called from compiled code


@overload(_clear_argmax, jit_options={"fastmath": False})
def _clear_argmax_compiled(z: Any, q: Any) -> Any:  # pragma: no cover - compiled
    def impl(z: Any, q: Any) -> int:
        J = z.shape[1]
        a, m = 0, z[q, 0]
        for j in range(1, J):
            if z[q, j] > m:
                a, m = j, z[q, j]
        for j in range(J):
            d = z[q, j] - m
            if not d <= 0 or (j < a and d > -_TIE):  # NaN, an infinite largest logit, or a near tie
                return -1
        return a

    return impl


@_compiled(inline="always")
def _softmax_minus_onehot(y: Any, r0: int, r1: int, z: Any, n: Any, gb: Any) -> None:  # pragma: no cover
    """``z <- (softmax(z) - onehot(y)) / n`` row by row; ``gb += sum of rows``."""
    for r in range(r0, r1):
        q = r - r0
        _softmax_row(z, q)
        z[q, y[r]] -= 1
        for j in range(z.shape[1]):
            z[q, j] /= n
            gb[j] += z[q, j]


def _backward(X: Any, r0: int, r1: int, d: Any, gT: Any) -> None:
    """``gT[j] += sum_r d[r - r0, j] * X[r]`` for rows ``r0 <= r < r1``: for float32 rows in tiles
    held in vector registers (:func:`_backward_tiles`), else in sweeps over the features
    (:func:`_backward_sweeps`). The tiles add the rows one after another, each with one rounded
    multiply-add (the tests hold them to that, bit for bit); the sweeps leave the order to the
    compiler, which makes the same chain of them. Compiled through the overload below, which
    picks one by type."""
    raise NotImplementedError  # pragma: no cover - only called from compiled code


@overload(_backward, jit_options={"fastmath": _fastmath})
def _backward_compiled(X: Any, r0: Any, r1: Any, d: Any, gT: Any) -> Any:  # pragma: no cover - compiled
    if all(a.dtype == types.float32 and a.layout == "C" for a in (X, d, gT)):

        def tiled(X: Any, r0: Any, r1: Any, d: Any, gT: Any) -> None:
            J5, K16 = gT.shape[0] - gT.shape[0] % 5, X.shape[1] - X.shape[1] % 16
            _backward_tiles(X, r0, r1, d, gT, J5, K16)
            _backward_rest(X, r0, r1, d, gT, J5, K16)

        return tiled

    def swept(X: Any, r0: Any, r1: Any, d: Any, gT: Any) -> None:
        _backward_sweeps(X, r0, r1, d, gT)

    return swept


@_compiled(inline="always")
def _backward_tiles(X: Any, r0: int, r1: int, d: Any, gT: Any, J5: int, K16: int) -> None:  # pragma: no cover
    """The backward product on classes ``< J5`` and features ``< K16``, a tile of 5 classes by 16
    features at a time: its 80 sums stay in ten vector registers while every row of the block adds
    to them (two loads of the row and five multiply-adds of eight lanes each per row), so each
    row is read twice from cache for ten classes, not ten times, and ``gT`` once."""
    for j in range(0, J5, 5):
        for k in range(0, K16, 16):
            a0, b0 = load8(gT, j, k), load8(gT, j, k + 8)
            a1, b1 = load8(gT, j + 1, k), load8(gT, j + 1, k + 8)
            a2, b2 = load8(gT, j + 2, k), load8(gT, j + 2, k + 8)
            a3, b3 = load8(gT, j + 3, k), load8(gT, j + 3, k + 8)
            a4, b4 = load8(gT, j + 4, k), load8(gT, j + 4, k + 8)
            for r in range(r0, r1):
                q = r - r0
                x, y = load8(X, r, k), load8(X, r, k + 8)
                e = d[q, j]
                a0, b0 = fma8(e, x, a0), fma8(e, y, b0)
                e = d[q, j + 1]
                a1, b1 = fma8(e, x, a1), fma8(e, y, b1)
                e = d[q, j + 2]
                a2, b2 = fma8(e, x, a2), fma8(e, y, b2)
                e = d[q, j + 3]
                a3, b3 = fma8(e, x, a3), fma8(e, y, b3)
                e = d[q, j + 4]
                a4, b4 = fma8(e, x, a4), fma8(e, y, b4)
            store8(gT, j, k, a0)
            store8(gT, j, k + 8, b0)
            store8(gT, j + 1, k, a1)
            store8(gT, j + 1, k + 8, b1)
            store8(gT, j + 2, k, a2)
            store8(gT, j + 2, k + 8, b2)
            store8(gT, j + 3, k, a3)
            store8(gT, j + 3, k + 8, b3)
            store8(gT, j + 4, k, a4)
            store8(gT, j + 4, k + 8, b4)


@_compiled(inline="always")
def _backward_rest(X: Any, r0: int, r1: int, d: Any, gT: Any, J5: int, K16: int) -> None:  # pragma: no cover
    """What the tiles leave: classes from ``J5`` on, and features from ``K16`` on, row by row."""
    for r in range(r0, r1):
        q = r - r0
        for j in range(gT.shape[0]):
            dj = d[q, j]
            for k in range(K16 if j < J5 else 0, X.shape[1]):
                gT[j, k] += dj * X[r, k]


@_compiled(inline="always")
def _backward_sweeps(X: Any, r0: int, r1: int, d: Any, gT: Any) -> None:  # pragma: no cover - compiled
    """The backward product on any rows: eight rows added into each row of ``gT`` per sweep."""
    K, J = X.shape[1], gT.shape[0]
    r = r0
    while r + 8 <= r1:
        q = r - r0
        for j in range(J):
            d0, d1, d2, d3 = d[q, j], d[q + 1, j], d[q + 2, j], d[q + 3, j]
            d4, d5, d6, d7 = d[q + 4, j], d[q + 5, j], d[q + 6, j], d[q + 7, j]
            for k in range(K):
                gT[j, k] += ((d0 * X[r, k] + d1 * X[r + 1, k]) + (d2 * X[r + 2, k] + d3 * X[r + 3, k])) + (
                    (d4 * X[r + 4, k] + d5 * X[r + 5, k]) + (d6 * X[r + 6, k] + d7 * X[r + 7, k])
                )
        r += 8
    while r < r1:
        for j in range(J):
            dj = d[r - r0, j]
            for k in range(K):
                gT[j, k] += dj * X[r, k]
        r += 1


def _rows(X: Any, r0: int, r1: int, scale: tuple[float, float], buf: Any) -> tuple[Any, int]:
    """Rows ``r0:r1`` of ``X`` as floats, and where they start: float rows are read where they are
    (``X, r0``); bytes ``u`` are scaled into ``buf`` (``buf, 0``) as ``u * hi + u * lo`` in float32,
    where ``scale = (hi, lo)`` splits ``1 / divisor`` (see :func:`_split_inverse`). Compiled through
    the overload below, without fast-math: reassociation would fold ``hi + lo`` and lose exactness."""
    raise NotImplementedError  # pragma: no cover - only called from compiled code


@overload(_rows, jit_options={"fastmath": False})
def _rows_compiled(X: Any, r0: Any, r1: Any, scale: Any, buf: Any) -> Any:  # pragma: no cover - compiled
    if isinstance(X.dtype, types.Integer):

        def scaled(X: Any, r0: Any, r1: Any, scale: Any, buf: Any) -> Any:
            hi, lo = scale
            for r in range(r0, r1):
                for k in range(X.shape[1]):
                    u = np.float32(X[r, k])
                    buf[r - r0, k] = u * hi + u * lo
            return buf, 0

        return scaled

    def read(X: Any, r0: Any, r1: Any, scale: Any, buf: Any) -> Any:
        return X, r0

    return read


@_compiled(inline="always")
def _share(n: int, parts: int, multiple: int) -> int:  # pragma: no cover - compiled
    """Rows per part: ``n`` split in ``parts``, rounded up to a multiple of ``multiple``."""
    return ((n + parts - 1) // parts + multiple - 1) // multiple * multiple


@_compiled(inline="always")
def _labels_ok(y: Any, r0: int, r1: int, J: int) -> bool:  # pragma: no cover - compiled
    for r in range(r0, r1):  # noqa: SIM110 - a loop compiles; all() over a generator does not
        if y[r] >= J or y[r] < -J:
            return False
    return True


@_compiled(inline="always")
def _transpose(W: Any, WT: Any) -> None:  # pragma: no cover - compiled
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            WT[j, k] = W[k, j]


@_compiled(inline="always")
def _part(  # pragma: no cover - compiled
    X: Any, scale: Any, y: Any, b: Any, n_mean: Any, start: int, n: int, t: int, s: Any
) -> None:
    """Thread ``t``'s share of the step on rows ``start:start + n``: its partial gradient in ``gT[t]``,
    ``gbT[t]``, block by block (logits, softmax minus one-hot, gradient while the block is in cache)."""
    WT, gT, gbT, z, xb = s
    per = _share(n, gT.shape[0], 8)
    lo, hi = start + t * per, min(start + n, start + (t + 1) * per)
    gT[t, :, :] = 0
    gbT[t, :] = 0
    for r0 in range(lo, hi, BLOCK):
        r1 = min(hi, r0 + BLOCK)
        rows, o = _rows(X, r0, r1, scale, xb[t])
        _forward(rows, WT, b, o, o + r1 - r0, z[t])
        _softmax_minus_onehot(y, r0, r1, z[t], n_mean, gbT[t])
        _backward(rows, o, o + r1 - r0, z[t], gT[t])


def _reduce(gT: Any, gbT: Any) -> None:
    """``gT[0], gbT[0] +=`` the other threads' partial gradients, in a fixed order (thread 1, 2, ...).
    Compiled through the overload below, without fast-math, so that the order holds."""
    raise NotImplementedError  # pragma: no cover - only called from compiled code


@overload(_reduce, jit_options={"fastmath": False})
def _reduce_compiled(gT: Any, gbT: Any) -> Any:  # pragma: no cover - compiled
    def impl(gT: Any, gbT: Any) -> None:
        parts, J, K = gT.shape
        for t in range(1, parts):
            for j in range(J):
                gbT[0, j] += gbT[t, j]
                for k in range(K):
                    gT[0, j, k] += gT[t, j, k]

    return impl


def _descend(gT: Any, gb: Any, rate: Any, WT: Any, b: Any) -> None:
    """``W^T -= rate * gW^T`` and ``b -= rate * gb`` as :func:`logistic_sgd.optim.sgd` computes them
    (the product rounded, then subtracted). Compiled through the overload below, without fast-math:
    a fused multiply-subtract would change the last bit."""
    raise NotImplementedError  # pragma: no cover - only called from compiled code


@overload(_descend, jit_options={"fastmath": False})
def _descend_compiled(gT: Any, gb: Any, rate: Any, WT: Any, b: Any) -> Any:  # pragma: no cover
    def impl(gT: Any, gb: Any, rate: Any, WT: Any, b: Any) -> None:
        J, K = WT.shape
        for j in range(J):
            b[j] = b[j] - gb[j] * rate
            for k in range(K):
                WT[j, k] = WT[j, k] - gT[j, k] * rate

    return impl


@_compiled(parallel=True)
def _gradient(  # pragma: no cover - compiled
    X: Any, scale: Any, y: Any, W: Any, b: Any, n_mean: Any, gW: Any, gb: Any, s: Any
) -> bool:
    """The step; False, with nothing computed, when a label lies outside the classes."""
    WT, gT, gbT = s[0], s[1], s[2]
    if not _labels_ok(y, 0, y.shape[0], W.shape[1]):
        return False
    _transpose(W, WT)
    for t in prange(gT.shape[0]):
        _part(X, scale, y, b, n_mean, 0, X.shape[0], t, s)
    _reduce(gT, gbT)
    _transpose(gT[0], gW)
    gb[:] = gbT[0]
    return True


@_compiled(parallel=True)
def _steps(  # pragma: no cover - compiled
    X: Any, scale: Any, y: Any, start: int, batch: int, n_mean: Any, rates: Any, W: Any, b: Any, s: Any
) -> bool:
    """``len(rates)`` steps of SGD, step ``i`` on rows ``start + i * batch`` onwards with rate
    ``rates[i]``; False, with nothing changed, when a label lies outside the classes. The steps
    update ``W^T`` (the layout of the gradient), copied into ``W`` at the end."""
    WT, gT, gbT = s[0], s[1], s[2]
    if not _labels_ok(y, start, start + rates.shape[0] * batch, W.shape[1]):
        return False
    _transpose(W, WT)
    for i in range(rates.shape[0]):
        for t in prange(gT.shape[0]):
            _part(X, scale, y, b, n_mean, start + i * batch, batch, t, s)
        _reduce(gT, gbT)
        _descend(gT[0], gbT[0], rates[i], WT, b)
    _transpose(WT, W)
    return True


@_compiled(parallel=True)
def _logits(X: Any, scale: Any, W: Any, b: Any, out: Any, parts: int) -> None:  # pragma: no cover - compiled
    WT = np.ascontiguousarray(W.T)
    n = X.shape[0]
    per = _share(n, parts, 4)
    for t in prange(parts):
        xb = np.empty((BLOCK, X.shape[1]), W.dtype)
        for r0 in range(t * per, min(n, (t + 1) * per), BLOCK):
            r1 = min(n, r0 + BLOCK, (t + 1) * per)
            rows, o = _rows(X, r0, r1, scale, xb)
            _forward(rows, WT, b, o, o + r1 - r0, out[r0:r1])


@_compiled(parallel=True)
def _predict(X: Any, scale: Any, W: Any, b: Any, out: Any, parts: int) -> None:  # pragma: no cover - compiled
    WT = np.ascontiguousarray(W.T)
    n, J = X.shape[0], W.shape[1]
    per = _share(n, parts, 4)
    for t in prange(parts):
        z = np.empty((BLOCK, J), W.dtype)
        xb = np.empty((BLOCK, X.shape[1]), W.dtype)
        for r0 in range(t * per, min(n, (t + 1) * per), BLOCK):
            r1 = min(n, r0 + BLOCK, (t + 1) * per)
            rows, o = _rows(X, r0, r1, scale, xb)
            _forward(rows, WT, b, o, o + r1 - r0, z)
            for r in range(r0, r1):  # the model's rule: argmax of the probabilities, the first on ties
                q = r - r0
                arg = _clear_argmax(z, q)
                if arg < 0:
                    _softmax_row(z, q)
                    arg = 0
                    for j in range(1, J):
                        if z[q, j] > z[q, arg]:
                            arg = j
                out[r] = arg


@dataclass
class Scratch:
    """Buffers of one model shape for :func:`gradient_into`: ``W^T``, and per thread a partial
    gradient, a block of logits and a block of rows (bytes scaled to floats)."""

    WT: NDArray[Any]
    gT: NDArray[Any]
    gb: NDArray[Any]
    z: NDArray[Any]
    x: NDArray[Any]

    def buffers(self) -> tuple[NDArray[Any], ...]:
        """The buffers in the order the compiled step takes them: ``(W^T, gT, gb, z, x)``."""
        return self.WT, self.gT, self.gb, self.z, self.x

    @classmethod
    def for_model(cls, n_in: int, n_out: int, dtype: Any) -> Scratch:
        parts = numba.get_num_threads()
        return cls(
            WT=np.empty((n_out, n_in), dtype), gT=np.empty((parts, n_out, n_in), dtype),
            gb=np.empty((parts, n_out), dtype), z=np.empty((parts, BLOCK, n_out), dtype),
            x=np.empty((parts, BLOCK, n_in), dtype),
        )


@functools.cache
def bytes_exact(divisor: float) -> bool:
    """Whether the kernels scale every byte ``u`` to ``float32(u) / float32(divisor)``, the number
    float32 division gives (they compute ``u * hi + u * lo``; true for every whole divisor up to
    2,000 at least, checked by the tests)."""
    u = np.arange(256, dtype=np.float32)
    hi, lo = _split_inverse(divisor)
    return bool(np.array_equal(u * hi + u * lo, u / np.float32(divisor)))


def reads(x: Any) -> bool:
    """Whether the kernels can take the stored rows of the :class:`ScaledArray` ``x`` as they are."""
    return x.stored.dtype == np.uint8 and bytes_exact(x.divisor)


@functools.cache
def _split_inverse(divisor: float | None) -> tuple[np.float32, np.float32]:
    """``1 / divisor`` as ``hi + lo`` in float32, ``hi`` of 16 significant bits: the product of a byte
    and ``hi`` is exact, and only the small ``u * lo`` and the sum are rounded."""
    if divisor is None:
        return np.float32(1), np.float32(0)
    inv = 1.0 / float(np.float32(divisor))
    e = math.frexp(inv)[1]
    hi = math.ldexp(round(math.ldexp(inv, 16 - e)), e - 16)
    return np.float32(hi), np.float32(inv - hi)


def _input(X: NDArray[Any], divisor: float | None) -> tuple[NDArray[Any], tuple[np.float32, np.float32]]:
    """``X`` contiguous, with the scale of its bytes; bytes need a divisor that scales them exactly."""
    if X.dtype.kind == "f":
        return np.ascontiguousarray(X), _split_inverse(None)
    if X.dtype == np.uint8:
        if divisor is None or not bytes_exact(divisor):
            raise ValueError(f"bytes need a divisor that scales them exactly, got {divisor}")
    else:
        raise ValueError(f"X must hold floats or bytes, got {X.dtype}")
    return np.ascontiguousarray(X), _split_inverse(divisor)


def _labels(y: NDArray[Any]) -> NDArray[np.intp]:
    """Labels as one integer type, so that each kernel is compiled once per data type, not once more
    for every type labels come in (bytes from IDX files, int64 from NumPy, ...)."""
    if y.dtype.kind not in "iu":
        raise IndexError(f"labels must be integers, got {y.dtype}")
    return np.ascontiguousarray(y, dtype=np.intp)


def gradient_into(
    X: NDArray[Any], y: NDArray[Any], W: NDArray[Any], b: NDArray[Any], n: Any,
    gW: NDArray[Any], gb: NDArray[Any], scratch: Scratch, divisor: float | None = None,
) -> None:
    """``gW, gb <-`` the gradient of the NLL summed over the rows of ``X`` and divided by ``n`` (the
    minibatch size; a rank holding a slice passes the global size). ``y`` holds integer labels.
    ``X`` holds floats of ``W``'s dtype, or bytes standing for ``float32(X) / float32(divisor)``.

    Raises
    ------
    IndexError
        A label outside the model's classes (as NumPy's indexing in the reference would).
    """
    X, scale = _input(X, divisor)
    y = _labels(y)
    with _lock:
        done = _gradient(X, scale, y, W, b, n, gW, gb, scratch.buffers())
    if not done:
        raise IndexError(f"labels must lie in [0, {W.shape[1]}), got {int(y.min())}..{int(y.max())}")


def sgd_steps(
    X: NDArray[Any], y: NDArray[Any], start: int, batch: int, rates: NDArray[Any],
    W: NDArray[Any], b: NDArray[Any], n: Any, scratch: Scratch, divisor: float | None = None,
) -> None:
    """``len(rates)`` steps of minibatch SGD in one call, in place on ``W`` and ``b``: step ``i`` takes
    rows ``start + i * batch`` to ``start + (i + 1) * batch`` of ``X`` and ``y`` and subtracts
    ``rates[i]`` (cast to ``W``'s dtype) times the gradient (divided by ``n``). Each step is
    :func:`gradient_into` followed by :func:`logistic_sgd.optim.sgd`'s update, bit for bit; only the
    Python round trip per minibatch is gone.

    Raises
    ------
    IndexError
        A label of these rows outside the model's classes; nothing is changed then.
    ValueError
        Rows past the end of ``X``.
    """
    X, scale = _input(X, divisor)
    y, rates = _labels(y), np.ascontiguousarray(rates, dtype=W.dtype)  # rates cast as sgd casts them
    end = start + len(rates) * batch
    if start < 0 or end > min(len(X), len(y)):
        raise ValueError(f"rows {start}:{end} do not lie in the {min(len(X), len(y))} rows given")
    with _lock:
        done = _steps(X, scale, y, start, batch, n, rates, W, b, scratch.buffers())
    if not done:
        rows = y[start:end]
        raise IndexError(f"labels must lie in [0, {W.shape[1]}), got {int(rows.min())}..{int(rows.max())}")


def logits_into(
    X: NDArray[Any], W: NDArray[Any], b: NDArray[Any], out: NDArray[Any], divisor: float | None = None
) -> None:
    """``out <- X @ W + b``, the rows shared out between threads (``X`` as in :func:`gradient_into`)."""
    X, scale = _input(X, divisor)
    with _lock:
        _logits(X, scale, W, b, out, numba.get_num_threads())


def predict(X: NDArray[Any], W: NDArray[Any], b: NDArray[Any], divisor: float | None = None) -> NDArray[np.int64]:
    """``argmax softmax(X @ W + b)`` of each row (the first on ties), without storing the logits
    (``X`` as in :func:`gradient_into`).

    The probabilities agree with the model's to rounding, so two classes within an ulp or two of each
    other may be ordered differently than NumPy orders them (as between two BLAS libraries)."""
    X, scale = _input(X, divisor)
    out = np.empty(X.shape[0], np.int64)
    with _lock:
        _predict(X, scale, W, b, out, numba.get_num_threads())
    return out


def share_cores(processes: int) -> None:
    """Use this process's share of the cores when ``processes`` processes run on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS, cores // max(1, processes))))

"""Compiled CPU kernels for SGD on CSR rows (the ``[numba]`` extra): :mod:`logistic_sgd.backends.sparse`'s math
in one call per run of steps, without a Python round trip per minibatch.

A step reads, for each row, the weight rows of its features (``n_out`` contiguous numbers each, asked
of memory a dozen non-zeros ahead, since they lie anywhere in ``W``) to form the logits, turns them
into ``D = (softmax - onehot) / n``, and only once every row of the minibatch has its ``D`` subtracts
``c x_k D_r`` from each weight row ``k`` the row holds: the gradient is never formed, and rows of
``W`` that the minibatch does not touch are not read.

The steps run on one thread: a step's work (a minibatch of a few thousand non-zeros) is shorter than
what it costs to wake other threads for it. Scoring shares its rows out between threads. L2 decay
uses the scaled weights of :mod:`logistic_sgd.backends.sparse`. The sums run in another order than
SciPy's, and a minibatch's terms are subtracted from a weight one row at a time rather than summed
first, so the results agree with the reference path to rounding, not to the bit.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numba import prange
from numpy.typing import NDArray

from ...data.rows import CSR
from ..sparse import SMALLEST_SCALE, checked_run
from .compile import compiled
from .simd import prefetch

_fastmath = {"contract", "reassoc", "nsz", "arcp"}  # no nnan/ninf: NaN and Inf must show
AHEAD = 12  # non-zeros ahead whose weight row is fetched into cache while this one is computed
_lock = threading.Lock()  # numba's default thread pool must not be entered from two threads at once


@compiled(fastmath=_fastmath, inline="always")
def _row_logits(  # pragma: no cover - compiled
    data: Any, indices: Any, lo: int, hi: int, W: Any, scale: Any, b: Any, z: Any
) -> None:
    """``z <- scale * (x W) + b`` for the row whose values are ``data[lo:hi]`` in columns ``indices[lo:hi]``."""
    J = W.shape[1]
    for j in range(J):
        z[j] = 0
    last = indices.shape[0] - AHEAD
    for p in range(lo, hi):
        if p < last:  # the weight rows of later non-zeros are scattered over W: fetch them early
            ahead = indices[p + AHEAD]
            prefetch(W, ahead, 0)
            prefetch(W, ahead, J - 1)
        x = data[p]
        k = indices[p]
        for j in range(J):
            z[j] += x * W[k, j]
    for j in range(J):
        z[j] = z[j] * scale + b[j]


@compiled(fastmath=_fastmath, inline="always")
def _softmax(z: Any) -> None:  # pragma: no cover - compiled
    """``z <- exp(z - max z) / sum exp(z - max z)``, in place."""
    J = z.shape[0]
    m = z[0]
    for j in range(1, J):
        m = max(m, z[j])
    t = 0.0
    for j in range(J):
        z[j] = np.exp(z[j] - m)
        t += z[j]
    for j in range(J):
        z[j] /= t


@compiled(fastmath=_fastmath, inline="always")
def _softmax_minus_onehot(z: Any, label: int, n: Any) -> None:  # pragma: no cover - compiled
    _softmax(z)
    z[label] -= 1
    for j in range(z.shape[0]):
        z[j] /= n


@compiled(fastmath=_fastmath)
def _steps(  # pragma: no cover - compiled
    data: Any, indices: Any, indptr: Any, y: Any, start: int, batch: int, n: Any, rates: Any, l2: float,
    W: Any, b: Any, D: Any,
) -> None:
    J = W.shape[1]
    cast = np.empty(2, W.dtype)  # the scale and the step's factor in W's dtype, so the loops stay in it
    scale = 1.0
    for i in range(rates.shape[0]):
        r0 = start + i * batch
        cast[0] = scale
        s = cast[0]
        for r in range(batch):
            row = r0 + r
            _row_logits(data, indices, indptr[row], indptr[row + 1], W, s, b, D[r])
            _softmax_minus_onehot(D[r], y[row], n)
        rate = rates[i]
        if l2 != 0.0:
            scale *= 1.0 - rate * l2
        cast[1] = rate / scale
        c = cast[1]
        for r in range(batch):
            row = r0 + r
            for p in range(indptr[row], indptr[row + 1]):
                k = indices[p]
                cx = c * data[p]
                for j in range(J):
                    W[k, j] -= cx * D[r, j]
        for j in range(J):
            g = 0.0
            for r in range(batch):
                g += D[r, j]
            b[j] -= rate * g
        if scale < SMALLEST_SCALE:
            _fold(W, scale)
            scale = 1.0
    if scale != 1.0:
        _fold(W, scale)


@compiled(fastmath=_fastmath)
def _fold(W: Any, scale: float) -> None:  # pragma: no cover - compiled
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            W[k, j] *= scale  # in float64, rounded once to W's dtype


@compiled(fastmath=_fastmath, parallel=True)
def _predict(data: Any, indices: Any, indptr: Any, W: Any, b: Any, out: Any) -> None:  # pragma: no cover
    J = W.shape[1]
    one = np.ones(1, W.dtype)[0]
    for r in prange(out.shape[0]):
        z = np.empty(J, W.dtype)
        _row_logits(data, indices, indptr[r], indptr[r + 1], W, one, b, z)
        _softmax(z)
        best = 0
        for j in range(1, J):
            if z[j] > z[best]:
                best = j
        out[r] = best


def sgd_steps(
    X: CSR, y: NDArray[np.integer], start: int, batch: int, rates: NDArray[Any], W: NDArray[np.floating],
    b: NDArray[np.floating], l2: float = 0.0, n: int | None = None,
) -> None:
    """:func:`logistic_sgd.backends.sparse.sgd_steps`, compiled: the same arguments, steps and errors.

    Raises
    ------
    IndexError
        A label of these rows outside ``[0, n_out)``; nothing is changed then.
    ValueError
        As :func:`logistic_sgd.backends.sparse.sgd_steps`.
    """
    rates, end = checked_run(X, y, start, batch, rates, l2, W.dtype)
    labels = y[start:end]
    if len(labels) and (labels.min() < 0 or labels.max() >= W.shape[1]):
        raise IndexError(f"labels must lie in [0, {W.shape[1]}), got {int(labels.min())}..{int(labels.max())}")
    _check_rows(X, start, end, W)
    D = np.empty((batch, W.shape[1]), W.dtype)
    with _lock:
        _steps(X.data, X.indices, X.indptr, _labels(y), start, batch, W.dtype.type(n or batch), rates, float(l2),
               W, b, D)


def predict(X: CSR, W: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.int64]:
    """:func:`logistic_sgd.backends.sparse.predict`, compiled (rows shared out between threads)."""
    _check_rows(X, 0, len(X), W)
    out = np.empty(len(X), np.int64)
    with _lock:
        _predict(X.data, X.indices, X.indptr, W, b, out)
    return out


def _check_rows(X: CSR, start: int, end: int, W: NDArray[Any]) -> None:
    """The compiled loops index ``W`` and ``data`` without bounds checks: the rows they will read must hold
    column indices of ``W`` and an ``indptr`` that stays within ``data`` (one pass over those indices)."""
    if X.n_features != W.shape[0]:
        raise ValueError(f"X has {X.n_features} features but W has {W.shape[0]} rows")
    ptr = np.asarray(X.indptr[start : end + 1])
    if len(ptr) and (ptr[0] < 0 or ptr[-1] > min(len(X.data), len(X.indices)) or np.any(np.diff(ptr) < 0)):
        raise ValueError("X.indptr must increase and stay within X.data")
    if len(ptr) and ptr[-1] > ptr[0]:
        used = X.indices[ptr[0] : ptr[-1]]
        if used.min() < 0 or used.max() >= W.shape[0]:
            raise IndexError(f"column indices must lie in [0, {W.shape[0]}), got {int(used.min())}..{int(used.max())}")


def _labels(y: NDArray[Any]) -> NDArray[np.intp]:
    """Labels as one integer type, so that the kernel compiles once, not once per label type."""
    return np.ascontiguousarray(y, dtype=np.intp)

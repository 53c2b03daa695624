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

AdaGrad's steps (:func:`adagrad_steps`) need each weight's gradient whole (its square is summed): a
step gathers the minibatch's features into a compact list (``slot[k]``, the feature's place in it,
reset after the step), sums ``x_k D_r`` per feature there, then updates each listed weight row and its
accumulator once (one square root per feature, not per weight). Memory: one int32 per feature, and
``nnz(minibatch) x n_out`` numbers.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numba import prange
from numpy.typing import NDArray

from ...data.rows import CSR
from ...util.arrays import read_only
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
def _adagrad_steps(  # pragma: no cover - compiled
    data: Any, indices: Any, indptr: Any, y: Any, start: int, batch: int, n: Any, steps: int, lr: Any, eps: Any,
    scale: Any, W: Any, b: Any, AW: Any, Ab: Any, D: Any, slot: Any, cols: Any, G: Any,
) -> None:
    J = W.shape[1]
    one = np.ones(1, W.dtype)[0]
    for i in range(steps):
        r0 = start + i * batch
        for r in range(batch):
            row = r0 + r
            _row_logits(data, indices, indptr[row], indptr[row + 1], W, one, b, D[r])
            _softmax_minus_onehot(D[r], y[row], n)
        m = 0
        for r in range(batch):
            row = r0 + r
            for p in range(indptr[row], indptr[row + 1]):
                k = indices[p]
                s = slot[k]
                if s < 0:
                    s = m
                    slot[k] = m
                    cols[m] = k
                    for j in range(J):
                        G[m, j] = 0
                    m += 1
                x = data[p]
                for j in range(J):
                    G[s, j] += x * D[r, j]
        for q in range(m):
            k = cols[q]
            slot[k] = -1
            ss = G[q, 0] * G[q, 0]
            for j in range(1, J):
                ss += G[q, j] * G[q, j]
            a = AW[k, 0] + ss
            AW[k, 0] = a
            f = lr / (scale[k] * np.sqrt(a + eps))
            for j in range(J):
                W[k, j] -= f * G[q, j]
        for j in range(J):
            g = D[0, j]
            for r in range(1, batch):
                g += D[r, j]
            G[0, j] = g  # the list is done with: its first row holds the bias's gradient
        ss = G[0, 0] * G[0, 0]
        for j in range(1, J):
            ss += G[0, j] * G[0, j]
        a = Ab[0] + ss
        Ab[0] = a
        f = lr / np.sqrt(a + eps)
        for j in range(J):
            b[j] -= f * G[0, j]


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
    _check_rows(X, y, start, end, W)
    D = np.empty((batch, W.shape[1]), W.dtype)
    with _lock:
        _steps(*_arrays(X), _labels(y), start, batch, W.dtype.type(n or batch), rates, float(l2), W, b, D)


def adagrad_steps(
    X: CSR, y: NDArray[np.integer], start: int, batch: int, steps: int, W: NDArray[np.floating],
    b: NDArray[np.floating], AW: NDArray[np.floating], Ab: NDArray[np.floating], learning_rate: float,
    eps: float, feature_scale: NDArray[np.floating] | None = None, n: int | None = None,
) -> None:
    """:func:`logistic_sgd.backends.sparse.adagrad_steps`, compiled: the same arguments, steps and errors.

    Raises
    ------
    IndexError
        A label of these rows outside ``[0, n_out)``; nothing is changed then.
    ValueError
        As :func:`logistic_sgd.backends.sparse.adagrad_steps`, or accumulators not shaped as ``W``, ``b``.
    """
    _, end = checked_run(X, y, start, batch, np.zeros(steps), 0.0, W.dtype)
    _check_rows(X, y, start, end, W)
    if AW.shape != (W.shape[0], 1) or Ab.shape != (1,) or AW.dtype != W.dtype or Ab.dtype != W.dtype:
        raise ValueError(f"the accumulators must have shapes ({W.shape[0]}, 1) and (1,) and W's dtype")
    t = W.dtype.type
    scale = np.ones(W.shape[0], W.dtype) if feature_scale is None else np.ascontiguousarray(feature_scale, W.dtype)
    if scale.shape != (W.shape[0],):
        raise ValueError(f"feature_scale must hold {W.shape[0]} numbers, got shape {scale.shape}")
    ptr = np.asarray(X.indptr[start : end + 1 : batch], dtype=np.int64)
    widest = int(np.diff(ptr).max()) if len(ptr) > 1 else 0
    D = np.empty((batch, W.shape[1]), W.dtype)
    slot = np.full(W.shape[0], -1, np.int32)
    cols = np.empty(max(widest, 1), np.int64)
    G = np.empty((max(widest, 1), W.shape[1]), W.dtype)
    with _lock:
        _adagrad_steps(*_arrays(X), _labels(y), start, batch, t(n or batch), steps, t(learning_rate), t(eps), scale,
                       W, b, AW, Ab, D, slot, cols, G)


def predict(X: CSR, W: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.int64]:
    """:func:`logistic_sgd.backends.sparse.predict`, compiled (rows shared out between threads)."""
    _check_rows(X, None, 0, len(X), W)
    out = np.empty(len(X), np.int64)
    with _lock:
        _predict(*_arrays(X), W, b, out)
    return out


def _check_rows(X: CSR, y: NDArray[Any] | None, start: int, end: int, W: NDArray[Any]) -> None:
    """The compiled loops index ``W`` and ``data`` without bounds checks: the rows they will read must hold
    column indices of ``W`` and an ``indptr`` that stays within ``data`` (one pass over those indices), and
    their labels ``y[start:end]`` (when given) class indices of ``W``."""
    if y is not None:
        labels = y[start:end]
        if len(labels) and (labels.min() < 0 or labels.max() >= W.shape[1]):
            raise IndexError(f"labels must lie in [0, {W.shape[1]}), got {int(labels.min())}..{int(labels.max())}")
    if X.n_features != W.shape[0]:
        raise ValueError(f"X has {X.n_features} features but W has {W.shape[0]} rows")
    ptr = np.asarray(X.indptr[start : end + 1])
    if len(ptr) and (ptr[0] < 0 or ptr[-1] > min(len(X.data), len(X.indices)) or np.any(np.diff(ptr) < 0)):
        raise ValueError("X.indptr must increase and stay within X.data")
    if len(ptr) and ptr[-1] > ptr[0]:
        used = X.indices[ptr[0] : ptr[-1]]
        if used.min() < 0 or used.max() >= W.shape[0]:
            raise IndexError(f"column indices must lie in [0, {W.shape[0]}), got {int(used.min())}..{int(used.max())}")


def _arrays(X: CSR) -> tuple[NDArray[Any], ...]:
    """``X``'s values, column indices and row offsets, read-only
    (:func:`~logistic_sgd.util.arrays.read_only`: one compiled kernel for rows in memory and
    memory-mapped ones)."""
    return read_only(X.data), read_only(X.indices), read_only(X.indptr)


def _labels(y: NDArray[Any]) -> NDArray[np.intp]:
    """Labels as one integer type, so that the kernel compiles once, not once per label type."""
    return np.ascontiguousarray(y, dtype=np.intp)

"""The model's math on CSR rows, through NumPy and SciPy (the ``[scipy]`` extra): the reference path.

The model is :mod:`logistic_sgd.model`'s, ``softmax(x W + b)`` with ``W`` (n_features x n_out), and so
are the loss and the gradient: with ``D = (softmax(X W + b) - onehot(y)) / n``, ``dW = X^T D`` and
``db = sum_k D_k``. Row ``k`` of ``dW`` is zero unless feature ``k`` occurs in the minibatch, so a
step computes and changes only the rows of the features the minibatch holds: the columns the
minibatch uses are numbered ``0..m-1`` (``np.unique``), the product runs on that ``m``-column matrix
and ``W[cols]``, and only ``W[cols]`` is written back.

L2 weight decay (:func:`logistic_sgd.optim.add_l2`: ``W <- W - rate * (dW + l2 W)``) shrinks every
row at every step. Written as ``W = s V``, the step is ``s <- s (1 - rate l2)`` and ``V[cols] <-
V[cols] - rate / s * dW[cols]``, which touches the same rows as the gradient (the scaled weights of
Bottou's SGD and scikit-learn's ``wscale``); ``W`` is ``s V`` again at the end of a run of steps, one
pass over the weights per run, not per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .csr import CSR, scipy_sparse

SMALLEST_SCALE = 1e-9  # below this the scale is folded into the weights (one pass), before precision suffers


@dataclass(frozen=True)
class RowGradient:
    """The gradient of the NLL on a minibatch: ``dW`` is zero except the rows ``rows`` (sorted), where it is
    ``gW``; ``db`` is ``gb``."""

    rows: NDArray[np.integer]
    gW: NDArray[np.floating]
    gb: NDArray[np.floating]

    def dense(self, n_features: int, out: NDArray[np.floating] | None = None) -> NDArray[np.floating]:
        """``dW`` as a full (n_features x n_out) array, written into ``out`` when given (a pass over every
        weight: the input of the optimisers that change every weight)."""
        if out is None:
            out = np.zeros((n_features, self.gW.shape[1]), self.gW.dtype)
        else:
            out.fill(0)
        out[self.rows] = self.gW
        return out


def gradient(X: CSR, y: NDArray[np.integer], W: NDArray[np.floating], b: NDArray[np.floating],
             n: int | None = None) -> RowGradient:
    """Gradient of the mean NLL of the rows of ``X`` (labels ``y``) at ``(W, b)``, divided by ``n``
    (default: the number of rows; a rank holding a slice of a minibatch passes the minibatch's size).
    Computed in ``W``'s dtype; only the rows of ``W`` of features present in ``X`` are read."""
    cols, xc = _compact(X, W.dtype)
    d = _softmax_minus_onehot(xc @ W[cols] + b, y, n or len(X))
    return RowGradient(cols, np.asarray(xc.T @ d), d.sum(axis=0))


def sgd_steps(
    X: CSR, y: NDArray[np.integer], start: int, batch: int, rates: NDArray[Any], W: NDArray[np.floating],
    b: NDArray[np.floating], l2: float = 0.0, n: int | None = None,
) -> None:
    """``len(rates)`` steps of minibatch SGD in place on ``W`` and ``b``: step ``i`` takes rows ``start + i *
    batch`` to ``start + (i + 1) * batch`` and does ``W <- W - rates[i] * (dW + l2 W)``, ``b <- b -
    rates[i] * db`` (the gradient divided by ``n``, default ``batch``), the seed's ``sgd`` with
    :func:`logistic_sgd.optim.add_l2`. ``rates`` are cast to ``W``'s dtype, as ``sgd`` casts them.

    Raises
    ------
    ValueError
        Rows past the end of ``X``, or a step with ``rate * l2 >= 1`` (the decay would flip the weights' sign).
    """
    rates = np.asarray(rates, dtype=W.dtype)
    end = start + len(rates) * batch
    if start < 0 or end > min(len(X), len(y)):
        raise ValueError(f"rows {start}:{end} do not lie in the {min(len(X), len(y))} rows given")
    if l2 and len(rates) and float(rates.max()) * l2 >= 1:
        raise ValueError(f"learning rate * l2 must be < 1, got {float(rates.max())} * {l2}")
    n = n or batch
    scale = 1.0
    for i, rate in enumerate(rates):
        lo = start + i * batch
        cols, xc = _compact(X.rows(lo, lo + batch), W.dtype)
        wc = W[cols]
        z = xc @ wc
        if scale != 1.0:
            z *= W.dtype.type(scale)
        d = _softmax_minus_onehot(z + b, y[lo : lo + batch], n)
        if l2:
            scale *= 1.0 - float(rate) * l2
        wc -= W.dtype.type(float(rate) / scale) * np.asarray(xc.T @ d)
        W[cols] = wc
        b -= rate * d.sum(axis=0)
        if scale < SMALLEST_SCALE:
            W *= W.dtype.type(scale)
            scale = 1.0
    if scale != 1.0:
        W *= W.dtype.type(scale)


def logits(X: CSR, W: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.floating]:
    """``X W + b``, shape (n_rows, n_out), in ``W``'s dtype."""
    return np.asarray(X.astype(W.dtype).to_scipy() @ W) + b


def predict(X: CSR, W: NDArray[np.floating], b: NDArray[np.floating], chunk: int = 8192) -> NDArray[np.int64]:
    """``argmax softmax(x W + b)`` of each row, the first class on ties (the model's rule), ``chunk`` rows at a time."""
    out = np.empty(len(X), np.int64)
    for lo in range(0, len(X), chunk):
        hi = min(len(X), lo + chunk)
        p = logits(X.rows(lo, hi), W, b)
        p -= p.max(axis=1, keepdims=True)
        np.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        out[lo:hi] = p.argmax(axis=1)
    return out


def _compact(X: CSR, dtype: np.dtype) -> tuple[NDArray[np.integer], Any]:
    """The sorted columns ``cols`` that ``X`` uses, and ``X`` as a SciPy CSR over them (column ``i`` is ``cols[i]``)."""
    cols, inverse = np.unique(X.indices, return_inverse=True)
    xc = scipy_sparse().csr_array((X.data.astype(dtype, copy=False), inverse.astype(X.indptr.dtype), X.indptr),
                          shape=(len(X), len(cols)))
    return cols, xc


def _softmax_minus_onehot(z: NDArray[np.floating], y: NDArray[np.integer], n: int) -> NDArray[np.floating]:
    """``(softmax(z) - onehot(y)) / n`` row by row, in place on ``z``."""
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    z[np.arange(len(z)), y] -= 1
    z /= z.dtype.type(n)
    return z

"""Sparse rows (:class:`~logistic_sgd.data.rows.CSR`): the model's math through NumPy and SciPy (the
``[scipy]`` extra), the reference path, and :class:`SparseTrainer`, the steps of a sparse training set
on the numpy and numba backends.

The model is :mod:`logistic_sgd.core.model`'s, ``softmax(x W + b)`` with ``W`` (n_features x n_out), and so
are the loss and the gradient: with ``D = (softmax(X W + b) - onehot(y)) / n``, ``dW = X^T D`` and
``db = sum_k D_k``. Row ``k`` of ``dW`` is zero unless feature ``k`` occurs in the minibatch, so a
step computes and changes only the rows of the features the minibatch holds: the columns the
minibatch uses are numbered ``0..m-1`` (``np.unique``), the product runs on that ``m``-column matrix
and ``W[cols]``, and only ``W[cols]`` is written back.

L2 weight decay (:func:`logistic_sgd.core.optim.add_l2`: ``W <- W - rate * (dW + l2 W)``) shrinks every
row at every step. Written as ``W = s V``, the step is ``s <- s (1 - rate l2)`` and ``V[cols] <-
V[cols] - rate / s * dW[cols]``, which touches the same rows as the gradient (the scaled weights of
Bottou's SGD and scikit-learn's ``wscale``); ``W`` is ``s V`` again at the end of a run of steps, one
pass over the weights per run, not per step.

AdaGrad (:func:`logistic_sgd.core.optim.adagrad`) is lazy by nature: a weight whose gradient is zero keeps
its accumulated squares and does not move, so a step of :func:`adagrad_steps` reads and writes only
the rows of ``W`` and of its accumulators for the features its minibatch holds, and equals the dense
update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core.model import LogisticRegression
from ..data.rows import CSR, scipy_sparse
from .trainer import Trainer

SMALLEST_SCALE = 1e-9  # below this the scale is folded into the weights (one pass), before precision suffers
WINDOW = 1 << 22  # non-zeros read at a time from a memory-mapped set (with their indices, 32 MB in float32)


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
             n: int | None = None, weights: NDArray[np.floating] | None = None) -> RowGradient:
    """Gradient of the mean NLL of the rows of ``X`` (labels ``y``) at ``(W, b)``, divided by ``n``
    (default: the number of rows; a rank holding a slice of a minibatch passes the minibatch's size),
    each row's term times its weight when ``weights`` are given. Computed in ``W``'s dtype; only the
    rows of ``W`` of features present in ``X`` are read."""
    cols, xc = _compact(X, W.dtype)
    d = _softmax_minus_onehot(xc @ W[cols] + b, y, n or len(X))
    if weights is not None:
        d *= np.asarray(weights, dtype=d.dtype)[:, None]
    return RowGradient(cols, np.asarray(xc.T @ d), d.sum(axis=0))


def sgd_steps(
    X: CSR, y: NDArray[np.integer], start: int, batch: int, rates: NDArray[Any], W: NDArray[np.floating],
    b: NDArray[np.floating], l2: float = 0.0, n: int | None = None,
) -> None:
    """``len(rates)`` steps of minibatch SGD in place on ``W`` and ``b``: step ``i`` takes rows ``start + i *
    batch`` to ``start + (i + 1) * batch`` and does ``W <- W - rates[i] * (dW + l2 W)``, ``b <- b -
    rates[i] * db`` (the gradient divided by ``n``, default ``batch``), the original tutorial's ``sgd`` with
    :func:`logistic_sgd.core.optim.add_l2`. ``rates`` are cast to ``W``'s dtype, as ``sgd`` casts them.

    Raises
    ------
    ValueError
        Rows past the end of ``X``, or a step with ``rate * l2 >= 1`` (the decay would flip the weights' sign).
    """
    rates, _ = checked_run(X, y, start, batch, rates, l2, W.dtype)
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


def adagrad_steps(
    X: CSR, y: NDArray[np.integer], start: int, batch: int, steps: int, W: NDArray[np.floating],
    b: NDArray[np.floating], AW: NDArray[np.floating], Ab: NDArray[np.floating], learning_rate: float,
    eps: float, feature_scale: NDArray[np.floating] | None = None, n: int | None = None,
) -> None:
    """``steps`` steps of :func:`logistic_sgd.core.optim.adagrad` in place on ``W``, ``b`` and their
    accumulated squared gradient norms ``AW`` (n_in, 1) and ``Ab`` (1,): step ``i`` takes rows ``start + i
    * batch`` to ``start + (i + 1) * batch`` (the gradient divided by ``n``, default ``batch``), does
    ``A_k <- A_k + ||g_k||^2`` and ``W_k <- W_k - lr * g_k / (s_k sqrt(A_k + eps))`` for each row ``k``
    (``s = feature_scale``, 1 for ``b``). Only the rows of the minibatch's features are read and written.

    Raises
    ------
    ValueError
        Rows past the end of ``X``.
    """
    checked_run(X, y, start, batch, np.zeros(steps), 0.0, W.dtype)
    t = W.dtype.type
    lr, e = t(learning_rate), t(eps)
    for i in range(steps):
        lo = start + i * batch
        rg = gradient(X.rows(lo, lo + batch), np.asarray(y[lo : lo + batch]), W, b, n or batch)
        k, g = rg.rows, rg.gW
        a = AW[k] + (g * g).sum(axis=1, keepdims=True)
        AW[k] = a
        step = lr * g / np.sqrt(a + e)
        if feature_scale is not None:
            step /= np.asarray(feature_scale, dtype=W.dtype)[k, None]
        W[k] -= step
        Ab += (rg.gb * rg.gb).sum()
        b -= lr * rg.gb / np.sqrt(Ab + e)


def checked_run(X: CSR, y: Any, start: int, batch: int, rates: Any, l2: float, dtype: Any) -> tuple[NDArray[Any], int]:
    """``rates`` cast to ``dtype`` (as ``sgd`` casts them) and the end of the run's rows, once the rows
    are known to lie in ``X`` and ``y`` and no step has ``rate * l2 >= 1``: the checks of every
    :func:`sgd_steps`, here and compiled (``ValueError`` otherwise)."""
    rates = np.ascontiguousarray(rates, dtype=dtype)
    end = start + len(rates) * batch
    if start < 0 or end > min(len(X), len(y)):
        raise ValueError(f"rows {start}:{end} do not lie in the {min(len(X), len(y))} rows given")
    if l2 and len(rates) and float(rates.max()) * l2 >= 1:
        raise ValueError(f"learning rate * l2 must be < 1, got {float(rates.max())} * {l2}")
    return rates, end


def loss_and_gradient(X: CSR, y: NDArray[np.integer], W: NDArray[np.floating], b: NDArray[np.floating],
                      weights: NDArray[np.floating] | None = None, chunk: int = 8192) -> tuple[float, Any, Any]:
    """The mean NLL over all rows of ``X`` (weighted per row by ``weights``) and its gradient
    ``(gW, gb)`` (``gW`` dense), ``chunk`` rows at a time: what the full-batch solvers call."""
    n = len(X)
    gW, gb, total = np.zeros_like(W), np.zeros_like(b), 0.0
    for lo in range(0, n, chunk):
        rows = X.rows(lo, min(n, lo + chunk))
        labels = np.asarray(y[lo : lo + chunk])
        cols, xc = _compact(rows, W.dtype)
        z = xc @ W[cols] + b
        top = z.max(axis=1, keepdims=True)
        logp = z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True))
        picked = logp[np.arange(len(labels)), labels]
        w = None if weights is None else np.asarray(weights[lo : lo + chunk], dtype=W.dtype)
        total -= float(picked.sum() if w is None else (w * picked).sum())
        d = _softmax_minus_onehot(z, labels, n)
        if w is not None:
            d *= w[:, None]
        gW[cols] += np.asarray(xc.T @ d)
        gb += d.sum(axis=0)
    return total / n, gW, gb


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


class SparseTrainer(Trainer):
    """The steps of a model on a sparse training set, by ``ops`` (this module, or the numba backend's
    :mod:`~logistic_sgd.backends.numba.sparse_kernels`, which take the same calls).

    A run of plain SGD steps touches only the weight rows of each minibatch's features, L2 decay
    included (scaled weights, see the module docstring); shuffled epochs run on a permuted copy of
    the rows (:meth:`reorder`). A single step (momentum, L1, weights, distributed training) gives the
    dense gradient its optimiser needs: a pass over every weight per step.
    """

    takes_decay = True
    takes_adagrad = True
    shuffles_in_runs = True

    def __init__(self, model: LogisticRegression, x: CSR, y: Any, rows: int, mean_over: int, ops: Any,
                 weighted: bool = False) -> None:
        self.model, self.x, self.y, self.rows = model, x, np.asarray(y), rows
        self.ops, self.mean_over = ops, mean_over
        self.takes_runs = not weighted  # a run's steps take no weights: weighted steps go one by one
        self.all_x, self.all_y = self.x, self.y
        self._dense: NDArray[np.floating] | None = None

    @property
    def grads(self) -> Any:
        if self._dense is None:
            n_in, n_out = self.model.n_in, self.model.n_out
            self._dense = np.zeros(n_in * n_out + n_out, self.model.dtype)
        return self._dense

    def gradient(self, x: Any, y: Any, weights: Any = None) -> tuple[Any, Any]:
        m = self.model
        rg = gradient(x, np.asarray(y), m.W, m.b, self.mean_over, weights)
        flat = self.grads
        k = m.n_in * m.n_out
        gW = flat[:k].reshape(m.n_in, m.n_out)
        rg.dense(m.n_in, out=gW)
        flat[k:] = rg.gb
        return gW, flat[k:]

    def run(self, start: int, rates: Any, decay: float = 0.0) -> None:
        """The steps, on the rows in memory; on a memory-mapped set, window by window of at most
        :data:`WINDOW` non-zeros, each read with ``pread`` so that resident memory stays flat (the L2
        scale is folded into the weights after each window: the same steps, rounded at other points)."""
        m, x, n = self.model, self.x, self.rows
        if not isinstance(x.data, np.memmap):
            self.ops.sgd_steps(x, self.y, start, n, rates, m.W, m.b, l2=decay, n=self.mean_over)
            return
        done = 0
        while done < len(rates):
            lo = start + done * n
            ends = x.indptr[lo + n : lo + (len(rates) - done) * n + 1 : n].astype(np.int64)
            steps = max(1, int(np.searchsorted(ends - int(x.indptr[lo]), WINDOW, side="right")))
            window = x.read_rows(lo, lo + steps * n)
            self.ops.sgd_steps(window, self.y[lo : lo + steps * n], 0, n, rates[done : done + steps], m.W, m.b,
                               l2=decay, n=self.mean_over)
            done += steps

    def run_adagrad(self, start: int, steps: int, sum_sq: Any, adagrad: Any) -> None:
        """``steps`` steps of :func:`logistic_sgd.core.optim.adagrad` (constants ``adagrad``, accumulators
        ``sum_sq = [A_W, A_b]``, changed in place), on the rows in memory or window by window."""
        m, x, n = self.model, self.x, self.rows
        done = 0
        while done < steps:
            lo = start + done * n
            if isinstance(x.data, np.memmap):
                ends = x.indptr[lo + n : lo + (steps - done) * n + 1 : n].astype(np.int64)
                take = max(1, int(np.searchsorted(ends - int(x.indptr[lo]), WINDOW, side="right")))
                rows, ys, first = x.read_rows(lo, lo + take * n), self.y[lo : lo + take * n], 0
            else:
                take, rows, ys, first = steps, x, self.y, lo
            self.ops.adagrad_steps(rows, ys, first, n, take, m.W, m.b, sum_sq[0], sum_sq[1], adagrad.learning_rate,
                                   adagrad.eps, adagrad.feature_scale, n=self.mean_over)
            done += take

    def reorder(self, order: Any) -> None:
        """Take this epoch's runs over the rows in ``order`` (a permuted copy of the training set)."""
        order = np.asarray(order)
        self.x, self.y = self.all_x.take(order), self.all_y[order]

    def warm_up(self, valid_x: Any) -> None:
        m = self.model
        self.ops.sgd_steps(self.x, self.y, 0, self.rows, np.empty(0, m.dtype), m.W, m.b)
        self.ops.predict(valid_x[:1], m.W, m.b)

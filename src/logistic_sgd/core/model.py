"""Multinomial logistic regression: the model, its loss and its gradient, as plain array math.

The model is a weight matrix ``W`` (n_in x n_out) and a bias ``b`` (n_out):

    P(Y = i | x, W, b) = softmax_i(x W + b) = exp(x W_i + b_i) / sum_j exp(x W_j + b_j)
    y_pred             = argmax_i P(Y = i | x, W, b)

trained by minimising the mean negative log-likelihood of a minibatch D,

    l(W, b; D) = -1/|D| sum_{(x, y) in D} log P(Y = y | x, W, b),

whose gradient with respect to the logits ``z = x W + b`` is ``(softmax(z) - onehot(y)) / |D|``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..util.arrays import NUMPY_ARRAYS, Array, Arrays

FLOATX = ("float32", "float64")


class LogisticRegression:
    """Multi-class logistic regression, ``softmax(X @ W + b)``.

    Parameters
    ----------
    n_in : int
        Number of input features (784 for 28x28 images).
    n_out : int
        Number of classes.
    dtype : {"float32", "float64"}
        Floating-point type of the parameters and of every computation (the original tutorial's floatX).
    arrays : Arrays, optional
        The array namespace and device the parameters live on (NumPy by default; a backend's
        :meth:`~logistic_sgd.backends.Backend.new_model` passes its own).

    Attributes
    ----------
    W : array of shape (n_in, n_out)
        Column ``k`` is the separating hyperplane of class ``k``. Zero-initialised.
    b : array of shape (n_out,)
        Bias of each class. Zero-initialised.
    """

    def __init__(self, n_in: int, n_out: int, dtype: DTypeLike = "float32", arrays: Arrays = NUMPY_ARRAYS) -> None:
        self._describe(n_in, n_out, dtype, arrays)
        self.W = arrays.zeros((self.n_in, self.n_out), self.dtype.name)
        self.b = arrays.zeros((self.n_out,), self.dtype.name)

    @classmethod
    def from_params(cls, W: Array, b: Array, arrays: Arrays = NUMPY_ARRAYS) -> LogisticRegression:
        """A model whose parameters are the arrays ``W`` and ``b`` themselves, not copies (a wide model
        read from a file is not held twice).

        Parameters
        ----------
        W : array of shape (n_in, n_out), float32 or float64
            The weights, one column per class.
        b : array of shape (n_out,)
            The biases, of ``W``'s dtype.
        arrays : Arrays, optional
            The namespace ``W`` and ``b`` belong to (NumPy by default).

        Returns
        -------
        LogisticRegression
            The model holding ``W`` and ``b``.

        Raises
        ------
        ValueError
            If the shapes or dtypes do not fit together, or the dtype is not float32 or float64.
        """
        model = cls.__new__(cls)
        model._describe(W.shape[0], W.shape[1], W.dtype, arrays)
        if W.ndim != 2 or b.shape != (model.n_out,) or b.dtype != W.dtype:
            raise ValueError(f"need W of shape (n_in, n_out) and b of shape (n_out,) of W's dtype, got "
                             f"W {W.dtype} {tuple(W.shape)}, b {b.dtype} {tuple(b.shape)}")
        model.W, model.b = W, b
        return model

    def _describe(self, n_in: int, n_out: int, dtype: DTypeLike, arrays: Arrays) -> None:
        name = np.dtype(dtype).name
        if name not in FLOATX:
            raise ValueError(f"dtype must be one of {FLOATX}, got {name!r}")
        if n_in < 1 or n_out < 2:
            raise ValueError(f"need n_in >= 1 and n_out >= 2, got n_in={n_in}, n_out={n_out}")
        self.n_in = int(n_in)
        self.n_out = int(n_out)
        self.dtype = np.dtype(name)
        self.arrays = arrays
        self.metadata: dict[str, Any] = {}

    @property
    def params(self) -> list[Array]:
        """The parameters ``[W, b]``, as the arrays the model computes with (not copies)."""
        return [self.W, self.b]

    def copy(self) -> LogisticRegression:
        """A new model with copies of the parameters, on the same arrays.

        Returns
        -------
        LogisticRegression
            The copy.
        """
        clone = LogisticRegression(self.n_in, self.n_out, dtype=self.dtype, arrays=self.arrays)
        clone.W[...] = self.W
        clone.b[...] = self.b
        return clone

    def decision_function(self, X: ArrayLike, chunk: int | None = None) -> Array:
        """Logits (scores) ``X @ W + b``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            One example per row; converted to the model's dtype.
        chunk : int, optional
            Take the product ``chunk`` rows at a time (the training loop scores in minibatches, as the
            original tutorial did: OpenBLAS is faster on 600-row blocks than on one tall matrix).

        Returns
        -------
        Array of shape (n_samples, n_out)
            The logits, in the model's dtype.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        X = self.as_input(X)
        if chunk is None:
            z = X @ self.W
        else:
            z = self.arrays.empty((X.shape[0], self.n_out), self.dtype.name)
            for i in range(0, X.shape[0], chunk):
                self.arrays.matmul(X[i : i + chunk], self.W, out=z[i : i + chunk])
        z += self.b
        return z

    def log_p_y_given_x(self, X: ArrayLike) -> Array:
        """Log-probabilities ``log softmax(X @ W + b)``, computed stably as ``z - max z - log sum exp(z - max z)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            One example per row; converted to the model's dtype.

        Returns
        -------
        Array of shape (n_samples, n_out)
            ``log P(Y = i | x)`` for each row and class.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        return log_softmax(self.decision_function(X), self.arrays.xp)

    def p_y_given_x(self, X: ArrayLike) -> Array:
        """Class probabilities ``P(Y = i | x, W, b) = softmax_i(x W + b)``: the chapter's ``p_y_given_x``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            One example per row; converted to the model's dtype.

        Returns
        -------
        Array of shape (n_samples, n_out)
            The probability of each class for each row; rows sum to 1.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        z = self.decision_function(X)
        softmax_(z, self.arrays.xp)
        return z

    def predict(self, X: ArrayLike, chunk: int | None = None) -> Array:
        """The most probable class of each row, ``argmax_i P(Y = i | x)``: the chapter's ``y_pred``.

        The argmax is taken over the probabilities, not the logits, as the original tutorial does: two
        logits that differ in the last bits can round to equal probabilities, and then the first wins.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            One example per row; converted to the model's dtype.
        chunk : int, optional
            Compute the logits ``chunk`` rows at a time (see :meth:`decision_function`).

        Returns
        -------
        Array of shape (n_samples,), integer
            The predicted class of each row (the first index on ties).

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        xp = self.arrays.xp
        pt = xp.asarray(self.decision_function(X, chunk).T, copy=True)  # classes x rows: see gradient_into
        pt -= xp.max(pt, axis=0, keepdims=True)
        xp.exp(pt, out=pt)
        pt /= xp.sum(pt, axis=0, keepdims=True)
        return xp.argmax(pt, axis=0)

    def negative_log_likelihood(self, X: ArrayLike, y: ArrayLike) -> float:
        """Mean negative log-likelihood (the cross-entropy loss) ``-1/n sum_k log P(Y = y_k | x_k)``.

        Computed from the log-softmax, never as the log of a softmax, so it stays finite for any logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            One example per row; converted to the model's dtype.
        y : array-like of shape (n_samples,), integer
            The class of each row, in ``0 .. n_out - 1``.

        Returns
        -------
        float
            The mean of ``-log P(Y = y_k | x_k)`` over the ``n`` rows.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        xp = self.arrays.xp
        y = self.arrays.asarray(y)
        logp = self.log_p_y_given_x(X)
        return -float(xp.mean(logp[self.arrays.arange(y.shape[0]), y]))

    def errors(self, X: ArrayLike, y: ArrayLike) -> float:
        """Zero-one loss (the error rate): the fraction of rows whose predicted class differs from ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            One example per row; converted to the model's dtype.
        y : array-like of shape (n_samples,), integer
            The class of each row, in ``0 .. n_out - 1``.

        Returns
        -------
        float
            The fraction of wrong predictions, in [0, 1] (0.075 is 7.5 %).

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        wrong = self.predict(X) != self.arrays.asarray(y)
        return float(self.arrays.to_numpy(wrong).mean())

    def gradient(self, X: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None) -> tuple[Array, Array]:
        """Gradient of :meth:`negative_log_likelihood` with respect to ``(W, b)``, as new arrays.

        With ``D = (softmax(X W + b) - onehot(y)) / n``: ``dW = X^T D`` and ``db = sum_k D_k``.
        With ``weights`` (one per row), row ``k`` of ``D`` is multiplied by ``weights[k]``: the
        gradient of ``1/n sum_k weights[k] * (-log P(Y = y_k | x_k))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            One example per row; converted to the model's dtype.
        y : array-like of shape (n_samples,), integer
            The class of each row, in ``0 .. n_out - 1``.
        weights : array-like of shape (n_samples,), optional
            A weight for each row's loss.

        Returns
        -------
        dW : Array of shape (n_in, n_out)
            The gradient with respect to ``W``.
        db : Array of shape (n_out,)
            The gradient with respect to ``b``.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        X = self.as_input(X)
        y = self.arrays.asarray(y)
        weights = None if weights is None else self.arrays.asarray(weights, dtype=self.dtype.name)
        return self.gradient_into(X, y, Workspace.for_batch(self, X.shape[0]), weights)

    def loss_and_gradient(self, X: ArrayLike, y: ArrayLike,
                          weights: ArrayLike | None = None) -> tuple[float, Array, Array]:
        """Mean NLL (weighted by ``weights``, as in :meth:`gradient`) and its gradient from one
        forward pass (for full-batch optimisers).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            One example per row; converted to the model's dtype.
        y : array-like of shape (n_samples,), integer
            The class of each row, in ``0 .. n_out - 1``.
        weights : array-like of shape (n_samples,), optional
            A weight for each row's loss.

        Returns
        -------
        loss : float
            The mean (weighted) negative log-likelihood.
        dW : Array of shape (n_in, n_out)
            Its gradient with respect to ``W``.
        db : Array of shape (n_out,)
            Its gradient with respect to ``b``.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        xp = self.arrays.xp
        X = self.as_input(X)
        y = self.arrays.asarray(y)
        z = self.decision_function(X)
        rows = self.arrays.arange(z.shape[0])
        logp = log_softmax(z, xp)
        d = xp.exp(logp)
        d[rows, y] -= 1
        if weights is None:
            loss = -float(xp.mean(logp[rows, y]))
        else:
            weights = self.arrays.asarray(weights, dtype=self.dtype.name)
            loss = -float(xp.mean(weights * logp[rows, y]))
            d *= weights[:, None]
        d /= self.arrays.scalar(z.shape[0], self.dtype.name)
        return loss, X.T @ d, xp.sum(d, axis=0)

    def gradient_into(self, X: Array, y: Array, work: Workspace,
                      weights: Array | None = None) -> tuple[Array, Array]:
        """:meth:`gradient` computed in the buffers of ``work``, allocating nothing (the training step).

        Parameters
        ----------
        X : Array of shape (n, n_in)
            Rows of this model's namespace and dtype (not converted, not checked).
        y : Array of shape (n,), integer
            Their classes, an array of this model's namespace.
        work : Workspace
            Buffers for ``n`` rows (:meth:`Workspace.for_batch`).
        weights : Array of shape (n,), optional
            A weight for each row's loss, in the model's dtype.

        Returns
        -------
        dW : Array of shape (n_in, n_out)
            ``work.gW``, overwritten by the next call.
        db : Array of shape (n_out,)
            ``work.gb``, overwritten by the next call.
        """
        xp = self.arrays.xp
        z = self.arrays.matmul(X, self.W, out=work.z)
        # The row-wise work runs on the transpose (n_out x n): reductions over 10 classes of 600
        # rows vectorise along the rows there, and cost a third of reductions along rows of 10.
        dt = work.zt
        dt[...] = z.T
        dt += self.b[:, None]
        dt -= xp.max(dt, axis=0, keepdims=True)
        xp.exp(dt, out=dt)
        dt /= xp.sum(dt, axis=0, keepdims=True)
        dt[y, work.rows] -= 1
        if weights is not None:
            dt *= weights[None, :]
        dt /= work.n
        z[...] = dt.T
        self.arrays.matmul(X.T, z, out=work.gW)
        work.gb[...] = xp.sum(dt, axis=1)
        return work.gW, work.gb

    def as_input(self, X: ArrayLike) -> Array:
        """``X`` as rows of this model's dtype on its arrays, checked to have ``n_in`` columns.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            One example per row; converted to the model's dtype.

        Returns
        -------
        Array of shape (n_samples, n_in)
            ``X`` in the model's namespace and dtype (no copy when it already is).

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        return self.checked_shape(self.arrays.asarray(X, dtype=self.dtype.name))

    def checked_shape(self, X: Array) -> Array:
        """``X`` itself, after checking that it is 2-D with ``n_in`` columns.

        Parameters
        ----------
        X : Array
            Rows to check.

        Returns
        -------
        Array
            ``X``.

        Raises
        ------
        ValueError
            If ``X`` is not 2-D with ``n_in`` columns.
        """
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"X must have shape (n_samples, {self.n_in}), got {tuple(X.shape)}")
        return X


@dataclass
class Workspace:
    """Buffers of :meth:`LogisticRegression.gradient_into` for minibatches of ``n`` rows: logits and
    their transpose, row indices, and the gradient ``gW``, ``gb`` as two views of one flat buffer
    ``grads`` (one all-reduce per step when distributed)."""

    z: Any
    zt: Any
    grads: Any
    gW: Any
    gb: Any
    rows: Any
    n: Any

    @classmethod
    def for_batch(cls, model: LogisticRegression, n: int, mean_over: int | None = None) -> Workspace:
        """Buffers for ``n`` rows; the gradient is divided by ``mean_over`` (default ``n``): a rank holding
        a slice of a global minibatch divides by the global size, so that summing over ranks gives the mean."""
        arrays, dt = model.arrays, model.dtype.name
        k = model.n_in * model.n_out
        grads = arrays.empty((k + model.n_out,), dt)
        return cls(
            z=arrays.empty((n, model.n_out), dt), zt=arrays.empty((model.n_out, n), dt), grads=grads,
            gW=arrays.xp.reshape(grads[:k], (model.n_in, model.n_out)), gb=grads[k:],
            rows=arrays.arange(n), n=arrays.scalar(mean_over or n, dt),
        )


def softmax_(z: Any, xp: Any = np) -> None:
    """Row-wise softmax in place: ``z <- exp(z - max z) / sum exp(z - max z)``; exact for any finite logits."""
    z -= xp.max(z, axis=1, keepdims=True)
    xp.exp(z, out=z)
    z /= xp.sum(z, axis=1, keepdims=True)


def softmax(z: Any, xp: Any = np) -> Any:
    """Row-wise softmax of ``z`` as a new array (see :func:`softmax_`)."""
    e = xp.asarray(z, copy=True)
    softmax_(e, xp)
    return e


def log_softmax(z: Any, xp: Any = np) -> Any:
    """Row-wise ``log softmax(z)`` without forming the softmax: ``s - log sum exp(s)``, ``s = z - max z``."""
    s = z - xp.max(z, axis=1, keepdims=True)
    s -= xp.log(xp.sum(xp.exp(s), axis=1, keepdims=True))
    return s

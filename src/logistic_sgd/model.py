"""Multinomial logistic regression: the model, its loss and its gradient, as plain array math.

The model is a weight matrix ``W`` (n_in x n_out) and a bias ``b`` (n_out):

    P(Y = i | x, W, b) = softmax_i(x W + b) = exp(x W_i + b_i) / sum_j exp(x W_j + b_j)
    y_pred             = argmax_i P(Y = i | x, W, b)

trained by minimising the mean negative log-likelihood of a minibatch D,

    l(W, b; D) = -1/|D| sum_{(x, y) in D} log P(Y = y | x, W, b),

whose gradient with respect to the logits ``z = x W + b`` is ``(softmax(z) - onehot(y)) / |D|``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

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
        Floating-point type of the parameters and of every computation (the seed's floatX).

    Attributes
    ----------
    W : ndarray of shape (n_in, n_out)
        Column ``k`` is the separating hyperplane of class ``k``. Zero-initialised.
    b : ndarray of shape (n_out,)
        Bias of each class. Zero-initialised.
    """

    def __init__(self, n_in: int, n_out: int, dtype: DTypeLike = "float32") -> None:
        dtype = np.dtype(dtype)
        if dtype.name not in FLOATX:
            raise ValueError(f"dtype must be one of {FLOATX}, got {dtype.name!r}")
        if n_in < 1 or n_out < 2:
            raise ValueError(f"need n_in >= 1 and n_out >= 2, got n_in={n_in}, n_out={n_out}")
        self.n_in = int(n_in)
        self.n_out = int(n_out)
        self.dtype = dtype
        self.W = np.zeros((self.n_in, self.n_out), dtype=dtype)
        self.b = np.zeros(self.n_out, dtype=dtype)
        self.metadata: dict[str, Any] = {}

    @property
    def params(self) -> list[NDArray[np.floating]]:
        """The parameters ``[W, b]``, as the arrays the model computes with (not copies)."""
        return [self.W, self.b]

    def decision_function(self, X: ArrayLike) -> NDArray[np.floating]:
        """Logits ``X @ W + b``, shape (n_samples, n_out)."""
        z = self._as_input(X) @ self.W
        z += self.b
        return z

    def log_p_y_given_x(self, X: ArrayLike) -> NDArray[np.floating]:
        """Log-probabilities ``log softmax(X @ W + b)``, computed stably as ``z - max z - log sum exp(z - max z)``."""
        return log_softmax(self.decision_function(X))

    def p_y_given_x(self, X: ArrayLike) -> NDArray[np.floating]:
        """Class probabilities ``softmax(X @ W + b)``, shape (n_samples, n_out); rows sum to 1."""
        return softmax(self.decision_function(X))

    def predict(self, X: ArrayLike) -> NDArray[np.intp]:
        """The most probable class of each row, ``argmax_i P(Y = i | x)`` (first index on ties, as the seed)."""
        return np.argmax(self.p_y_given_x(X), axis=1)

    def negative_log_likelihood(self, X: ArrayLike, y: ArrayLike) -> float:
        """Mean negative log-likelihood ``-1/n sum_k log P(Y = y_k | x_k)``.

        Computed from the log-softmax, never as the log of a softmax, so it stays finite for any logits.
        """
        y = np.asarray(y)
        logp = self.log_p_y_given_x(X)
        return float(-np.mean(logp[np.arange(len(y)), y]))

    def errors(self, X: ArrayLike, y: ArrayLike) -> float:
        """Zero-one loss: the fraction of rows whose predicted class differs from ``y``."""
        return float(np.mean(self.predict(X) != np.asarray(y)))

    def gradient(
        self, X: ArrayLike, y: ArrayLike
    ) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
        """Gradient of :meth:`negative_log_likelihood` with respect to ``(W, b)``.

        With ``D = (softmax(X W + b) - onehot(y)) / n``: ``dW = X^T D`` and ``db = sum_k D_k``.
        """
        X = self._as_input(X)
        y = np.asarray(y)
        d = softmax(self.decision_function(X))
        d[np.arange(len(y)), y] -= 1
        d /= self.dtype.type(len(y))
        return X.T @ d, d.sum(axis=0)

    def _as_input(self, X: ArrayLike) -> NDArray[np.floating]:
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"X must have shape (n_samples, {self.n_in}), got {X.shape}")
        return X


def softmax(z: NDArray[np.floating]) -> NDArray[np.floating]:
    """Row-wise softmax ``exp(z - max z) / sum exp(z - max z)``, in a new array; exact for any finite logits."""
    e = z - z.max(axis=1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=1, keepdims=True)
    return e


def log_softmax(z: NDArray[np.floating]) -> NDArray[np.floating]:
    """Row-wise ``log softmax(z)`` without forming the softmax: ``s - log sum exp(s)``, ``s = z - max z``."""
    s = z - z.max(axis=1, keepdims=True)
    s -= np.log(np.exp(s).sum(axis=1, keepdims=True))
    return s

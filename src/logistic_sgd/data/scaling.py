"""Feature scaling fitted on the training split: ``x' = (x - mean) / scale``.

Images keep the original tutorial's scaling, ``x / 255``, done when they are read. Other features (a CSV's
columns in their own units) are standardised: ``mean`` and ``scale`` (the standard deviation,
``ddof=0``, as scikit-learn's ``StandardScaler``) are computed on the training split in float64;
a feature that is constant there gets ``scale = 1``, so it is only centred. The same two vectors
are applied to every split and to every example classified later, so a model file stores them
(:meth:`Standardizer.to_arrays`, :meth:`Standardizer.from_arrays`).

A linear model on standardised inputs is a linear model on raw inputs: with ``z = W^T x' + b``,
``z = (W / scale)^T x + (b - (mean / scale)^T W)``; :meth:`Standardizer.fold` returns those
weights, for consumers that take raw features (an ONNX graph, say).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ..errors import UsageError
from .rows import CSR, ScaledArray

SCALES = ("auto", "standard", "none")
_CHUNK = 8192


@dataclass(frozen=True)
class Standardizer:
    """Per-feature standardisation ``(x - mean) / scale``, kept in the model file.

    Attributes
    ----------
    mean : ndarray of shape (n_features,), float64
        Each feature's mean on the training split.
    scale : ndarray of shape (n_features,), float64
        Each feature's standard deviation there (1 where it is 0); every entry > 0.
    """

    mean: NDArray[np.float64]
    scale: NDArray[np.float64]

    @classmethod
    def fit(cls, x: ArrayLike | ScaledArray) -> Standardizer:
        """Fit on ``x``, read in chunks of rows.

        Two passes in float64 (the mean, then the squared deviations), which keeps the variance
        exact to rounding where the one-pass formula loses digits on features with a large mean.

        Parameters
        ----------
        x : array-like of shape (n, n_features), or ScaledArray
            The training rows (a memory map is read a chunk at a time).

        Returns
        -------
        Standardizer
            The fitted scaling.

        Raises
        ------
        ValueError
            If ``x`` has no rows.
        """
        n = len(x)
        if n == 0:
            raise ValueError("cannot fit a scaling on no examples")
        total = np.zeros(x.shape[1])
        for block in _blocks(x):
            total += block.sum(axis=0)
        mean = total / n
        squares = np.zeros(x.shape[1])
        for block in _blocks(x):
            squares += ((block - mean) ** 2).sum(axis=0)
        std = np.sqrt(squares / n)
        scale = np.where(std > 0, std, 1.0)
        return cls(mean, scale)

    def transform(self, x: ArrayLike, dtype: DTypeLike = np.float32) -> NDArray[np.floating]:
        """``(x - mean) / scale`` computed in float64, returned as ``dtype``.

        Parameters
        ----------
        x : array-like of shape (n, n_features)
            Rows to standardise.
        dtype : dtype, default float32
            The dtype of the result.

        Returns
        -------
        ndarray of shape (n, n_features)
            The standardised rows.

        Raises
        ------
        ValueError
            If ``x`` is not 2-D with ``n_features`` columns.
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ValueError(f"x must have shape (n, {len(self.mean)}), got {x.shape}")
        out = np.empty(x.shape, dtype=dtype)
        for lo in range(0, len(x), _CHUNK):
            out[lo : lo + _CHUNK] = (x[lo : lo + _CHUNK] - self.mean) / self.scale
        return out

    def fold(self, W: NDArray[np.floating], b: NDArray[np.floating]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Weights ``(W', b')`` on raw features equal to ``(W, b)`` on standardised ones:
        ``W' = W / scale[:, None]``, ``b' = b - (mean / scale) @ W``.

        Parameters
        ----------
        W : ndarray of shape (n_features, n_classes)
            Weights on standardised features.
        b : ndarray of shape (n_classes,)
            Biases on standardised features.

        Returns
        -------
        W : ndarray of shape (n_features, n_classes), float64
            Weights on raw features.
        b : ndarray of shape (n_classes,), float64
            Biases on raw features.
        """
        W = np.asarray(W, dtype=np.float64)
        return W / self.scale[:, None], np.asarray(b, dtype=np.float64) - (self.mean / self.scale) @ W

    def to_arrays(self) -> dict[str, NDArray[np.float64]]:
        """The two vectors under the names a model file stores them by.

        Returns
        -------
        dict
            ``scale_mean`` and ``scale_std``.
        """
        return {"scale_mean": self.mean, "scale_std": self.scale}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any], n_features: int | None = None) -> Standardizer:
        """The scaling stored by :meth:`to_arrays`.

        Parameters
        ----------
        arrays : mapping
            Holds ``scale_mean`` and ``scale_std``.
        n_features : int, optional
            The length the vectors must have.

        Returns
        -------
        Standardizer
            The scaling.

        Raises
        ------
        ValueError
            If the vectors are malformed (wrong shape, non-finite, a scale that is not positive).
        """
        mean = np.asarray(arrays["scale_mean"], dtype=np.float64)
        scale = np.asarray(arrays["scale_std"], dtype=np.float64)
        expected = (n_features if n_features is not None else len(mean),)
        if mean.shape != expected or scale.shape != expected:
            raise ValueError(f"scaling vectors must have shape {expected}, got {mean.shape} and {scale.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("scaling vectors must be finite, with every scale > 0")
        return cls(mean, scale)


def fit_scaling(scale: str, train_x: Any, images: bool) -> Standardizer | None:
    """The scaling ``scale`` asks for on a training split: ``"standard"`` fits a
    :class:`Standardizer`, ``"none"`` returns None, and ``"auto"`` is ``"none"`` for images
    (already ``x / 255``) and sparse rows (a :class:`~.csr.CSR`, whose zeros must stay zeros), and
    ``"standard"`` for other features."""
    if scale not in SCALES:
        raise UsageError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}", "scale")
    if isinstance(train_x, CSR):  # centring would make every zero a non-zero
        if scale == "standard":
            raise UsageError("scale standard would make sparse features dense; use scale none (or auto)", "scale")
        return None
    if scale == "none" or (scale == "auto" and images):
        return None
    return Standardizer.fit(train_x)


def feature_scale(x: Any) -> NDArray[np.float64]:
    """Each feature's typical size in the rows ``x`` (dense or :class:`CSR`): the root mean square of
    its non-zero values, 1 for a feature that is always zero; shape (n_features,). What normalises
    :func:`logistic_sgd.core.optim.adagrad`'s steps."""
    n_features = x.shape[1]
    if isinstance(x, CSR):
        data = np.asarray(x.data, dtype=np.float64)
        idx = np.asarray(x.indices)[: len(data)]
        count = np.bincount(idx, minlength=n_features).astype(np.float64)
        total = np.bincount(idx, weights=data * data, minlength=n_features)
    else:
        total, count = np.zeros(n_features), np.zeros(n_features)
        for rows in _blocks(x):
            total += (rows * rows).sum(axis=0)
            count += (rows != 0).sum(axis=0)
    out = np.ones(n_features)
    present = total > 0
    out[present] = np.sqrt(total[present] / count[present])
    return out


def sparse_mean_sq_norm(x: Any) -> float | None:
    """``mean ||x_i||^2`` over the rows of a :class:`CSR` (0 for no rows); None for dense rows."""
    if not isinstance(x, CSR):
        return None
    data = np.asarray(x.data[: int(x.indptr[-1])], dtype=np.float64)
    return float(np.dot(data, data)) / len(x) if len(x) else 0.0


def _blocks(x: Any) -> Any:
    for lo in range(0, len(x), _CHUNK):
        yield np.asarray(x[lo : lo + _CHUNK], dtype=np.float64)

"""Weights of training examples, with scikit-learn's semantics.

A row's term in the loss is multiplied by its weight: ``1/n sum_k w_k * (-log P(Y = y_k | x_k))``,
``n`` the minibatch size. ``class_weight="balanced"`` gives class ``c`` the weight
``n_samples / (n_classes * count_c)`` (scikit-learn's ``compute_class_weight``), so that every
class weighs as much in the loss as the others, whatever its share of the data; a mapping gives
the weights of the classes it names (1 for the others). ``sample_weight`` multiplies in.

The weights are then rescaled to a mean of 1 over the training set, so that the learning rate takes
steps of the same size with and without them. The weighted loss has the same minimiser; with
``l2``, the penalty weighs as much against the data as without weights (scikit-learn's
``LogisticRegression`` instead lets the weights' total scale the data term against ``C``).

With class weights, validation and test errors are weighted alike (:func:`error_weights`): each
minibatch's error is ``sum w_y wrong / sum w_y``, the balanced error rate for balanced weights, so
that early stopping keeps the model the weighted loss asks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import UsageError

CLASS_WEIGHTS = ("none", "balanced")


def class_weights(
    class_weight: str | Mapping[int, float] | None, y: NDArray[Any], n_classes: int
) -> NDArray[np.float64]:
    """The weight of each class index ``0..n_classes-1`` for the training labels ``y``."""
    if class_weight is None or (isinstance(class_weight, str) and class_weight == "none"):
        return np.ones(n_classes)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise UsageError(f"class_weight must be 'balanced', a mapping or None, got {class_weight!r}",
                             "class_weight")
        counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes).astype(np.float64)
        present = counts > 0
        weights = np.ones(n_classes)
        weights[present] = len(y) / (present.sum() * counts[present])
        return weights
    weights = np.ones(n_classes)
    for k, w in class_weight.items():
        if not 0 <= int(k) < n_classes or not np.isfinite(w) or w < 0:
            raise UsageError(f"class_weight maps class {k!r} to {w!r}: expected a class index and a finite weight "
                             ">= 0", "class_weight")
        weights[int(k)] = w
    return weights


def error_weights(class_weight: str | Mapping[int, float] | None, y: NDArray[Any],
                  n_classes: int) -> NDArray[np.float64] | None:
    """The class weights that weigh validation and test errors as the training loss weighs examples,
    or None for unweighted errors (no class weights)."""
    if class_weight is None or (isinstance(class_weight, str) and class_weight == "none"):
        return None
    return class_weights(class_weight, y, n_classes)


def row_weights(
    class_weight: str | Mapping[int, float] | None, y: NDArray[Any], n_classes: int,
    sample_weight: Any = None,
) -> NDArray[np.float64] | None:
    """Each training row's weight, or None when every row weighs 1 (the original tutorial's unweighted loss)."""
    weighted = sample_weight is not None or not (class_weight is None or class_weight == "none")
    if not weighted:
        return None
    w = class_weights(class_weight, y, n_classes)[np.asarray(y, dtype=np.int64)]
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != w.shape:
            raise UsageError(f"sample_weight must have shape {w.shape}, got {sample_weight.shape}", "sample_weight")
        if not (np.isfinite(sample_weight).all() and (sample_weight >= 0).all()):
            raise UsageError("sample_weight must be finite and >= 0", "sample_weight")
        w = w * sample_weight
    total = w.sum()
    if not total > 0:
        raise UsageError("the weights of the training examples are all zero", "sample_weight")
    return w * (len(w) / total)

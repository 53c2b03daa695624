"""A linear model's largest coefficients by feature name, per class.

The weights are the model's own, on the features as the model takes them: standardised numbers
(one unit is one standard deviation of the training column), 0/1 missing indicators and one-hot
levels (``column=level``). A class's score is ``z_k = sum_j W[j, k] x_j + b_k``, so ``W[j, k]``
is how much one unit of feature ``j`` adds to the log-odds of class ``k`` against a class whose
weight for ``j`` is 0; with two classes only ``W[:, 1] - W[:, 0]`` matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Coefficient:
    """One feature's weight for one class."""

    feature: str
    weight: float


def largest(W: NDArray[np.floating], feature_names: Sequence[str], k: int = 5) -> list[list[Coefficient]]:
    """For each class (column of ``W``, shape (n_features, n_classes)), its ``k`` weights of the
    largest magnitude, largest first (ties: the earlier feature first)."""
    W = np.asarray(W, dtype=np.float64)
    if W.shape[0] != len(feature_names):
        raise ValueError(f"{W.shape[0]} weights per class, but {len(feature_names)} feature names")
    out = []
    for column in W.T:
        order = np.argsort(-np.abs(column), kind="stable")[:k]
        out.append([Coefficient(feature_names[j], float(column[j])) for j in order])
    return out


def coefficient_lines(W: NDArray[np.floating], feature_names: Sequence[str], class_names: Sequence[str],
                      k: int = 5) -> list[str]:
    """One line per class: ``  CLASS: +1.234 feature, -0.567 column=level, ...``."""
    return [f"  {name}: " + ", ".join(f"{c.weight:+.3f} {c.feature}" for c in row)
            for name, row in zip(class_names, largest(W, feature_names, k), strict=True)]


def feature_names_of(classifier: Any, meta: dict[str, Any]) -> tuple[str, ...] | None:
    """A :class:`~logistic_sgd.classifier.Classifier`'s feature names: its columns', or a table's
    header kept in its model file's metadata (``meta``); None when it has none (images)."""
    if classifier.columns is not None:
        return classifier.columns.feature_names
    names = meta.get("feature_names")
    ok = isinstance(names, list) and len(names) == classifier.model.n_in and all(isinstance(n, str) for n in names)
    return tuple(names) if ok else None


def scale_words(classifier: Any) -> str:
    """What the weights are per: standardised features, or features as read."""
    standardised = classifier.columns is not None or classifier.scaler is not None
    return "standardised features" if standardised else "features as read"

"""Per-class scores: the confusion matrix, precision and recall."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> NDArray[np.int64]:
    """``m[i, j]``: how many examples of class ``i`` were classified as ``j``."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return m


@dataclass(frozen=True)
class ClassScores:
    """Precision ``tp / (tp + fp)`` and recall ``tp / (tp + fn)`` of each class (NaN where a class was
    never predicted, or never occurs), with each class's number of examples."""

    names: tuple[str, ...]
    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    support: NDArray[np.int64]

    @classmethod
    def of(cls, matrix: NDArray[np.int64], names: Sequence[str]) -> ClassScores:
        tp = np.diag(matrix).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = tp / matrix.sum(axis=0)
            recall = tp / matrix.sum(axis=1)
        return cls(tuple(names), precision, recall, matrix.sum(axis=1))

    def lines(self) -> list[str]:
        """A table, one line per class: name, precision, recall, examples."""
        width = max(5, *(len(n) for n in self.names))
        out = [f"{'class':<{width}}  precision     recall  examples"]
        for name, p, r, s in zip(self.names, self.precision, self.recall, self.support, strict=True):
            out.append(f"{name:<{width}}  {_pct(p):>9}  {_pct(r):>9}  {s:8d}")
        return out


def _pct(value: float) -> str:
    return "-" if np.isnan(value) else f"{100 * value:.2f} %"

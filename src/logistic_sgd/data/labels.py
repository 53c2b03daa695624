"""Class labels as read from files, turned into class indices ``0..K-1`` with their names.

Labels arrive in one of two forms:

- whole numbers (an IDX or ``.npz`` file, a CSV label column of integers, a parquet ``label``
  column): the classes are the sorted distinct numbers, named by their decimal text, unless the
  source names them (Hugging Face's ``ClassLabel`` names, Fashion-MNIST's built-in names), in
  which case the numbers are the class indices;
- text (a CSV column of names, ImageFolder's folder names): the classes are the distinct strings
  sorted as text (torchvision's order for folders), each keeping its name.

The training split decides the classes; validation and test labels are encoded against them, and
a class the training split never saw is a :class:`DataError` naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError

MNIST_CLASSES = tuple(str(k) for k in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
MAX_CLASSES = 100_000
_WHOLE = re.compile(r"[+-]?\d+", re.A)


@dataclass(frozen=True)
class Classes:
    """Classes by name: class ``k`` is ``names[k]``.

    Labels given as text are matched to the names. Labels given as whole numbers are matched to
    the names read as numbers when every name is a whole number (``"3"`` is the number 3), and
    are the class indices otherwise (Fashion-MNIST's numbers 0..9 for its ten names).
    """

    names: tuple[str, ...]

    @classmethod
    def of(cls, labels: NDArray, source: Path, names: Sequence[str] | None = None) -> Classes:
        """The classes of a training split: ``names`` when the source names its classes, else the
        distinct ``labels`` (sorted as numbers, or as text)."""
        if len(labels) == 0:
            raise DataError(f"{source}: no examples")
        if names is None:
            values = np.unique(labels)
            if len(values) > MAX_CLASSES:
                raise DataError(f"{source}: {len(values)} distinct labels; is the label column the right one?")
            names = [str(v) for v in values]
        classes = cls(tuple(names))
        classes.encode(labels, source)
        return classes

    def encode(self, labels: NDArray, source: Path, among: str = "the training data") -> NDArray[np.int32]:
        """Class indices of ``labels``; a label that is not a class is a DataError naming ``source``
        (and saying it does not occur in ``among``)."""
        if labels.dtype.kind in "iu":
            keys: NDArray = self._numbers()
            if keys is None:
                check_range(labels, len(self.names), source, among)
                return labels.astype(np.int32)
        elif labels.dtype.kind == "U":
            keys = np.array(self.names, dtype=str)
        else:
            raise DataError(f"{source}: labels must be whole numbers or names, got {labels.dtype}")
        if len(labels) == 0:
            return np.zeros(0, dtype=np.int32)
        order = np.argsort(keys, kind="stable")
        position = np.minimum(np.searchsorted(keys[order], labels), len(keys) - 1)
        unseen = keys[order][position] != labels
        if unseen.any():
            raise DataError(f"{source}: class {str(labels[np.argmax(unseen)])!r} does not occur in {among} "
                            f"(classes: {_listed(self.names)})")
        return order[position].astype(np.int32)

    def _numbers(self) -> NDArray[np.int64] | None:
        if not all(_WHOLE.fullmatch(name) for name in self.names):
            return None
        return np.array([int(name) for name in self.names], dtype=np.int64)


def check_range(labels: NDArray, n_classes: int, source: Path, among: str = "the training data") -> None:
    """Raise DataError unless every label is a class index in ``0..n_classes-1``."""
    if len(labels) == 0:
        return
    low, high = labels.min(), labels.max()
    if low < 0:
        raise DataError(f"{source}: labels must be >= 0, found {low}")
    if high >= n_classes:
        raise DataError(f"{source}: class {high} does not occur in {among} (classes 0..{n_classes - 1})")


def known_names(name: str) -> tuple[str, ...] | None:
    """Fashion-MNIST's class names for a file or folder named after it (``fashion-mnist``,
    ``FashionMNIST``, ``fashion_mnist``, Kaggle's ``fashion-mnist_train.csv``); otherwise None:
    other datasets' class numbers are named by their digits anyway."""
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    return FASHION_MNIST_CLASSES if key.startswith("fashionmnist") else None


def _listed(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")

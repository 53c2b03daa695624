"""A trained model as it is applied to new examples: features as read in, classes by name out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..backends.base import NUMPY
from ..core.model import LogisticRegression
from ..data.rows import in_dtype
from ..data.scaling import Standardizer


@dataclass(frozen=True)
class Classifier:
    """``model`` with what it needs around it: ``class_names[k]`` names class ``k``; ``scaler``
    standardises the features first (None: they go in as read, images as ``x / 255``);
    ``image_shape`` is the (height, width) of the images it was trained on, if any; ``zero_based``,
    whether the svmlight files it was trained on counted their features from 0 (None: not svmlight)."""

    model: LogisticRegression
    class_names: tuple[str, ...]
    scaler: Standardizer | None = None
    image_shape: tuple[int, int] | None = None
    zero_based: bool | None = None

    def inputs(self, x: Any) -> Any:
        """``x`` (n, n_in) as the model takes it: in its dtype, standardised when it was trained so
        (sparse rows, a :class:`CSR`, stay sparse)."""
        dtype = self.model.dtype
        if self.scaler is not None:
            return self.scaler.transform(np.asarray(x), dtype=dtype)
        return in_dtype(x, dtype)

    def logits(self, x: Any) -> NDArray[np.floating]:
        """``x W + b`` on the model's inputs, shape (n, n_classes)."""
        return NUMPY.logits(self.model, self.inputs(x))

    def predict_proba(self, x: Any) -> NDArray[np.floating]:
        """``P(Y = k | x)`` for every class, shape (n, n_classes)."""
        return NUMPY.predict_proba(self.model, self.inputs(x))

    def predict(self, x: Any) -> NDArray[np.intp]:
        """The most probable class index of each row (the model's rule: first on ties)."""
        return np.asarray(NUMPY.predict(self.model, self.inputs(x)))

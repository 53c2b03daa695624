"""A trained model as it is applied to new examples: features as read in, classes by name out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..backends.base import NUMPY
from ..core.model import LogisticRegression
from ..data.columns import Frame
from ..data.preprocess import Preprocessor
from ..data.rows import CSR, in_dtype
from ..data.scaling import Standardizer
from ..errors import DataError


@dataclass(frozen=True)
class Classifier:
    """A model with what it needs around it to classify new examples (:func:`load_classifier`).

    Attributes
    ----------
    model : LogisticRegression
        The model.
    class_names : tuple of str
        ``class_names[k]`` names class ``k``.
    scaler : Standardizer or None
        Standardises the features first (None: they go in as read, images as ``x / 255``).
    image_shape : tuple of (int, int) or None
        The (height, width) of the images it was trained on, if any.
    zero_based : bool or None
        Whether the svmlight files it was trained on counted their features from 0 (None: not
        svmlight).
    columns : Preprocessor or None
        A table's fitted column pipeline, which makes rows of named columns (a
        :class:`~logistic_sgd.data.columns.Frame`) its features.
    vectorizer : TextVectorizer or None
        Makes the inputs from raw text (:class:`~logistic_sgd.data.vectorize.TextVectorizer`); None
        for a model of features.
    """

    model: LogisticRegression
    class_names: tuple[str, ...]
    scaler: Standardizer | None = None
    image_shape: tuple[int, int] | None = None
    zero_based: bool | None = None
    columns: Preprocessor | None = None
    vectorizer: Any = None

    def inputs(self, x: ArrayLike | CSR | Frame) -> NDArray[np.floating] | CSR:
        """``x`` as the model takes it: in its dtype, standardised when it was trained so.

        Parameters
        ----------
        x : array-like of shape (n, n_in), or CSR
            The features as read (a SciPy sparse matrix or :class:`~logistic_sgd.data.rows.CSR` for
            sparse rows), a table's rows as named columns (a :class:`Frame`), made features by
            the model's column pipeline, or, for a model trained on text, raw text (a sequence of
            ``str`` or :class:`~logistic_sgd.data.documents.Documents`), made rows by the vectoriser.

        Returns
        -------
        ndarray of shape (n, n_in), or CSR
            The rows in the model's dtype (sparse rows stay sparse).

        Raises
        ------
        DataError
            Named columns given to a model without a column pipeline, or lacking a column it takes.
        """
        dtype = self.model.dtype
        if isinstance(x, Frame):
            if self.columns is None:
                raise DataError(f"{x.source}: the model takes {self.model.n_in} numbers a row, not named columns")
            x = self.columns.transform(x)
        if self.vectorizer is not None:
            x = self.vectorizer.rows(x)
        if self.scaler is not None:
            return self.scaler.transform(np.asarray(x), dtype=dtype)
        return in_dtype(x, dtype)

    def logits(self, x: ArrayLike | CSR) -> NDArray[np.floating]:
        """The scores ``x W + b`` of the model's inputs (see :meth:`inputs`).

        Parameters
        ----------
        x : array-like of shape (n, n_in), or CSR
            The features as read (a SciPy sparse matrix or :class:`~logistic_sgd.data.rows.CSR` for
            sparse rows).

        Returns
        -------
        ndarray of shape (n, n_classes)
            The logits.
        """
        return NUMPY.logits(self.model, self.inputs(x))

    def predict_proba(self, x: ArrayLike | CSR) -> NDArray[np.floating]:
        """``P(Y = k | x)`` for every class.

        Parameters
        ----------
        x : array-like of shape (n, n_in), or CSR
            The features as read (a SciPy sparse matrix or :class:`~logistic_sgd.data.rows.CSR` for
            sparse rows).

        Returns
        -------
        ndarray of shape (n, n_classes)
            The probabilities; rows sum to 1.
        """
        return NUMPY.predict_proba(self.model, self.inputs(x))

    def predict(self, x: ArrayLike | CSR) -> NDArray[np.intp]:
        """The most probable class index of each row (the model's rule: first on ties).

        Parameters
        ----------
        x : array-like of shape (n, n_in), or CSR
            The features as read (a SciPy sparse matrix or :class:`~logistic_sgd.data.rows.CSR` for
            sparse rows).

        Returns
        -------
        ndarray of shape (n,)
            Class indices; ``class_names[k]`` names them.
        """
        return np.asarray(NUMPY.predict(self.model, self.inputs(x)))

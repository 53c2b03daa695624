"""What a backend is: an object that owns how the training step, runs of steps and scoring are computed,
and where the data live. The loop asks its backend and never asks which one it is.

:class:`Backend` itself is the reference: the model's own array math (:meth:`LogisticRegression.
gradient_into`, :meth:`LogisticRegression.predict`) on the arrays of its :class:`~logistic_sgd.util.arrays.
Arrays`, one minibatch per call. A subclass overrides what it computes its own way: the numba backend
the step, runs of steps and scoring (compiled kernels reading bytes), the torch backend where arrays
live and runs of steps (CUDA graphs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..core.model import LogisticRegression, log_softmax, softmax
from ..data.rows import CSR, Rows, ScaledArray
from ..util.arrays import NUMPY_ARRAYS, Array, Arrays
from .trainer import Trainer


@dataclass(frozen=True)
class Backend:
    """The reference backend: the model's array math on ``arrays`` (NumPy by default), one call per step.

    Attributes
    ----------
    name : str
        The backend's name (``numpy``, ``numba``, ``torch``).
    arrays : Arrays
        The array namespace and device its models live on.
    """

    name: str = "numpy"
    arrays: Arrays = NUMPY_ARRAYS

    byte_splits: ClassVar[tuple[str, ...]] = ("valid", "test")
    """The splits that stay bytes when a dataset stores its pixels as bytes (see
    :func:`logistic_sgd.data.open_dataset`); the training split becomes floats once, here."""

    @property
    def device(self) -> str:
        """The device its arrays live on (``cpu``, ``cuda:0``...)."""
        return self.arrays.device

    @property
    def collective(self) -> str:
        """The torch.distributed backend of a data-parallel run on this backend."""
        return "gloo"

    def ready(self) -> Backend:
        """This backend, able to compute (its compiled code loaded), or the one to use instead.

        Returns
        -------
        Backend
            The backend to train with.
        """
        return self

    def describe(self) -> str:
        """A few words for the log: where the model is built.

        Returns
        -------
        str
            Empty for the reference backend.
        """
        return ""

    @contextlib.contextmanager
    def solving(self) -> Iterator[None]:
        """The setting in which a full-batch solver runs on this backend's loss and gradient
        (:mod:`logistic_sgd.training.fullbatch`): nothing changed here.

        Yields
        ------
        None
            Inside the setting.
        """
        yield

    def new_model(self, n_in: int, n_out: int, dtype: str) -> LogisticRegression:
        """A zero-initialised model whose parameters live on this backend.

        Parameters
        ----------
        n_in : int
            Features.
        n_out : int
            Classes.
        dtype : {"float32", "float64"}
            The parameters' dtype.

        Returns
        -------
        LogisticRegression
            The model, ``W`` and ``b`` zero.
        """
        return LogisticRegression(n_in, n_out, dtype=dtype, arrays=self.arrays)

    def adopt(self, model: LogisticRegression) -> LogisticRegression:
        """``model`` itself when its parameters live here, else a copy of it that lives here.

        Parameters
        ----------
        model : LogisticRegression
            A model on any backend.

        Returns
        -------
        LogisticRegression
            The model on this backend (its metadata kept).
        """
        if model.arrays is self.arrays:
            return model
        moved = self.new_model(model.n_in, model.n_out, model.dtype.name)
        moved.W[...] = self.arrays.asarray(model.arrays.to_numpy(model.W))
        moved.b[...] = self.arrays.asarray(model.arrays.to_numpy(model.b))
        moved.metadata = dict(model.metadata)
        return moved

    def place(self, x: Rows, dtype: str) -> Rows:
        """The rows ``x`` as this backend computes on them, in ``dtype``.

        Parameters
        ----------
        x : Rows
            Rows as read: an array, a :class:`ScaledArray` or a :class:`CSR`.
        dtype : {"float32", "float64"}
            The model's dtype.

        Returns
        -------
        Rows
            One array on the backend's device; a memory-mapped :class:`ScaledArray` stays lazy on
            the host (each minibatch read and scaled when it is taken), so that a set larger than
            memory trains with flat memory; sparse rows stay sparse.
        """
        if isinstance(x, CSR):
            return x.astype(dtype)
        if isinstance(x, ScaledArray) and self.arrays.xp is np and isinstance(x.stored, np.memmap):
            return x.astype(dtype)
        return self.arrays.asarray(x, dtype=dtype)

    def trainer(self, model: LogisticRegression, x: Rows, y: ArrayLike, rows: int, mean_over: int,
                weighted: bool = False) -> Trainer:
        """The steps of ``model`` on the placed training set ``x, y`` (see :class:`Trainer`); with
        ``weighted``, steps whose rows carry weights (the reference steps, on every backend).

        Parameters
        ----------
        model : LogisticRegression
            The model to train, on this backend.
        x : Rows
            The placed training rows.
        y : array-like of shape (n_train,), integer
            Their classes.
        rows : int
            Rows in a minibatch (this process's share in a data-parallel run).
        mean_over : int
            The size of the global minibatch the gradient is a mean over.
        weighted : bool, default False
            Steps whose rows carry weights.

        Returns
        -------
        Trainer
            The steps.
        """
        if isinstance(x, CSR):
            return self.sparse_trainer(model, x, y, rows, mean_over, weighted)
        return Trainer(model, x, y, rows, mean_over)

    def sparse_trainer(self, model: LogisticRegression, x: CSR, y: ArrayLike, rows: int, mean_over: int,
                       weighted: bool = False) -> Trainer:
        """The steps on a sparse training set (NumPy and SciPy here; see :mod:`.sparse`).

        Parameters
        ----------
        model : LogisticRegression
            The model to train, on this backend.
        x : Rows
            The sparse training rows.
        y : array-like of shape (n_train,), integer
            Their classes.
        rows : int
            Rows in a minibatch (this process's share in a data-parallel run).
        mean_over : int
            The size of the global minibatch the gradient is a mean over.
        weighted : bool, default False
            Steps whose rows carry weights.

        Returns
        -------
        Trainer
            The steps.
        """
        from . import sparse

        return sparse.SparseTrainer(model, x, y, rows, mean_over, sparse, weighted)

    def predict(self, model: LogisticRegression, x: Rows, chunk: int | None = None) -> Array:
        """``model``'s classes for the placed rows ``x``.

        Parameters
        ----------
        model : LogisticRegression
            The model (its parameters on this backend).
        x : Rows
            Rows of any kind: an array, bytes seen as floats (:class:`ScaledArray`) or sparse rows
            (:class:`CSR`), placed by :meth:`place`.
        chunk : int, optional
            Rows scored at a time.

        Returns
        -------
        Array of shape (n,), integer
            The predicted classes, an array of this backend's namespace.
        """
        if isinstance(x, CSR):
            from . import sparse

            return sparse.predict(x, model.W, model.b)
        return model.predict(x, chunk)

    def logits(self, model: LogisticRegression, x: Rows) -> NDArray[np.floating]:
        """The scores ``x W + b``, for rows of any kind.

        Parameters
        ----------
        model : LogisticRegression
            The model (its parameters on this backend).
        x : Rows
            Rows of any kind: an array, bytes seen as floats (:class:`ScaledArray`) or sparse rows
            (:class:`CSR`), placed by :meth:`place`.

        Returns
        -------
        ndarray of shape (n, n_classes)
            The logits, as a NumPy array.
        """
        if isinstance(x, CSR):
            from . import sparse

            return sparse.logits(x, model.arrays.to_numpy(model.W), model.arrays.to_numpy(model.b))
        return np.asarray(model.arrays.to_numpy(model.decision_function(x)))

    def predict_proba(self, model: LogisticRegression, x: Rows) -> NDArray[np.floating]:
        """``P(Y = k | x)`` for every class, for rows of any kind.

        Parameters
        ----------
        model : LogisticRegression
            The model (its parameters on this backend).
        x : Rows
            Rows of any kind: an array, bytes seen as floats (:class:`ScaledArray`) or sparse rows
            (:class:`CSR`), placed by :meth:`place`.

        Returns
        -------
        ndarray of shape (n, n_classes)
            The probabilities, as a NumPy array; rows sum to 1.
        """
        if isinstance(x, CSR):
            return softmax(self.logits(model, x))
        return np.asarray(model.arrays.to_numpy(model.p_y_given_x(x)))

    def negative_log_likelihood(self, model: LogisticRegression, x: Rows, y: ArrayLike) -> float:
        """The mean negative log-likelihood of ``model`` on ``x, y``, for rows of any kind.

        Parameters
        ----------
        model : LogisticRegression
            The model (its parameters on this backend).
        x : Rows
            Rows of any kind: an array, bytes seen as floats (:class:`ScaledArray`) or sparse rows
            (:class:`CSR`), placed by :meth:`place`.
        y : array-like of shape (n,), integer
            The class of each row.

        Returns
        -------
        float
            The mean of ``-log P(Y = y_k | x_k)``.
        """
        if isinstance(x, CSR):
            return -float(np.mean(log_softmax(self.logits(model, x))[np.arange(len(x)), np.asarray(y)]))
        return model.negative_log_likelihood(x, y)

    def dense_gradient(self, model: LogisticRegression, x: Rows, y: ArrayLike,
                       weights: ArrayLike | None = None) -> tuple[Array, Array]:
        """The gradient of the mean NLL over the minibatch ``x, y`` as dense arrays, for rows of any
        kind: what an optimiser's update takes (the model's own gradient on dense rows).

        Parameters
        ----------
        model : LogisticRegression
            The model (its parameters on this backend).
        x : Rows
            Rows of any kind: an array, bytes seen as floats (:class:`ScaledArray`) or sparse rows
            (:class:`CSR`), placed by :meth:`place`.
        y : array-like of shape (n,), integer
            The class of each row.
        weights : array-like of shape (n,), optional
            A weight for each row's loss.

        Returns
        -------
        gW : Array of shape (n_in, n_out)
            The gradient with respect to ``W``.
        gb : Array of shape (n_out,)
            The gradient with respect to ``b``.
        """
        if isinstance(x, CSR):
            from . import sparse

            step = sparse.gradient(x, y, model.W, model.b, weights=weights)
            return step.dense(model.n_in), step.gb
        return model.gradient(x, y, weights)

    def loss_and_gradient(self, model: LogisticRegression, x: Rows, y: ArrayLike,
                          weights: ArrayLike | None = None) -> tuple[float, Array, Array]:
        """The mean NLL over all of ``x, y`` (weighted per row by ``weights``) and its gradient: the
        full-batch solvers' call.

        Parameters
        ----------
        model : LogisticRegression
            The model (its parameters on this backend).
        x : Rows
            Rows of any kind: an array, bytes seen as floats (:class:`ScaledArray`) or sparse rows
            (:class:`CSR`), placed by :meth:`place`.
        y : array-like of shape (n,), integer
            The class of each row.
        weights : array-like of shape (n,), optional
            A weight for each row's loss.

        Returns
        -------
        loss : float
            The mean (weighted) negative log-likelihood.
        gW : Array of shape (n_in, n_out)
            Its gradient with respect to ``W``.
        gb : Array of shape (n_out,)
            Its gradient with respect to ``b``.
        """
        if isinstance(x, CSR):
            from . import sparse

            return sparse.loss_and_gradient(x, self.arrays.to_numpy(y), model.W, model.b, weights)
        return model.loss_and_gradient(x, y, weights)

    def share_cores(self, processes: int) -> None:
        """Use this process's share of the machine's cores when ``processes`` processes share it.

        Parameters
        ----------
        processes : int
            Processes on this machine (the ranks of a data-parallel run).
        """


NUMPY = Backend()

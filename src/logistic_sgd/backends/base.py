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
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ..core.model import LogisticRegression, log_softmax, softmax
from ..data.rows import CSR, ScaledArray
from ..util.arrays import NUMPY_ARRAYS, Arrays
from .trainer import Trainer


@dataclass(frozen=True)
class Backend:
    """The reference backend: the model's array math on ``arrays`` (NumPy by default), one call per step."""

    name: str = "numpy"
    arrays: Arrays = NUMPY_ARRAYS

    byte_splits: ClassVar[tuple[str, ...]] = ("valid", "test")
    """The splits that stay bytes when a dataset stores its pixels as bytes (see
    :func:`logistic_sgd.data.open_dataset`); the training split becomes floats once, here."""

    @property
    def device(self) -> str:
        return self.arrays.device

    @property
    def collective(self) -> str:
        """The torch.distributed backend of a data-parallel run on this backend."""
        return "gloo"

    def ready(self) -> Backend:
        """This backend, able to compute (its compiled code loaded), or the one to use instead."""
        return self

    def describe(self) -> str:
        """A few words for the log: where the model is built."""
        return ""

    @contextlib.contextmanager
    def solving(self) -> Iterator[None]:
        """The setting in which a full-batch solver runs on this backend's loss and gradient
        (:mod:`logistic_sgd.training.fullbatch`): nothing changed here."""
        yield

    def new_model(self, n_in: int, n_out: int, dtype: str) -> LogisticRegression:
        """A zero-initialised model whose parameters live on this backend."""
        return LogisticRegression(n_in, n_out, dtype=dtype, arrays=self.arrays)

    def adopt(self, model: LogisticRegression) -> LogisticRegression:
        """``model`` itself when its parameters live here, else a copy of it that lives here."""
        if model.arrays is self.arrays:
            return model
        moved = self.new_model(model.n_in, model.n_out, model.dtype.name)
        moved.W[...] = self.arrays.asarray(model.arrays.to_numpy(model.W))
        moved.b[...] = self.arrays.asarray(model.arrays.to_numpy(model.b))
        moved.metadata = dict(model.metadata)
        return moved

    def place(self, x: Any, dtype: str) -> Any:
        """The rows ``x`` as this backend computes on them, in ``dtype``: one array on its device; a
        memory-mapped :class:`ScaledArray` stays lazy on the host (each minibatch read and scaled
        when it is taken), so that a set larger than memory trains with flat memory; sparse rows
        (:class:`CSR`) stay sparse."""
        if isinstance(x, CSR):
            return x.astype(dtype)
        if isinstance(x, ScaledArray) and self.arrays.xp is np and isinstance(x.stored, np.memmap):
            return x.astype(dtype)
        return self.arrays.asarray(x, dtype=dtype)

    def trainer(self, model: LogisticRegression, x: Any, y: Any, rows: int, mean_over: int,
                weighted: bool = False) -> Trainer:
        """The steps of ``model`` on the placed training set ``x, y`` (see :class:`Trainer`); with
        ``weighted``, steps whose rows carry weights (the reference steps, on every backend)."""
        if isinstance(x, CSR):
            return self.sparse_trainer(model, x, y, rows, mean_over, weighted)
        return Trainer(model, x, y, rows, mean_over)

    def sparse_trainer(self, model: LogisticRegression, x: CSR, y: Any, rows: int, mean_over: int,
                       weighted: bool = False) -> Trainer:
        """The steps on a sparse training set (NumPy and SciPy here; see :mod:`.sparse`)."""
        from . import sparse

        return sparse.SparseTrainer(model, x, y, rows, mean_over, sparse, weighted)

    def predict(self, model: LogisticRegression, x: Any, chunk: int | None = None) -> Any:
        """``model``'s classes for the placed rows ``x`` (an array of this backend's namespace)."""
        if isinstance(x, CSR):
            from . import sparse

            return sparse.predict(x, model.W, model.b)
        return model.predict(x, chunk)

    def logits(self, model: LogisticRegression, x: Any) -> NDArray[np.floating]:
        """``x W + b`` as a NumPy array of shape (n, n_classes), for rows of any kind: an array, bytes
        seen as floats (:class:`ScaledArray`) or sparse rows (:class:`CSR`)."""
        if isinstance(x, CSR):
            from . import sparse

            return sparse.logits(x, model.arrays.to_numpy(model.W), model.arrays.to_numpy(model.b))
        return np.asarray(model.arrays.to_numpy(model.decision_function(x)))

    def predict_proba(self, model: LogisticRegression, x: Any) -> NDArray[np.floating]:
        """``P(Y = k | x)`` as a NumPy array of shape (n, n_classes), for rows of any kind."""
        if isinstance(x, CSR):
            return softmax(self.logits(model, x))
        return np.asarray(model.arrays.to_numpy(model.p_y_given_x(x)))

    def negative_log_likelihood(self, model: LogisticRegression, x: Any, y: Any) -> float:
        """The mean negative log-likelihood of ``model`` on ``x, y``, for rows of any kind."""
        if isinstance(x, CSR):
            return -float(np.mean(log_softmax(self.logits(model, x))[np.arange(len(x)), np.asarray(y)]))
        return model.negative_log_likelihood(x, y)

    def dense_gradient(self, model: LogisticRegression, x: Any, y: Any, weights: Any = None) -> tuple[Any, Any]:
        """The gradient ``(gW, gb)`` of the mean NLL over the minibatch ``x, y`` as dense arrays, for
        rows of any kind: what an optimiser's update takes (the model's own gradient on dense rows)."""
        if isinstance(x, CSR):
            from . import sparse

            step = sparse.gradient(x, y, model.W, model.b, weights=weights)
            return step.dense(model.n_in), step.gb
        return model.gradient(x, y, weights)

    def loss_and_gradient(self, model: LogisticRegression, x: Any, y: Any,
                          weights: Any = None) -> tuple[float, Any, Any]:
        """The mean NLL over all of ``x, y`` (weighted per row by ``weights``) and its gradient
        ``(gW, gb)``: the full-batch solvers' call."""
        if isinstance(x, CSR):
            from . import sparse

            return sparse.loss_and_gradient(x, self.arrays.to_numpy(y), model.W, model.b, weights)
        return model.loss_and_gradient(x, y, weights)

    def share_cores(self, processes: int) -> None:
        """Use this process's share of the machine's cores when ``processes`` processes share it."""


NUMPY = Backend()

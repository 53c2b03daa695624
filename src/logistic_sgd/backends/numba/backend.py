"""The numba backend object and its trainer: what :mod:`.kernels` computes, asked for by the loop."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...core.model import LogisticRegression
from ...data.rows import CSR, ScaledArray
from ...errors import UsageError, one_line
from ..base import Backend
from ..trainer import Trainer


@dataclass(frozen=True)
class NumbaBackend(Backend):
    """Compiled kernels on the CPU. ``fallback`` is used instead when they cannot be loaded (``auto``)."""

    name: str = "numba"
    fallback: Backend | None = None

    byte_splits: ClassVar[tuple[str, ...]] = ("train", "valid", "test")

    @property
    def kernels(self) -> Any:
        """The compiled kernels' module."""
        return importlib.import_module(f"{__package__}.kernels")

    def ready(self) -> Backend:
        """This backend with its kernels loaded, or its fallback when they cannot be.

        Raises
        ------
        UsageError
            No fallback, and Numba cannot be imported or cannot compile here.
        """
        try:
            self.kernels  # noqa: B018 - the import is the check
        except (ImportError, RuntimeError, OSError) as exc:  # e.g. a Numba built for another NumPy
            if self.fallback is not None:
                print(f"... numba backend unavailable ({one_line(exc, 120)}); using numpy", file=sys.stderr)
                return self.fallback
            raise UsageError(f"backend {self.name}: Numba cannot be used here ({one_line(exc)})", "backend") from None
        return self

    def place(self, x: Any, dtype: str) -> Any:
        """Bytes the kernels scale exactly stay bytes (their rows handed out unscaled); else as the reference."""
        if isinstance(x, ScaledArray) and self.kernels.reads(x):
            return x.astype(dtype).unscaled()
        return super().place(x, dtype)

    def trainer(self, model: LogisticRegression, x: Any, y: Any, rows: int, mean_over: int,
                weighted: bool = False) -> Trainer:
        if weighted or isinstance(x, CSR):  # the kernels take no weights: the reference steps, on floats
            return super().trainer(model, x, y, rows, mean_over, weighted)
        return KernelTrainer(self, model, x, y, rows, mean_over)

    def sparse_trainer(self, model: LogisticRegression, x: CSR, y: Any, rows: int, mean_over: int,
                       weighted: bool = False) -> Trainer:
        """Runs of sparse steps by compiled kernels (weighted steps by the reference)."""
        from .. import sparse
        from . import sparse_kernels

        return sparse.SparseTrainer(model, x, y, rows, mean_over, sparse if weighted else sparse_kernels, weighted)

    def predict(self, model: LogisticRegression, x: Any, chunk: int | None = None) -> Any:
        if isinstance(x, CSR):
            from . import sparse_kernels

            return sparse_kernels.predict(x, model.W, model.b)
        rows, divisor = self.kernel_input(model, x)
        return self.kernels.predict(rows, model.W, model.b, divisor)

    def logits(self, model: LogisticRegression, x: Any) -> Any:
        """``x @ W + b`` by the kernels, the rows shared out between threads."""
        rows, divisor = self.kernel_input(model, x)
        z = np.empty((rows.shape[0], model.n_out), model.dtype)
        self.kernels.logits_into(rows, model.W, model.b, z, divisor)
        return z

    def loss_and_gradient(self, model: LogisticRegression, x: Any, y: Any,
                          weights: Any = None) -> tuple[float, Any, Any]:
        """The full-batch mean NLL and its gradient by the kernels, in one pass over the rows: the
        gradient is the training step's over all rows (divided by their number), the loss the sum of
        ``logsumexp(z) - z_y`` over the same logits, in float64. With ``weights`` or sparse rows, the
        reference computes them."""
        if isinstance(x, CSR):
            return super().loss_and_gradient(model, x, y, weights)
        if weights is not None:
            return model.loss_and_gradient(np.asarray(x, dtype=model.dtype), y, weights)
        rows, divisor = self.kernel_input(model, x)
        n = rows.shape[0]
        gW = np.empty_like(model.W)
        gb = np.empty_like(model.b)
        scratch = self._full_batch_scratch(model)
        total = self.kernels.gradient_into(rows, y, model.W, model.b, model.dtype.type(n), gW, gb, scratch, divisor,
                                           nll=True)
        return total / n, gW, gb

    @contextlib.contextmanager
    def solving(self) -> Iterator[None]:
        """The BLAS libraries of this process (NumPy's, SciPy's) in one thread while a solver runs on
        the kernels: SciPy's L-BFGS-B calls BLAS every iteration, and an idle OpenBLAS thread keeps
        spinning for a while after each call, on a core the kernels' threads need (a full-batch
        gradient then takes about twice as long). Through threadpoolctl, installed with the ``numba`` extra;
        without it, nothing changes."""
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            yield
            return
        with threadpool_limits(1, user_api="blas"):
            yield

    def _full_batch_scratch(self, model: LogisticRegression) -> Any:
        return self.kernels.Scratch.for_model(model.n_in, model.n_out, model.dtype)

    def share_cores(self, processes: int) -> None:
        self.kernels.share_cores(processes)

    def kernel_input(self, model: LogisticRegression, x: Any) -> tuple[Any, float | None]:
        """``x`` as the kernels take it: the stored bytes of a :class:`ScaledArray` they read, with its
        divisor; else float rows of the model's dtype."""
        if type(x) is np.ndarray and x.dtype == model.dtype and x.ndim == 2 and x.shape[1] == model.n_in:
            return x, None  # the training step's case, without the general checks' cost
        if isinstance(x, ScaledArray) and self.kernels.reads(x):
            return model.checked_shape(x).stored, x.divisor
        return model.as_input(x), None


class KernelTrainer(Trainer):
    """Steps by the compiled kernels, with their scratch buffers. Runs of steps are taken where the
    training rows are an in-memory array of the model's dtype, or bytes the kernels scale (a
    memory-mapped set is read minibatch by minibatch instead, to keep its memory flat)."""

    def __init__(self, backend: NumbaBackend, model: LogisticRegression, x: Any, y: Any, rows: int,
                 mean_over: int) -> None:
        super().__init__(model, x, y, rows, mean_over)
        self.backend = backend
        self.kernels = backend.kernels
        self.scratch = self.kernels.Scratch.for_model(model.n_in, model.n_out, model.dtype)
        if isinstance(x, ScaledArray):
            self.takes_runs = x.unscaled_rows and type(x.stored) is np.ndarray and self.kernels.reads(x)
        else:
            self.takes_runs = type(x) is np.ndarray and x.dtype == model.dtype and x.flags.c_contiguous

    def gradient(self, x: Any, y: Any, weights: Any = None) -> tuple[Any, Any]:
        if weights is not None:
            raise ValueError("the kernels take no weights (NumbaBackend.trainer gives weighted steps to the reference)")
        rows, divisor = self.backend.kernel_input(self.model, x)
        work, m = self.work, self.model
        self.kernels.gradient_into(rows, y, m.W, m.b, work.n, work.gW, work.gb, self.scratch, divisor)
        return work.gW, work.gb

    def run(self, start: int, rates: Any, decay: float = 0.0) -> None:
        rows, divisor = self.backend.kernel_input(self.model, self.x)
        m = self.model
        self.kernels.sgd_steps(rows, self.y, start, self.rows, rates, m.W, m.b, self.work.n, self.scratch, divisor)

    def warm_up(self, valid_x: Any) -> None:
        if self.takes_runs:
            self.run(0, np.empty(0, self.model.dtype))  # no step: W, b unchanged
        else:
            self.gradient(self.x[:1], self.y[:1])
        self.backend.predict(self.model, valid_x[:1])

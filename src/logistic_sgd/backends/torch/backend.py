"""The torch backend object, its arrays and its trainer (runs of steps in :mod:`.runs`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...core.model import LogisticRegression
from ...data.rows import CSR
from ...errors import UsageError
from ...util.arrays import Arrays
from ...util.extras import require
from ..base import Backend
from ..trainer import Trainer


class TorchArrays(Arrays):
    """PyTorch tensors on ``device``, seen through ``array-api-compat``'s namespace."""

    def __init__(self, device: str) -> None:
        import array_api_compat
        import torch

        self.native = torch
        self.xp = array_api_compat.array_namespace(torch.zeros(1))
        self.device = device

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        if not isinstance(a, np.ndarray) and hasattr(a, "__array__") and not hasattr(a, "__dlpack__"):
            a = np.asarray(a)  # e.g. a ScaledArray: one block, not a sequence of rows
        if isinstance(a, np.ndarray) and a.dtype.kind in "iu":
            a = a.astype(np.int64)  # labels index tensors
        return self.xp.asarray(a, dtype=None if dtype is None else getattr(self.xp, dtype), device=self.device)

    def zeros(self, shape: tuple[int, ...], dtype: str) -> Any:
        return self.xp.zeros(shape, dtype=getattr(self.xp, dtype), device=self.device)

    def empty(self, shape: tuple[int, ...], dtype: str) -> Any:
        return self.xp.empty(shape, dtype=getattr(self.xp, dtype), device=self.device)

    def arange(self, n: int) -> Any:
        return self.xp.arange(n, device=self.device)

    def to_numpy(self, a: Any) -> NDArray[Any]:
        return a.detach().cpu().numpy()

    def scalar(self, value: float, dtype: str) -> Any:
        return float(value)


@dataclass(frozen=True)
class TorchBackend(Backend):
    """PyTorch on one device; build it with :func:`logistic_sgd.backends.get_backend`."""

    name: str = "torch"

    @property
    def collective(self) -> str:
        return "nccl" if self.device.startswith("cuda") else "gloo"

    def describe(self) -> str:
        return f"{self.name} on {self.device}"

    def place(self, x: Any, dtype: str) -> Any:
        if isinstance(x, CSR):
            raise UsageError("sparse rows train on the numpy or numba backend, not torch", "backend")
        return super().place(x, dtype)

    def trainer(self, model: LogisticRegression, x: Any, y: Any, rows: int, mean_over: int,
                weighted: bool = False) -> Trainer:
        if weighted:  # runs of steps take no weights
            return super().trainer(model, x, y, rows, mean_over, weighted)
        return TorchTrainer(model, x, y, rows, mean_over)


class TorchTrainer(Trainer):
    """The reference steps on tensors; runs of steps go through :class:`.runs.StepRunner` (CUDA graphs
    on a GPU, one step after another elsewhere)."""

    takes_runs = True

    def __init__(self, model: LogisticRegression, x: Any, y: Any, rows: int, mean_over: int) -> None:
        from .runs import StepRunner

        super().__init__(model, x, y, rows, mean_over)
        self.runner = StepRunner(model, x, y, self.work)

    def run(self, start: int, rates: Any, decay: float = 0.0) -> None:
        self.runner.run(start, rates)


def torch_backend(device: str | None) -> TorchBackend:
    """The torch backend on ``device`` (default: ``cuda`` when available, else ``cpu``).

    Raises
    ------
    UsageError
        PyTorch is not installed, or the device is not available.
    """
    require("array_api_compat", "torch", "backend torch")
    torch = require("torch", "torch", "backend torch")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    kind = device.split(":")[0]
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
    }
    if kind not in available:
        raise UsageError(f"device must be cpu, cuda[:N] or mps, got {device!r}", "device")
    if not available[kind]:
        raise UsageError(f"device {device}: no such device is available to PyTorch here", "device")
    return TorchBackend(arrays=TorchArrays(device))

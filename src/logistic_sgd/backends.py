"""Array backends: where the arrays live and which namespace computes on them.

The model's math is written once against the Python array API (``xp.exp``, ``xp.sum(...,
axis=, keepdims=)``, ``@``, in-place operators); a backend supplies the namespace and moves data:

- ``numpy``: NumPy itself, which is array-API compatible. No other dependency.
- ``numba`` (the ``[numba]`` extra): NumPy arrays, with the training step and the logits computed
  by the compiled kernels of :mod:`logistic_sgd.kernels` (1.4x the ``numpy`` backend's epochs/s
  on the benchmark machine; the same numbers to float rounding).
- ``auto`` (default): ``numba`` when Numba is installed, else ``numpy``.
- ``torch`` (the ``[torch]`` extra): PyTorch through ``array-api-compat``, on ``cpu``, ``cuda``
  or ``mps``. The datasets are copied to the device once, as the seed kept them in shared
  variables, so no minibatch crosses the bus; on CUDA, with plain SGD, the steps between two
  validations are replayed as one CUDA graph (see :mod:`logistic_sgd.torch_steps`).

Both namespaces also accept ``out=`` on ``matmul`` and ``exp``, which the training step uses to
run without allocating.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import UsageError, one_line

BACKENDS = ("auto", "numpy", "numba", "torch")


@dataclass(frozen=True)
class Backend:
    """An array namespace ``xp`` and a device; converts from and to NumPy. ``kernel_module`` names a
    module of compiled kernels for the training step and scoring, imported on first use (after the
    data are loaded, so that the compiler's memory does not add to the loader's peak)."""

    name: str
    device: str
    xp: Any
    native: Any = np
    kernel_module: str | None = None
    fallback: Backend | None = None  # what to use instead when the kernels cannot be loaded (auto)

    @property
    def kernels(self) -> Any:
        """The compiled kernels' module, or None when this backend has none."""
        return None if self.kernel_module is None else importlib.import_module(self.kernel_module)

    def loaded(self) -> Backend:
        """This backend with its kernels imported (and compiled or read from Numba's cache), or its
        fallback when they cannot be (``auto``); called once the data are in memory.

        Raises
        ------
        UsageError
            ``--backend numba`` and Numba cannot be imported or cannot compile here.
        """
        if self.kernel_module is None:
            return self
        try:
            self.kernels  # noqa: B018 - the import is the check
        except (ImportError, RuntimeError, OSError) as exc:  # e.g. a Numba built for another NumPy
            if self.fallback is not None:
                print(f"... numba backend unavailable ({one_line(exc, 120)}); using numpy", file=sys.stderr)
                return self.fallback
            raise UsageError(f"--backend {self.name}: Numba cannot be used here ({one_line(exc)})") from None
        return self

    @property
    def is_numpy(self) -> bool:
        """Whether the arrays are NumPy arrays in host memory."""
        return self.xp is np

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        """``a`` as this backend's array on its device (no copy when already there)."""
        if self.is_numpy:
            return np.asarray(a, dtype=dtype)
        if not isinstance(a, np.ndarray) and hasattr(a, "__array__") and not hasattr(a, "__dlpack__"):
            a = np.asarray(a)  # e.g. a ScaledArray: one block, not a sequence of rows
        if isinstance(a, np.ndarray) and a.dtype.kind in "iu":
            a = a.astype(np.int64)  # labels index tensors
        return self.xp.asarray(a, dtype=None if dtype is None else getattr(self.xp, dtype), device=self.device)

    def zeros(self, shape: tuple[int, ...], dtype: str) -> Any:
        if self.is_numpy:
            return np.zeros(shape, dtype=dtype)
        return self.xp.zeros(shape, dtype=getattr(self.xp, dtype), device=self.device)

    def empty(self, shape: tuple[int, ...], dtype: str) -> Any:
        if self.is_numpy:
            return np.empty(shape, dtype=dtype)
        return self.xp.empty(shape, dtype=getattr(self.xp, dtype), device=self.device)

    def to_numpy(self, a: Any) -> NDArray[Any]:
        """A NumPy copy (or view, for NumPy) of ``a``; for torch this waits for the device."""
        if self.is_numpy:
            return np.asarray(a)
        return a.detach().cpu().numpy()

    def scalar(self, value: float, dtype: str) -> Any:
        """``value`` as a scalar of ``dtype``, so that arithmetic with it stays in ``dtype``."""
        return np.dtype(dtype).type(value) if self.is_numpy else float(value)

    def matmul(self, a: Any, b: Any, out: Any = None) -> Any:
        """``a @ b``, written into ``out`` when given (both NumPy and PyTorch accept ``out=``)."""
        if out is None:
            return a @ b
        return self.native.matmul(a, b, out=out)


NUMPY = Backend("numpy", "cpu", np)


def get_backend(name: str = "auto", device: str | None = None) -> Backend:
    """The backend called ``name`` (one of :data:`BACKENDS`) on ``device`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``).

    Raises
    ------
    UsageError
        Unknown backend, PyTorch not installed, or the device is not available.
    """
    if name not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    if name in ("auto", "numpy", "numba"):
        if device not in (None, "cpu"):
            raise UsageError(f"--device {device}: the {name} backend runs on the cpu only (try --backend torch)")
        if name == "numpy":
            return NUMPY
        if importlib.util.find_spec("numba") is None:
            if name == "auto":
                return NUMPY
            raise UsageError("--backend numba needs Numba: pip install 'logistic-sgd[numba]'")
        return Backend("numba", "cpu", np, kernel_module=f"{__package__}.kernels",
                       fallback=NUMPY if name == "auto" else None)
    try:
        import array_api_compat
        import torch
    except ImportError:
        raise UsageError("--backend torch needs PyTorch: pip install 'logistic-sgd[torch]'") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    kind = device.split(":")[0]
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
    }
    if kind not in available:
        raise UsageError(f"--device must be cpu, cuda[:N] or mps, got {device!r}")
    if not available[kind]:
        raise UsageError(f"--device {device}: no such device is available to PyTorch here")
    return Backend("torch", device, array_api_compat.array_namespace(torch.zeros(1)), torch)


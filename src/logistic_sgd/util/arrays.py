"""Where a model's arrays live: an array namespace and a device, behind a handful of methods.

The model's math is written once against the Python array API (``xp.exp``, ``xp.sum(...,
axis=, keepdims=)``, ``@``, in-place operators). :class:`Arrays` is that namespace for NumPy; a
backend for another library (PyTorch, in :mod:`logistic_sgd.backends.torch`) subclasses it. Both
namespaces also accept ``out=`` on ``matmul``, which the training step uses to run without
allocating.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

Array: TypeAlias = Any
"""An array of a model's namespace: a ``numpy.ndarray``, or a ``torch.Tensor`` for a model on the torch backend."""


class Arrays:
    """NumPy arrays in host memory: the namespace ``xp`` and the conversions the model needs."""

    xp: Any = np
    native: Any = np
    device: str = "cpu"

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        """``a`` as an array of this namespace on its device (no copy when it already is one)."""
        return np.asarray(a, dtype=dtype)

    def zeros(self, shape: tuple[int, ...], dtype: str) -> Any:
        return np.zeros(shape, dtype=dtype)

    def empty(self, shape: tuple[int, ...], dtype: str) -> Any:
        return np.empty(shape, dtype=dtype)

    def arange(self, n: int) -> Any:
        return np.arange(n)

    def to_numpy(self, a: Any) -> NDArray[Any]:
        """A NumPy copy (or view, for NumPy) of ``a``; waits for a device."""
        return np.asarray(a)

    def scalar(self, value: float, dtype: str) -> Any:
        """``value`` as a scalar of ``dtype``, so that arithmetic with it stays in ``dtype``."""
        return np.dtype(dtype).type(value)

    def matmul(self, a: Any, b: Any, out: Any = None) -> Any:
        """``a @ b``, written into ``out`` when given."""
        if out is None:
            return a @ b
        return self.native.matmul(a, b, out=out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device!r})"


NUMPY_ARRAYS = Arrays()


def read_only(a: NDArray[Any]) -> NDArray[Any]:
    """``a`` as a read-only view (``a`` itself if it is one). The compiled kernels only read their
    rows and texts, and take them read-only: Numba types a read-only array apart from a writable
    one, and would compile a kernel twice, once for arrays in memory and once for memory-mapped or
    ``bytes``-backed ones."""
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view

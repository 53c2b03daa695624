"""Backends: objects that own how a model is trained and scored, and where the data live.

- ``numpy``: the model's own array math on NumPy (:class:`Backend`, the reference). No other dependency.
- ``numba`` (the ``[numba]`` extra): compiled CPU kernels for the step, runs of steps and scoring,
  reading image bytes as stored (:mod:`.numba`).
- ``torch`` (the ``[torch]`` extra): PyTorch on ``cpu``, ``cuda[:N]`` or ``mps``; runs of steps as
  CUDA graphs on a GPU (:mod:`.torch`).
- ``auto`` (default): ``numba`` when Numba is installed, else ``numpy``.

Adding a backend: subclass :class:`Backend` (and :class:`Trainer` where it steps its own way) in a
module of this package, and name it in :func:`get_backend`.
"""

from __future__ import annotations

import importlib.util

from ..errors import MissingExtraError, UsageError
from .base import NUMPY, Backend
from .trainer import Trainer

BACKENDS = ("auto", "numpy", "numba", "torch")

__all__ = ["BACKENDS", "NUMPY", "Backend", "Trainer", "get_backend"]


def get_backend(name: str = "auto", device: str | None = None) -> Backend:
    """The backend called ``name`` (one of :data:`BACKENDS`) on ``device`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``).

    Raises
    ------
    UsageError
        Unknown backend, its library not installed, or the device is not available.
    """
    if name not in BACKENDS:
        raise UsageError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}", "backend")
    if name == "torch":
        from .torch import torch_backend

        return torch_backend(device)
    if device not in (None, "cpu"):
        raise UsageError(f"device {device}: the {name} backend runs on the cpu only (try backend torch)", "device")
    if name == "numpy":
        return NUMPY
    if importlib.util.find_spec("numba") is None:
        if name == "auto":
            return NUMPY
        raise MissingExtraError("backend numba needs numba: pip install 'logistic-sgd[numba]'")
    from .numba import NumbaBackend

    return NumbaBackend(fallback=NUMPY if name == "auto" else None)

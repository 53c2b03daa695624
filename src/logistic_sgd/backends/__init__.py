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

from .base import NUMPY, Backend
from .registry import BACKENDS, get_backend
from .trainer import Trainer

__all__ = ["BACKENDS", "NUMPY", "Backend", "Trainer", "get_backend"]

"""Which backend a name and a device ask for: :func:`get_backend`, and the names it takes."""

from __future__ import annotations

import importlib.util

from ..errors import MissingExtraError, UsageError
from .base import NUMPY, Backend

BACKENDS = ("auto", "numpy", "numba", "torch")


def get_backend(name: str = "auto", device: str | None = None) -> Backend:
    """The backend called ``name`` on ``device``.

    Parameters
    ----------
    name : {"auto", "numba", "numpy", "torch"}
        The backend (:data:`BACKENDS`); ``auto`` is numba when Numba is installed, else numpy.
    device : str, optional
        For torch: ``cpu``, ``cuda``, ``cuda:1``, ``mps``; the others run on the CPU only.

    Returns
    -------
    Backend
        The backend.

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

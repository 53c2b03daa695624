"""The numba backend (the ``[numba]`` extra): NumPy arrays, with the training step, runs of steps and
scoring computed by the compiled kernels of :mod:`.kernels`.

The kernels read image bytes as they are stored and scale each block as they load it (the same
floats as ``x / 255``), so every split stays bytes: a quarter of the memory, the same bits. The
kernels are imported (compiled, or read from Numba's cache) by :meth:`NumbaBackend.ready`, after
the data are loaded, so that the compiler's memory does not add to the loader's peak.
"""

from .backend import KernelTrainer, NumbaBackend

__all__ = ["KernelTrainer", "NumbaBackend"]

"""The torch backend (the ``[torch]`` extra): the model's array math on PyTorch tensors, through
``array-api-compat``, on ``cpu``, ``cuda[:N]`` or ``mps``.

The datasets are copied to the device once, as the original tutorial kept them in shared variables, so no
minibatch crosses the bus. Runs of plain SGD steps are replayed as CUDA graphs on a GPU
(:mod:`.runs`).
"""

from .backend import TorchArrays, TorchBackend, TorchTrainer, torch_backend

__all__ = ["TorchArrays", "TorchBackend", "TorchTrainer", "torch_backend"]

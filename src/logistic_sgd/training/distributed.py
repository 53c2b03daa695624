"""Synchronous data-parallel SGD on torch.distributed (gloo on CPU, NCCL on GPU), launched by torchrun.

On GPUs each rank takes the GPU numbered by its local rank (``torch.cuda.set_device``), so a node
runs at most one rank per GPU; NCCL sums the gradients on the GPUs and gloo the validation counts,
which are NumPy arrays.

Every rank holds the same parameters. Each global minibatch of ``batch_size`` rows is cut into one
contiguous slice per rank; a rank's gradient is its slice's sum divided by the *global* batch size,
so one all-reduce (sum) of the flat gradient gives every rank the global mean gradient, and every
rank takes the same step. Validation minibatches are shared out round-robin and their error counts
all-reduced, so every rank sees the same validation error and the same patience rule decides the
same way everywhere. Rank 0 alone prints and writes files.

A program that set up its process group itself (``torch.distributed.init_process_group``) before it
trains keeps it: training runs in that group and leaves it open for the program to close.

With the NumPy backend the all-reduce runs on tensors that share the arrays' memory
(``torch.from_numpy``): nothing is copied.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from ..backends import Backend
from ..errors import UsageError
from ..util.extras import require


class Communicator:
    """This process's place in the group, and the one collective training needs (an in-place sum)."""

    def __init__(self, backend: Backend) -> None:
        torch = require("torch", "torch", "distributed training")
        dist = require("torch.distributed", "torch", "distributed training")
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            raise UsageError("--distributed runs under torchrun: torchrun --nproc-per-node N -m logistic_sgd train "
                             "--distributed ...")
        self._torch, self._dist = torch, dist
        self._own_group = not dist.is_initialized()  # else the program's own group, which it closes
        if self._own_group:
            if backend.collective == "nccl":
                torch.cuda.set_device(_own_gpu(backend.device, torch.cuda.device_count()))
                # NCCL reduces the gradient on the GPU; gloo the validation counts, which are NumPy arrays
                dist.init_process_group(backend="cpu:gloo,cuda:nccl")
            else:
                dist.init_process_group(backend=backend.collective)
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()
        self.reduce_seconds = 0.0
        self.reduce_calls = 0

    def slice(self, n: int) -> tuple[int, int]:
        """This rank's contiguous part ``[lo, hi)`` of ``n`` rows (sizes differ by at most one)."""
        base, extra = divmod(n, self.world)
        lo = self.rank * base + min(self.rank, extra)
        return lo, lo + base + (self.rank < extra)

    def allreduce_(self, a: Any) -> None:
        """Sum ``a`` over all ranks, in place (NumPy arrays through a tensor sharing their memory)."""
        start = time.perf_counter()
        tensor = self._torch.from_numpy(a) if isinstance(a, np.ndarray) else a
        self._dist.all_reduce(tensor)
        self.reduce_seconds += time.perf_counter() - start
        self.reduce_calls += 1

    def close(self) -> None:
        """Close the process group if this object set it up."""
        if self._own_group and self._dist.is_initialized():
            self._dist.destroy_process_group()


def _own_gpu(device: str, gpus: int) -> int:
    """The GPU of this rank: the one numbered by its local rank, so that no two ranks on a node share one."""
    local = int(os.environ.get("LOCAL_RANK", "0"))
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE", str(local + 1)))
    if device != "cuda":
        raise UsageError(f"distributed ranks each take the GPU of their local rank: device must be 'cuda', got "
                         f"{device!r}", "device")
    if per_node > gpus:
        raise UsageError(f"{per_node} processes on this node but {gpus} CUDA GPU(s): launch at most {gpus} per node "
                         "(torchrun --nproc-per-node), or train on the CPU", "device")
    return local

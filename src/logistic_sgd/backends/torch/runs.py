"""Runs of plain SGD steps on the PyTorch backend, replayed as CUDA graphs on a GPU.

The training loop hands this backend the steps up to the next thing it must look at (a validation,
the epoch's end, the patience limit) in one call, as it hands them to the compiled kernels on the
CPU. A step is the model's own :meth:`~logistic_sgd.core.model.LogisticRegression.gradient_into`, the
math written once for NumPy and PyTorch, then ``sgd``'s update, ``params -= rate * gradient``,
bit for bit the step the loop takes minibatch by minibatch.

On CUDA a run of steps that starts at the same minibatch and takes as many steps as an earlier one
is captured as a CUDA graph, and replayed by every later such run: in the original tutorial's experiment the
first epoch runs step by step and every later epoch is one replay, one launch from Python instead
of about twenty per minibatch (a run seen once, like the last, short one, is not worth a capture).
The learning rates are read from a tensor on the device, written before a replay when they change,
so schedules work too. On the CPU, on MPS, and where capture fails (the run goes on without graphs,
with one line on stderr), the steps run one after another from Python. The loop takes runs of
steps only for plain SGD (no momentum, L1 or L2 term), without ``--shuffle``, in one process;
otherwise it steps minibatch by minibatch.

The graph logic is tested on the CPU with a stand-in that records the steps' operations at capture
and replays the record; the real capture has tests that need a GPU (skipped without one).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ...errors import one_line

if TYPE_CHECKING:
    from ...core.model import LogisticRegression, Workspace

MAX_GRAPHS = 8  # captured runs kept per training run: a start and a length each (the original tutorial needs one)


class Graph(Protocol):
    def replay(self) -> None: ...


Capture = Callable[[Callable[[], None], Callable[[], None]], Graph]


class CudaCapture:
    """Captures runs as CUDA graphs on ``device``, all on one side stream of that device."""

    def __init__(self, device: Any) -> None:
        import torch

        self.device = torch.device(device)
        self.stream = torch.cuda.Stream(device=self.device)

    def __call__(self, run: Callable[[], None], warm_up: Callable[[], None]) -> Graph:
        """``run``'s kernels as a CUDA graph (nothing runs yet: :meth:`replay` runs them). ``warm_up``
        runs first, on the stream the capture uses, so that cuBLAS's workspace for that stream and
        the allocator are set up before capture; it must leave the model unchanged. Whatever
        happens, the thread's current device and stream are as they were before."""
        import torch

        with torch.cuda.device(self.device):
            before = torch.cuda.current_stream()
            self.stream.wait_stream(before)
            with torch.cuda.stream(self.stream):  # restores the stream even when a capture fails
                warm_up()
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, stream=self.stream):
                    run()
            before.wait_stream(self.stream)
        return graph


class StepRunner:
    """Plain SGD steps of ``model`` on the training tensors ``X``, ``y``, in the buffers of ``work``.

    ``graphs`` (default: on for CUDA tensors) replays captured runs; ``capture`` makes a graph
    (default :class:`CudaCapture` on the model's device; tests pass another).
    """

    def __init__(
        self, model: LogisticRegression, X: Any, y: Any, work: Workspace, graphs: bool | None = None,
        capture: Capture | None = None,
    ) -> None:
        import torch

        self.model, self.X, self.y, self.work = model, X, y, work
        self.batch = int(work.z.shape[0])
        self.graphs = model.W.device.type == "cuda" if graphs is None else graphs
        self._capture = capture
        self.captured: dict[tuple[int, int], Graph] = {}
        self.seen: set[tuple[int, int]] = set()  # runs taken once: the second is captured
        self._rates = torch.empty(0, dtype=model.W.dtype, device=model.W.device)
        self._host_rates = np.empty(0, model.dtype)

    def run(self, start: int, rates: NDArray[Any]) -> None:
        """``len(rates)`` steps, step ``i`` on the rows ``start + i * batch`` onwards with rate ``rates[i]``."""
        n = len(rates)
        if n == 0:
            return
        self._set_rates(np.asarray(rates, self.model.dtype))
        if not self.graphs:
            self._steps(start, n)
            return
        key = (start, n)
        graph = self.captured.get(key)
        if graph is None:
            if key not in self.seen or len(self.captured) >= MAX_GRAPHS:
                self.seen.add(key)
                self._steps(start, n)
                return
            try:
                graph = self.capture(lambda: self._steps(start, n), lambda: self._gradient(start))
            except RuntimeError as exc:  # e.g. an operation that cannot be captured on this device
                print(f"... CUDA graphs unavailable ({one_line(exc, 120)}); stepping minibatch by minibatch",
                      file=sys.stderr)
                self.graphs = False
                self._steps(start, n)
                return
            self.captured[key] = graph
        graph.replay()

    @property
    def capture(self) -> Capture:
        if self._capture is None:
            self._capture = CudaCapture(self.model.W.device)
        return self._capture

    def _set_rates(self, rates: NDArray[Any]) -> None:
        """The device's copy of the rates. A run longer than any before gets a new buffer, and the
        graphs captured on the old one are dropped: they would read memory that is freed."""
        import torch

        n = len(rates)
        if n > len(self._host_rates):
            self._rates = torch.empty(n, dtype=self.model.W.dtype, device=self.model.W.device)
            self._host_rates = np.full(n, np.nan, self.model.dtype)
            self.captured.clear()
        if not np.array_equal(self._host_rates[:n], rates):  # a constant rate is copied once
            self._rates[:n].copy_(torch.from_numpy(rates))
            self._host_rates[:n] = rates

    def _gradient(self, start: int) -> None:
        rows = slice(start, start + self.batch)
        self.model.gradient_into(self.X[rows], self.y[rows], self.work)

    def _steps(self, start: int, n: int) -> None:
        W, b, grads = self.model.W, self.model.b, self.work.grads
        for i in range(n):
            self._gradient(start + i * self.batch)
            grads.mul_(self._rates[i])  # gW and gb are views of grads: sgd's `g *= lr`, then `p -= g`
            W.sub_(self.work.gW)
            b.sub_(self.work.gb)

"""Runs of SGD steps on torch: bit for bit the loop's single steps, and CUDA graphs replayed correctly.

On the CPU the graphs are stood in for by :class:`RecordedGraph`, which behaves as a CUDA graph does
where it matters here: the capture records every operation with its arguments (tensors as the very
tensors, Python numbers as they were then) and leaves every tensor as it found it; a replay runs the
record again, each result written into the tensor the capture made. A number read on the host at
capture is thus frozen into the graph, a host sync during capture fails, and a tensor replaced after
capture is not seen. On a GPU the real capture is compared with steps run one by one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from logistic_sgd import TrainConfig, fit, load_data
from logistic_sgd.backends import get_backend
from logistic_sgd.core.model import Workspace

torch = pytest.importorskip("torch")
pytest.importorskip("array_api_compat")
torch_steps = pytest.importorskip("logistic_sgd.backends.torch.runs")
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils._pytree import tree_leaves  # noqa: E402

from logistic_sgd.backends.torch import TorchTrainer  # noqa: E402

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _written(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The tensors an operation writes into (its in-place and ``out=`` arguments)."""
    bound = dict(zip((a.name for a in func._schema.arguments), args, strict=False)) | kwargs
    return [t for a in func._schema.arguments if a.alias_info is not None and a.alias_info.is_write
            for t in tree_leaves(bound.get(a.name)) if isinstance(t, torch.Tensor)]


class RecordedGraph(TorchDispatchMode):
    """Records the operations run inside ``with graph:``, then undoes what they wrote (a capture
    computes nothing); :meth:`replay` runs the record."""

    def __init__(self) -> None:
        super().__init__()
        self.record: list[tuple[Any, tuple[Any, ...], dict[str, Any], Any]] = []
        self.saved: dict[int, tuple[Any, Any]] = {}
        self.replays = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.ops.aten._local_scalar_dense.default:
            raise AssertionError("a host sync (.item(), float(tensor), bool(tensor)) cannot be captured")
        for t in _written(func, args, kwargs):
            self.saved.setdefault(id(t), (t, t.clone()))
        out = func(*args, **kwargs)
        self.record.append((func, args, kwargs, out))
        return out

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        for t, before in self.saved.values():
            t.copy_(before)

    def replay(self) -> None:
        self.replays += 1
        for func, args, kwargs, out in self.record:
            result = func(*args, **kwargs)
            for got, kept in zip(tree_leaves(result), tree_leaves(out), strict=True):
                if isinstance(got, torch.Tensor) and got.data_ptr() != kept.data_ptr():
                    kept.copy_(got)


def _recording_capture(model: Any, graphs: list[RecordedGraph]) -> Any:
    def capture(run: Any, warm_up: Any) -> RecordedGraph:
        before = model.W.clone(), model.b.clone()
        warm_up()
        assert torch.equal(model.W, before[0]) and torch.equal(model.b, before[1])
        graph = RecordedGraph()
        with graph:
            run()
        assert torch.equal(model.W, before[0]), "a capture computes nothing"
        graphs.append(graph)
        return graph

    return capture


def _problem(device: str = "cpu", n: int = 240, batch: int = 20) -> tuple[Any, Any, Any, Any]:
    rng = np.random.default_rng(5)
    be = get_backend("torch", device)
    X = be.arrays.asarray(rng.normal(size=(n, 12)).astype(np.float32))
    y = be.arrays.asarray(rng.integers(0, 4, size=n))
    model = be.new_model(12, 4, "float32")
    model.W[...] = be.arrays.asarray(rng.normal(size=(12, 4)).astype(np.float32) * 0.1)
    return model, X, y, Workspace.for_batch(model, batch)


# (start, rates): a short run, a longer run from the same start with the same rate (a new buffer),
# replays with the same and a new rate, another start, a longer run with a schedule (a new buffer
# again), then the first key with a rate the dropped graph's old buffer does not hold
RUNS = [(0, [0.1] * 2), (0, [0.1] * 6), (0, [0.1] * 6), (0, [0.05] * 6), (40, [0.1] * 2), (0, [0.1] * 6),
        (20, [0.2, 0.1, 0.3] * 3), (0, [0.07] * 6)]


def _run_all(model: Any, X: Any, y: Any, work: Any, runner: Any) -> None:
    for start, rates in RUNS:
        runner.run(start, np.array(rates, np.float32))


def _single_steps(model: Any, X: Any, y: Any, work: Any) -> None:
    """:data:`RUNS` as the training loop takes steps without runs: ``gradient_into`` then ``sgd``'s update."""
    from logistic_sgd.core.optim import sgd

    rates = [rate for _, run in RUNS for rate in run]
    opt = sgd(lambda step: rates[step])
    state = opt.init(model.params)
    for start, run in RUNS:
        for i in range(len(run)):
            rows = slice(start + i * 20, start + (i + 1) * 20)
            state = opt.update(model.gradient_into(X[rows], y[rows], work), state, model.params)


def test_steps_are_the_loops_single_steps_bit_for_bit() -> None:
    runs, single = _problem(), _problem()
    _run_all(*runs, torch_steps.StepRunner(*runs, graphs=False))
    _single_steps(*single)
    assert torch.equal(runs[0].W, single[0].W) and torch.equal(runs[0].b, single[0].b)


def test_replayed_runs_equal_steps_run_one_by_one() -> None:
    eager = _problem()
    _single_steps(*eager)
    graphs: list[RecordedGraph] = []
    replayed = _problem()
    runner = torch_steps.StepRunner(*replayed, graphs=True, capture=_recording_capture(replayed[0], graphs))
    _run_all(*replayed, runner)
    assert torch.equal(replayed[0].W, eager[0].W) and torch.equal(replayed[0].b, eager[0].b)
    # (0, 6) captured the second time it came; the longer run of 9 steps got a new rate buffer and
    # dropped that graph, so (0, 6) was captured again; the runs seen once never were
    assert [g.replays for g in graphs] == [3, 1]
    assert set(runner.captured) == {(0, 6)}


def test_at_most_max_graphs_then_steps_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch_steps, "MAX_GRAPHS", 2)
    eager, replayed = _problem(), _problem()
    graphs: list[RecordedGraph] = []
    runner = torch_steps.StepRunner(*replayed, graphs=True, capture=_recording_capture(replayed[0], graphs))
    plain = torch_steps.StepRunner(*eager, graphs=False)
    for start in (0, 20, 40, 0, 20, 40, 0):  # each seen once, then (0, 3) and (20, 3) captured, not (40, 3)
        for r in (runner, plain):
            r.run(start, np.full(3, 0.1, np.float32))
    assert len(graphs) == 2 and [g.replays for g in graphs] == [2, 1]
    assert set(runner.captured) == {(0, 3), (20, 3)}
    assert torch.equal(replayed[0].W, eager[0].W)


def test_a_failed_capture_steps_one_by_one_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(run: Any, warm_up: Any) -> Any:
        raise RuntimeError("operation not permitted when stream is capturing")

    eager, replayed = _problem(), _problem()
    runner = torch_steps.StepRunner(*replayed, graphs=True, capture=refuse)
    _run_all(*replayed, runner)
    _single_steps(*eager)
    assert torch.equal(replayed[0].W, eager[0].W)
    err = capsys.readouterr().err.splitlines()
    assert err == ["... CUDA graphs unavailable (operation not permitted when stream is capturing); "
                   "stepping minibatch by minibatch"]
    assert runner.graphs is False


def test_fit_takes_runs_of_steps_with_the_same_result(idx_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_data(idx_folder)
    config = TrainConfig(batch_size=50, n_epochs=6, patience=70)
    be = get_backend("torch", "cpu")
    runs: list[int] = []
    real = torch_steps.StepRunner.run
    monkeypatch.setattr(torch_steps.StepRunner, "run", lambda self, start, rates: (runs.append(len(rates)),
                                                                                   real(self, start, rates)))
    fused = fit(data, config, backend=be)
    monkeypatch.setattr(TorchTrainer, "takes_runs", False)
    single = fit(data, config, backend=be)
    assert sum(runs) == fused.iterations == single.iterations and max(runs) > 1
    assert [{**h, "elapsed": 0} for h in fused.history] == [{**h, "elapsed": 0} for h in single.history]
    assert torch.equal(fused.best_model.W, single.best_model.W)


GPUS = [f"cuda:{i}" for i in range(min(2, torch.cuda.device_count()))]  # a second GPU: not the current device


@cuda
@pytest.mark.parametrize("device", GPUS)
def test_cuda_graphs_replay_the_steps_bit_for_bit(device: str) -> None:
    eager, replayed = _problem(device), _problem(device)
    _single_steps(*eager)
    runner = torch_steps.StepRunner(*replayed)
    assert runner.graphs
    _run_all(*replayed, runner)
    assert runner.graphs and set(runner.captured) == {(0, 6)}
    assert torch.equal(replayed[0].W, eager[0].W) and torch.equal(replayed[0].b, eager[0].b)
    assert torch.cuda.current_stream(device) == torch.cuda.default_stream(device)


@cuda
@pytest.mark.parametrize("device", GPUS)
def test_cuda_fit_uses_graphs(device: str, idx_folder: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    replays: list[int] = []
    real = torch_steps.CudaCapture.__call__

    def counted(self: Any, run: Any, warm_up: Any) -> Any:
        graph = real(self, run, warm_up)
        replays.append(0)
        index = len(replays) - 1

        class Counted:
            def replay(self) -> None:
                replays[index] += 1
                graph.replay()

        return Counted()

    monkeypatch.setattr(torch_steps.CudaCapture, "__call__", counted)
    data = load_data(idx_folder)
    config = TrainConfig(batch_size=50, n_epochs=6, patience=70)
    on_gpu = fit(data, config, backend=get_backend("torch", device))
    assert "CUDA graphs unavailable" not in capsys.readouterr().err
    assert replays and max(replays) > 1  # an epoch's run captured at epoch 2, replayed in later epochs
    on_cpu = fit(data, config, backend=get_backend("torch", "cpu"))
    assert on_gpu.epochs == on_cpu.epochs
    for a, b in zip(on_cpu.history, on_gpu.history, strict=True):
        assert abs(a["validation_error"] - b["validation_error"]) <= 2 / 200
    W_gpu, W_cpu = on_gpu.best_model.W.cpu(), on_cpu.best_model.W
    assert torch.allclose(W_gpu, W_cpu, rtol=0, atol=1e-4 * float(W_cpu.abs().max()))  # replays that did nothing fail

"""Runs of SGD steps on torch: bit for bit the loop's single steps, and CUDA graphs replayed correctly.

On the CPU the graphs are stood in for by :class:`FakeGraph`, which runs the captured steps again at
each replay and checks what a real graph relies on: the same rate buffer, parameters and data as at
capture. On a GPU the real capture is compared with steps run one by one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from logistic_sgd import LogisticRegression, TrainConfig, fit, load_data, train
from logistic_sgd.backends import get_backend
from logistic_sgd.model import Workspace

torch = pytest.importorskip("torch")
pytest.importorskip("array_api_compat")
torch_steps = pytest.importorskip("logistic_sgd.torch_steps")

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class FakeGraph:
    """A captured run that runs again at each replay, on the tensors it was captured with."""

    def __init__(self, runner: Any, run: Any) -> None:
        self.runner, self.run, self.replays = runner, run, 0
        self.pointers = self._pointers()

    def _pointers(self) -> tuple[int, ...]:
        r = self.runner
        return tuple(t.data_ptr() for t in (r._rates, r.model.W, r.model.b, r.X, r.y, r.work.grads))

    def replay(self) -> None:
        assert self._pointers() == self.pointers, "a graph would read memory it was not captured with"
        self.replays += 1
        self.run()


def _fake_capture(runners: list[Any], graphs: list[FakeGraph]) -> Any:
    def capture(run: Any, warm_up: Any) -> FakeGraph:
        runner = runners[0]
        before = runner.model.W.clone(), runner.model.b.clone()
        warm_up()
        assert torch.equal(runner.model.W, before[0]) and torch.equal(runner.model.b, before[1])
        graph = FakeGraph(runner, run)  # capture runs nothing: the model changes at the replay
        graphs.append(graph)
        return graph

    return capture


def _problem(device: str = "cpu", n: int = 240, batch: int = 20) -> tuple[Any, Any, Any, Any]:
    rng = np.random.default_rng(5)
    be = get_backend("torch", device)
    X = be.asarray(rng.normal(size=(n, 12)).astype(np.float32))
    y = be.asarray(rng.integers(0, 4, size=n))
    model = LogisticRegression(12, 4, backend=be)
    model.W[...] = be.asarray(rng.normal(size=(12, 4)).astype(np.float32) * 0.1)
    return model, X, y, Workspace.for_batch(model, batch)


# (start, rates): a run replayed with a constant rate, a new rate, a shorter run, a new start, a longer run
RUNS = [(0, [0.1] * 6), (0, [0.1] * 6), (0, [0.05] * 6), (40, [0.1] * 2), (0, [0.1] * 6), (20, [0.2, 0.1, 0.3] * 3),
        (0, [0.1] * 6)]


def _run_all(model: Any, X: Any, y: Any, work: Any, runner: Any) -> None:
    for start, rates in RUNS:
        runner.run(start, np.array(rates, np.float32))


def _single_steps(model: Any, X: Any, y: Any, work: Any) -> None:
    """:data:`RUNS` as the training loop takes steps without runs: ``gradient_into`` then ``sgd``'s update."""
    from logistic_sgd.optim import sgd

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
    runners: list[Any] = []
    graphs: list[FakeGraph] = []
    replayed = _problem()
    runner = torch_steps.StepRunner(*replayed, graphs=True, capture=_fake_capture(runners, graphs))
    runners.append(runner)
    _run_all(*replayed, runner)
    assert torch.equal(replayed[0].W, eager[0].W) and torch.equal(replayed[0].b, eager[0].b)
    # one capture per (start, length); the longer run of 9 steps got a new rate buffer, so the first
    # key was captured again after it
    assert [g.replays for g in graphs] == [4, 1, 1, 1]
    assert set(runner.captured) == {(0, 6), (20, 9)}


def test_at_most_max_graphs_then_steps_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch_steps, "MAX_GRAPHS", 2)
    eager, replayed = _problem(), _problem()
    runners: list[Any] = []
    graphs: list[FakeGraph] = []
    runner = torch_steps.StepRunner(*replayed, graphs=True, capture=_fake_capture(runners, graphs))
    runners.append(runner)
    plain = torch_steps.StepRunner(*eager, graphs=False)
    for start in (0, 20, 40, 60, 0, 60):
        for r in (runner, plain):
            r.run(start, np.full(3, 0.1, np.float32))
    assert len(graphs) == 2 and [g.replays for g in graphs] == [2, 1]
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
    monkeypatch.setattr(train, "_fusable", lambda x, model, work: False)
    single = fit(data, config, backend=be)
    assert sum(runs) == fused.iterations == single.iterations and max(runs) > 1
    assert [{**h, "elapsed": 0} for h in fused.history] == [{**h, "elapsed": 0} for h in single.history]
    assert torch.equal(fused.best_model.W, single.best_model.W)


@cuda
def test_cuda_graphs_replay_the_steps_bit_for_bit() -> None:
    eager, replayed = _problem("cuda"), _problem("cuda")
    _single_steps(*eager)
    runner = torch_steps.StepRunner(*replayed)
    assert runner.graphs
    _run_all(*replayed, runner)
    assert runner.graphs and set(runner.captured) == {(0, 6), (20, 9)}
    assert torch.equal(replayed[0].W, eager[0].W) and torch.equal(replayed[0].b, eager[0].b)


@cuda
def test_cuda_fit_uses_graphs(idx_folder: Path) -> None:
    data = load_data(idx_folder)
    config = TrainConfig(batch_size=50, n_epochs=6, patience=70)
    on_gpu = fit(data, config, backend=get_backend("torch", "cuda"))
    on_cpu = fit(data, config, backend=get_backend("torch", "cpu"))
    assert on_gpu.epochs == on_cpu.epochs
    for a, b in zip(on_cpu.history, on_gpu.history, strict=True):
        assert abs(a["validation_error"] - b["validation_error"]) <= 2 / 200

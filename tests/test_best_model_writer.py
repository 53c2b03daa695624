"""The best model on disk: written at most once per interval while training runs (the first interval
from its start), and always the last best at the end, on interruption and when the run fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from logistic_sgd import TrainConfig, load_model
from logistic_sgd.data import open_dataset
from logistic_sgd.errors import DivergenceError
from logistic_sgd.experiment import Outputs, run_experiment
from logistic_sgd.outputs.listeners import BestModelWriter, CheckpointWriter
from logistic_sgd.outputs.persist import fingerprint, load_checkpoint, save_model
from logistic_sgd.training import events
from logistic_sgd.training import loop as train

CONFIG = TrainConfig(batch_size=50, n_epochs=8, patience=1000, learning_rate=0.01)


@pytest.fixture
def noisy(tmp_path: Path) -> Path:
    """Data that a linear model learns slowly: a new best at 7 of the 8 validations, not the last."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(20, 5))
    arrays = {}
    for name, n in (("train", 2000), ("valid", 1000), ("test", 1000)):
        x = rng.normal(size=(n, 20)).astype(np.float32)
        arrays[f"{name}_x"], arrays[f"{name}_y"] = x, np.argmax(x @ W + 0.3 * rng.gumbel(size=(n, 5)), axis=1)
    np.savez(tmp_path / "noisy.npz", **arrays)
    return tmp_path / "noisy.npz"


def _writes(data: Path, tmp_path: Path, every: float, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:
    """Train with a BestModelWriter; return what each save wrote and the improvements seen."""
    import logistic_sgd.outputs.listeners as report

    writes: list[tuple[np.ndarray, dict[str, Any]]] = []

    def save(path: Path, model: Any, metadata: dict[str, Any], scaler: Any = None, columns: Any = None,
             vectorizer: Any = None) -> None:
        writes.append((np.array(model.W), json.loads(json.dumps(metadata))))
        save_model(path, model, metadata, scaler, columns, vectorizer)

    monkeypatch.setattr(report, "save_model", save)
    last: list[bool] = []
    improvements: list[tuple[int, np.ndarray]] = []

    class Spy(events.BaseListener):
        def on_validation(self, event: events.ValidationEvent) -> None:
            if event.improved:
                improvements.append((event.iteration, np.array(event.model.W)))
            last[:] = [event.improved]

    writer = BestModelWriter(tmp_path / f"m{every}.npz", {"run": 1}, every=every)
    train.fit(open_dataset(data).datasets, CONFIG, [writer, Spy()])
    assert last == [False]  # training went on after its last best: the writer must keep that moment's model
    return writes, improvements


def _untimed(metadata: dict[str, Any]) -> dict[str, Any]:
    return {**metadata, "history": [{**h, "elapsed": None} for h in metadata["history"]]}


def test_every_improvement_or_only_the_last(noisy: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    each, improvements = _writes(noisy, tmp_path, 0.0, monkeypatch)
    assert len(improvements) >= 3
    assert [m["iteration"] for _, m in each] == [i for i, _ in improvements]
    for (W, meta), (iteration, W_then) in zip(each, improvements, strict=True):
        np.testing.assert_array_equal(W, W_then)  # the model as it was at its improvement, not later
        assert meta["run"] == 1 and meta["history"][-1]["iteration"] == iteration

    sparse, _ = _writes(noisy, tmp_path, 1e9, monkeypatch)  # a run shorter than the interval: one write
    assert [m["iteration"] for _, m in sparse] == [improvements[-1][0]]
    np.testing.assert_array_equal(sparse[-1][0], each[-1][0])
    assert _untimed(sparse[-1][1]) == _untimed(each[-1][1])  # the same last file: errors, history then
    final = load_model(tmp_path / "m1000000000.0.npz")
    np.testing.assert_array_equal(final.W, each[-1][0])


def test_a_failing_run_leaves_its_last_best_model(noisy: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Divergence found at the 5th validation: the best model so far is on disk, though the
    interval since the first write had not passed."""
    real_check = train.check_finite
    calls = []

    def check(model: Any, epoch: int, learning_rate: float) -> None:
        calls.append(epoch)
        if len(calls) == 5:
            raise DivergenceError(f"training diverged in epoch {epoch}")
        real_check(model, epoch, learning_rate)

    monkeypatch.setattr(train, "check_finite", check)
    out, log = tmp_path / "m.npz", tmp_path / "log.jsonl"
    with pytest.raises(DivergenceError):
        run_experiment(noisy, CONFIG, outputs=Outputs(model_out=out, log_json=log, quiet=True))
    records = [json.loads(line) for line in log.read_text().splitlines()]
    improved = [r["iteration"] for r in records if r.get("improved")]
    assert len(improved) >= 2
    assert load_model(out).metadata["iteration"] == improved[-1]



class _Killed(BaseException):
    """Stands for SIGKILL: nothing runs after it, no listener hears of it."""


def test_a_resumed_run_writes_the_best_model_its_killed_run_had_not(noisy: Path, tmp_path: Path) -> None:
    """A run killed right after a new best (not yet written: within ``every`` of the start) and
    resumed from its checkpoint, where no better model follows: the file ends as an uninterrupted
    run leaves it."""
    data = open_dataset(noisy).datasets
    digest = fingerprint(data)
    reference = BestModelWriter(tmp_path / "ref.npz", {"run": 1}, every=0)
    train.fit(data, CONFIG, [reference])
    last_best = load_model(tmp_path / "ref.npz").metadata["iteration"]

    class Kill(events.BaseListener):
        def on_validation(self, event: events.ValidationEvent) -> None:
            if event.iteration == last_best:
                raise _Killed

    path, checkpoint = tmp_path / "m.npz", tmp_path / "ck.npz"
    with pytest.raises(_Killed):
        train.fit(data, CONFIG, [BestModelWriter(path, {"run": 1}, every=1e9),
                                 CheckpointWriter(checkpoint, CONFIG, digest), Kill()])
    assert not path.exists()  # no write yet: every best was pending
    state = load_checkpoint(checkpoint, CONFIG, digest)
    train.fit(data, CONFIG, [BestModelWriter(path, {"run": 1}, every=1e9, state=state)], resume=state)
    got, want = load_model(path), load_model(tmp_path / "ref.npz")
    np.testing.assert_array_equal(got.W, want.W)
    np.testing.assert_array_equal(got.b, want.b)
    assert _untimed(got.metadata) == _untimed(want.metadata)

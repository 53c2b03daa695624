"""Sparse rows through the training loop against dense rows: on the same data (densified for the
dense run), the same validations, the same early stop and the same best model to rounding, with
every optimiser piece, on the numpy and the numba backend."""

from __future__ import annotations

import io

import numpy as np
import pytest

from logistic_sgd.backends import NUMPY, get_backend
from logistic_sgd.data.rows import CSR
from logistic_sgd.outputs.listeners import OriginalLog
from logistic_sgd.training.config import TrainConfig
from logistic_sgd.training.loop import fit

pytest.importorskip("scipy")


def _split(n: int, seed: int, k: int = 60, n_out: int = 4):
    """Bag-of-words-like rows: each class favours its own block of features, with noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_out, n)
    x = (rng.random((n, k)) < 0.08) * rng.random((n, k))
    block = k // n_out
    for c in range(n_out):
        rows = np.flatnonzero(y == c)
        x[rows, c * block : (c + 1) * block] += (rng.random((len(rows), block)) < 0.15) * 1.0
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x, y


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("extra", [
    {},
    {"l2": 0.003, "lr_schedule": "inverse-time", "lr_decay": 0.3},
    {"momentum": 0.5, "l1": 1e-4},  # the dense fallback
    {"shuffle": True, "l2": 0.001},
    {"l1": 1e-3},  # the dense fallback too
    {"patience": 24, "patience_increase": 3},  # validation every 12 iterations, within epochs
], ids=["plain", "l2-schedule", "momentum-l1", "shuffle", "l1", "mid-epoch-validation"])
def test_same_run_as_the_dense_loop(backend: str, extra: dict) -> None:
    splits = [_split(n, seed) for n, seed in ((600, 1), (200, 2), (200, 3))]
    config = TrainConfig(**{"learning_rate": 2.0, "batch_size": 20, "patience": 200, "n_epochs": 15,
                            "floatx": "float64", **extra})
    dense = fit(tuple(splits), config)
    out = io.StringIO()
    if backend == "numba":
        pytest.importorskip("numba")
    sparse = fit(tuple((CSR.from_dense(x), y) for x, y in splits), config, [OriginalLog(out)],
                 backend=get_backend(backend))
    assert [h["validation_error"] for h in sparse.history] == [h["validation_error"] for h in dense.history]
    assert (sparse.epochs, sparse.iterations, sparse.best_iteration) == (dense.epochs, dense.iterations,
                                                                         dense.best_iteration)
    assert sparse.full_test == dense.full_test and sparse.test_error == dense.test_error
    np.testing.assert_allclose(sparse.best_model.W, dense.best_model.W, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(sparse.best_model.b, dense.best_model.b, rtol=1e-9, atol=1e-11)
    assert "The code run for" in out.getvalue() and "test error of best model" in out.getvalue()
    assert len({h["validation_error"] for h in dense.history}) > 2  # it learned: the comparison is not vacuous


def test_runs_of_sparse_steps_are_taken_where_they_can_be(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain SGD, with L2 decay and shuffling too, goes in runs of steps; momentum steps one by one."""
    from logistic_sgd.backends.sparse import SparseTrainer

    runs: list[int] = []
    real = SparseTrainer.run
    monkeypatch.setattr(SparseTrainer, "run", lambda self, start, rates, decay=0.0: (runs.append(len(rates)),
                                                                                      real(self, start, rates, decay)))
    splits = tuple((CSR.from_dense(x), y) for x, y in (_split(n, seed) for n, seed in ((600, 1), (200, 2), (200, 3))))
    for extra, in_runs in (({"l2": 1e-3, "shuffle": True}, True), ({"momentum": 0.5}, False)):
        runs.clear()
        result = fit(splits, TrainConfig(learning_rate=2.0, batch_size=20, n_epochs=3, floatx="float64", **extra),
                     backend=NUMPY)
        assert (sum(runs) == result.iterations) == in_runs and (max(runs, default=0) > 1) == in_runs

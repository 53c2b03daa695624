"""The defaults for sparse rows and larger dense rows (training/defaults.py's step rule): what is chosen
and when it is left alone, the line that says so, the CLI and the estimator on sparse rows, and an exact
resume of adagrad from a checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.data.rows import CSR
from logistic_sgd.training.config import DEFAULTS, TrainConfig
from logistic_sgd.training.defaults import (
    DENSE_BATCH,
    DENSE_RATE,
    SPARSE_BATCH,
    SPARSE_PATIENCE_INCREASE,
    DataSummary,
    choose_defaults,
)

SPARSE = DataSummary(40_000, 5_000, 10_000, 1 << 20, sparse=True, mean_sq_norm=2.0)
DENSE = DataSummary(50_000, 10_000, 10_000, 784)


def test_sparse_rows_take_sgd_at_batch_over_mean_squared_norm() -> None:
    changes, reasons = choose_defaults(SPARSE, DEFAULTS, set())
    assert changes == {"optimizer": "sgd", "batch_size": SPARSE_BATCH, "learning_rate": SPARSE_BATCH / 2.0,
                       "patience_increase": SPARSE_PATIENCE_INCREASE}
    assert len(reasons) == 1 and reasons[0].startswith("for sparse rows: optimizer sgd") and "because" in reasons[0]
    assert f"patience increase {SPARSE_PATIENCE_INCREASE:g} (not 2)" in reasons[0]


@pytest.mark.parametrize("given", ["patience", "patience_increase", "improvement_threshold"])
def test_a_given_patience_setting_keeps_the_original_rule(given: str) -> None:
    changes, reasons = choose_defaults(SPARSE, DEFAULTS, {given})
    assert "patience_increase" not in changes and "patience increase" not in reasons[0]
    assert changes["learning_rate"] == SPARSE_BATCH / 2.0  # the step rule still applies


def test_a_given_batch_keeps_and_sets_the_rate() -> None:
    config = TrainConfig(batch_size=10)
    changes, _ = choose_defaults(SPARSE, config, {"batch_size"})
    assert changes == {"optimizer": "sgd", "batch_size": 10, "learning_rate": 5.0,
                       "patience_increase": SPARSE_PATIENCE_INCREASE}


@pytest.mark.parametrize("given", ["learning_rate", "optimizer", "momentum", "lr_schedule"])
def test_a_given_step_setting_is_left_alone(given: str) -> None:
    assert choose_defaults(SPARSE, DEFAULTS, {given}) == ({}, [])


def test_larger_dense_rows_take_adagrad() -> None:
    changes, reasons = choose_defaults(DENSE, DEFAULTS, set())
    assert changes == {"optimizer": "adagrad", "batch_size": DENSE_BATCH, "learning_rate": DENSE_RATE}
    assert reasons[0].startswith("for dense rows (") and "optimizer adagrad" in reasons[0]
    assert choose_defaults(DENSE, DEFAULTS, {"distributed"}) == ({}, [])  # distributed runs take sgd only


def test_images_keep_the_original_numbers() -> None:
    images = DataSummary(50_000, 10_000, 10_000, 784, images=True)
    assert choose_defaults(images, DEFAULTS, set()) == ({}, [])


def test_small_sparse_sets_cap_the_batch() -> None:
    small = DataSummary(300, 40, 50, 100, sparse=True, mean_sq_norm=4.0)
    changes, _ = choose_defaults(small, DEFAULTS, set())
    assert changes["batch_size"] == 40 and changes["learning_rate"] == 10.0


def _text_like(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sparse rows of counts in 3 classes, each class with words of its own among shared ones."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = np.zeros((n, 300))
    for i, c in enumerate(y):
        words = np.concatenate([rng.integers(0, 200, 6), 200 + 30 * c + rng.integers(0, 30, 2)])
        np.add.at(x[i], words, 1.0)
    return x, y


def _write_svmlight(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    with path.open("w") as f:
        for row, label in zip(x, y, strict=True):
            cols = np.flatnonzero(row)
            f.write(f"{label} " + " ".join(f"{k + 1}:{row[k]:g}" for k in cols) + "\n")
    return path


def test_cli_with_no_flags_says_and_uses_the_sparse_defaults(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from logistic_sgd import load_model
    from logistic_sgd.cli import main

    x, y = _text_like(1500)
    data = _write_svmlight(tmp_path / "train.svm", x, y)
    assert main(["train", "--data", str(data), "--model-out", str(tmp_path / "m.npz")]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("... defaults:")]
    norm = float((x[:1200] ** 2).sum(axis=1).mean())  # about: the training split is 80 % of the rows
    assert len(lines) == 1 and "for sparse rows: optimizer sgd, batch size 64" in lines[0]
    rate = float(lines[0].split("learning rate ")[1].split()[0])
    assert rate == pytest.approx(64 / norm, rel=0.1)
    error = float(out.split("Best model on the complete sets:")[1].split("test error ")[1].split()[0])
    assert error < 10
    assert load_model(tmp_path / "m.npz").metadata["hyperparameters"]["learning_rate"] == pytest.approx(rate, 1e-3)


def test_estimator_defaults_on_csr_follow_the_same_rule() -> None:
    pytest.importorskip("sklearn")
    from scipy.sparse import csr_matrix

    from logistic_sgd.sklearn_estimator import LogisticSGDClassifier

    x, y = _text_like(2000, seed=1)
    clf = LogisticSGDClassifier(random_state=0).fit(csr_matrix(x[:1500]), y[:1500])
    assert clf.defaults_[0].startswith("for sparse rows: optimizer sgd, batch size 64")
    assert "patience increase 1.5" in clf.defaults_[0]
    original = LogisticSGDClassifier(patience_increase=2, random_state=0).fit(csr_matrix(x[:1500]), y[:1500])
    assert "patience increase" not in original.defaults_[0]  # a value given is kept, even the original's
    assert np.mean(clf.predict(csr_matrix(x[1500:])) == y[1500:]) > 0.9
    given = LogisticSGDClassifier(learning_rate=0.5, random_state=0).fit(csr_matrix(x[:1500]), y[:1500])
    assert not any("sparse rows" in line for line in given.defaults_)  # a given rate keeps plain SGD at it


def test_adagrad_resumes_exactly_from_a_checkpoint(tmp_path: Path) -> None:
    from logistic_sgd.outputs.listeners import CheckpointWriter
    from logistic_sgd.outputs.persist import fingerprint, load_checkpoint
    from logistic_sgd.training.events import BaseListener, StopRequest, TrainingInterrupted
    from logistic_sgd.training.loop import fit

    x, y = _text_like(900, seed=2)
    X = CSR.from_dense(x)
    datasets = ((X.rows(0, 600), y[:600]), (X.rows(600, 750), y[600:750]), (X.rows(750, 900), y[750:]))
    config = TrainConfig(optimizer="adagrad", learning_rate=0.2, batch_size=20, n_epochs=6, patience=10**6,
                         floatx="float64")
    whole = fit(datasets, config)
    stop = StopRequest()

    class StopAt(BaseListener):
        def on_validation(self, event: object) -> None:
            if event.epoch == 3:  # type: ignore[attr-defined]
                stop.signal = 15

    digest = fingerprint(datasets)
    path = tmp_path / "ckpt.npz"
    with pytest.raises(TrainingInterrupted):
        fit(datasets, config, listeners=[CheckpointWriter(path, config, digest), StopAt()], stop=stop)
    resumed = fit(datasets, config, resume=load_checkpoint(path, config, digest))
    assert np.array_equal(resumed.best_model.W, whole.best_model.W)
    assert resumed.best_validation_error == whole.best_validation_error

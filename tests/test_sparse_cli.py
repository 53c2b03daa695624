"""Sparse inputs end to end: svmlight files through the CLI without densifying, predict on features the
model never saw, the converted sparse layout, CSR through the estimator, wide model files."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.cli import main
from logistic_sgd.data.formats.svmlight import write_svmlight
from logistic_sgd.data.rows import CSR

WIDE = 1 << 20
SEED_LINE = ("epoch ", "     epoch ", "Optimization complete", "Best model on the complete sets")


def _corpus(n: int, seed: int, n_classes: int = 5, per_row: int = 30) -> tuple[CSR, np.ndarray]:
    """Hashed-text-like rows: 2^20 features, 30 non-zeros a row, each class with its own frequent words."""
    vocabulary = np.random.default_rng(0).choice(WIDE, size=(n_classes, 200), replace=False)  # the same in every set
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    cols = np.where(rng.random((n, per_row)) < 0.4, vocabulary[y][np.arange(n)[:, None], rng.integers(0, 200,
                    (n, per_row))], rng.integers(0, WIDE, (n, per_row)))
    rows = []
    for r in range(n):
        c = np.unique(cols[r])
        rows.append((c, np.full(len(c), 1 / np.sqrt(len(c)), np.float32)))
    indptr = np.cumsum([0, *(len(c) for c, _ in rows)]).astype(np.int32)
    return CSR(np.concatenate([v for _, v in rows]), np.concatenate([c for c, _ in rows]).astype(np.int32), indptr,
               WIDE), y


@pytest.fixture(scope="module")
def text(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("text")
    x, y = _corpus(3000, 1)
    write_svmlight(folder / "train.svm", x.rows(0, 2400), y[:2400])
    tx, ty = _corpus(600, 2)
    wider = CSR(tx.data, tx.indices.copy(), tx.indptr, WIDE + 10)
    wider.indices[-1] = WIDE + 5  # a feature the training file never has
    write_svmlight(folder / "test.svm", wider, ty)
    return folder / "train.svm", folder / "test.svm"


def test_svmlight_files_train_from_the_cli_in_memory_that_grows_with_the_non_zeros(
    text: tuple[Path, Path], tmp_path: Path
) -> None:
    """2,400 rows of 2^20 features would be 10 GB dense; the process stays far below. The bound leaves
    room for LLVM compiling kernels in the process (up to about 1.3 GB seen), which the warm-up run
    usually spares it."""
    train, test = text
    assert main(["train", "--data", str(train), "--n-epochs", "1", "--batch-size", "20", "-q", "--model-out",
                 str(tmp_path / "warm.npz")]) == 0
    with (tmp_path / "out.txt").open("w+") as out:
        proc = subprocess.Popen([sys.executable, "-m", "logistic_sgd", "train", "--data", str(train), "--test-data",
                                 str(test), "--learning-rate", "10", "--batch-size", "20", "--n-epochs", "8",
                                 "--model-out", str(tmp_path / "m.npz")], stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak, not every child's
        out.seek(0)
        stdout = out.read()
    assert os.waitstatus_to_exitcode(status) == 0, stdout
    peak_mb = usage.ru_maxrss / 1024
    assert peak_mb < 2500, f"peak RSS {peak_mb:.0f} MB"
    assert f"({WIDE + 6} features" in stdout  # as wide as the widest file read with it
    test_error = float(stdout.split("test error ")[-1].split(" %")[0])
    assert test_error < 20, stdout


def test_predict_reads_svmlight_rows_with_features_never_seen(text: tuple[Path, Path], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    train, test = text
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(train), "--learning-rate", "10", "--batch-size", "20", "--n-epochs", "4",
                 "-q", "--model-out", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--out", str(tmp_path / "p.csv"), str(test)]) == 0
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert len(lines) == 601 and lines[0].startswith("input,label,p(0)")


def test_the_converted_sparse_layout_trains_as_the_file(text: tuple[Path, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    train, test = text
    common = ["--learning-rate", "10", "--batch-size", "20", "--n-epochs", "3", "--shuffle"]
    assert main(["convert", "--data", str(train), "--test-data", str(test), "--out", str(tmp_path / "set")]) == 0
    capsys.readouterr()
    assert main(["train", "--data", str(train), "--test-data", str(test), *common, "--model-out",
                 str(tmp_path / "a.npz")]) == 0
    from_files = [line for line in capsys.readouterr().out.splitlines() if line.startswith(SEED_LINE)]
    assert main(["train", "--data", str(tmp_path / "set"), *common, "--model-out", str(tmp_path / "b.npz")]) == 0
    from_layout = [line for line in capsys.readouterr().out.splitlines() if line.startswith(SEED_LINE)]
    assert from_layout == from_files and len(from_files) > 4


def test_the_estimator_takes_csr_without_densifying() -> None:
    pytest.importorskip("sklearn")
    from logistic_sgd import LogisticSGDClassifier

    x, y = _corpus(3000, 3)
    X = x.to_scipy()
    tracemalloc.start()
    try:
        clf = LogisticSGDClassifier(learning_rate=10, batch_size=20, max_epochs=5, floatx="float32",
                                    random_state=0).fit(X[:2400], y[:2400])
        accuracy = clf.score(X[2400:], y[2400:])
        clf.partial_fit(X[:200], y[:200])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    weights = WIDE * 5 * 4
    assert peak < 8 * weights, f"peak {peak / 2**20:.0f} MB for {weights / 2**20:.0f} MB of weights"  # dense: 10 GB
    assert accuracy > 0.8 and clf.coef_.shape == (5, WIDE)


def test_a_wide_model_file_is_written_and_read_without_a_copy_too_many(tmp_path: Path) -> None:
    from logistic_sgd import LogisticRegression, load_model, save_model

    model = LogisticRegression(WIDE, 24)
    model.W[...] = np.random.default_rng(0).random(model.W.shape, dtype=np.float32)
    size = model.W.nbytes  # 100 MB
    tracemalloc.start()
    try:
        save_model(tmp_path / "wide.npz", model)
        _, saving = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        loaded = load_model(tmp_path / "wide.npz")
        _, loading = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert saving < 0.2 * size, f"saving took {saving / 2**20:.0f} MB more"  # NumPy writes in chunks of 16 MB
    assert loading < 1.1 * size, f"loading held {loading / 2**20:.0f} MB for a {size / 2**20:.0f} MB model"
    np.testing.assert_array_equal(loaded.W, model.W)


def test_a_wide_model_with_rows_never_trained_is_written_as_its_other_rows(tmp_path: Path) -> None:
    """Format version 2: the rows of W that are not all zero (bit for bit), their indices beside; read
    back bit for bit, in a file a fraction of the whole, saved without a copy of the rows kept."""
    from logistic_sgd import LogisticRegression, load_model, save_model

    model = LogisticRegression(WIDE, 24)
    rng = np.random.default_rng(0)
    rows = rng.choice(WIDE, WIDE // 3, replace=False)
    model.W[rows] = rng.normal(size=(len(rows), 24)).astype(np.float32)
    zero = np.setdiff1d(np.arange(WIDE), rows)[0]
    model.W[zero, 3] = -0.0  # not zero bit for bit: kept
    size = model.W.nbytes
    tracemalloc.start()
    try:
        save_model(tmp_path / "wide.npz", model)
        _, saving = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert saving < 0.2 * size, f"saving took {saving / 2**20:.0f} MB more"
    assert (tmp_path / "wide.npz").stat().st_size < 0.4 * size
    loaded = load_model(tmp_path / "wide.npz")
    assert loaded.metadata["format_version"] == 2
    np.testing.assert_array_equal(loaded.W.view(np.uint32), model.W.view(np.uint32))
    np.testing.assert_array_equal(loaded.b, model.b)
    model.W[...] = 1.0  # every row used: the whole of W, format version 1
    save_model(tmp_path / "full.npz", model)
    assert load_model(tmp_path / "full.npz").metadata["format_version"] == 1


def test_a_wide_model_exports_to_onnx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ort = pytest.importorskip("onnxruntime")
    from logistic_sgd import LogisticRegression, save_model

    model = LogisticRegression(WIDE, 5)
    model.W[...] = np.random.default_rng(0).normal(size=model.W.shape).astype(np.float32)
    save_model(tmp_path / "wide.npz", model)
    assert main(["export", "--model", str(tmp_path / "wide.npz"), "--onnx", str(tmp_path / "wide.onnx")]) == 0
    rows = np.zeros((3, WIDE), np.float32)
    rows[0, 7] = rows[1, 12345] = rows[2, WIDE - 1] = 1.0
    labels, _ = ort.InferenceSession(str(tmp_path / "wide.onnx")).run(None, {"input": rows})
    np.testing.assert_array_equal(labels, model.predict(rows))


def _small(tmp_path: Path, zero_based: bool = False) -> tuple[Path, Path]:
    """A 2^10-wide sparse set (a square width, as 2^20 is) and rows to classify whose features all
    lie past index 0 (so the convention cannot be guessed from them)."""
    x, y = _corpus(1200, 4)
    narrow = CSR(x.data, x.indices % 1024, x.indptr, 1024)
    narrow = CSR.from_scipy(narrow.to_scipy())  # sum what the modulo made duplicates, keep the order
    write_svmlight(tmp_path / "small.svm", narrow, y, zero_based=zero_based)
    rows = CSR.from_scipy(narrow.rows(0, 50).to_scipy()[:, 1:])
    shifted = CSR(rows.data, rows.indices + 1, rows.indptr, 1024)
    write_svmlight(tmp_path / "rows.svm", shifted, y[:50], zero_based=zero_based)
    return tmp_path / "small.svm", tmp_path / "rows.svm"


def test_sparse_runs_convert_checkpoint_plots_report_and_weights(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    data, _ = _small(tmp_path)
    common = ["--learning-rate", "5", "--batch-size", "20", "--n-epochs", "3", "-q"]
    assert main(["convert", "--data", str(data), "--out", str(tmp_path / "set")]) == 0  # width 1024: a square
    assert main(["train", "--data", str(tmp_path / "set"), *common, "--model-out", str(tmp_path / "a.npz"),
                 "--checkpoint", str(tmp_path / "ck.npz"), "--plots", str(tmp_path / "plots")]) == 0
    assert {p.name for p in (tmp_path / "plots").iterdir()} >= {"learning_curve.png", "confusion.png"}
    first = capsys.readouterr().out
    assert main(["train", "--data", str(tmp_path / "set"), *common, "--model-out", str(tmp_path / "a.npz"),
                 "--checkpoint", str(tmp_path / "ck.npz"), "--resume"]) == 0
    again = capsys.readouterr().out
    assert "... resuming from" in again and first.splitlines()[-1] == again.splitlines()[-1]
    assert main(["report", "--model", str(tmp_path / "a.npz"), "--data", str(tmp_path / "set"), "--out",
                 str(tmp_path / "r.html")]) == 0
    assert "per class" in (tmp_path / "r.html").read_text()


def test_class_weights_weigh_sparse_steps(tmp_path: Path) -> None:
    """Weighted steps go one by one on sparse rows, and the weights change them."""
    from logistic_sgd import TrainConfig, fit
    from logistic_sgd.data import load_data

    data = load_data(_small(tmp_path)[0])
    config = TrainConfig(learning_rate=5.0, batch_size=20, n_epochs=2, floatx="float64")
    plain = fit(data, config)
    rare = np.where(data[0][1] == 0, 10.0, 1.0)
    weighted = fit(data, config, sample_weight=rare)
    balanced = fit(data, TrainConfig(learning_rate=5.0, batch_size=20, n_epochs=2, floatx="float64",
                                     class_weight="balanced"))
    assert not np.allclose(plain.best_model.W, weighted.best_model.W, atol=1e-3)
    assert not np.allclose(plain.best_model.W, balanced.best_model.W, atol=1e-6)


def test_full_batch_solvers_take_sparse_rows(tmp_path: Path) -> None:
    pytest.importorskip("scipy")
    from logistic_sgd import TrainConfig, fit
    from logistic_sgd.data import load_data

    data = load_data(_small(tmp_path)[0])
    dense = tuple((x.toarray(), y) for x, y in data)
    config = TrainConfig(optimizer="lbfgs", l2=1e-3, n_epochs=15, batch_size=20, floatx="float64")
    a, b = fit(data, config), fit(dense, config)
    assert [h["validation_error"] for h in a.history] == [h["validation_error"] for h in b.history]
    np.testing.assert_allclose(a.best_model.W, b.best_model.W, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("zero_based", [False, True])
def test_predict_reads_rows_as_the_training_files_counted(tmp_path: Path, zero_based: bool,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    data, rows = _small(tmp_path, zero_based)
    assert main(["train", "--data", str(data), "--learning-rate", "5", "--batch-size", "20", "--n-epochs", "3", "-q",
                 "--model-out", str(tmp_path / "m.npz")]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(tmp_path / "m.npz"), str(rows)]) == 0  # no index 0 in these rows
    said = [line.split("\t")[1] for line in capsys.readouterr().out.splitlines()]
    from logistic_sgd.data.formats.svmlight import read_svmlight

    truth = read_svmlight(rows, zero_based=zero_based)[1]
    assert np.mean(np.array(said) == truth.astype(str)) > 0.8

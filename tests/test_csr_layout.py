"""The memory-mappable CSR layout: written and read back exactly, trained on window by window with the same
result as in memory, with flat resident memory, and every broken folder a one-line DataError."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.backends import sparse
from logistic_sgd.data.layouts.csr_layout import convert_sparse, read_sparse_layout
from logistic_sgd.data.rows import CSR
from logistic_sgd.errors import DataError
from logistic_sgd.training.loop import TrainConfig, fit

pytest.importorskip("scipy")


def _splits(seed: int = 0, k: int = 300, n_out: int = 3):
    rng = np.random.default_rng(seed)
    out = []
    for n in (400, 120, 120):
        y = rng.integers(0, n_out, n)
        x = (rng.random((n, k)) < 0.03) * rng.random((n, k))
        x[np.arange(n), y * 7] += rng.random(n) < 0.4  # one telling feature per class, in 40 % of its rows
        out.append((CSR.from_dense(x.astype(np.float32)), y))
    return tuple(out)


def test_convert_then_read_gives_the_same_arrays_memory_mapped(tmp_path: Path) -> None:
    splits = _splits()
    convert_sparse(splits, tmp_path / "set")
    back = read_sparse_layout(tmp_path / "set")
    for (x, y), (bx, by) in zip(splits, back, strict=True):
        assert isinstance(bx.data, np.memmap) and isinstance(bx.indices, np.memmap)
        np.testing.assert_array_equal(bx.toarray(), x.toarray())
        np.testing.assert_array_equal(by, y)
        np.testing.assert_array_equal(bx.read_rows(7, 93).toarray(), x.toarray()[7:93])
        assert not isinstance(bx.read_rows(7, 93).data, np.memmap)  # read into memory, not mapped
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert manifest["format"] == "logistic-sgd-csr" and manifest["n_features"] == 300


def test_training_window_by_window_is_training_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    splits = _splits(seed=1)
    convert_sparse(splits, tmp_path / "set")
    config = TrainConfig(learning_rate=0.5, batch_size=20, patience=100, n_epochs=4, l2=1e-3)
    monkeypatch.setattr(sparse, "WINDOW", 100)  # a few minibatches per window: many windows per run of steps
    mapped = fit(read_sparse_layout(tmp_path / "set"), config)
    in_memory = fit(splits, config)
    errors = [[h["validation_error"] for h in run.history] for run in (mapped, in_memory)]
    assert errors[0] == errors[1] and len(set(errors[0])) > 1
    # each window folds the L2 scale into the weights: the same steps, rounded at other points
    np.testing.assert_allclose(mapped.best_model.W, in_memory.best_model.W, rtol=1e-5, atol=1e-6)
    assert mapped.full_test == in_memory.full_test


def test_resident_memory_stays_flat_while_training_on_a_mapped_set(tmp_path: Path) -> None:
    """64 MB of non-zeros on disk, trained on in windows of 2 MB: the process grows by far less than the set."""
    rng = np.random.default_rng(0)
    n, per_row, width = 400_000, 20, 1 << 14
    indices = np.sort(rng.integers(0, width, (n, per_row), dtype=np.int32), axis=1)
    indices += np.arange(per_row, dtype=np.int32)  # strictly increasing along each row
    big = CSR(rng.random(n * per_row, dtype=np.float32), indices.ravel() % (width + per_row),
              np.arange(0, n * per_row + 1, per_row, dtype=np.int32), width + per_row)
    small = big.rows(0, 1000)
    y = rng.integers(0, 2, n)
    convert_sparse(((big, y), (small, y[:1000]), (small, y[:1000])), tmp_path / "set")
    script = textwrap.dedent(f"""
        import resource
        from logistic_sgd.backends import sparse
        from logistic_sgd.data.layouts.csr_layout import read_sparse_layout
        from logistic_sgd.training.loop import TrainConfig, fit
        sparse.WINDOW = 1 << 18
        data = read_sparse_layout({str(tmp_path / "set")!r})
        config = TrainConfig(learning_rate=0.5, batch_size=500, n_epochs=1, patience=10**6, l2=1e-4)
        fit(((data[0][0].rows(0, 2000), data[0][1][:2000]), data[1], data[2]), config)  # warm
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fit(data, config)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    grown_mb = int(done.stdout.split()[-1]) / 1024
    assert grown_mb < 16, f"resident memory grew by {grown_mb:.0f} MB training on 64 MB of mapped non-zeros"


@pytest.mark.parametrize(("break_it", "message"), [
    (lambda d: (d / "manifest.json").unlink(), "unreadable converted sparse dataset"),
    (lambda d: (d / "manifest.json").write_text('{"format": "other"}'), "not a logistic-sgd sparse dataset"),
    (lambda d: (d / "valid_indices.npy").write_bytes(b"junk"), "unreadable converted sparse dataset"),
    (lambda d: np.save(d / "test_indptr.npy", np.zeros(121, np.int32)), "indptr, indices and data disagree"),
    (lambda d: np.save(d / "train_y.npy", np.full(400, 9, np.int16)), "train labels disagree"),
    (lambda d: np.save(d / "train_data.npy", np.zeros(3, np.float64)), "shape or dtype differs"),
])
def test_broken_folders_are_one_line_errors(tmp_path: Path, break_it, message: str) -> None:
    convert_sparse(_splits(), tmp_path / "set")
    break_it(tmp_path / "set")
    with pytest.raises(DataError, match=message) as caught:
        read_sparse_layout(tmp_path / "set")
    assert "\n" not in str(caught.value)

"""Data-parallel training over torch.distributed (2 gloo processes on localhost) ends where one process ends.

Tolerance: the gradient sum is reduced across ranks in another order than one process sums it, so
float32 parameters may differ in the last bits; float64 runs must print the same lines and write the
same model to 1e-12, float32 runs the same lines (on these data) and the same model to 1e-5.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import load_model

pytest.importorskip("torch.distributed")
pytestmark = pytest.mark.slow
SEED_LINE = ("epoch ", "     epoch ", "Optimization complete", "Best model on the complete sets")


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A linear problem with overlapping classes, so errors keep changing from epoch to epoch."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(5, 30))

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 5, size=n)
        return (centers[y] + 3.0 * rng.normal(size=(n, 30))).astype(np.float32), y

    path = tmp_path_factory.mktemp("noisy") / "noisy.npz"
    (tx, ty), (vx, vy), (sx, sy) = split(3000), split(600), split(600)
    np.savez(path, train_x=tx, train_y=ty, valid_x=vx, valid_y=vy, test_x=sx, test_y=sy)
    return path


def _train(data: Path, out: Path, floatx: str, distributed: bool) -> list[str]:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    argv = [*(launcher if distributed else [sys.executable]), "-m", "logistic_sgd", "train", "--data", str(data),
            "--batch-size", "50", "--n-epochs", "8", "--shuffle", "--seed", "5", "--floatx", floatx,
            "--momentum", "0.5", "--learning-rate", "0.01", "--model-out", str(out)]
    argv += ["--distributed"] if distributed else []
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    if distributed:
        assert "all-reduce:" in proc.stderr
    return [line for line in proc.stdout.splitlines() if line.startswith(SEED_LINE)]


@pytest.fixture(scope="module")
def sparse_noisy(noisy: Path) -> Path:
    """The same problem as svmlight rows (sparse: its zeros made exact)."""
    from logistic_sgd.data.csr import CSR
    from logistic_sgd.data.svmlight import write_svmlight

    arrays = np.load(noisy)
    path = noisy.with_name("noisy.svm")
    x = np.concatenate([arrays[f"{s}_x"] for s in ("train", "valid", "test")])
    x[np.abs(x) < 2.0] = 0.0
    write_svmlight(path, CSR.from_dense(x), np.concatenate([arrays[f"{s}_y"] for s in ("train", "valid", "test")]))
    return path


@pytest.mark.parametrize(("floatx", "tolerance", "rows"), [("float64", 1e-12, "dense"), ("float32", 1e-5, "dense"),
                                                           ("float64", 1e-12, "sparse")])
def test_two_gloo_processes_match_one(noisy: Path, sparse_noisy: Path, tmp_path: Path, floatx: str, tolerance: float,
                                      rows: str) -> None:
    """Sparse rows too: each rank's step gives the dense gradient that is all-reduced."""
    data = noisy if rows == "dense" else sparse_noisy
    single = _train(data, tmp_path / "one.npz", floatx, distributed=False)
    double = _train(data, tmp_path / "two.npz", floatx, distributed=True)
    assert len(single) > 10 and len({line.split('error')[-1] for line in single}) > 5
    assert double == single  # rank 0 alone printed, and printed the same lines
    a, b = load_model(tmp_path / "one.npz"), load_model(tmp_path / "two.npz")
    np.testing.assert_allclose(b.W, a.W, rtol=0, atol=tolerance * np.abs(a.W).max())
    np.testing.assert_allclose(b.b, a.b, rtol=0, atol=tolerance * max(1.0, np.abs(a.b).max()))

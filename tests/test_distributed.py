"""Data-parallel training over torch.distributed (2 gloo processes on localhost) ends where one process ends.

Tolerance: the gradient sum is reduced across ranks in another order than one process sums it, so
float32 parameters may differ in the last bits; float64 runs must print the same lines and write the
same model to 1e-12, float32 runs the same lines (on these data) and the same model to 1e-5.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import load_model
from logistic_sgd.cli import main

torch = pytest.importorskip("torch")
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


def _train(data: Path, out: Path, floatx: str, distributed: bool, ranks: int = 2, *more: str) -> list[str]:
    """The lines of a run under torchrun on ``ranks`` processes, or of one process (this one)."""
    argv = ["train", "--data", str(data), "--batch-size", "50", "--n-epochs", "8", "--shuffle", "--seed", "5",
            "--floatx", floatx, "--momentum", "0.5", "--learning-rate", "0.01", "--model-out", str(out), *more]
    if distributed:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(ranks)]
        proc = subprocess.run([*launcher, "-m", "logistic_sgd", *argv, "--distributed"], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "all-reduce:" in proc.stderr
        stdout = proc.stdout
    else:
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            assert main(argv) == 0
        stdout = printed.getvalue()
    return [line for line in stdout.splitlines() if line.startswith(SEED_LINE)]


@pytest.fixture(scope="module")
def sparse_noisy(noisy: Path) -> Path:
    """The same problem as svmlight rows (sparse: its zeros made exact)."""
    from logistic_sgd.data.formats.svmlight import write_svmlight
    from logistic_sgd.data.rows import CSR

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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_nccl_ranks_on_gpus_match_one_process(noisy: Path, tmp_path: Path) -> None:
    """One rank a GPU (two where there are two): NCCL sums the gradients, gloo the validation counts."""
    cuda = ("--backend", "torch", "--device", "cuda")
    single = _train(noisy, tmp_path / "one.npz", "float64", False, 1, *cuda)
    double = _train(noisy, tmp_path / "two.npz", "float64", True, min(2, torch.cuda.device_count()), *cuda)
    assert double == single
    a, b = load_model(tmp_path / "one.npz"), load_model(tmp_path / "two.npz")
    np.testing.assert_allclose(b.W, a.W, rtol=0, atol=1e-12 * np.abs(a.W).max())


@pytest.mark.parametrize(("device", "per_node", "message"), [
    ("cuda", "2", "2 processes on this node but 1 CUDA GPU"),
    ("cuda:1", "1", "device must be 'cuda', got 'cuda:1'"),
])
def test_ranks_without_a_gpu_of_their_own_are_refused(monkeypatch: pytest.MonkeyPatch, device: str, per_node: str,
                                                      message: str) -> None:
    """Before any process group is set up, so every rank stops with the same one line."""
    from logistic_sgd.backends.torch import TorchArrays, TorchBackend
    from logistic_sgd.errors import UsageError
    from logistic_sgd.training.distributed import Communicator

    pytest.importorskip("array_api_compat")
    for name, value in {"RANK": "1", "WORLD_SIZE": per_node, "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": per_node}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UsageError, match=message):
        Communicator(TorchBackend(arrays=TorchArrays(device)))

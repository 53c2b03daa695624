"""Data-parallel training over torch.distributed (2 gloo processes on localhost) ends where one process ends.

Tolerance: the gradient sum is reduced across ranks in another order than one process sums it, so
float32 parameters may differ in the last bits; float64 runs must print the same lines and write the
same model to 1e-12, float32 runs the same lines (on these data) and the same model to 1e-5.
"""

from __future__ import annotations

import contextlib
import io
import json
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


def _argv(data: Path, out: Path, floatx: str, *more: str) -> list[str]:
    return ["train", "--data", str(data), "--batch-size", "50", "--n-epochs", "8", "--shuffle", "--seed", "5",
            "--floatx", floatx, "--momentum", "0.5", "--learning-rate", "0.01", "--model-out", str(out), *more]


def _seed_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(SEED_LINE)]


def _train(data: Path, out: Path, floatx: str, distributed: bool, ranks: int = 2, *more: str) -> list[str]:
    """The lines of a run under torchrun on ``ranks`` processes, or of one process (this one)."""
    argv = _argv(data, out, floatx, *more)
    if distributed:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(ranks)]
        proc = subprocess.run([*launcher, "-m", "logistic_sgd", *argv, "--distributed"], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "all-reduce:" in proc.stderr
        return _seed_lines(proc.stdout)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(argv) == 0
    return _seed_lines(printed.getvalue())


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


GLOO_RUNS = {("float64", "dense"): 1e-12, ("float32", "dense"): 1e-5, ("float64", "sparse"): 1e-12}


@pytest.fixture(scope="module")
def gloo_runs(noisy: Path, sparse_noisy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runs of :data:`GLOO_RUNS` on 2 gloo processes, one after another in one torchrun launch
    (``gloo_ranks.py``): the folder of their outputs, ``FLOATX-ROWS.RANK.out`` / ``.err`` / ``.npz``."""
    folder = tmp_path_factory.mktemp("gloo")
    runs = [(_argv(noisy if rows == "dense" else sparse_noisy, folder / f"{floatx}-{rows}.npz", floatx,
                   "--distributed"), str(folder / f"{floatx}-{rows}")) for floatx, rows in GLOO_RUNS]
    (folder / "runs.json").write_text(json.dumps(runs))
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(Path(__file__).with_name("gloo_ranks.py")), str(folder / "runs.json")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder


@pytest.mark.parametrize(("floatx", "rows"), list(GLOO_RUNS))
def test_two_gloo_processes_match_one(noisy: Path, sparse_noisy: Path, gloo_runs: Path, tmp_path: Path, floatx: str,
                                      rows: str) -> None:
    """Sparse rows too: each rank's step gives the dense gradient that is all-reduced. The first run
    sets up its process group and closes it, the others run in a group their program set up."""
    tolerance = GLOO_RUNS[floatx, rows]
    single = _train(noisy if rows == "dense" else sparse_noisy, tmp_path / "one.npz", floatx, distributed=False)
    stem = gloo_runs / f"{floatx}-{rows}"
    double = _seed_lines(Path(f"{stem}.0.out").read_text())
    assert len(single) > 10 and len({line.split('error')[-1] for line in single}) > 5
    assert double == single and not Path(f"{stem}.1.out").read_text()  # rank 0 alone printed: the same lines
    assert "all-reduce:" in Path(f"{stem}.0.err").read_text()
    a, b = load_model(tmp_path / "one.npz"), load_model(f"{stem}.npz")
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

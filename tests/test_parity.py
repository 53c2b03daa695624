"""Parity with the outside oracle: the seed's program on PyTensor and this CLI print the same lines.

The seed's published run (MNIST) cannot be repeated offline, so both programs train on
Fashion-MNIST (Debian's dataset-fashion-mnist) from the same IDX files, in float32 and float64,
and every validation, test and summary line must be identical, as must the number of epochs.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FASHION

SEED = Path(__file__).with_name("seed_pytensor.py")
SEED_LINE = re.compile(r"^(epoch \d+, minibatch|     epoch \d+, minibatch|Optimization complete)")
EPOCHS = re.compile(r"^The code run for (\d+) epochs, with [\d.]+ epochs/sec$", re.M)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not FASHION.is_dir() and not os.environ.get("CI"),
        reason="needs Debian's dataset-fashion-mnist (scripts/setup installs it; in CI its absence fails)",
    ),
]


def _seed_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if SEED_LINE.match(line)]


@functools.cache
def _seed_run(floatx: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SEED), "--data", str(FASHION), "--floatx", floatx],
        capture_output=True, text=True, timeout=900,
    )


def _both(floatx: str, backend: str, tmp_path: Path) -> tuple[str, str]:
    """The seed's output and ours with ``--backend backend`` (on the CPU), each run checked."""
    pytest.importorskip("pytensor")
    pytest.importorskip({"numba": "numba", "torch": "torch"}.get(backend, "numpy"))
    if backend == "torch":
        pytest.importorskip("array_api_compat")
    seed = _seed_run(floatx)
    assert seed.returncode == 0, seed.stderr[-2000:]
    device = ["--device", "cpu"] if backend == "torch" else []
    ours = subprocess.run(
        [sys.executable, "-m", "logistic_sgd", "train", "--dataset", "fashion-mnist", "--floatx", floatx,
         "--backend", backend, *device, "--model-out", str(tmp_path / "best.npz")],
        capture_output=True, text=True, timeout=900,
    )
    assert ours.returncode == 0, ours.stderr[-2000:]
    assert len(_seed_lines(seed.stdout)) > 50, seed.stdout[-2000:]
    assert "... data: Fashion-MNIST" in ours.stdout
    assert EPOCHS.findall(ours.stdout) == EPOCHS.findall(seed.stdout)
    return seed.stdout, ours.stdout


@pytest.mark.parametrize(("floatx", "backend"), [
    ("float32", "numpy"), ("float64", "numpy"), ("float32", "numba"), ("float64", "numba"), ("float64", "torch"),
])
def test_cli_prints_the_seeds_lines(floatx: str, backend: str, tmp_path: Path) -> None:
    seed, ours = _both(floatx, backend, tmp_path)
    assert _seed_lines(ours) == _seed_lines(seed)


PERCENT = re.compile(r"\d+\.\d+ %")


def test_torch_float32_prints_the_seeds_lines_within_rounding(tmp_path: Path) -> None:
    """PyTorch's float32 products round differently from NumPy's BLAS: the run is the seed's to the
    epoch, and each error within two of the 9,600 scored images (one test error, at epoch 48,
    differs by one image on this machine)."""
    seed, ours = _both("float32", "torch", tmp_path)
    expected, got = _seed_lines(seed), _seed_lines(ours)
    assert [PERCENT.sub("", line) for line in got] == [PERCENT.sub("", line) for line in expected]
    for a, b in zip(expected, got, strict=True):
        for x, y in zip(PERCENT.findall(a), PERCENT.findall(b), strict=True):
            assert abs(float(x[:-2]) - float(y[:-2])) <= 100 * 2 / 9600 + 1e-9, (a, b)

"""Parity with the outside oracle: the seed's program on PyTensor and this CLI print the same lines.

The seed's published run (MNIST) cannot be repeated offline, so both programs train on
Fashion-MNIST (Debian's dataset-fashion-mnist) from the same IDX files. Per dtype, the seed runs
once to its end; the default backend (the compiled kernels when Numba is installed) runs the whole
experiment too, and every validation, test and summary line must be identical, as must the number
of epochs. The other backends run the first epochs, whose lines must be the seed's first lines.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from logistic_sgd.cli import main

from conftest import FASHION, seed_environment

SEED = Path(__file__).with_name("seed_pytensor.py")
SEED_LINE = re.compile(r"^(epoch \d+, minibatch|     epoch \d+, minibatch|Optimization complete)")
EPOCHS = re.compile(r"^The code run for (\d+) epochs, with [\d.]+ epochs/sec$", re.M)
SHORT = 8  # epochs of the shorter runs

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
def _seed_run(floatx: str) -> str:
    """The seed's program, to its end, in its own process (its output)."""
    pytest.importorskip("pytensor")
    run = subprocess.run([sys.executable, str(SEED), "--data", str(FASHION), "--floatx", floatx],
                         capture_output=True, text=True, timeout=900, env=seed_environment())
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(_seed_lines(run.stdout)) > 50, run.stdout[-2000:]
    return run.stdout


def _ours(floatx: str, backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
          n_epochs: int | None = None) -> str:
    """This CLI's output (in this process) on the CPU."""
    pytest.importorskip({"numba": "numba", "torch": "torch"}.get(backend, "numpy"))
    device = ["--device", "cpu"] if backend == "torch" else []
    epochs = [] if n_epochs is None else ["--n-epochs", str(n_epochs)]
    capsys.readouterr()
    assert main(["train", "--dataset", "fashion-mnist", "--floatx", floatx, "--backend", backend, *device, *epochs,
                 "--model-out", str(tmp_path / "best.npz")]) == 0
    out = capsys.readouterr().out
    assert "... data: Fashion-MNIST" in out
    return out


def _first_epochs(lines: list[str], n: int) -> list[str]:
    """The validation and test lines of the first ``n`` epochs."""
    return [line for line in lines if line.startswith(("epoch ", "     epoch "))
            and int(line.split()[1].rstrip(",")) <= n]


@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_the_whole_experiment_prints_the_seeds_lines(floatx: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    seed = _seed_run(floatx)
    ours = _ours(floatx, "auto", tmp_path, capsys)
    assert _seed_lines(ours) == _seed_lines(seed)
    assert EPOCHS.findall(ours) == EPOCHS.findall(seed)


@pytest.mark.parametrize(("floatx", "backend"), [("float32", "numpy"), ("float64", "numpy"), ("float64", "torch")])
def test_other_backends_print_the_seeds_first_epochs(floatx: str, backend: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    if backend == "torch":
        pytest.importorskip("array_api_compat")
    seed = _first_epochs(_seed_lines(_seed_run(floatx)), SHORT)
    ours = _first_epochs(_seed_lines(_ours(floatx, backend, tmp_path, capsys, SHORT)), SHORT)
    assert len(seed) >= SHORT + 2 and ours == seed


PERCENT = re.compile(r"\d+\.\d+ %")


def test_torch_float32_prints_the_seeds_first_epochs_within_rounding(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """PyTorch's float32 products round differently from NumPy's BLAS: the lines are the seed's, each
    error within two of the 9,600 scored images."""
    pytest.importorskip("array_api_compat")
    expected = _first_epochs(_seed_lines(_seed_run("float32")), SHORT)
    got = _first_epochs(_seed_lines(_ours("float32", "torch", tmp_path, capsys, SHORT)), SHORT)
    assert [PERCENT.sub("", line) for line in got] == [PERCENT.sub("", line) for line in expected]
    for a, b in zip(expected, got, strict=True):
        for x, y in zip(PERCENT.findall(a), PERCENT.findall(b), strict=True):
            assert abs(float(x[:-2]) - float(y[:-2])) <= 100 * 2 / 9600 + 1e-9, (a, b)

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


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_cli_prints_the_seeds_lines(floatx: str, backend: str, tmp_path: Path) -> None:
    pytest.importorskip("pytensor")
    if backend == "numba":
        pytest.importorskip("numba")
    seed = _seed_run(floatx)
    assert seed.returncode == 0, seed.stderr[-2000:]
    ours = subprocess.run(
        [sys.executable, "-m", "logistic_sgd", "train", "--dataset", "fashion-mnist", "--floatx", floatx,
         "--backend", backend, "--model-out", str(tmp_path / "best.npz")],
        capture_output=True, text=True, timeout=900,
    )
    assert ours.returncode == 0, ours.stderr[-2000:]
    expected, got = _seed_lines(seed.stdout), _seed_lines(ours.stdout)
    assert len(expected) > 50, seed.stdout[-2000:]
    assert got == expected
    assert EPOCHS.findall(ours.stdout) == EPOCHS.findall(seed.stdout)
    assert "... data: Fashion-MNIST" in ours.stdout

"""Interrupted and resumed any number of times, a run ends with exactly the lines and the model of an
uninterrupted run. Real signals (SIGINT, SIGTERM) at random moments of training, several seeds,
float32 and float64."""

from __future__ import annotations

import contextlib
import io
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import load_model
from logistic_sgd.cli import main

from conftest import child_environment, make_images, write_idx

pytestmark = pytest.mark.slow
SEED_LINE = ("epoch ", "     epoch ", "Optimization complete", "Best model on the complete sets")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("resume-data")
    x, y = make_images(3000, seed=11)
    sx, sy = make_images(300, seed=12)
    for name, a in (("train-images-idx3-ubyte.gz", x), ("train-labels-idx1-ubyte.gz", y),
                    ("t10k-images-idx3-ubyte.gz", sx), ("t10k-labels-idx1-ubyte.gz", sy)):
        write_idx(folder / name, a)
    return folder


def _argv(data: Path, tmp: Path, floatx: str, shuffle: bool) -> list[str]:
    return ["train", "--data", str(data), "--batch-size", "20", "--n-epochs", str(EPOCHS), "--patience", "100000",
            "--learning-rate", "0.05", *(["--shuffle"] if shuffle else []), "--seed", "3", "--floatx", floatx,
            "--model-out", str(tmp / "best.npz"), "--checkpoint", str(tmp / "ck.npz")]


EPOCHS = 20
FINISHED = "Best model on the complete sets"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(SEED_LINE)]


def _run_until(argv: list[str], rng: random.Random, kill: bool) -> tuple[int, str, str]:
    """Run the CLI; with ``kill``, send it SIGINT or SIGTERM after a random number of its validation
    lines (so the signal lands while it trains); its return code, stdout and stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "logistic_sgd", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1, env=child_environment())
    assert proc.stdout is not None
    out = []
    after = rng.randint(1, EPOCHS // 2) if kill else -1
    for line in proc.stdout:
        out.append(line)
        if line.startswith("epoch ") and (after := after - 1) == 0:
            proc.send_signal(rng.choice([signal.SIGINT, signal.SIGTERM]))
    err = proc.stderr.read() if proc.stderr else ""
    return proc.wait(timeout=300), "".join(out), err


@pytest.mark.parametrize(("floatx", "shuffle"), [("float32", False), ("float64", True)])
def test_resume_after_random_kills_matches_an_uninterrupted_run(
    data: Path, tmp_path: Path, floatx: str, shuffle: bool
) -> None:
    """In order, the compiled kernels take an epoch's steps in one call; shuffled, one step per call."""
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    with contextlib.redirect_stdout(io.StringIO()) as printed:  # the uninterrupted run, in this process
        assert main(_argv(data, ref_dir, floatx, shuffle)) == 0
    expected = _lines(printed.getvalue())
    assert len(expected) > EPOCHS
    reference_model = load_model(ref_dir / "best.npz")

    for seed in (1, 2):
        rng = random.Random(seed)
        run_dir = tmp_path / f"seed{seed}"
        run_dir.mkdir()
        argv = _argv(data, run_dir, floatx, shuffle)
        got: list[str] = []
        interrupted = 0
        while True:
            resume = ["--resume"] if (run_dir / "ck.npz").exists() else []
            code, out, err = _run_until([*argv, *resume], rng, kill=interrupted < 3)
            got += _lines(out)
            if code == 0 or FINISHED in out:  # a signal that lands as the process exits may still kill it
                break
            assert code in (130, 143, -signal.SIGINT, -signal.SIGTERM), err
            assert "checkpoint written to" in err
            interrupted += 1
        assert interrupted >= 1
        assert got == expected, f"seed {seed}: lines differ after {interrupted} interruptions"
        model = load_model(run_dir / "best.npz")
        np.testing.assert_array_equal(model.W, reference_model.W)
        np.testing.assert_array_equal(model.b, reference_model.b)
        assert model.metadata["iteration"] == reference_model.metadata["iteration"]


def test_resume_refuses_other_hyperparameters_and_other_data(data: Path, tmp_path: Path, idx_folder: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--data", str(data), "--batch-size", "20", "--n-epochs", "1", "-q",
            "--model-out", str(tmp_path / "m.npz"), "--checkpoint", str(tmp_path / "ck.npz")]
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*argv[:4], "30", *argv[5:], "--resume"]) == 2
    assert "other hyperparameters: --batch-size 20 (now 30)" in capsys.readouterr().err
    other = [*argv[:2], str(idx_folder), *argv[3:], "--resume"]
    assert main(other) == 2
    assert "made for other data" in capsys.readouterr().err
    assert main([*argv[:-2], "--resume"]) == 2
    assert "--resume needs --checkpoint" in capsys.readouterr().err


def test_auto_resume_starts_afresh_then_resumes(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--data", str(data), "--batch-size", "20", "--n-epochs", "2", "-q", "--auto-resume",
            "--model-out", str(tmp_path / "m.npz"), "--checkpoint", str(tmp_path / "ck.npz")]
    assert main(argv) == 0
    assert "resuming" not in capsys.readouterr().out
    assert main(argv) == 0  # the checkpoint of a finished run: resumes and ends at once, with the same result
    out = capsys.readouterr().out
    assert "... resuming from" in out and "The code run for 2 epochs" in out

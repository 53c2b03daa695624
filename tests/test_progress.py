"""The training progress bar: on a terminal only, on stderr, and never on a seed line's terminal line."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from logistic_sgd import TrainConfig, fit, load_data
from logistic_sgd.report import Progress, SeedLog


def test_bar_is_cleared_before_every_seed_line(idx_folder: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    events: list[str] = []

    class Tee(io.StringIO):
        def write(self, s: str) -> int:
            events.append("err:" + s)
            return err.write(s)

    class TeeOut(io.StringIO):
        def write(self, s: str) -> int:
            events.append("out:" + s)
            return out.write(s)

    progress = Progress(stream=Tee())
    fit(load_data(idx_folder), TrainConfig(batch_size=50, n_epochs=3), [SeedLog(TeeOut(), progress=progress), progress])
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert "epoch 3/3" in err.getvalue() and "epochs/s" in err.getvalue()
    assert err.getvalue().endswith("\r\x1b[K"), "the bar is gone at the end"
    drawn = False
    for e in events:
        if e.startswith("err:\r["):
            drawn = True
        elif e == "err:\r\x1b[K":
            drawn = False
        elif e.startswith("out:") and e.strip("out:\n"):
            assert not drawn, f"seed line written over the bar: {e!r}"


def test_no_bar_when_piped(idx_folder: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "logistic_sgd", "train", "--data", str(idx_folder), "--batch-size",
                           "50", "--n-epochs", "2", "--model-out", str(tmp_path / "m.npz")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "\r" not in proc.stderr and "\r" not in proc.stdout

"""The training progress bar: on a terminal only, on stderr, and never on a seed line's terminal line."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from logistic_sgd import TrainConfig, fit, load_data
from logistic_sgd.outputs.listeners import OriginalLog, Progress

from conftest import child_environment


class Terminal:
    """The screen of a terminal that stdout and stderr share: ``\\r``, ``\\n`` and erase-to-end-of-line."""

    def __init__(self) -> None:
        self.lines: list[list[str]] = [[]]
        self.col = 0

    def write(self, text: str) -> None:
        for token in re.split(r"(\r|\n|\x1b\[K)", text):
            line = self.lines[-1]
            if token == "\r":
                self.col = 0
            elif token == "\n":
                self.lines.append([])
                self.col = 0
            elif token == "\x1b[K":
                del line[self.col:]
            else:
                assert "\x1b" not in token, f"an escape sequence this terminal does not know: {token!r}"
                line[self.col : self.col + len(token)] = token
                self.col += len(token)

    def visible(self) -> list[str]:
        return ["".join(line).rstrip() for line in self.lines]


class Stream(io.StringIO):
    """A stream that also writes into ``terminal``."""

    def __init__(self, terminal: Terminal) -> None:
        super().__init__()
        self.terminal = terminal

    def write(self, s: str) -> int:
        self.terminal.write(s)
        return super().write(s)


def test_bar_is_cleared_before_every_seed_line(idx_folder: Path) -> None:
    screen = Terminal()
    out, err = Stream(screen), Stream(screen)
    progress = Progress(stream=err)
    fit(load_data(idx_folder), TrainConfig(batch_size=50, n_epochs=3), [OriginalLog(out, progress=progress), progress])
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    drawn = err.getvalue()
    assert "training" in drawn and "3/3" in drawn and "epoch/s" in drawn and "best validation" in drawn
    assert drawn.count("\r") > 6, "the bar was drawn after each of the seed's validations"
    # Every seed line has a terminal line to itself, and the bar is gone at the end.
    assert screen.visible() == out.getvalue().split("\n")


def test_bar_redrawn_after_a_clear_within_an_epoch() -> None:
    screen = Terminal()
    progress = Progress(stream=Stream(screen))
    progress.on_train_begin({"config": {"n_epochs": 5}})
    assert screen.visible() == [""], "no bar before the first validation (an error then has its own line)"
    for epoch in (2, 2, 3, 4, 4):  # a resumed run starts late; short patience validates more than once an epoch
        progress.clear()
        assert screen.visible() == [""]
        progress.on_validation(SimpleNamespace(epoch=epoch, best_validation_error=0.125))  # type: ignore[arg-type]
        assert f"{epoch}/5" in screen.visible()[-1] and "12.500 %" in screen.visible()[-1]
    progress.on_train_end(None)  # type: ignore[arg-type]
    assert screen.visible() == [""]


def test_no_bar_when_piped(idx_folder: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "logistic_sgd", "train", "--data", str(idx_folder), "--batch-size",
                           "50", "--n-epochs", "2", "--model-out", str(tmp_path / "m.npz")],
                          capture_output=True, text=True, timeout=120, env=child_environment())
    assert proc.returncode == 0 and "\r" not in proc.stderr and "\r" not in proc.stdout

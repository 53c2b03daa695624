"""Pictures and the HTML report; the report is rendered by a real browser (headless Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.cli import main

pytest.importorskip("matplotlib")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def trained(idx_folder: Path, tmp_path: Path) -> Path:
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(idx_folder), "--batch-size", "50", "--n-epochs", "4", "-q",
                 "--model-out", str(model), "--plots", str(tmp_path / "plots")]) == 0
    return model


def test_train_writes_the_pictures(trained: Path, tmp_path: Path) -> None:
    from PIL import Image

    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert names == ["confusion.png", "learning_curve.png", "weights.png", "wrong.png"]
    for name in names:
        with Image.open(tmp_path / "plots" / name) as img:
            pixels = np.asarray(img.convert("L"))
        assert pixels.shape[0] > 200 and pixels.std() > 5, f"{name} looks blank"


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="needs Debian's chromium (scripts/setup)")
def test_report_renders_in_a_browser(trained: Path, idx_folder: Path, tmp_path: Path) -> None:
    from PIL import Image

    page = tmp_path / "report.html"
    assert main(["report", "--model", str(trained), "--data", str(idx_folder), "--out", str(page)]) == 0
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 4 and "<script src" not in text and "http" not in text
    assert CHROMIUM is not None, "chromium is missing (scripts/setup installs it)"
    common = [CHROMIUM, *FLAGS, "--window-size=1200,2400", "--virtual-time-budget=5000"]
    dom = subprocess.run([*common, f"--user-data-dir={tmp_path / 'ud1'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    decoded = re.search(r'data-images-decoded="(\d+)/(\d+)"', dom.stdout)
    assert decoded is not None, dom.stderr[-1000:]
    assert decoded.group(1) == decoded.group(2) == "4", "every embedded image decoded in the browser"
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--user-data-dir={tmp_path / 'ud2'}", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    with Image.open(shot) as img:
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.shape[:2] == (2400, 1200)
    colours = np.unique(pixels.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], np.uint32))  # one number each
    assert pixels.std() > 20 and len(colours) > 100, "the page is not blank"


def test_report_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--model", str(tmp_path / "none.npz"), "--data", str(tmp_path)]) == 2
    assert "none.npz: no such file" in capsys.readouterr().err

"""The memory-mappable layout: convert, then train from the memory map with the same result and flat memory."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import load_data, load_model
from logistic_sgd.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from make_synthetic import write_synthetic

from conftest import child_environment

SEED_LINE = ("epoch ", "     epoch ", "Optimization complete", "Best model on the complete sets")


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith(SEED_LINE)]


@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_converted_layout_trains_exactly_as_in_memory(idx_folder: Path, tmp_path: Path, floatx: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "--data", str(idx_folder), "--out", str(tmp_path / "conv")]) == 0
    capsys.readouterr()
    assert np.load(tmp_path / "conv" / "train_x.npy").dtype == np.uint8  # bytes stay bytes
    common = ["train", "--batch-size", "50", "--n-epochs", "4", "--shuffle", "--floatx", floatx]
    assert main([*common, "--data", str(idx_folder), "--model-out", str(tmp_path / "a.npz")]) == 0
    in_memory = _lines(capsys)
    assert main([*common, "--data", str(tmp_path / "conv"), "--model-out", str(tmp_path / "b.npz")]) == 0
    assert _lines(capsys) == in_memory
    np.testing.assert_array_equal(load_model(tmp_path / "a.npz").W, load_model(tmp_path / "b.npz").W)
    (a, _), _, _ = load_data(idx_folder)
    (b, _), _, _ = load_data(tmp_path / "conv")
    np.testing.assert_array_equal(b[:], a)  # scaled on the fly, bit for bit


def test_training_from_the_memory_map_keeps_memory_below_the_float32_size(tmp_path: Path) -> None:
    n = 150_000
    write_synthetic(tmp_path / "big", n)
    float32_bytes = n * 784 * 4  # 470 MB if it were loaded as float32
    # The child reports its own high-water mark (VmHWM, reset at exec): a fork of this large pytest
    # process would otherwise carry pytest's resident set into its rusage.
    probe = ("import sys; from logistic_sgd.cli import main; rc = main(sys.argv[1:]); "
             "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0], file=sys.stderr); "
             "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", probe, "train", "--data", str(tmp_path / "big"), "--n-epochs", "1",
                           "-q", "--model-out", str(tmp_path / "m.npz")], capture_output=True, text=True, timeout=300,
                          env=child_environment())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "The code run for 1 epochs" in proc.stdout
    peak = int(proc.stderr.split("VmHWM:")[1].split()[0]) * 1024
    print(f"peak RSS {peak / 1e6:.0f} MB training from a {n * 784 / 1e6:.0f} MB uint8 memory map")
    assert peak < float32_bytes, f"peak RSS {peak / 1e6:.0f} MB, float32 size {float32_bytes / 1e6:.0f} MB"


def test_bad_layout_is_a_clean_error(tmp_path: Path, idx_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "--data", str(idx_folder), "--out", str(tmp_path / "conv")]) == 0
    (tmp_path / "conv" / "valid_x.npy").write_bytes(b"\x93NUMPY broken")
    assert main(["train", "--data", str(tmp_path / "conv"), "--model-out", str(tmp_path / "m.npz")]) == 2
    assert "unreadable converted dataset" in capsys.readouterr().err


def test_manifest_holds_each_file_sha256(idx_folder: Path, tmp_path: Path) -> None:
    assert main(["convert", "--data", str(idx_folder), "--out", str(tmp_path / "conv")]) == 0
    write_synthetic(tmp_path / "synthetic", 1000)
    for folder in (tmp_path / "conv", tmp_path / "synthetic"):
        manifest = json.loads((folder / "manifest.json").read_text())
        for entry in (e for split in manifest["splits"].values() for e in split.values()):
            assert entry["sha256"] == hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest()

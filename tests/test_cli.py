"""The command line end to end: train, evaluate, predict, and clean errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import load_model, sgd_optimization_mnist
from logistic_sgd.cli import main

from conftest import child_environment, make_images, write_idx

SEED_LINES = re.compile(
    r"^(epoch \d+, minibatch \d+/\d+, validation error \d+\.\d{6} %"
    r"|     epoch \d+, minibatch \d+/\d+, test error of best model \d+\.\d{6} %)$"
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logistic_sgd", *args], capture_output=True, text=True, timeout=300,
                          env=child_environment())


@pytest.fixture
def trained(idx_folder: Path, tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    model = tmp_path / "model.npz"
    proc = run_cli("train", "--data", str(idx_folder), "--batch-size", "50", "--n-epochs", "5",
                   "--patience", "1000", "--model-out", str(model), "--log-json", str(tmp_path / "log.jsonl"))
    return model, proc


def test_train_prints_seed_lines_and_writes_model(trained, tmp_path: Path) -> None:
    model_path, proc = trained
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    body = [line for line in lines if line.startswith(("epoch", "     epoch"))]
    assert len(body) >= 5 and all(SEED_LINES.match(line) for line in body)
    assert body[0].startswith("epoch 1, minibatch 20/20, validation error ")
    assert re.search(r"^Optimization complete with best validation score of \d+\.\d{6} %,with test performance "
                     r"\d+\.\d{6} %$", proc.stdout, re.M)
    assert re.search(r"^The code run for 5 epochs, with \d+\.\d{6} epochs/sec$", proc.stdout, re.M)
    assert re.search(r"^Best model on the complete sets: validation error .* \(\d+/200\), test error .* \(\d+/300\)$",
                     proc.stdout, re.M)
    model = load_model(model_path)
    assert (model.n_in, model.n_out) == (784, 10)
    meta = model.metadata
    assert meta["hyperparameters"]["batch_size"] == 50 and "IDX files" in meta["data"]
    assert meta["validation_error"] < 0.5 and meta["library_version"]
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert records[0]["event"] == "begin" and records[-1]["event"] == "end"
    assert sum(r["event"] == "validation" for r in records) == len([b for b in body if b.startswith("epoch")])


def test_quiet_keeps_only_the_summary(idx_folder: Path, tmp_path: Path) -> None:
    proc = run_cli("train", "--data", str(idx_folder), "--batch-size", "50", "--n-epochs", "2", "-q",
                   "--model-out", str(tmp_path / "m.npz"))
    assert proc.returncode == 0
    assert not any(SEED_LINES.match(line) for line in proc.stdout.splitlines())
    assert "Optimization complete" in proc.stdout


def test_evaluate(trained, idx_folder: Path) -> None:
    model_path, train_proc = trained
    proc = run_cli("evaluate", "--model", str(model_path), "--data", str(idx_folder))
    assert proc.returncode == 0, proc.stderr
    rows = dict(re.findall(r"^(train|validation|test)\s+error .*\((\d+/\d+)\)$", proc.stdout, re.M))
    assert rows.keys() == {"train", "validation", "test"}
    # the saved best model scores what training reported for it on the complete sets
    complete = re.search(r"validation error .* \((\d+/200)\), test error .* \((\d+/300)\)$", train_proc.stdout, re.M)
    assert complete is not None
    assert (rows["validation"], rows["test"]) == complete.groups()


def test_predict_npy_idx_and_images(trained, tmp_path: Path) -> None:
    from PIL import Image

    model_path, _ = trained
    model = load_model(model_path)
    x, _ = make_images(4, seed=9)
    np.save(tmp_path / "four.npy", x)
    write_idx(tmp_path / "four-idx3-ubyte.gz", x)
    Image.fromarray(x[0]).save(tmp_path / "one.png")
    Image.fromarray(x[1]).resize((56, 56)).convert("RGB").save(tmp_path / "big.png")
    Image.fromarray(x[2]).save(tmp_path / "one.pgm")
    proc = run_cli("predict", "--model", str(model_path), "--top", "3", str(tmp_path / "four.npy"),
                   str(tmp_path / "four-idx3-ubyte.gz"), str(tmp_path / "one.png"), str(tmp_path / "big.png"),
                   str(tmp_path / "one.pgm"))
    assert proc.returncode == 0, proc.stderr
    lines = [line.split("\t") for line in proc.stdout.splitlines()]
    assert len(lines) == 4 + 4 + 3 and all(len(parts) == 7 for parts in lines)
    expected = model.p_y_given_x(x.reshape(4, -1).astype(np.float32) / np.float32(255))
    for i in range(4):
        name, *pairs = lines[i]
        assert name.endswith(f"four.npy[{i}]")
        assert int(pairs[0]) == expected[i].argmax()
        assert float(pairs[1]) == pytest.approx(expected[i].max(), abs=1e-6)
        assert float(pairs[1]) >= float(pairs[3]) >= float(pairs[5])
        assert lines[4 + i][1:] == pairs  # the IDX file gives the same answers
    assert lines[8][1] == str(expected[0].argmax()) and lines[10][1] == str(expected[2].argmax())


def test_bad_input_is_one_line_and_status_2(tmp_path: Path) -> None:
    proc = run_cli("train", "--data", str(tmp_path / "missing"), "--model-out", str(tmp_path / "m.npz"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "missing: no such file or folder" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "m.npz").exists()
    bad_model = tmp_path / "bad.npz"
    bad_model.write_bytes(b"not a zip")
    proc = run_cli("predict", "--model", str(bad_model), str(tmp_path / "x.npy"))
    assert proc.returncode == 2 and "bad.npz: not a readable model file" in proc.stderr


def test_flags_out_of_range_fail_before_loading(idx_folder: Path, tmp_path: Path, capsys) -> None:
    assert main(["train", "--data", str(idx_folder), "--learning-rate", "0"]) == 2
    assert "--learning-rate must be a finite number > 0" in capsys.readouterr().err
    assert main(["train", "--data", str(idx_folder), "--batch-size", "5000", "--model-out", str(tmp_path / "m")]) == 2
    assert "--batch-size 5000 is larger than the training set" in capsys.readouterr().err
    assert main(["train", "--data", str(idx_folder), "--model-out", str(tmp_path / "no" / "m.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_python_api_returns_the_result(idx_folder: Path, tmp_path: Path, capsys) -> None:
    result = sgd_optimization_mnist(dataset=idx_folder, batch_size=100, n_epochs=3, model_out=tmp_path / "m.npz")
    out = capsys.readouterr().out
    assert result.epochs == 3 and 0 <= result.best_validation_error < 0.5
    assert f"with test performance {result.test_error * 100:f} %" in out
    assert result.best_model is not None and result.full_test is not None

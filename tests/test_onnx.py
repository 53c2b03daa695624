"""ONNX export: onnxruntime runs the graph and agrees with p_y_given_x within 1e-5."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import load_data, load_model
from logistic_sgd.cli import main

# imported by the tests, not when they are collected (a worker that runs none of them never imports them)
pytestmark = pytest.mark.skipif(not all(map(importlib.util.find_spec, ("onnx", "onnxruntime"))),
                                reason="needs onnx and onnxruntime (the [onnx] extra)")


@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_onnx_round_trip(idx_folder: Path, tmp_path: Path, floatx: str, capsys: pytest.CaptureFixture[str]) -> None:
    model_path, onnx_path = tmp_path / "m.npz", tmp_path / "m.onnx"
    assert main(["train", "--data", str(idx_folder), "--batch-size", "100", "--n-epochs", "3", "-q",
                 "--floatx", floatx, "--model-out", str(model_path)]) == 0
    assert main(["export", "--model", str(model_path), "--onnx", str(onnx_path)]) == 0
    assert "probabilities [N, 10]" in capsys.readouterr().out
    model = load_model(model_path)
    (_, _), _, (test_x, _) = load_data(idx_folder)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    label, proba = session.run(["label", "probabilities"], {"input": test_x.astype(np.float32)})
    expected = model.p_y_given_x(test_x)
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    agree = np.mean(label == model.predict(test_x))
    assert agree == 1.0 or (floatx == "float64" and agree > 0.99)


def test_export_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--model", str(tmp_path / "none.npz"), "--onnx", str(tmp_path / "x.onnx")]) == 2
    assert "none.npz: no such file" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()

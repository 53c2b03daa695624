"""Errors speak the caller's language: Python parameters through the API, flags through the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import TrainConfig, fit
from logistic_sgd.backends import get_backend
from logistic_sgd.cli import main
from logistic_sgd.errors import LogisticSGDError, MissingExtraError, UsageError, UsageTypeError
from logistic_sgd.util.extras import require


def _tiny() -> tuple:
    rng = np.random.default_rng(0)
    split = (rng.random((40, 3)), rng.integers(0, 2, 40))
    return split, split, split


@pytest.mark.parametrize(("change", "message"), [
    ({"learning_rate": -1.0}, "learning_rate must be a finite number > 0, got -1.0"),
    ({"improvement_threshold": 1.5}, "improvement_threshold must be a number in (0, 1], got 1.5"),
    ({"nesterov": True}, "nesterov must be used with momentum > 0, got True"),
    ({"floatx": "float16"}, "floatx must be one of float32, float64, got 'float16'"),
])
def test_config_errors_are_value_errors_naming_the_parameter(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$") as info:
        TrainConfig(**change).validate()
    assert isinstance(info.value, UsageError) and isinstance(info.value, LogisticSGDError)
    assert info.value.params[0] == next(iter(change))


def test_wrong_types_are_type_errors() -> None:
    with pytest.raises(TypeError, match="n_epochs must be an integer, got '5'") as info:
        TrainConfig(n_epochs="5").validate()  # type: ignore[arg-type]
    assert isinstance(info.value, UsageTypeError) and isinstance(info.value, ValueError)
    with pytest.raises(TypeError, match="learning_rate must be a number, got True"):
        TrainConfig(learning_rate=True).validate()
    TrainConfig(n_epochs=np.int64(3), learning_rate=np.float32(0.1), shuffle=np.bool_(True)).validate()


def test_fit_names_batch_size() -> None:
    with pytest.raises(ValueError, match=r"^batch_size 600 is larger than the training set"):
        fit(_tiny())
    with pytest.raises(ValueError, match=r"^backend must be one of"):
        get_backend("fortran")


def test_the_cli_shows_the_same_errors_with_flags(idx_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--data", str(idx_folder), "--learning-rate", "-1"]) == 2
    assert capsys.readouterr().err == ("logistic-sgd: error: --learning-rate must be a finite number > 0, "
                                       "got -1.0\n")
    assert main(["train", "--data", str(idx_folder), "--batch-size", "5000"]) == 2
    assert "error: --batch-size 5000 is larger than the training set" in capsys.readouterr().err
    assert main(["train", "--data", str(idx_folder), "--resume"]) == 2
    assert "error: --resume needs --checkpoint, the file to continue from" in capsys.readouterr().err


def test_a_parameter_inside_a_path_is_left_alone(idx_folder: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "checkpoint" / "ck.npz"
    assert main(["train", "--data", str(idx_folder), "--checkpoint", str(missing), "--resume"]) == 2
    assert capsys.readouterr().err == f"logistic-sgd: error: --resume: no --checkpoint at {missing} to continue from\n"


def test_a_missing_extra_is_an_import_error_naming_the_extra() -> None:
    with pytest.raises(ImportError, match=r"^ONNX export needs no_such_module: pip install 'logistic-sgd\[onnx\]'$"):
        require("no_such_module", "onnx", "ONNX export")
    assert issubclass(MissingExtraError, LogisticSGDError)

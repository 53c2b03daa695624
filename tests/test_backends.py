"""The PyTorch backend runs the same math as NumPy: same trajectory within float32 rounding."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import LogisticRegression, TrainConfig, fit, load_data, load_model
from logistic_sgd.backends import get_backend
from logistic_sgd.errors import UsageError
from logistic_sgd.experiment import Outputs, run_experiment

torch = pytest.importorskip("torch")
pytest.importorskip("array_api_compat")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _train(idx_folder: Path, floatx: str, backend_name: str, device: str | None = None) -> tuple[str, object]:
    out = io.StringIO()
    config = TrainConfig(batch_size=50, n_epochs=8, patience=60, floatx=floatx)
    result = run_experiment(idx_folder, config, outputs=Outputs(stream=out), backend=get_backend(backend_name, device))
    lines = [line for line in out.getvalue().splitlines() if "epoch" in line and "epochs/sec" not in line]
    return "\n".join(lines), result


@pytest.mark.parametrize("device", DEVICES)
def test_float64_trajectory_is_numpys(idx_folder: Path, device: str) -> None:
    ours, r_np = _train(idx_folder, "float64", "numpy")
    theirs, r_t = _train(idx_folder, "float64", "torch", device)
    assert theirs == ours
    assert r_t.epochs == r_np.epochs and r_t.best_iteration == r_np.best_iteration
    np.testing.assert_allclose(r_t.best_model.arrays.to_numpy(r_t.best_model.W), r_np.best_model.W, rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_trajectory_within_rounding(idx_folder: Path, device: str) -> None:
    _, r_np = _train(idx_folder, "float32", "numpy")
    _, r_t = _train(idx_folder, "float32", "torch", device)
    assert r_t.epochs == r_np.epochs and len(r_t.history) == len(r_np.history)
    for a, b in zip(r_np.history, r_t.history, strict=True):
        assert abs(a["validation_error"] - b["validation_error"]) <= 2 / 200  # at most 2 borderline images
    W_t = r_t.best_model.arrays.to_numpy(r_t.best_model.W)
    assert np.abs(W_t - r_np.best_model.W).max() <= 1e-4 * np.abs(r_np.best_model.W).max()


def test_model_math_on_torch_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(31, 6))
    y = rng.integers(0, 4, size=31)
    a = LogisticRegression(6, 4, dtype="float64")
    b = get_backend("torch", "cpu").new_model(6, 4, "float64")
    a.W[...] = rng.normal(size=(6, 4))
    b.W[...] = torch.as_tensor(a.W)
    np.testing.assert_allclose(b.p_y_given_x(x).numpy(), a.p_y_given_x(x), rtol=1e-12)
    np.testing.assert_array_equal(b.predict(x).numpy(), a.predict(x))
    assert b.negative_log_likelihood(x, y) == pytest.approx(a.negative_log_likelihood(x, y), rel=1e-12)
    assert b.errors(x, y) == pytest.approx(a.errors(x, y))
    for ga, gb in zip(a.gradient(x, y), b.gradient(x, y), strict=True):
        np.testing.assert_allclose(gb.numpy(), ga, rtol=1e-10, atol=1e-14)


def test_torch_model_saves_a_numpy_model_file(idx_folder: Path, tmp_path: Path) -> None:
    data = load_data(idx_folder)
    result = fit(data, TrainConfig(batch_size=100, n_epochs=2), backend=get_backend("torch", "cpu"))
    from logistic_sgd import save_model

    save_model(tmp_path / "m.npz", result.best_model)
    loaded = load_model(tmp_path / "m.npz")
    assert isinstance(loaded.W, np.ndarray)
    np.testing.assert_array_equal(loaded.W, result.best_model.W.numpy())


def test_unavailable_device_is_a_clean_error() -> None:
    with pytest.raises(UsageError, match="device must be"):
        get_backend("torch", "tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="no such device"):
            get_backend("torch", "cuda")
    with pytest.raises(UsageError, match="cpu only"):
        get_backend("numpy", "cuda")

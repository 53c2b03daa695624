"""AdaGrad with per-feature normalised steps (optim.adagrad): the dense update against the formula, the
sparse runs (NumPy reference and compiled kernels) against the dense update, laziness (only the rows of a
minibatch's features change), and the loop's runs against its single steps."""

from __future__ import annotations

import numpy as np
import pytest

from logistic_sgd.backends import sparse as steps
from logistic_sgd.core.model import LogisticRegression
from logistic_sgd.core.optim import adagrad
from logistic_sgd.data.rows import CSR
from logistic_sgd.data.scaling import feature_scale
from logistic_sgd.training.config import TrainConfig

pytest.importorskip("scipy")


def _ops() -> list:
    ops = [steps]
    try:
        from logistic_sgd.backends.numba import sparse_kernels as kernels
    except ImportError:  # pragma: no cover - without Numba
        return ops
    return [*ops, kernels]


OPS = pytest.mark.parametrize("ops", _ops(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])


def _data(n: int = 60, k: int = 40, n_out: int = 5, seed: int = 0, density: float = 0.15):
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal((n, k)) * (rng.random((n, k)) < density)
    dense[:, 7] = 0  # a feature no row holds
    dense[:, 9] *= 50  # a feature in other units
    return dense, CSR.from_dense(dense), rng.integers(0, n_out, n), rng


def test_dense_update_is_the_formula() -> None:
    rng = np.random.default_rng(1)
    W, b = rng.standard_normal((6, 3)), rng.standard_normal(3)
    scale = rng.random(6) + 0.5
    opt = adagrad(0.3, eps=1e-8, feature_scale=scale)
    params = [W.copy(), b.copy()]
    state = opt.init(params)
    A_W, A_b = np.zeros((6, 1)), np.zeros(1)
    for _ in range(3):
        gW, gb = rng.standard_normal((6, 3)), rng.standard_normal(3)
        gW[2] = 0  # a feature without gradient: no change to its weights or its accumulator
        A_W += (gW * gW).sum(axis=1, keepdims=True)
        A_b += (gb * gb).sum()
        W -= 0.3 * gW / np.sqrt(A_W + 1e-8) / scale[:, None]
        b -= 0.3 * gb / np.sqrt(A_b + 1e-8)
        state = opt.update([gW.copy(), gb.copy()], state, params)
    np.testing.assert_allclose(params[0], W, rtol=1e-13)
    np.testing.assert_allclose(params[1], b, rtol=1e-13)
    np.testing.assert_allclose(state["parts"][0]["sum_sq"][0], A_W, rtol=1e-13)
    assert state["step"] == 3


def _dense_run(dense, y, start, batch, n_steps, lr, scale, dtype):
    model = LogisticRegression(dense.shape[1], int(y.max()) + 1, dtype=dtype)
    opt = adagrad(lr, feature_scale=scale)
    state = opt.init(model.params)
    for i in range(n_steps):
        rows = slice(start + i * batch, start + (i + 1) * batch)
        state = opt.update(list(model.gradient(dense[rows].astype(dtype), y[rows])), state, model.params)
    return model, state["parts"][0]["sum_sq"]


@OPS
@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sparse_runs_equal_the_dense_update(ops, batch: int, dtype: str) -> None:
    dense, X, y, _ = _data()
    y[:] = np.arange(len(y)) % 5
    scale = feature_scale(X)
    n_steps = 50 // batch
    ref, (A_W, A_b) = _dense_run(dense, y, 3, batch, n_steps, 0.4, scale, dtype)
    W, b = np.zeros((40, 5), dtype), np.zeros(5, dtype)
    AW, Ab = np.zeros((40, 1), dtype), np.zeros(1, dtype)
    ops.adagrad_steps(X.astype(dtype), y, 3, batch, n_steps, W, b, AW, Ab, 0.4, 1e-8, scale)
    tol = 1e-10 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(W, ref.W, rtol=tol, atol=tol)
    np.testing.assert_allclose(b, ref.b, rtol=tol, atol=tol)
    np.testing.assert_allclose(AW, A_W, rtol=tol, atol=tol)
    np.testing.assert_allclose(Ab, A_b, rtol=tol, atol=tol)


@OPS
def test_a_step_touches_only_its_features(ops) -> None:
    _, X, y, rng = _data()
    W0 = rng.standard_normal((40, 5))
    W, b = W0.copy(), np.zeros(5)
    AW, Ab = np.full((40, 1), 0.5), np.zeros(1)
    ops.adagrad_steps(X, y, 10, 4, 1, W, b, AW, Ab, 0.4, 1e-8)
    held = np.unique(X.rows(10, 14).indices)
    untouched = np.setdiff1d(np.arange(40), held)
    assert np.array_equal(W[untouched], W0[untouched]) and np.all(AW[untouched] == 0.5)
    assert not np.array_equal(W[held], W0[held]) and np.all(AW[held] > 0.5)


def test_compiled_kernels_equal_the_reference() -> None:
    kernels = pytest.importorskip("logistic_sgd.backends.numba.sparse_kernels")
    _, X, y, rng = _data(n=200, k=300, n_out=7, density=0.05)
    y = rng.integers(0, 7, 200)
    scale = feature_scale(X)
    out = []
    for ops in (steps, kernels):
        W, b, AW, Ab = np.zeros((300, 7)), np.zeros(7), np.zeros((300, 1)), np.zeros(1)
        ops.adagrad_steps(X, y, 0, 16, 12, W, b, AW, Ab, 0.2, 1e-8, scale)
        out.append((W, b, AW, Ab))
    for ref, got in zip(*out, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-13)


def test_kernel_refuses_bad_accumulators_and_labels() -> None:
    kernels = pytest.importorskip("logistic_sgd.backends.numba.sparse_kernels")
    _, X, y, _ = _data()
    W, b = np.zeros((40, 5)), np.zeros(5)
    with pytest.raises(ValueError, match="accumulators"):
        kernels.adagrad_steps(X, y, 0, 4, 1, W, b, np.zeros((40, 5)), np.zeros(1), 0.1, 1e-8)
    bad = y.copy()
    bad[0] = 9
    with pytest.raises(IndexError, match="labels"):
        kernels.adagrad_steps(X, bad, 0, 4, 1, W, b, np.zeros((40, 1)), np.zeros(1), 0.1, 1e-8)
    with pytest.raises(ValueError, match="rows"):
        kernels.adagrad_steps(X, y, 0, 4, 100, W, b, np.zeros((40, 1)), np.zeros(1), 0.1, 1e-8)


def test_feature_scale_is_the_rms_of_non_zeros() -> None:
    dense, X, _, _ = _data()
    scale = feature_scale(X)
    col = dense[:, 9][dense[:, 9] != 0]
    assert scale[9] == pytest.approx(np.sqrt(np.mean(col**2)))
    assert scale[7] == 1.0
    np.testing.assert_allclose(feature_scale(dense), scale, rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_loop_runs_equal_single_steps(backend: str) -> None:
    """fit with adagrad on sparse rows (runs of steps in one call) against the same fit on the dense rows
    (one optimiser update per step)."""
    if backend == "numba":
        pytest.importorskip("numba")
    from logistic_sgd.backends import get_backend
    from logistic_sgd.training.loop import fit

    dense, X, y, rng = _data(n=300, k=50, n_out=3, density=0.2)
    y = (dense[:, :3].argmax(axis=1) + (rng.random(300) < 0.1)) % 3
    config = TrainConfig(optimizer="adagrad", learning_rate=0.3, batch_size=10, n_epochs=4, floatx="float64",
                         patience=10_000)
    split = lambda x: ((x[:200], y[:200]), (x[200:250], y[200:250]), (x[250:], y[250:]))  # noqa: E731
    sparse_result = fit(split(X), config, backend=get_backend(backend))
    dense_result = fit(split(dense), config, backend=get_backend("numpy"))
    np.testing.assert_allclose(sparse_result.best_model.W, dense_result.best_model.W, rtol=1e-9, atol=1e-12)
    assert sparse_result.best_validation_error == dense_result.best_validation_error

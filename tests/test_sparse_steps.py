"""Sparse math against the dense model: the gradient of CSR rows equals model.py's, SGD steps on CSR equal
dense SGD steps (optim.sgd with add_l2 and a schedule) to rounding, on the NumPy/SciPy path and the
compiled kernels alike, and a step reads and writes only the weight rows of its minibatch's features."""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np
import pytest

from logistic_sgd.backends import sparse as steps
from logistic_sgd.core.model import LogisticRegression
from logistic_sgd.core.optim import sgd
from logistic_sgd.data.rows import CSR

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
    dense[3] = 0  # a row without features
    dense[:, 7] = 0  # a feature no row holds
    return dense, CSR.from_dense(dense), rng.integers(0, n_out, n), rng


def _dense_steps(dense: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray, start: int, batch: int,
                 rates: np.ndarray, l2: float) -> LogisticRegression:
    """The reference: model.py's gradient and optim.sgd's update (add_l2, then the scheduled rate)."""
    model = LogisticRegression(W.shape[0], W.shape[1], dtype=W.dtype)
    model.W[...], model.b[...] = W, b
    optimizer = sgd(lambda step: float(rates[step]), l2=l2)
    state = optimizer.init(model.params)
    for i in range(len(rates)):
        rows = slice(start + i * batch, start + (i + 1) * batch)
        state = optimizer.update(list(model.gradient(dense[rows].astype(W.dtype), y[rows])), state, model.params)
    return model


def test_gradient_of_csr_rows_is_the_dense_gradient() -> None:
    dense, X, y, rng = _data()
    model = LogisticRegression(40, 5, dtype="float64")
    model.W[...] = rng.standard_normal((40, 5))
    model.b[...] = rng.standard_normal(5)
    gW, gb = model.gradient(dense, y)
    g = steps.gradient(X, y, model.W, model.b)
    assert set(g.rows.tolist()) == set(np.flatnonzero(np.any(dense != 0, axis=0)).tolist())
    np.testing.assert_allclose(g.dense(40), gW, rtol=1e-13, atol=1e-15)  # sums in another order
    np.testing.assert_allclose(g.gb, gb, rtol=1e-13, atol=1e-15)
    assert not gW[7].any()  # the row of a feature no example holds is zero, and not among g.rows
    half = steps.gradient(X.rows(0, 30), y[:30], model.W, model.b, n=60)  # a rank's slice of a minibatch of 60
    np.testing.assert_allclose(half.gb * 2, model.gradient(dense[:30], y[:30])[1], rtol=1e-13)


@OPS
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_sgd_steps_are_dense_sgd_steps_in_float64(ops, l2: float) -> None:
    dense, X, y, rng = _data()
    W0, b0 = rng.standard_normal((40, 5)) * 0.3, rng.standard_normal(5) * 0.3
    rates = np.array([0.9, 0.7, 0.5, 0.8, 0.6])
    W, b = W0.copy(), b0.copy()
    ops.sgd_steps(X, y, 5, 11, rates, W, b, l2=l2)
    ref = _dense_steps(dense, y, W0, b0, 5, 11, rates, l2)
    # float64: the same sums in another order, and W = s V rounded differently from W - r (g + l2 W)
    np.testing.assert_allclose(W, ref.W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b, ref.b, rtol=1e-12, atol=1e-14)
    moved = W0 != W
    assert moved.any() and not moved[7].any() if l2 == 0 else moved[7].all()


@OPS
def test_sgd_steps_in_float32_agree_to_float32_rounding(ops) -> None:
    dense, X, y, rng = _data(n=200, seed=3)
    W0, b0 = (rng.standard_normal((40, 5)) * 0.3).astype(np.float32), np.zeros(5, np.float32)
    rates = np.full(10, 0.5, np.float32)
    W, b = W0.copy(), b0.copy()
    ops.sgd_steps(X, y, 0, 20, rates, W, b, l2=0.001)
    ref = _dense_steps(dense, y, W0, b0, 0, 20, rates, 0.001)
    # each of the 10 steps rounds each weight a few times in float32 (2**-24 relative): a few 1e-7
    np.testing.assert_allclose(W, ref.W, rtol=0, atol=2e-6)
    np.testing.assert_allclose(b, ref.b, rtol=0, atol=2e-6)


@OPS
def test_the_scale_folds_into_the_weights_when_it_gets_small(ops) -> None:
    dense, X, y, rng = _data(n=60, seed=5)
    W0, b0 = rng.standard_normal((40, 5)), np.zeros(5)
    rates = np.full(60, 0.999999)  # (1 - rate * l2)**60 = 1e-360: unfolded, the scale would underflow to 0
    W, b = W0.copy(), b0.copy()
    ops.sgd_steps(X, y, 0, 1, rates, W, b, l2=1.0)
    ref = _dense_steps(dense, y, W0, b0, 0, 1, rates, 1.0)
    np.testing.assert_allclose(W, ref.W, rtol=1e-9, atol=1e-12)


@OPS
def test_predict_is_the_models_rule(ops) -> None:
    dense, X, _, rng = _data(n=300, seed=2)
    model = LogisticRegression(40, 5, dtype="float64")
    model.W[...] = rng.standard_normal((40, 5))
    model.b[...] = rng.standard_normal(5)
    np.testing.assert_array_equal(ops.predict(X, model.W, model.b), model.predict(dense))
    np.testing.assert_array_equal(ops.predict(X, np.zeros((40, 5)), np.zeros(5)), 0)  # ties: the first class


@OPS
def test_bad_arguments(ops) -> None:
    _, X, y, _ = _data()
    W, b = np.zeros((40, 5)), np.zeros(5)
    with pytest.raises(ValueError, match="rows 50:70 do not lie in the 60 rows"):
        ops.sgd_steps(X, y, 50, 10, np.ones(2), W, b)
    with pytest.raises(ValueError, match="learning rate \\* l2 must be < 1"):
        ops.sgd_steps(X, y, 0, 10, np.ones(2), W, b, l2=1.0)
    assert not W.any() and not b.any()


def test_kernels_refuse_rows_that_would_read_or_write_outside_the_arrays() -> None:
    kernels = pytest.importorskip("logistic_sgd.backends.numba.sparse_kernels")
    _, X, y, _ = _data()
    W, b = np.zeros((40, 5)), np.zeros(5)
    wide = CSR(X.data, X.indices.copy(), X.indptr, 40)
    wide.indices[-1] = 40
    with pytest.raises(IndexError, match=r"column indices must lie in \[0, 40\)"):
        kernels.sgd_steps(wide, y, 0, 10, np.ones(6), W, b)
    with pytest.raises(IndexError, match=r"column indices must lie in \[0, 40\)"):
        kernels.predict(wide, W, b)
    kernels.sgd_steps(wide, y, 0, 10, np.ones(5), W, b)  # the last row is not among these: fine
    broken = CSR(X.data, X.indices, X.indptr * 2, 40)
    with pytest.raises(ValueError, match="indptr must increase and stay within"):
        kernels.predict(broken, W, b)
    with pytest.raises(ValueError, match="X has 40 features but W has 41 rows"):
        kernels.predict(X, np.zeros((41, 5)), b)


def test_kernels_refuse_labels_outside_the_classes() -> None:
    kernels = pytest.importorskip("logistic_sgd.backends.numba.sparse_kernels")
    _, X, y, _ = _data()
    W, b = np.zeros((40, 5)), np.zeros(5)
    with pytest.raises(IndexError, match=r"labels must lie in \[0, 5\)"):
        kernels.sgd_steps(X, np.where(y == 0, 5, y), 0, 10, np.ones(2), W, b)
    assert not W.any()


def test_kernels_compile_once_for_rows_in_memory_and_read_only_rows() -> None:
    """A memory-mapped sparse layout hands out read-only arrays: the kernels take the same compiled code."""
    kernels = pytest.importorskip("logistic_sgd.backends.numba.sparse_kernels")
    _, X, y, _ = _data()
    W, b = np.zeros((40, 5)), np.zeros(5)
    kernels.sgd_steps(X, y, 0, 10, np.ones(2), W, b)
    kernels.predict(X, W, b)
    compiled = set(kernels._steps.signatures), set(kernels._predict.signatures)
    arrays = [a.copy() for a in (X.data, X.indices, X.indptr)]
    for a in arrays:
        a.flags.writeable = False
    mapped = CSR(*arrays, X.n_features)
    kernels.sgd_steps(mapped, y, 0, 10, np.ones(2), W, b)
    np.testing.assert_array_equal(kernels.predict(mapped, W, b), kernels.predict(X, W, b))
    assert (set(kernels._steps.signatures), set(kernels._predict.signatures)) == compiled


def test_a_step_allocates_with_the_minibatch_not_with_the_weights() -> None:
    rng = np.random.default_rng(0)
    n_features, n = 1 << 20, 64
    indptr = np.arange(0, n * 20 + 1, 20, dtype=np.int32)
    indices = np.sort(rng.choice(n_features, size=(n, 20), replace=False), axis=1).ravel().astype(np.int32)
    X = CSR(rng.random(n * 20).astype(np.float32), indices, indptr, n_features)
    W, b = np.zeros((n_features, 4), np.float32), np.zeros(4, np.float32)  # 16 MB of weights
    y = rng.integers(0, 4, n)
    tracemalloc.start()
    steps.sgd_steps(X, y, 0, 16, np.full(4, 0.5, np.float32), W, b, l2=1e-3)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20, f"a step allocated {peak} bytes"  # a dense gradient or a copy of W is 16 MB
    assert np.count_nonzero(W.any(axis=1)) == len(np.unique(indices))


def test_csr_rows_take_and_scipy() -> None:
    dense, X, _, _ = _data()
    np.testing.assert_array_equal(X.toarray(), dense)
    np.testing.assert_array_equal(X.rows(10, 25).toarray(), dense[10:25])
    order = np.array([5, 3, 3, 59, 0])
    np.testing.assert_array_equal(X.take(order).toarray(), dense[order])
    m = X.to_scipy()
    assert m.data is X.data or np.shares_memory(m.data, X.data)
    np.testing.assert_array_equal(CSR.from_scipy(m).toarray(), dense)


def test_without_scipy_the_numpy_path_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from logistic_sgd.errors import MissingExtraError

    _, X, y, _ = _data()
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'logistic-sgd\[scipy\]'"):
        steps.gradient(X, y, np.zeros((40, 5)), np.zeros(5))

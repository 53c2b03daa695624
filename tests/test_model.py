"""The model's math: probabilities, loss, gradient, stability."""

from __future__ import annotations

import numpy as np
import pytest

from logistic_sgd import LogisticRegression
from logistic_sgd.core.model import log_softmax, softmax


def random_model(rng: np.random.Generator, n_in: int = 7, n_out: int = 4, dtype: str = "float64") -> LogisticRegression:
    model = LogisticRegression(n_in, n_out, dtype=dtype)
    model.W[...] = rng.normal(size=model.W.shape)
    model.b[...] = rng.normal(size=model.b.shape)
    return model


def test_zero_initialised_and_seed_vocabulary() -> None:
    model = LogisticRegression(784, 10)
    assert model.W.shape == (784, 10) and model.b.shape == (10,)
    assert model.W.dtype == np.float32 and not model.W.any() and not model.b.any()
    assert model.params[0] is model.W and model.params[1] is model.b
    x = np.ones((3, 784), dtype=np.float32)
    np.testing.assert_allclose(model.p_y_given_x(x), 0.1, rtol=1e-6)
    assert model.negative_log_likelihood(x, [0, 1, 2]) == pytest.approx(np.log(10), rel=1e-6)
    assert LogisticRegression(3, 2, dtype="float64").W.dtype == np.float64


def test_rejects_unknown_dtype_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="dtype"):
        LogisticRegression(3, 2, dtype="int32")
    with pytest.raises(ValueError, match="shape"):
        LogisticRegression(3, 2).predict(np.zeros((2, 4)))


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    model = random_model(rng)
    x = rng.normal(size=(11, 7))
    y = rng.integers(0, 4, size=11)
    gW, gb = model.gradient(x, y)
    eps = 1e-6
    for param, grad in ((model.W, gW), (model.b, gb)):
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + eps
            up = model.negative_log_likelihood(x, y)
            param[idx] = old - eps
            down = model.negative_log_likelihood(x, y)
            param[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_probabilities_loss_and_errors_agree_with_definitions() -> None:
    rng = np.random.default_rng(1)
    model = random_model(rng)
    x = rng.normal(size=(20, 7))
    y = rng.integers(0, 4, size=20)
    z = x @ model.W + model.b
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.p_y_given_x(x), p, rtol=1e-12)
    assert model.negative_log_likelihood(x, y) == pytest.approx(-np.mean(np.log(p[np.arange(20), y])), rel=1e-12)
    np.testing.assert_array_equal(model.predict(x), p.argmax(axis=1))
    assert model.errors(x, y) == pytest.approx(np.mean(p.argmax(axis=1) != y))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stable_with_huge_logits(dtype: str) -> None:
    z = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1, -1e4]], dtype=dtype)
    p = softmax(z)
    logp = log_softmax(z)
    assert np.isfinite(p).all() and np.isfinite(logp).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    assert logp[0, 1] == pytest.approx(-1e4, rel=1e-6)  # the log of a softmax would be -inf here
    model = LogisticRegression(1, 3, dtype=dtype)
    model.W[0] = [1e4, 0, -1e4]
    x = np.ones((1, 1), dtype=dtype)
    assert model.negative_log_likelihood(x, [2]) == pytest.approx(2e4, rel=1e-6)
    gW, gb = model.gradient(x, [2])
    assert np.isfinite(gW).all() and np.isfinite(gb).all()
    np.testing.assert_allclose(gb, [1, 0, -1], atol=1e-6)

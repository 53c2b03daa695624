"""The estimator keeps float32 rows in float32, as scikit-learn's LogisticRegression does, and trains
on images scaled as usual as their bytes, to the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

import logistic_sgd.sklearn_estimator as estimator
from logistic_sgd.sklearn_estimator import LogisticSGDClassifier

from conftest import make_images


def _images(dtype: str, divisor: int = 255) -> tuple[np.ndarray, np.ndarray]:
    x, y = make_images(300, seed=7)
    return np.divide(x.reshape(len(x), -1), divisor, dtype=dtype), y


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
@pytest.mark.parametrize(("given", "kept"), [("float32", "float32"), ("float64", "float64"), ("int64", "float64")])
def test_float32_stays_float32(optimizer: str, given: str, kept: str) -> None:
    x, y = make_images(200, seed=3)
    X = x.reshape(len(x), -1).astype(given)
    clf = LogisticSGDClassifier(optimizer=optimizer, max_epochs=3, batch_size=20, random_state=0).fit(X, y)
    assert clf.coef_.dtype == kept and clf.intercept_.dtype == kept
    assert clf.predict_proba(X[:5]).dtype == kept
    assert LogisticSGDClassifier(floatx="float64", max_epochs=2, batch_size=20).fit(X, y).coef_.dtype == np.float64


@pytest.mark.parametrize("divisor", [255, 256])
@pytest.mark.parametrize(("optimizer", "floatx"), [("sgd", None), ("lbfgs", None), ("sgd", "float64")])
def test_pixels_train_as_bytes_to_the_same_model(monkeypatch: pytest.MonkeyPatch, divisor: int, optimizer: str,
                                                 floatx: str | None) -> None:
    X, y = _images("float32", divisor)
    seen, original = [], estimator._as_bytes

    def spy(rows: np.ndarray) -> object:
        seen.append(original(rows))
        return seen[-1]

    monkeypatch.setattr(estimator, "_as_bytes", spy)
    kept = LogisticSGDClassifier(optimizer=optimizer, floatx=floatx, max_epochs=5, batch_size=30,
                                 random_state=1).fit(X, y)
    expect_bytes = floatx is None  # float64 rows are not float32 pixels
    assert len(seen) == 2 and all(isinstance(r, estimator.ScaledArray) == expect_bytes for r in seen)
    monkeypatch.setattr(estimator, "_as_bytes", lambda rows: rows)
    floats = LogisticSGDClassifier(optimizer=optimizer, floatx=floatx, max_epochs=5, batch_size=30,
                                   random_state=1).fit(X, y)
    assert kept.n_iter_ == floats.n_iter_
    assert kept.coef_.tobytes() == floats.coef_.tobytes() and kept.intercept_.tobytes() == floats.intercept_.tobytes()

"""The scikit-learn estimator: check_estimator, Pipeline, GridSearchCV, label handling, partial_fit."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from logistic_sgd import LogisticSGDClassifier

# scikit-learn imported by the tests, not when they are collected (a worker that runs none of them never imports it)
pytestmark = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="needs scikit-learn")


def test_check_estimator() -> None:
    from sklearn.utils.estimator_checks import check_estimator

    repeated_rows = ("minibatch SGD on a random validation split: repeated rows change the minibatches and the split "
                     "(scikit-learn expects the same of SGDClassifier)")
    check_estimator(LogisticSGDClassifier(max_epochs=50), expected_failed_checks={
        "check_sample_weight_equivalence_on_dense_data": repeated_rows,
        "check_sample_weight_equivalence_on_sparse_data": repeated_rows,
        "check_class_weight_classifiers": "with class weights {0: 1000, others: 1e-4} every model that classifies "
        "class 0 right has a weighted validation error near 0, and early stopping keeps the first of them; the check "
        "expects the weighted loss's minimiser, which predicts class 0 almost everywhere",
    })


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_pipeline_and_grid_search_on_digits() -> None:
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _digits()
    X_tr, y_tr, X_te, y_te = X[:1400], y[:1400], X[1400:], y[1400:]
    pipe = make_pipeline(StandardScaler(), LogisticSGDClassifier(batch_size=100, random_state=0))
    grid = GridSearchCV(pipe, {"logisticsgdclassifier__learning_rate": [0.01, 0.1]}, cv=3).fit(X_tr, y_tr)
    assert grid.best_score_ > 0.9
    assert grid.score(X_te, y_te) > 0.9


def test_any_labels_and_eval_set() -> None:
    X, y = _digits()
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = LogisticSGDClassifier(batch_size=100, optimizer="sgd", momentum=0.9, random_state=0)
    clf.fit(X[:1400], names[y[:1400]], eval_set=(X[1400:1600], names[y[1400:1600]]))
    assert set(clf.classes_) == set(names) and clf.coef_.shape == (10, 64)
    proba = clf.predict_proba(X[1600:])
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.predict(X[1600:]), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X[1600:]), np.log(proba), atol=1e-10)
    assert clf.score(X[1600:], names[y[1600:]]) > 0.9


def test_partial_fit_improves_and_needs_classes() -> None:
    X, y = _digits()
    clf = LogisticSGDClassifier(batch_size=50, learning_rate=0.1)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:100], y[:100])
    clf.partial_fit(X[:1000], y[:1000], classes=np.arange(10))
    first = clf.score(X[1000:], y[1000:])
    for _ in range(5):
        clf.partial_fit(X[:1000], y[:1000])
    assert clf.score(X[1000:], y[1000:]) >= first and clf.n_iter_ == 6


def test_lbfgs_in_the_estimator() -> None:
    pytest.importorskip("scipy")
    X, y = _digits()
    clf = LogisticSGDClassifier(optimizer="lbfgs", l2=1e-3, max_epochs=100, random_state=0).fit(X[:1400], y[:1400])
    assert clf.score(X[1400:], y[1400:]) > 0.9


def test_lbfgs_stops_after_100_iterations_unless_told_otherwise() -> None:
    """max_epochs="auto" is scikit-learn's max_iter for the full-batch solvers, and said in defaults_."""
    pytest.importorskip("scipy")
    X, y = _digits()
    fit = lambda **kw: LogisticSGDClassifier(optimizer="lbfgs", l2=1e-4, patience=10**6, tol=0, random_state=0,  # noqa: E731
                                             **kw).fit(X[:1400], y[:1400])
    capped = fit()
    assert capped.n_iter_ == 100 and any("at most 100 iterations of lbfgs" in line for line in capped.defaults_)
    longer = fit(max_epochs=130)
    assert longer.n_iter_ == 130 and not any("iterations" in line for line in longer.defaults_)


def test_lbfgs_stops_at_tol() -> None:
    """tol is scikit-learn's: a looser one ends L-BFGS sooner, as SciPy's gtol."""
    pytest.importorskip("scipy")
    X, y = _digits()
    iterations = [LogisticSGDClassifier(optimizer="lbfgs", l2=1e-3, max_epochs=200, patience=10**6, tol=tol,
                                        random_state=0).fit(X[:1400], y[:1400]).n_iter_ for tol in (1e-2, 1e-8)]
    assert iterations[0] < iterations[1] <= 200

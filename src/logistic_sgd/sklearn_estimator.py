"""A scikit-learn classifier around the same model, optimisers and early stopping (needs scikit-learn)."""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import replace
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, check_random_state, validate_data

from .backends import BACKENDS, Backend, get_backend
from .backends.base import NUMPY
from .core.model import FLOATX, LogisticRegression, log_softmax, softmax
from .core.optim import SCHEDULES
from .core.weighting import class_weights, row_weights
from .data.byte_grid import find_bytes
from .data.columns import Frame, table_columns
from .data.preprocess import Preprocessor
from .data.rows import CSR, ScaledArray
from .data.scaling import Standardizer
from .data.vectorize import TextVectorizer, is_text
from .errors import DataError
from .outputs.persist import save_model
from .training.config import DEFAULTS, OPTIMIZERS, TrainConfig
from .training.defaults import choose_defaults, summary_of
from .training.loop import fit


class LogisticSGDClassifier(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression, ``softmax(X W + b)``, trained by minibatch SGD with the original tutorial's
    patience-based early stopping (or momentum, schedules, L-BFGS, CG: see ``optimizer``).

    Parameters
    ----------
    learning_rate, batch_size, max_epochs, patience, patience_increase, improvement_threshold
        As the CLI's flags (``max_epochs`` is ``--n-epochs``; the others the original tutorial's values
        by default). The batch is capped at the size of the training and validation parts.
    optimizer, learning_rate, batch_size, max_epochs, patience_increase : "auto" or a value
        ``"auto"`` (default): chosen for the data as the command line chooses them when not given
        (:func:`logistic_sgd.training.defaults.choose_defaults`; the lines saying what and why are
        kept in ``defaults_``): sparse rows take minibatch SGD at ``batch / mean ||x||^2``, small
        dense tables full-batch L-BFGS, larger dense data adagrad; ``max_epochs`` is 1000 epochs of
        minibatch steps, 100 iterations of lbfgs or cg (scikit-learn's ``max_iter``); ``patience_increase`` is the
        original 2, 1.5 with the defaults for sparse rows. A value given is kept. The
        optimizers: ``sgd`` (minibatch SGD), ``adagrad`` (per-feature adaptive steps, see
        :func:`logistic_sgd.core.optim.adagrad`), ``lbfgs`` or ``cg`` (full batch, through SciPy).
    tol : float
        lbfgs and cg stop when the largest component of the (projected) gradient falls below
        ``tol``, as scikit-learn's ``LogisticRegression`` does (SciPy's ``gtol``); ignored by SGD.
    momentum, nesterov, l2, l1, lr_schedule
        Optimiser pieces (see :mod:`logistic_sgd.core.optim`).
    shuffle : bool
        Visit the minibatches in a new random order each epoch.
    validation_fraction : float
        Share of the training data held out for early stopping when ``fit`` gets no ``eval_set``.
    floatx : {"float32", "float64"} or None
        Precision of the parameters and of the arithmetic. None (the default): that of ``X`` when it
        holds float32 or float64 (float32 rows stay float32, as scikit-learn's ``LogisticRegression``
        keeps them: half the memory traffic of float64), float64 for other input.
    random_state : int, RandomState or None
        Seeds the held-out split and the shuffling.
    class_weight : "balanced", dict or None
        Weights of the classes (keys: values of ``y``), multiplying each example's term of the loss;
        ``"balanced"``: ``n_samples / (n_classes * count of the class)``, as scikit-learn's.
    scale : {"none", "standard"}
        ``standard`` standardises each feature on the training part (mean and scale kept in
        ``scaler_`` and applied before every prediction, and written by :meth:`save`).

        A pandas ``DataFrame`` or pyarrow ``Table`` with a column that is not of a number type, or
        with a missing value, is taken by its columns (scikit-learn's
        ``categorical_features="from_dtype"`` rule): number columns are imputed and standardised,
        string, categorical and boolean columns one-hot encoded, by the pipeline the command line
        fits on a table (see the Tables page), fitted on the training part and kept in ``columns_``.
    vectorizer : TextVectorizer or None
        Text mode: when ``fit`` gets raw text (a list, 1-D array or pandas Series of ``str``), a copy
        of this :class:`~logistic_sgd.data.vectorize.TextVectorizer` (``TextVectorizer()`` when
        None) is fitted on it and makes its rows, kept as ``vectorizer_``, applied to the text given
        to ``predict`` and written by :meth:`save`. Ignored for rows of numbers.
    backend : {"auto", "numpy", "numba", "torch"}
        What trains and predicts (see :mod:`logistic_sgd.backends`): ``auto`` takes the compiled
        kernels when Numba is installed (the same numbers as ``numpy`` up to float rounding).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features)
        ``W.T``.
    intercept_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_iter_ : int
        Epochs run by the last ``fit`` (optimiser iterations for lbfgs and cg).
    best_validation_score_ : float
        Validation accuracy of the kept model (``fit`` only).
    scaler_ : Standardizer or None
        The features' standardisation (``scale="standard"``).
    columns_ : Preprocessor or None
        The column pipeline fitted on a table's training part (None for numbers).
    feature_names_in_ : ndarray of str
        The columns of a table given to ``fit``.
    vectorizer_ : TextVectorizer or None
        The fitted vectoriser, when ``fit`` got raw text (its idf weights fitted on all of ``X``).
    defaults_ : list of str
        What the ``"auto"`` settings became for the data of the last ``fit``, and why (one line each).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "patience_increase": [Interval(Real, 1, None, closed="left"), StrOptions({"auto"})],
        "improvement_threshold": [Interval(Real, 0, 1, closed="right")],
        "optimizer": [StrOptions({*OPTIMIZERS, "auto"})],
        "tol": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterov": ["boolean"],
        "l2": [Interval(Real, 0, None, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions(set(SCHEDULES))],
        "shuffle": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "floatx": [StrOptions(set(FLOATX)), None],
        "random_state": ["random_state"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "scale": [StrOptions({"none", "standard"})],
        "backend": [StrOptions(set(BACKENDS))],
        "vectorizer": [None, TextVectorizer],
    }

    def __init__(
        self,
        learning_rate: float | str = "auto",
        batch_size: int | str = "auto",
        max_epochs: int | str = "auto",
        patience: int = 5000,
        patience_increase: float | str = "auto",
        improvement_threshold: float = 0.995,
        optimizer: str = "auto",
        tol: float = 1e-4,
        momentum: float = 0.0,
        nesterov: bool = False,
        l2: float = 0.0,
        l1: float = 0.0,
        lr_schedule: str = "constant",
        shuffle: bool = False,
        validation_fraction: float = 0.1,
        floatx: str | None = None,
        random_state: Any = None,
        class_weight: str | dict[Any, float] | None = None,
        scale: str = "none",
        backend: str = "auto",
        vectorizer: TextVectorizer | None = None,
    ) -> None:
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.patience_increase = patience_increase
        self.improvement_threshold = improvement_threshold
        self.optimizer = optimizer
        self.tol = tol
        self.momentum = momentum
        self.nesterov = nesterov
        self.l2 = l2
        self.l1 = l1
        self.lr_schedule = lr_schedule
        self.shuffle = shuffle
        self.validation_fraction = validation_fraction
        self.floatx = floatx
        self.random_state = random_state
        self.class_weight = class_weight
        self.scale = scale
        self.backend = backend
        self.vectorizer = vectorizer

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
        eval_set: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> LogisticSGDClassifier:
        """Train from zero weights, early-stopping on ``eval_set`` or a held-out ``validation_fraction``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Examples, one per row (a SciPy CSR matrix for sparse features).
        y : array-like of shape (n_samples,)
            The class of each row, any values (they become ``classes_``).
        sample_weight : array-like of shape (n_samples,), optional
            Multiplies each example's term of the loss, times its class's weight (``class_weight``);
            the validation error stays unweighted.
        eval_set : tuple of (X_val, y_val), optional
            The validation set of the early stopping; without it, a ``validation_fraction`` of
            ``X`` is held out at random (``random_state``).

        Returns
        -------
        LogisticSGDClassifier
            The estimator itself, fitted (``coef_``, ``intercept_``, ``classes_``, ``n_iter_``).

        Raises
        ------
        ValueError
            Fewer than two classes, too few samples to hold out a validation set, or a
            hyperparameter out of range (naming it).
        """
        found = _table(X)
        self.columns_ = None
        self.vectorizer_ = None
        if found is None:
            if is_text(X):
                self.vectorizer_ = copy.deepcopy(self.vectorizer) if self.vectorizer is not None else TextVectorizer()
                X = self.vectorizer_.fit_transform(X).to_scipy()
            X, y = validate_data(self, X, y, dtype=self._dtypes(), reset=True, accept_sparse="csr")
            floatx = X.dtype.name
        else:
            X, words = found
            floatx = self.floatx or "float64"
            y = np.asarray(y)
            if y.shape != (len(X),):
                raise ValueError(f"y must have shape ({len(X)},), got {y.shape}")
            self.feature_names_in_ = np.asarray(X.names, dtype=object)
            self.n_features_in_ = len(X.names)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        _need_two_classes(self.classes_)
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        rng = check_random_state(self.random_state)
        if eval_set is not None:
            X_val = self._table_rows(eval_set[0]) if found is not None else validate_data(
                self, self._text_rows(eval_set[0]), dtype=floatx, reset=False, accept_sparse="csr")
            y_val = self._encode(np.asarray(eval_set[1]))
            X_tr, y_tr, w_tr = X, codes, weights
        else:
            n_val = max(1, round(self.validation_fraction * X.shape[0]))
            if X.shape[0] - n_val < 1:
                raise ValueError(f"n_samples={X.shape[0]} is too few to hold out a validation set; pass eval_set")
            order = rng.permutation(X.shape[0])
            X_tr, y_tr = X[order[n_val:]], codes[order[n_val:]]
            X_val, y_val = X[order[:n_val]], codes[order[:n_val]]
            w_tr = None if weights is None else weights[order[n_val:]]
        if found is not None:
            self.columns_ = _fit_columns(X_tr, words)
            X_tr, X_val = self._table_features(X_tr, floatx), self._table_features(X_val, floatx)
        self.scaler_ = self._fit_scaler(X_tr)
        X_tr, X_val = self._rows(X_tr, floatx), self._rows(X_val, floatx)
        if w_tr is None and self.class_weight is None:  # pixels that are bytes train as bytes (the same numbers)
            X_tr, X_val = _as_bytes(X_tr), _as_bytes(X_val)
        config = self._config(self._batch(), floatx, seed=int(rng.randint(2**31 - 1)))
        config, self.defaults_ = self._chosen(config, ((X_tr, y_tr), (X_val, y_val), (X_val, y_val)))
        config = replace(config, batch_size=max(1, min(config.batch_size, X_tr.shape[0], X_val.shape[0])))
        backend = self._backend()
        model = backend.new_model(X_tr.shape[1], len(self.classes_), floatx)
        class_weight = self._class_weight()
        if isinstance(class_weight, str):
            class_weight = dict(enumerate(class_weights(class_weight, y_tr, len(self.classes_))))
        result = fit(((X_tr, y_tr), (X_val, y_val), (X_val, y_val)), config, model=model, backend=backend,
                     sample_weight=w_tr, class_weight=class_weight)
        best = result.best_model or model
        self._set_params_from(best.arrays.to_numpy(best.W), best.arrays.to_numpy(best.b))
        self.n_iter_ = result.epochs
        self.best_validation_score_ = 1.0 - result.best_validation_error if result.best_model else float("nan")
        self._opt_state = self._partial = None
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> LogisticSGDClassifier:
        """One epoch of minibatch SGD over ``X`` (no early stopping).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Examples, one per row (a SciPy CSR matrix for sparse features).
        y : array-like of shape (n_samples,)
            The class of each row, among ``classes``.
        classes : array-like, optional
            Every class the model will see; required on the first call.
        sample_weight : array-like of shape (n_samples,), optional
            Multiplies each example's term of the loss; ``class_weight="balanced"`` weighs the
            classes by their counts in this call's ``y``.

        Returns
        -------
        LogisticSGDClassifier
            The estimator itself, one epoch further.

        Raises
        ------
        ValueError
            ``classes`` missing on the first call, fewer than two classes, or a label not among them.
        """
        first = not hasattr(self, "classes_")
        if _table(X) is not None or getattr(self, "columns_", None) is not None:
            raise ValueError("partial_fit takes numbers; for a table with categories or missing values, use fit, or "
                             "a Pipeline whose ColumnTransformer makes the table numbers")
        X, y = validate_data(self, X, y, dtype=self._dtypes() if first else self.coef_.dtype, reset=first,
                             accept_sparse="csr")
        floatx = X.dtype.name
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(np.asarray(classes))
            _need_two_classes(self.classes_)
            self._set_params_from(np.zeros((X.shape[1], len(self.classes_)), floatx),
                                  np.zeros(len(self.classes_), floatx))
            self._opt_state = None
            self.n_iter_ = 0
            self.scaler_ = self._fit_scaler(X)
            self.columns_ = None
        codes = self._encode(y)
        X = self._rows(X, floatx)
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        row_w = row_weights(self._class_weight(), codes, len(self.classes_), weights)
        n = X.shape[0]
        if first or getattr(self, "_partial", None) is None:
            config, self.defaults_ = self._chosen(self._config(self._batch(), floatx), ((X, codes),) * 3,
                                                  full_batch=False)
            self._partial = config
        config = replace(self._partial, batch_size=max(1, min(self._partial.batch_size, n)))
        batch = config.batch_size
        optimizer = config.make_optimizer(max(1, n // batch))
        model = self._model()
        state = getattr(self, "_opt_state", None) or optimizer.init(model.params)
        for i in range(0, n - batch + 1, batch):
            rows = slice(i, i + batch)
            step = NUMPY.dense_gradient(model, X[rows], codes[rows], None if row_w is None else row_w[rows])
            state = optimizer.update(step, state, model.params)
        self._opt_state = state
        self._set_params_from(model.W, model.b)
        self.n_iter_ += 1
        return self

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model as a logistic-sgd model file (class names, and the scaling when
        ``scale="standard"``), for ``logistic-sgd predict``, ``evaluate``, ``report`` and ``export``.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write (written atomically).
        """
        check_is_fitted(self)
        metadata = {"data": f"{type(self).__name__}.fit", "class_names": [str(c) for c in self.classes_],
                    "scaling": self.scale}
        save_model(path, self._model(), metadata, scaler=self.scaler_, columns=getattr(self, "columns_", None),
                   vectorizer=getattr(self, "vectorizer_", None))

    def decision_function(self, X: ArrayLike) -> NDArray[np.floating]:
        """Logits ``X W + b``; for two classes the margin ``z_1 - z_0``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Examples, one per row (a SciPy CSR matrix for sparse features).

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
            The logits, columns in the order of ``classes_``.
        """
        z = self._logits(X)
        return z[:, 1] - z[:, 0] if len(self.classes_) == 2 else z

    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating]:
        """Class probabilities ``softmax(X W + b)``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Examples, one per row (a SciPy CSR matrix for sparse features).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        return softmax(self._logits(X))

    def predict_log_proba(self, X: ArrayLike) -> NDArray[np.floating]:
        """Log-probabilities ``log softmax(X W + b)``, computed stably.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Examples, one per row (a SciPy CSR matrix for sparse features).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return log_softmax(self._logits(X))

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable class of each row, computed by the backend.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Examples, one per row (a SciPy CSR matrix for sparse features).

        Returns
        -------
        ndarray of shape (n_samples,)
            Values of ``classes_``.
        """
        X = self._check(X)
        backend = self._backend()
        model = backend.adopt(self._model())
        rows = backend.place(self._rows(X, X.dtype), X.dtype.name)
        return self.classes_[model.arrays.to_numpy(backend.predict(model, rows))]

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> NDArray[np.object_]:
        """The names of the model's features.

        Parameters
        ----------
        input_features : array-like of str, optional
            The input features' names, for a model fitted on numbers (scikit-learn's convention).

        Returns
        -------
        ndarray of str
            ``column`` and ``column=level`` after a table's columns; else ``input_features``, the
            input features' names (``feature_names_in_``), or ``x0``, ``x1``, ...
        """
        check_is_fitted(self)
        if getattr(self, "columns_", None) is not None:
            return np.asarray(self.columns_.feature_names, dtype=object)
        if input_features is not None:
            return np.asarray(input_features, dtype=object)
        names = getattr(self, "feature_names_in_", None)
        return np.asarray(names if names is not None else [f"x{i}" for i in range(self.n_features_in_)], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- helpers -----------------------------------------------------------------------------------
    def _backend(self) -> Backend:
        return get_backend(self.backend).ready()

    def _dtypes(self) -> Any:
        """The dtype ``fit`` makes of ``X``: ``floatx``, or X's own float32 or float64 (else float64)."""
        return self.floatx or ["float64", "float32"]

    def _rows(self, X: Any, dtype: Any) -> Any:
        """``X`` as training and prediction take it: standardised (``scale``) into ``dtype``, or as a :class:`CSR`."""
        if issparse(X):
            return CSR.from_scipy(X)
        scaler = getattr(self, "scaler_", None)
        return X if scaler is None else scaler.transform(X, dtype=dtype)

    def _fit_scaler(self, X: Any) -> Standardizer | None:
        if self.scale != "standard":
            return None
        if issparse(X):
            raise ValueError("scale='standard' would make sparse X dense; use scale='none'")
        return Standardizer.fit(X)

    def _logits(self, X: ArrayLike) -> NDArray[np.floating]:
        X = self._check(X)
        return NUMPY.logits(self._model(), self._rows(X, X.dtype))

    def _class_weight(self) -> str | dict[int, float] | None:
        """``class_weight`` keyed by class index."""
        if not isinstance(self.class_weight, dict):
            return self.class_weight
        unknown = [k for k in self.class_weight if k not in set(self.classes_.tolist())]
        if unknown:
            raise ValueError(f"class_weight names classes not in the data: {unknown[:5]}")
        return {int(np.searchsorted(self.classes_, k)): w for k, w in self.class_weight.items()}

    def _batch(self) -> int:
        return DEFAULTS.batch_size if self.batch_size == "auto" else self.batch_size

    def _chosen(self, config: TrainConfig, datasets: Any, full_batch: bool = True) -> tuple[TrainConfig, list[str]]:
        """``config`` with the ``"auto"`` settings chosen for ``datasets`` (the CLI's rule), and the
        reasons; without ``full_batch`` (``partial_fit``), a full-batch choice gives way to minibatch steps."""
        settable = {"optimizer": "optimizer", "learning_rate": "learning_rate", "batch_size": "batch_size",
                    "max_epochs": "n_epochs", "patience_increase": "patience_increase"}
        given = {field for name, field in settable.items() if getattr(self, name) != "auto"} | {
            f.name for f in dataclasses.fields(TrainConfig)
            if f.name not in settable.values() and getattr(config, f.name) != getattr(DEFAULTS, f.name)}
        if not full_batch:
            given |= {"checkpoint"}  # what the full-batch rule leaves to minibatch steps
        changes, reasons = choose_defaults(summary_of(datasets, images=False), config, given)
        return replace(config, **changes), reasons

    def _config(self, batch: int, floatx: str, seed: int = 0) -> TrainConfig:
        return TrainConfig(
            learning_rate=DEFAULTS.learning_rate if self.learning_rate == "auto" else self.learning_rate,
            n_epochs=DEFAULTS.n_epochs if self.max_epochs == "auto" else self.max_epochs, batch_size=batch,
            patience=self.patience, improvement_threshold=self.improvement_threshold,
            patience_increase=DEFAULTS.patience_increase if self.patience_increase == "auto"
            else self.patience_increase,
            floatx=floatx, shuffle=self.shuffle, seed=seed,
            optimizer=DEFAULTS.optimizer if self.optimizer == "auto" else self.optimizer, tol=self.tol,
            momentum=self.momentum,
            nesterov=self.nesterov, l2=self.l2, l1=self.l1, lr_schedule=self.lr_schedule,
        )

    def _check(self, X: ArrayLike) -> Any:
        check_is_fitted(self)
        if getattr(self, "columns_", None) is not None:
            return self._table_features(self._table_rows(X), self.coef_.dtype)
        return validate_data(self, self._text_rows(X), dtype=self.coef_.dtype, reset=False, accept_sparse="csr")

    def _text_rows(self, X: Any) -> Any:
        """Raw text made rows (a SciPy CSR matrix) by the fitted vectoriser; anything else as it is."""
        vectorizer = getattr(self, "vectorizer_", None)
        if vectorizer is None or not is_text(X):
            return X
        return vectorizer.transform(X).to_scipy()

    def _table_rows(self, X: Any) -> Frame:
        """A table's rows as a :class:`Frame`; ``ValueError`` for anything else."""
        found = table_columns(X)
        if found is None:
            raise ValueError(f"this estimator was fitted on a table: pass a pandas DataFrame or pyarrow Table with "
                             f"the columns {', '.join(map(str, self.feature_names_in_))}, not {type(X).__name__}")
        return found[0]

    def _table_features(self, frame: Frame, dtype: Any) -> NDArray[np.floating]:
        try:
            return self.columns_.transform(frame).astype(dtype)
        except DataError as exc:
            raise ValueError(str(exc).removeprefix("X: ")) from None

    def _model(self) -> LogisticRegression:
        model = LogisticRegression(self.coef_.shape[1], self.coef_.shape[0], dtype=self.coef_.dtype)
        model.W = np.ascontiguousarray(self.coef_.T)
        model.b = self.intercept_.copy()
        return model

    def _set_params_from(self, W: NDArray[np.floating], b: NDArray[np.floating]) -> None:
        self.coef_ = np.ascontiguousarray(np.asarray(W).T)
        self.intercept_ = np.array(b, copy=True)

    def _encode(self, y: NDArray[Any]) -> NDArray[np.intp]:
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[codes], y):
            unknown = sorted(set(np.asarray(y).tolist()) - set(self.classes_.tolist()))[:5]
            raise ValueError(f"y contains classes not seen in fit or partial_fit's classes: {unknown}")
        return codes


def _as_bytes(X: Any) -> Any:
    """Float32 rows whose every value is ``u / 255`` or ``u / 256`` for a byte ``u`` (images scaled
    as usual), bit for bit, as those bytes (:mod:`.data.byte_grid`): the backend reads a quarter of
    the memory each pass and computes on the same floats. Other rows as they are."""
    found = find_bytes(X) if type(X) is np.ndarray and X.dtype == np.float32 and X.ndim == 2 else None
    return X if found is None else ScaledArray(*found)


def _need_two_classes(classes: NDArray[Any]) -> None:
    if len(classes) < 2:
        raise ValueError(f"This solver needs samples of at least 2 classes in the data, but the data contains only "
                         f"one class: {classes[0]!r}")


def _table(X: Any) -> tuple[Frame, list[str]] | None:
    """A table taken by its columns: a pandas DataFrame or pyarrow Table with a column that is not
    of a number type or a missing value (a table of numbers only is taken as numbers)."""
    found = table_columns(X)
    if found is None:
        return None
    frame, words = found
    if not words and not any(frame.missing(name).any() for name in frame.names):
        return None
    return frame, words


def _fit_columns(frame: Frame, words: list[str]) -> Preprocessor:
    try:
        return Preprocessor.fit(frame, categorical=words, features=frame.names)
    except DataError as exc:
        raise ValueError(str(exc).removeprefix("X: ")) from None

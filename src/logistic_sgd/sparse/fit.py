"""The training loop on CSR data: :func:`logistic_sgd.train.fit`'s protocol, with sparse steps.

The seed's protocol, as in :mod:`logistic_sgd.train`: minibatches in order (or in a fresh permutation
per epoch with ``shuffle``); every ``validation_frequency`` iterations the zero-one error averaged
over the whole minibatches of the validation set; a new best also scores the test set the same way;
the patience rule of :class:`~logistic_sgd.stopping.PatienceStopping` decides when to stop. The
listeners of :mod:`logistic_sgd.report` receive the same events.

Steps: plain SGD with any learning-rate schedule and L2 decay run as sparse steps, each touching only
the weight rows of its minibatch's features (:func:`logistic_sgd.sparse.steps.sgd_steps`, compiled in
:mod:`logistic_sgd.sparse.kernels` when Numba is installed), the steps up to the next validation in
one call. Momentum and L1 change every weight at every step (the velocity and ``sign(W)`` are dense),
so with either of them each step forms the dense gradient and applies :mod:`logistic_sgd.optim`'s
optimiser: the same numbers as the dense loop, at the cost of a pass over all weights per step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import DivergenceError, UsageError
from ..model import LogisticRegression
from ..optim import make_schedule
from ..stopping import PatienceStopping
from ..train import Listener, TrainConfig, TrainResult, TrainState, ValidationEvent
from .csr import CSR

SparseSplit = tuple[CSR, NDArray[np.integer]]
WINDOW = 1 << 22  # non-zeros read at a time from a memory-mapped set (with their indices, 32 MB in float32)


def sparse_ops(name: str = "auto") -> ModuleType:
    """The module that computes the steps: ``"numba"`` (:mod:`logistic_sgd.sparse.kernels`), ``"numpy"``
    (:mod:`logistic_sgd.sparse.steps`, NumPy and SciPy), or ``"auto"``: numba when it can be imported."""
    if name in ("auto", "numba"):
        try:
            from . import kernels
        except ImportError:
            if name == "numba":
                raise UsageError("--backend numba needs Numba: pip install 'logistic-sgd[numba]'") from None
        else:
            return kernels
    from . import steps

    return steps


def fit_sparse(
    datasets: tuple[SparseSplit, SparseSplit, SparseSplit],
    config: TrainConfig | None = None,
    listeners: Sequence[Listener] = (),
    ops: ModuleType | None = None,
) -> TrainResult:
    """Train a :class:`~logistic_sgd.model.LogisticRegression` on CSR data by minibatch SGD with early stopping.

    Parameters
    ----------
    datasets : ((train_X, train_y), (valid_X, valid_y), (test_X, test_y))
        :class:`CSR` matrices of one width and integer labels in ``[0, n_out)``.
    config : TrainConfig, optional
        Hyperparameters (``optimizer="sgd"`` only); the seed's by default.
    listeners : sequence of Listener
        Receive the events of :func:`logistic_sgd.train.fit`.
    ops : module, optional
        What computes the steps (see :func:`sparse_ops`); compiled kernels when available.

    Returns
    -------
    TrainResult
        As :func:`logistic_sgd.train.fit`'s; ``best_model`` holds dense ``W`` (n_features x n_out).
    """
    config = config or TrainConfig()
    config.validate()
    if config.optimizer != "sgd":
        raise UsageError(f"--optimizer {config.optimizer}: sparse data train with sgd only")
    for name, (x, _) in zip(("training", "validation", "test"), datasets, strict=True):
        if len(x) < config.batch_size:
            raise UsageError(f"--batch-size {config.batch_size} is larger than the {name} set ({len(x)} examples)")
    ops = ops or sparse_ops()
    dtype = np.dtype(config.floatx)
    (train_x, train_y), valid, test = ((x.astype(dtype), np.asarray(y)) for x, y in datasets)
    n_out = max(2, max(int(np.max(y)) for _, y in datasets) + 1)
    model = LogisticRegression(train_x.n_features, n_out, dtype=dtype)
    bs = config.batch_size
    n_train_batches = len(train_x) // bs
    schedule = make_schedule(config.lr_schedule, config.learning_rate, n_train_batches, config.n_epochs,
                             config.lr_decay, config.lr_step_epochs)
    dense = config.momentum > 0 or config.l1 > 0
    optimizer = config.make_optimizer(n_train_batches)
    state = TrainState(model=model, opt_state=optimizer.init(model.params) if dense else {"count": 0},
                       stopping=PatienceStopping(config.patience, config.patience_increase,
                                                 config.improvement_threshold))
    stopping = state.stopping
    validation_frequency = stopping.validation_frequency(n_train_batches)
    info = {"n_train": len(train_x), "n_valid": len(valid[0]), "n_test": len(test[0]), "n_in": model.n_in,
            "n_out": n_out, "n_train_batches": n_train_batches, "validation_frequency": validation_frequency,
            "config": config.as_dict(), "resumed_at": None}
    for listener in listeners:
        listener.on_train_begin(info)
    if ops.__name__.endswith("kernels"):  # compile (or load from Numba's cache) before the clock starts
        ops.sgd_steps(train_x, train_y, 0, bs, np.empty(0, dtype), model.W, model.b)
        ops.predict(valid[0].read_rows(0, 1), model.W, model.b)
    rng = np.random.default_rng(config.seed)
    full = np.zeros_like(model.W) if dense else None  # the dense gradient of the fallback, reused step after step
    start = time.perf_counter()
    done = False
    while not done and state.epoch < config.n_epochs:
        state.epoch += 1
        xs, ys = train_x, train_y
        if config.shuffle:
            order = rng.permutation(len(train_x))
            xs, ys = train_x.take(order), train_y[order]
        minibatch = 0
        while minibatch < n_train_batches:
            first = (state.epoch - 1) * n_train_batches + minibatch
            if dense:
                steps = 1
                lo = minibatch * bs
                grad = _steps_module().gradient(xs.rows(lo, lo + bs), ys[lo : lo + bs], model.W, model.b)
                full = grad.dense(model.n_in, full)
                state.opt_state = optimizer.update([full, grad.gb], state.opt_state, model.params)
            else:
                steps = _steps_ahead(first, n_train_batches - minibatch, validation_frequency, stopping)
                count = state.opt_state["count"]
                rates = np.array([schedule(count + i) for i in range(steps)], dtype=dtype)
                _windowed_steps(ops, xs, ys, minibatch * bs, bs, rates, model, config.l2)
                state.opt_state = {"count": count + steps}
            minibatch += steps
            iteration = state.iteration = first + steps - 1
            state.minibatch = minibatch
            if (iteration + 1) % validation_frequency == 0:
                _check_finite(model, state.epoch, config.learning_rate)
                _validate(state, ops, valid, test, bs, minibatch, n_train_batches, time.perf_counter() - start,
                          listeners)
            if stopping.should_stop(iteration):
                done = True
                break
    elapsed = time.perf_counter() - start
    _check_finite(model, state.epoch, config.learning_rate)
    best = state.best_model
    result = TrainResult(epochs=state.epoch, iterations=state.iteration + 1, best_validation_error=stopping.best,
                         test_error=state.test_score, best_iteration=state.best_iteration, elapsed=elapsed,
                         config=config, best_model=best, history=state.history)
    if best is not None:
        result.full_validation = (_count_errors(ops, best, *valid), len(valid[0]))
        result.full_test = (_count_errors(ops, best, *test), len(test[0]))
    for listener in listeners:
        listener.on_train_end(result)
    return result


def minibatch_error(ops: ModuleType, model: LogisticRegression, x: CSR, y: NDArray[np.integer],
                    batch_size: int) -> float:
    """The seed's score on CSR rows: the mean over whole minibatches of each minibatch's error rate."""
    n_batches = len(x) // batch_size
    wrong = _predict(ops, model, x, n_batches * batch_size) != y[: n_batches * batch_size]
    return float(np.mean(wrong.reshape(n_batches, batch_size).sum(axis=1) / batch_size))


def _windowed_steps(ops: ModuleType, x: CSR, y: NDArray[np.integer], start: int, bs: int, rates: NDArray[Any],
                    model: LogisticRegression, l2: float) -> None:
    """``ops.sgd_steps`` on rows from ``start``: in one call for data in memory; window by window (whole
    minibatches of about :data:`WINDOW` non-zeros, read with ``pread``) for memory-mapped data. With L2,
    each window ends with the scale folded into the weights: a pass over them per window."""
    if not isinstance(x.data, np.memmap):
        ops.sgd_steps(x, y, start, bs, rates, model.W, model.b, l2=l2)
        return
    per_row = max(1.0, x.nnz / max(1, len(x)))
    window = max(1, int(WINDOW / per_row) // bs)  # minibatches per window
    for i in range(0, len(rates), window):
        lo = start + i * bs
        part = rates[i : i + window]
        ops.sgd_steps(x.read_rows(lo, lo + len(part) * bs), y[lo : lo + len(part) * bs], 0, bs, part,
                      model.W, model.b, l2=l2)


def _predict(ops: ModuleType, model: LogisticRegression, x: CSR, n: int, chunk: int = 1 << 15) -> NDArray[np.int64]:
    """Predictions for the first ``n`` rows, ``chunk`` rows read at a time."""
    return np.concatenate([ops.predict(x.read_rows(lo, min(n, lo + chunk)), model.W, model.b)
                           for lo in range(0, n, chunk)] or [np.empty(0, np.int64)])


def _validate(state: TrainState, ops: ModuleType, valid: SparseSplit, test: SparseSplit, bs: int, minibatch: int,
              n_train_batches: int, elapsed: float, listeners: Sequence[Listener]) -> None:
    model, stopping = state.model, state.stopping
    error = minibatch_error(ops, model, *valid, bs)
    improved = stopping.observe(state.iteration, error)
    if improved:
        state.test_score = minibatch_error(ops, model, *test, bs)
        state.best_model = _copy(model, state.best_model)
        state.best_iteration = state.iteration
    state.elapsed = elapsed
    event = ValidationEvent(state.epoch, minibatch, n_train_batches, state.iteration, error, improved, stopping.best,
                            state.test_score if improved else None, stopping.patience, elapsed, model, state)
    state.history.append(event.as_record())
    for listener in listeners:
        listener.on_validation(event)


def _steps_ahead(first: int, left_in_epoch: int, validation_frequency: int, stopping: PatienceStopping) -> int:
    """Steps from 0-based iteration ``first`` up to the epoch's end, the next validation, or the patience horizon."""
    steps = min(left_in_epoch, validation_frequency - first % validation_frequency)
    if math.isfinite(stopping.patience):
        steps = min(steps, max(first, math.ceil(stopping.patience)) - first + 1)
    return steps


def _count_errors(ops: ModuleType, model: LogisticRegression, x: CSR, y: NDArray[np.integer]) -> int:
    return int(np.sum(_predict(ops, model, x, len(x)) != y))


def _copy(model: LogisticRegression, into: LogisticRegression | None) -> LogisticRegression:
    """``model``'s parameters copied into ``into`` (the previous best, whose pages are resident), or a new model."""
    clone = into or LogisticRegression(model.n_in, model.n_out, dtype=model.dtype)
    clone.W[...] = model.W
    clone.b[...] = model.b
    return clone


def _steps_module() -> Any:
    from . import steps

    return steps


def _check_finite(model: LogisticRegression, epoch: int, learning_rate: float) -> None:
    if not (np.isfinite(model.b).all() and np.isfinite(model.W).all()):
        raise DivergenceError(
            f"training diverged in epoch {epoch}: the parameters became NaN or Inf; "
            f"try a smaller --learning-rate (it was {learning_rate:g}); the best model saved so far is intact"
        )

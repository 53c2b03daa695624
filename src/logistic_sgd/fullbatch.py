"""Full-batch training through SciPy: L-BFGS and nonlinear conjugate gradients.

As the tutorial series' ``logistic_cg.py`` put it, "for smaller datasets and simpler models, more
sophisticated descent algorithms can be more effective". The objective is the mean negative
log-likelihood of the whole training set plus ``l2/2 ||W||^2``; every iteration is validated with
the seed's protocol and the same patience rule, so the log lines, the best model and early stopping
behave as in SGD (an "epoch" is one optimiser iteration, of one full-batch "minibatch").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .backends import NUMPY, Backend
from .errors import UsageError
from .model import LogisticRegression
from .stopping import PatienceStopping
from .train import Datasets, Listener, TrainConfig, TrainResult, TrainState, finish, validate

METHODS = {"lbfgs": "L-BFGS-B", "cg": "CG"}


def fit_full_batch(
    datasets: Datasets,
    config: TrainConfig,
    listeners: Sequence[Listener] = (),
    model: LogisticRegression | None = None,
    backend: Backend = NUMPY,
) -> TrainResult:
    """Train with ``config.optimizer`` (``lbfgs`` or ``cg``) on the full training set; see the module doc."""
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise UsageError(f"--optimizer {config.optimizer} needs SciPy: pip install 'logistic-sgd[scipy]'") from None
    if not backend.is_numpy:
        raise UsageError(f"--optimizer {config.optimizer} runs on the numpy backend only")
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = (
        (np.asarray(x, dtype=config.floatx), np.asarray(y)) for x, y in datasets
    )
    if model is None:
        n_out = max(int(np.max(y)) for _, y in datasets) + 1
        model = LogisticRegression(train_x.shape[1], max(n_out, 2), dtype=config.floatx)
    k = model.n_in * model.n_out
    bs = config.batch_size
    state = TrainState(model=model, opt_state={}, stopping=PatienceStopping(
        config.patience, config.patience_increase, config.improvement_threshold))

    def unpack(theta: np.ndarray) -> None:
        model.W[...] = theta[:k].reshape(model.W.shape)
        model.b[...] = theta[k:]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        unpack(theta)
        loss, gW, gb = model.loss_and_gradient(train_x, train_y)
        if config.l2:
            loss += 0.5 * config.l2 * float(np.sum(model.W.astype(np.float64) ** 2))
            gW = gW + model.dtype.type(config.l2) * model.W
        return loss, np.concatenate([gW.ravel(), gb]).astype(np.float64)

    info = {"n_train": len(train_x), "n_valid": len(valid_x), "n_test": len(test_x), "n_in": model.n_in,
            "n_out": model.n_out, "n_train_batches": 1, "validation_frequency": 1, "config": config.as_dict(),
            "resumed_at": None}
    for listener in listeners:
        listener.on_train_begin(info)
    start = time.perf_counter()

    def callback(intermediate_result: Any) -> None:
        unpack(intermediate_result.x)
        state.iteration += 1
        state.epoch = state.iteration + 1
        validate(state, (valid_x, valid_y), (test_x, test_y), bs, 1, 1, time.perf_counter() - start, listeners)
        if state.stopping.should_stop(state.iteration):
            raise StopIteration

    theta0 = np.concatenate([model.W.ravel(), model.b]).astype(np.float64)
    minimize(objective, theta0, jac=True, method=METHODS[config.optimizer], callback=callback,
             options={"maxiter": config.n_epochs})
    return finish(state, config, time.perf_counter() - start, (valid_x, valid_y), (test_x, test_y), listeners)

"""Full-batch training through SciPy: L-BFGS and nonlinear conjugate gradients.

As the tutorial series' ``logistic_cg.py`` put it, "for smaller datasets and simpler models, more
sophisticated descent algorithms can be more effective". The objective is the mean negative
log-likelihood of the whole training set plus ``l2/2 ||W||^2``, computed by the backend. An
iteration of the solver is an "epoch" of one full-batch step: every iteration is validated with the
original tutorial's protocol and patience rule, with the patience counted in iterations (the chapter's
5,000 minibatches are ``5000 / n_train_batches`` iterations: as many passes over the data). The
solver also stops when its projected gradient falls below ``tol`` (scikit-learn's ``tol``), and
after ``n_epochs`` iterations.

Every iterate lowers the training objective, so among the iterations with the lowest validation
error the last is kept (the most converged; on a small validation set many iterations tie).
The events, the log lines and the best model are the minibatch loop's. A solver's state lives inside
SciPy, so a full-batch run cannot be resumed from a checkpoint nor split across processes; a stop
request ends it after the current iteration, as in the minibatch loop.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends import Backend
from ..core.model import LogisticRegression
from ..core.stopping import PatienceStopping
from ..errors import UsageError
from ..util.extras import require
from .config import TrainConfig
from .evaluation import Evaluation, check_finite
from .events import Listener, StopRequest, TrainingInterrupted, TrainResult, TrainState
from .setup import Run

if TYPE_CHECKING:
    from .distributed import Communicator

METHODS = {"lbfgs": "L-BFGS-B", "cg": "CG"}


def check_full_batch(config: TrainConfig, resume: TrainState | None, comm: Communicator | None) -> None:
    """Refuse, before anything is prepared, what the full-batch solvers cannot do.

    Raises
    ------
    UsageError
        SciPy is not installed, or ``resume`` or ``comm`` is given (see the module doc).
    """
    require("scipy.optimize", "scipy", f"optimizer {config.optimizer}")
    if resume is not None:
        raise UsageError(f"optimizer {config.optimizer} cannot resume from a checkpoint (its state lives in SciPy)",
                         "optimizer")
    if comm is not None:
        raise UsageError(f"optimizer {config.optimizer} runs in one process, not distributed", "optimizer")


def fit_full_batch(run: Run, listeners: Sequence[Listener] = (), stop: StopRequest | None = None) -> TrainResult:
    """Train the prepared ``run`` with its ``config.optimizer`` (``lbfgs`` or ``cg``) on the full training
    set (after :func:`check_full_batch`); see the module doc.

    Raises
    ------
    TrainingInterrupted
        ``stop`` was requested; listeners have had ``on_interrupt``.
    """
    config, backend, model = run.config, run.backend, run.model
    minimize = require("scipy.optimize", "scipy", f"optimizer {config.optimizer}").minimize
    (train_x, train_y), valid, test, weights = run.train, run.valid, run.test, run.weights
    steps_per_epoch = max(1, len(train_x) // config.batch_size)
    state = TrainState(model=model, opt_state={}, stopping=PatienceStopping(
        config.patience / steps_per_epoch, config.patience_increase, config.improvement_threshold))
    evaluation = Evaluation(backend, valid, test, config.batch_size, 1, listeners, class_weights=run.class_weights)
    objective = _Objective(backend, model, train_x, train_y, config.l2, weights)

    for listener in listeners:
        listener.on_train_begin({
            "n_train": len(train_x), "n_valid": len(valid[0]), "n_test": len(test[0]), "n_in": model.n_in,
            "n_out": model.n_out, "n_train_batches": 1, "validation_frequency": 1, "config": config.as_dict(),
            "resumed_at": None,
        })
    evaluation.start_clock()  # the clock starts with the first iteration

    def callback(intermediate_result: Any) -> None:
        objective.unpack(intermediate_result.x)
        state.iteration += 1
        state.epoch = state.iteration + 1
        state.minibatch = 1  # the iteration's one full-batch step
        check_finite(model, state.epoch, config.learning_rate)
        evaluation.validate(state, keep_ties=True)
        if state.stopping.should_stop(state.iteration):
            raise StopIteration
        if stop is not None and stop.signal is not None:
            state.elapsed = evaluation.elapsed()
            for listener in listeners:
                listener.on_interrupt(state)
            raise TrainingInterrupted(stop.signal, state)

    # the backend's setting when it computes the objective (the reference on weighted rows: BLAS as it is)
    with backend.solving() if weights is None else contextlib.nullcontext():
        minimize(objective, objective.pack(), jac=True, method=METHODS[config.optimizer], callback=callback,
                 options={"maxiter": config.n_epochs, "gtol": config.tol})
    return evaluation.finish(state, config)


class _Objective:
    """The full-batch loss and gradient as SciPy wants them: a flat float64 vector of ``(W, b)`` in,
    the loss and its gradient as a float64 vector out (computed by the backend in the model's dtype)."""

    def __init__(self, backend: Backend, model: LogisticRegression, x: Any, y: Any, l2: float, weights: Any) -> None:
        self.backend, self.model, self.x, self.y, self.l2, self.weights = backend, model, x, y, l2, weights
        self.k = model.n_in * model.n_out

    def pack(self) -> np.ndarray:
        arrays = self.model.arrays
        return np.concatenate([arrays.to_numpy(self.model.W).ravel(), arrays.to_numpy(self.model.b)]).astype(
            np.float64)

    def unpack(self, theta: np.ndarray) -> None:
        model, arrays = self.model, self.model.arrays
        model.W[...] = arrays.asarray(theta[: self.k].reshape(model.n_in, model.n_out), dtype=model.dtype.name)
        model.b[...] = arrays.asarray(theta[self.k :], dtype=model.dtype.name)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.unpack(theta)
        model, arrays = self.model, self.model.arrays
        loss, gW, gb = self.backend.loss_and_gradient(model, self.x, self.y, self.weights)
        gW, gb = arrays.to_numpy(gW), arrays.to_numpy(gb)
        if self.l2:
            W = theta[: self.k].reshape(model.n_in, model.n_out)
            loss += 0.5 * self.l2 * float(np.sum(W**2))
            gW = gW + self.l2 * W
        if not math.isfinite(loss):
            loss = math.inf
        return loss, np.concatenate([gW.ravel(), gb]).astype(np.float64)

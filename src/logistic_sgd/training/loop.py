"""The training loop: minibatch SGD with the original tutorial's patience-based early stopping.

Protocol (the original tutorial's, exactly): minibatches are taken in order (or in a fresh permutation per
epoch with ``shuffle``); after every ``validation_frequency`` iterations the zero-one error is
measured on every *whole* minibatch of the validation set and averaged over minibatches; a new
best also measures the test set the same way; training stops when the patience rule says so or
after ``n_epochs`` epochs.

The loop decides; its backend computes (:mod:`logistic_sgd.backends`), and listeners show and
save (:mod:`logistic_sgd.outputs.listeners`). Where the backend can, and the optimiser is plain SGD, the loop
hands it every run of steps up to the next thing it must look at (a validation, the epoch's end,
the patience limit) in one call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ..backends import NUMPY, Backend
from ..core.model import LogisticRegression
from ..core.stopping import PatienceStopping
from ..data import Datasets
from .config import FULL_BATCH, TrainConfig
from .evaluation import Evaluation, check_finite
from .events import Listener, StopRequest, TrainingInterrupted, TrainResult, TrainState
from .fullbatch import check_full_batch, fit_full_batch
from .setup import Run, prepare

if TYPE_CHECKING:
    from .distributed import Communicator


def fit(
    datasets: Datasets,
    config: TrainConfig | None = None,
    listeners: Sequence[Listener] = (),
    model: LogisticRegression | None = None,
    backend: Backend = NUMPY,
    resume: TrainState | None = None,
    stop: StopRequest | None = None,
    comm: Communicator | None = None,
    sample_weight: ArrayLike | None = None,
    class_weight: Mapping[int, float] | None = None,
) -> TrainResult:
    """Train a :class:`LogisticRegression` on ``datasets`` by minibatch SGD with early stopping.

    Parameters
    ----------
    datasets : ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))
        As returned by :func:`logistic_sgd.load_data`: ``x`` float arrays of shape (n, n_in),
        ``y`` integer labels in ``[0, n_out)``.
    config : TrainConfig, optional
        Hyperparameters; the original tutorial's experiment by default. ``optimizer="lbfgs"`` or ``"cg"``
        trains full-batch instead (see :mod:`logistic_sgd.training.fullbatch`).
    listeners : sequence of Listener
        Receive ``on_train_begin``, ``on_validation``, ``on_interrupt`` and ``on_train_end``.
    model : LogisticRegression, optional
        Model to train in place; a zero-initialised one sized from the data by default.
    backend : Backend, optional
        What computes, and where (NumPy by default); the datasets are placed on it once.
    resume : TrainState, optional
        Continue from this state (see :func:`logistic_sgd.outputs.persist.load_checkpoint`) instead of
        starting afresh; the run then ends exactly as an uninterrupted one.
    stop : StopRequest, optional
        Polled after every step (after every run of steps where the backend takes runs: about one
        epoch of the original tutorial's experiment); when set, listeners get ``on_interrupt(state)`` and
        :class:`TrainingInterrupted` is raised.
    comm : Communicator, optional
        Data-parallel training (see :mod:`logistic_sgd.training.distributed`): this rank computes the gradient
        of its slice of every minibatch; gradients and validation counts are summed over ranks.
    sample_weight : array of shape (n_train,), optional
        A weight for each training example, times its class's weight: see
        :mod:`logistic_sgd.core.weighting`.
    class_weight : mapping of class index to weight, optional
        The classes' weights, instead of ``config.class_weight`` (which names a rule). With class
        weights, validation and test errors are weighted alike; sample weights weigh the loss only.

    Returns
    -------
    TrainResult
        Epochs run, best validation error and the test error of that model (both averaged over
        whole minibatches, as the original tutorial), and the best model with its errors on the complete sets.
    """
    config = config or TrainConfig()
    if config.optimizer in FULL_BATCH:
        check_full_batch(config, resume, comm)
    run = prepare(datasets, config, backend, model, resume, sample_weight, class_weight)
    if config.optimizer in FULL_BATCH:
        return fit_full_batch(run, listeners, stop)
    return _Loop(run, listeners, resume, comm).train(stop)


class _Loop:
    """One run of minibatch SGD: the placed data, the model's trainer and optimiser, and the state."""

    def __init__(
        self, run: Run, listeners: Sequence[Listener], resume: TrainState | None, comm: Communicator | None,
    ) -> None:
        config, backend, model = run.config, run.backend, run.model
        self.config, self.listeners, self.comm, self.resume = config, listeners, comm, resume
        self.train_x, self.train_y = run.train
        bs = self.batch_size = config.batch_size
        self.n_batches = len(self.train_x) // bs
        self.optimizer = config.make_optimizer(self.n_batches, run.feature_scale)
        self.adagrad = self.optimizer.adagrad
        self.state = resume or TrainState(
            model=model,
            stopping=PatienceStopping(config.patience, config.patience_increase, config.improvement_threshold),
            opt_state=self.optimizer.init(model.params),
        )
        self.validation_frequency = self.state.stopping.validation_frequency(self.n_batches)
        self.rng = np.random.default_rng(config.seed)
        self.lo, self.hi = comm.slice(bs) if comm is not None else (0, bs)
        self.backend = backend
        self.train_w = run.weights
        self.trainer = backend.trainer(model, self.train_x, self.train_y, self.hi - self.lo, bs,
                                       weighted=run.weights is not None)
        self.takes_runs = comm is None and self.trainer.takes_runs_of(self.optimizer, config.shuffle)
        self.evaluation = Evaluation(backend, run.valid, run.test, bs, self.n_batches, listeners, comm,
                                     run.class_weights)

    def train(self, stop: StopRequest | None) -> TrainResult:
        """Run epochs until the patience rule or ``n_epochs`` ends the run; return its result."""
        state, config = self.state, self.config
        self._begin()
        done = self.resume is not None and state.stopping.should_stop(state.iteration)  # a finished run's checkpoint
        while not done and (state.minibatch > 0 or state.epoch < config.n_epochs):
            done = self._epoch(self._order(), stop)
        check_finite(state.model, state.epoch, config.learning_rate)
        return self.evaluation.finish(state, config)

    def _begin(self) -> None:
        state = self.state
        info = {
            "n_train": len(self.train_x), "n_valid": len(self.evaluation.valid[0]),
            "n_test": len(self.evaluation.test[0]), "n_in": state.model.n_in, "n_out": state.model.n_out,
            "n_train_batches": self.n_batches, "validation_frequency": self.validation_frequency,
            "config": self.config.as_dict(),
            "resumed_at": None if self.resume is None else {"epoch": state.epoch, "minibatch": state.minibatch},
        }
        for listener in self.listeners:
            listener.on_train_begin(info)
        self.trainer.warm_up(self.evaluation.valid[0])  # compile before the clock starts
        self.evaluation.start_clock(state.elapsed)

    def _order(self) -> Any:
        """Start an epoch (or resume one): the minibatches' order, or None for the original tutorial's in-order pass.
        A resumed epoch draws the same permutation again from the generator's state at its start."""
        state = self.state
        if state.minibatch == 0:
            state.epoch += 1
            state.rng_state = self.rng.bit_generator.state
        elif state.rng_state is not None:
            self.rng.bit_generator.state = state.rng_state
        if not self.config.shuffle:
            return None
        order = self.backend.arrays.asarray(self.rng.permutation(len(self.train_x)))
        if self.takes_runs:
            self.trainer.reorder(order)
        return order

    def _epoch(self, order: Any, stop: StopRequest | None) -> bool:
        """The rest of the current epoch; True when the patience rule ends the run."""
        state = self.state
        minibatch = state.minibatch
        while minibatch < self.n_batches:
            first = (state.epoch - 1) * self.n_batches + minibatch
            steps = self._run(first, minibatch) if self.takes_runs else self._step(minibatch, order)
            minibatch += steps
            state.iteration = first + steps - 1
            state.minibatch = minibatch
            if (state.iteration + 1) % self.validation_frequency == 0:
                check_finite(state.model, state.epoch, self.config.learning_rate)
                self.evaluation.validate(state)
            if state.stopping.should_stop(state.iteration):
                return True
            if stop is not None and stop.signal is not None:
                self._interrupt(stop.signal)
        state.minibatch = 0
        return False

    def _run(self, first: int, minibatch: int) -> int:
        """A run of steps in one call of the backend, from 0-based iteration ``first``; its length."""
        steps = self._run_length(first, self.n_batches - minibatch)
        if self.adagrad is not None:
            sum_sq, self.state.opt_state = self.optimizer.run_state(self.state.opt_state, steps)
            self.trainer.run_adagrad(minibatch * self.batch_size, steps, sum_sq, self.adagrad)
            return steps
        rates, self.state.opt_state = self.optimizer.run_rates(self.state.opt_state, steps, self.state.model.dtype)
        self.trainer.run(minibatch * self.batch_size, rates, self.optimizer.weight_decay)
        return steps

    def _run_length(self, first: int, left_in_epoch: int) -> int:
        """How many steps from 0-based iteration ``first`` on can run before the loop must look: up to the
        epoch's end, the next validation, or the first iteration at which the patience rule stops."""
        steps = min(left_in_epoch, self.validation_frequency - first % self.validation_frequency)
        patience = self.state.stopping.patience
        if math.isfinite(patience):
            steps = min(steps, max(first, math.ceil(patience)) - first + 1)
        return steps

    def _step(self, minibatch: int, order: Any) -> int:
        """One step on minibatch ``minibatch`` (this rank's slice of it, when distributed)."""
        start = minibatch * self.batch_size
        rows = slice(start + self.lo, start + self.hi)
        if order is not None:
            rows = order[rows]
        weights = None if self.train_w is None else self.train_w[rows]
        grads = self.trainer.gradient(self.train_x[rows], self.train_y[rows], weights)
        if self.comm is not None:
            self.comm.allreduce_(self.trainer.grads)
        state = self.state
        state.opt_state = self.optimizer.update(grads, state.opt_state, state.model.params)
        return 1

    def _interrupt(self, signal: int) -> None:
        state = self.state
        state.elapsed = self.evaluation.elapsed()
        for listener in self.listeners:
            listener.on_interrupt(state)
        raise TrainingInterrupted(signal, state)

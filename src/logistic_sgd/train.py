"""The training loop: minibatch SGD with the seed's patience-based early stopping.

The loop computes and decides; what the user sees (the seed's log lines, JSON lines, the best
model on disk) are listeners on its events (see :mod:`logistic_sgd.report`).

Protocol (the seed's, exactly): minibatches are taken in order (or in a fresh permutation per
epoch with ``shuffle``); after every ``validation_frequency`` iterations the zero-one error is
measured on every *whole* minibatch of the validation set and averaged over minibatches; a new
best also measures the test set the same way; training stops when the patience rule says so or
after ``n_epochs`` epochs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .backends import NUMPY, Backend
from .data.memmap import ScaledArray
from .errors import DivergenceError, UsageError
from .model import FLOATX, LogisticRegression, Workspace
from .optim import SCHEDULES, Optimizer, make_schedule, sgd
from .stopping import PatienceStopping

if TYPE_CHECKING:
    from .distributed import Communicator

OPTIMIZERS = ("sgd", "lbfgs", "cg")
Split = tuple[NDArray[Any], NDArray[Any]]
Datasets = tuple[Split, Split, Split]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of a run; the defaults are the seed's experiment."""

    learning_rate: float = 0.13
    n_epochs: int = 1000
    batch_size: int = 600
    patience: int = 5000
    patience_increase: float = 2
    improvement_threshold: float = 0.995
    floatx: str = "float32"
    shuffle: bool = False
    seed: int = 0
    optimizer: str = "sgd"
    momentum: float = 0.0
    nesterov: bool = False
    l2: float = 0.0
    l1: float = 0.0
    lr_schedule: str = "constant"
    lr_decay: float = 0.5
    lr_step_epochs: float = 10.0

    def validate(self) -> None:
        """Raise :class:`UsageError` naming the flag of the first out-of-range value."""
        lr = self.learning_rate
        checks = [
            (lr > 0 and math.isfinite(lr), "--learning-rate", "a finite number > 0", lr),
            (self.n_epochs >= 1, "--n-epochs", "an integer >= 1", self.n_epochs),
            (self.batch_size >= 1, "--batch-size", "an integer >= 1", self.batch_size),
            (self.patience >= 1, "--patience", "an integer >= 1", self.patience),
            (self.patience_increase >= 1, "--patience-increase", "a number >= 1", self.patience_increase),
            (0 < self.improvement_threshold <= 1, "--improvement-threshold", "a number in (0, 1]",
             self.improvement_threshold),
            (self.floatx in FLOATX, "--floatx", f"one of {', '.join(FLOATX)}", self.floatx),
            (self.optimizer in OPTIMIZERS, "--optimizer", f"one of {', '.join(OPTIMIZERS)}", self.optimizer),
            (0 <= self.momentum < 1, "--momentum", "a number in [0, 1)", self.momentum),
            (not self.nesterov or self.momentum > 0, "--nesterov", "used with --momentum > 0", self.nesterov),
            (self.l2 >= 0 and math.isfinite(self.l2), "--l2", "a finite number >= 0", self.l2),
            (self.l1 >= 0 and math.isfinite(self.l1), "--l1", "a finite number >= 0", self.l1),
            (self.lr_schedule in SCHEDULES, "--lr-schedule", f"one of {', '.join(SCHEDULES)}", self.lr_schedule),
            (self.lr_decay > 0 and math.isfinite(self.lr_decay), "--lr-decay", "a finite number > 0", self.lr_decay),
            (self.lr_step_epochs > 0, "--lr-step-epochs", "a number > 0", self.lr_step_epochs),
            (self.optimizer == "sgd" or not (self.l1 or self.momentum or self.lr_schedule != "constant"),
             f"--optimizer {self.optimizer}", "used without --l1, --momentum and --lr-schedule (it takes --l2 only)",
             self.optimizer),
        ]
        for ok, flag, expected, got in checks:
            if not ok:
                raise UsageError(f"{flag} must be {expected}, got {got!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def make_optimizer(self, steps_per_epoch: int) -> Optimizer:
        """The minibatch optimiser these hyperparameters describe (``sgd(lr)`` for the seed's)."""
        schedule = make_schedule(self.lr_schedule, self.learning_rate, steps_per_epoch, self.n_epochs,
                                 self.lr_decay, self.lr_step_epochs)
        return sgd(schedule, momentum_=self.momentum, nesterov=self.nesterov, l2=self.l2, l1=self.l1)


@dataclass
class ValidationEvent:
    """What a validation measured; passed to every listener's ``on_validation``."""

    epoch: int
    minibatch: int
    n_train_batches: int
    iteration: int
    validation_error: float
    improved: bool
    best_validation_error: float
    test_error: float | None
    patience: float
    elapsed: float
    model: LogisticRegression
    state: TrainState | None = None

    def as_record(self) -> dict[str, Any]:
        """The event as JSON-ready numbers (without the model)."""
        return {
            "epoch": self.epoch, "minibatch": self.minibatch, "n_train_batches": self.n_train_batches,
            "iteration": self.iteration, "validation_error": self.validation_error,
            "improved": self.improved, "best_validation_error": self.best_validation_error,
            "test_error": self.test_error, "patience": self.patience, "elapsed": round(self.elapsed, 6),
        }


@dataclass
class TrainState:
    """Everything the loop needs to continue exactly where it stopped (what a checkpoint holds).

    ``epoch`` counts epochs started; ``minibatch`` is the next minibatch of that epoch (0 when the
    epoch is finished or not begun); ``rng_state`` is the shuffling generator's state at the start
    of the current epoch, so a resumed epoch draws the same permutation.
    """

    model: LogisticRegression
    stopping: PatienceStopping
    opt_state: dict[str, Any]
    epoch: int = 0
    minibatch: int = 0
    iteration: int = -1
    test_score: float = 0.0
    best_model: LogisticRegression | None = None
    best_iteration: int | None = None
    elapsed: float = 0.0
    rng_state: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


class StopRequest:
    """Set by a signal handler (``request(signum)``); the loop stops cleanly after the current step."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def request(self, signum: int, frame: object = None) -> None:
        if self.signal is not None:  # a second signal: stop now (the last checkpoint stays valid)
            raise KeyboardInterrupt
        self.signal = signum


class TrainingInterrupted(Exception):
    """Raised by :func:`fit` after a :class:`StopRequest`, once listeners have seen ``on_interrupt``."""

    def __init__(self, signal: int, state: TrainState) -> None:
        super().__init__(f"interrupted by signal {signal}")
        self.signal = signal
        self.state = state


@dataclass
class TrainResult:
    """The outcome of :func:`fit`. Errors are fractions (0.075 is 7.5 %)."""

    epochs: int
    iterations: int
    best_validation_error: float
    test_error: float
    best_iteration: int | None
    elapsed: float
    config: TrainConfig
    best_model: LogisticRegression | None
    full_validation: tuple[int, int] | None = None
    full_test: tuple[int, int] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def epochs_per_sec(self) -> float:
        return self.epochs / self.elapsed if self.elapsed > 0 else math.inf


class Listener(Protocol):
    """Receives the loop's events; every method is optional in practice (see :class:`BaseListener`)."""

    def on_train_begin(self, info: dict[str, Any]) -> None: ...
    def on_validation(self, event: ValidationEvent) -> None: ...
    def on_interrupt(self, state: TrainState) -> None: ...
    def on_train_end(self, result: TrainResult) -> None: ...


class BaseListener:
    """A listener that ignores every event; subclass it and override what you need."""

    def on_train_begin(self, info: dict[str, Any]) -> None:
        pass

    def on_validation(self, event: ValidationEvent) -> None:
        pass

    def on_interrupt(self, state: TrainState) -> None:
        pass

    def on_train_end(self, result: TrainResult) -> None:
        pass


def fit(
    datasets: Datasets,
    config: TrainConfig | None = None,
    listeners: Sequence[Listener] = (),
    model: LogisticRegression | None = None,
    backend: Backend = NUMPY,
    resume: TrainState | None = None,
    stop: StopRequest | None = None,
    comm: Communicator | None = None,
) -> TrainResult:
    """Train a :class:`LogisticRegression` on ``datasets`` by minibatch SGD with early stopping.

    Parameters
    ----------
    datasets : ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))
        As returned by :func:`logistic_sgd.load_data`: ``x`` float arrays of shape (n, n_in),
        ``y`` integer labels in ``[0, n_out)``.
    config : TrainConfig, optional
        Hyperparameters; the seed's experiment by default.
    listeners : sequence of Listener
        Receive ``on_train_begin``, ``on_validation`` and ``on_train_end``.
    model : LogisticRegression, optional
        Model to train in place; a zero-initialised one sized from the data by default.
    backend : Backend, optional
        Where to train (NumPy by default); the datasets are copied to its device once.
    resume : TrainState, optional
        Continue from this state (see :func:`logistic_sgd.persist.load_checkpoint`) instead of
        starting afresh; the run then ends exactly as an uninterrupted one.
    stop : StopRequest, optional
        Polled after every step (after every run of steps between two validations where the compiled
        kernels or torch take them in one call: about one epoch of the seed's experiment); when set,
        listeners get ``on_interrupt(state)`` and :class:`TrainingInterrupted` is raised.
    comm : Communicator, optional
        Data-parallel training (see :mod:`logistic_sgd.distributed`): this rank computes the gradient
        of its slice of every minibatch; gradients and validation counts are summed over ranks.

    Returns
    -------
    TrainResult
        Epochs run, best validation error and the test error of that model (both averaged over
        whole minibatches, as the seed), and the best model with its errors on the complete sets.
    """
    config = config or TrainConfig()
    config.validate()
    for name, (x, _) in zip(("training", "validation", "test"), datasets, strict=True):
        if len(x) < config.batch_size:
            raise UsageError(
                f"--batch-size {config.batch_size} is larger than the {name} set ({len(x)} examples)"
            )
    if config.optimizer != "sgd":
        from .fullbatch import fit_full_batch

        return fit_full_batch(datasets, config, listeners, model, backend)
    if resume is not None:
        model = resume.model
    elif model is None:
        n_out = max(int(np.max(y)) for _, y in datasets) + 1
        model = LogisticRegression(datasets[0][0].shape[1], max(n_out, 2), dtype=config.floatx, backend=backend)
    backend = model.backend
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = (
        (_on_backend(x, backend, config.floatx), backend.asarray(y)) for x, y in datasets
    )

    bs = config.batch_size
    n_train_batches = len(train_x) // bs
    optimizer = config.make_optimizer(n_train_batches)
    state = resume or TrainState(
        model=model,
        stopping=PatienceStopping(config.patience, config.patience_increase, config.improvement_threshold),
        opt_state=optimizer.init(model.params),
    )
    validation_frequency = state.stopping.validation_frequency(n_train_batches)
    rng = np.random.default_rng(config.seed)
    lo, hi = comm.slice(bs) if comm is not None else (0, bs)
    work = Workspace.for_batch(model, hi - lo, mean_over=bs)

    info = {
        "n_train": len(train_x), "n_valid": len(valid_x), "n_test": len(test_x),
        "n_in": model.n_in, "n_out": model.n_out, "n_train_batches": n_train_batches,
        "validation_frequency": validation_frequency, "config": config.as_dict(),
        "resumed_at": None if resume is None else {"epoch": state.epoch, "minibatch": state.minibatch},
    }
    for listener in listeners:
        listener.on_train_begin(info)

    stopping = state.stopping
    fused = comm is None and optimizer.schedule is not None and _fusable(train_x, model, work)
    if work.scratch is not None:  # compile (or load from numba's cache) before the clock starts
        if fused:
            model.sgd_steps(train_x, train_y, 0, np.empty(0, model.dtype), work)  # no step: W, b unchanged
        else:
            model.gradient_into(train_x[lo : lo + 1], train_y[lo : lo + 1], work)
        model.predict(valid_x[:1])
    start = time.perf_counter() - state.elapsed
    done = resume is not None and stopping.should_stop(state.iteration)  # a finished run's checkpoint
    while not done and (state.minibatch > 0 or state.epoch < config.n_epochs):
        if state.minibatch == 0:  # a new epoch
            state.epoch += 1
            state.rng_state = rng.bit_generator.state
        elif state.rng_state is not None:  # resuming inside an epoch: draw the same permutation again
            rng.bit_generator.state = state.rng_state
        order = backend.asarray(rng.permutation(len(train_x))) if config.shuffle else None
        minibatch = state.minibatch
        while minibatch < n_train_batches:
            first = (state.epoch - 1) * n_train_batches + minibatch
            if fused and order is None:  # steps up to the next thing the loop must look at, in one call
                steps = _steps_ahead(first, n_train_batches - minibatch, validation_frequency, stopping)
                rates, state.opt_state = optimizer.plain_steps(state.opt_state, steps, model.dtype)
                model.sgd_steps(train_x, train_y, minibatch * bs, rates, work)
            else:
                steps = 1
                rows = slice(minibatch * bs + lo, minibatch * bs + hi)
                if order is None:
                    x, y = train_x[rows], train_y[rows]
                else:
                    x, y = train_x[order[rows]], train_y[order[rows]]
                grads = model.gradient_into(x, y, work)
                if comm is not None:
                    comm.allreduce_(work.grads)
                state.opt_state = optimizer.update(grads, state.opt_state, model.params)
            minibatch += steps
            iteration = state.iteration = first + steps - 1
            state.minibatch = minibatch
            if (iteration + 1) % validation_frequency == 0:
                _check_finite(model, state.epoch, config.learning_rate)
                validate(state, (valid_x, valid_y), (test_x, test_y), bs, minibatch, n_train_batches,
                         time.perf_counter() - start, listeners, comm)
            if stopping.should_stop(iteration):
                done = True
                break
            if stop is not None and stop.signal is not None:
                state.elapsed = time.perf_counter() - start
                for listener in listeners:
                    listener.on_interrupt(state)
                raise TrainingInterrupted(stop.signal, state)
        if not done:
            state.minibatch = 0
    elapsed = time.perf_counter() - start
    _check_finite(model, state.epoch, config.learning_rate)

    return finish(state, config, elapsed, (valid_x, valid_y), (test_x, test_y), listeners)


def validate(
    state: TrainState, valid: Split, test: Split, batch_size: int, minibatch: int, n_train_batches: int,
    elapsed: float, listeners: Sequence[Listener], comm: Communicator | None = None,
) -> None:
    """The seed's validation step on ``state.model`` after ``state.iteration``: score the validation
    set, update the patience rule, on a new best score the test set and keep a copy of the model,
    then tell the listeners."""
    model, stopping, iteration = state.model, state.stopping, state.iteration
    this_validation = minibatch_error(model, *valid, batch_size, comm)
    improved = stopping.observe(iteration, this_validation)
    if improved:
        state.test_score = minibatch_error(model, *test, batch_size, comm)
        state.best_model = _copy(model)
        state.best_iteration = iteration
    state.elapsed = elapsed
    event = ValidationEvent(
        state.epoch, minibatch, n_train_batches, iteration, this_validation, improved, stopping.best,
        state.test_score if improved else None, stopping.patience, elapsed, model, state,
    )
    state.history.append(event.as_record())
    for listener in listeners:
        listener.on_validation(event)


def finish(
    state: TrainState, config: TrainConfig, elapsed: float, valid: Split, test: Split, listeners: Sequence[Listener]
) -> TrainResult:
    """The run's result, with the best model scored on the complete validation and test sets."""
    best = state.best_model
    result = TrainResult(
        epochs=state.epoch, iterations=state.iteration + 1, best_validation_error=state.stopping.best,
        test_error=state.test_score, best_iteration=state.best_iteration, elapsed=elapsed, config=config,
        best_model=best, history=state.history,
    )
    if best is not None:
        result.full_validation = (count_errors(best, *valid), len(valid[0]))
        result.full_test = (count_errors(best, *test), len(test[0]))
    for listener in listeners:
        listener.on_train_end(result)
    return result


def minibatch_error(
    model: LogisticRegression, x: NDArray[Any], y: NDArray[Any], batch_size: int, comm: Communicator | None = None
) -> float:
    """The seed's score: the mean over whole minibatches of each minibatch's error rate.

    A trailing partial minibatch is left out, as in the seed (9,600 of 10,000 images at batch 600).
    The logits are computed minibatch by minibatch (faster here than one tall product, and the
    same products the seed computed); the softmax and argmax run over groups of minibatches.
    """
    xp = model.backend.xp
    n_batches = len(x) // batch_size
    if comm is not None:  # minibatches shared out round-robin, counts summed over ranks
        per_batch = np.zeros(n_batches, dtype=np.int64)
        for i in range(comm.rank, n_batches, comm.world):
            rows = slice(i * batch_size, (i + 1) * batch_size)
            per_batch[i] = int(xp.sum(model.predict(x[rows]) != y[rows]))
        comm.allreduce_(per_batch)
        return float(np.mean(per_batch / batch_size))
    group = max(1, 8192 // batch_size)  # minibatches scored together: bounded memory for any set size
    counts = []
    for first in range(0, n_batches, group):
        last = min(n_batches, first + group)
        rows = slice(first * batch_size, last * batch_size)
        wrong = model.predict(x[rows], chunk=batch_size) != y[rows]
        counts.append(xp.sum(xp.reshape(wrong, (last - first, batch_size)), axis=1))
    per_batch = model.backend.to_numpy(xp.concat(counts))  # one transfer from a device
    return float(np.mean(per_batch / batch_size))


def count_errors(model: LogisticRegression, x: NDArray[Any], y: NDArray[Any], chunk: int = 8192) -> int:
    """Number of misclassified rows of ``x``, scored in chunks to bound memory."""
    xp = model.backend.xp
    return sum(
        int(xp.sum(model.predict(x[i : i + chunk]) != y[i : i + chunk])) for i in range(0, len(x), chunk)
    )


def _on_backend(x: Any, backend: Backend, dtype: str) -> Any:
    """``x`` on the backend in ``dtype``. A :class:`ScaledArray` of bytes stays bytes where the
    backend's kernels scale them (its rows are handed out unscaled); a memory-mapped one stays lazy
    on NumPy (scaled per minibatch); anything else becomes one array on the backend."""
    if isinstance(x, ScaledArray):
        if backend.kernel_module is not None and backend.kernels.reads(x):
            return x.astype(dtype).unscaled()
        if backend.is_numpy and isinstance(x.stored, np.memmap):
            return x.astype(dtype)
    return backend.asarray(x, dtype=dtype)


def _fusable(x: Any, model: LogisticRegression, work: Workspace) -> bool:
    """Whether :meth:`LogisticRegression.sgd_steps` can take the training rows ``x`` as they are: the
    backend is torch (``x`` is then a tensor on its device), or it has kernels and ``x`` is an
    in-memory array of the model's dtype or of bytes the kernels scale (a memory-mapped set is read
    minibatch by minibatch instead, to keep its memory flat)."""
    if model.backend.name == "torch":
        return True
    if work.scratch is None:
        return False
    if isinstance(x, ScaledArray):
        return x.unscaled_rows and type(x.stored) is np.ndarray and model.backend.kernels.reads(x)
    return type(x) is np.ndarray and x.dtype == model.dtype and x.flags.c_contiguous


def _steps_ahead(first: int, left_in_epoch: int, validation_frequency: int, stopping: PatienceStopping) -> int:
    """How many steps from 0-based iteration ``first`` on can run before the loop must look: up to the
    epoch's end, the next validation, or the first iteration at which the patience rule stops."""
    steps = min(left_in_epoch, validation_frequency - first % validation_frequency)
    if math.isfinite(stopping.patience):
        steps = min(steps, max(first, math.ceil(stopping.patience)) - first + 1)
    return steps


def _copy(model: LogisticRegression) -> LogisticRegression:
    clone = LogisticRegression(model.n_in, model.n_out, dtype=model.dtype, backend=model.backend)
    clone.W[...] = model.W
    clone.b[...] = model.b
    return clone


def _check_finite(model: LogisticRegression, epoch: int, learning_rate: float) -> None:
    xp = model.backend.xp
    if not bool(xp.all(xp.isfinite(model.W)) & xp.all(xp.isfinite(model.b))):  # one scalar from a device
        raise DivergenceError(
            f"training diverged in epoch {epoch}: the parameters became NaN or Inf; "
            f"try a smaller --learning-rate (it was {learning_rate:g}); the best model saved so far is intact"
        )

"""What the training loop tells the world: its events, its state, its result, and the listeners.

The loop computes and decides; what the user sees (the original tutorial's log lines, JSON lines, the best
model and checkpoints on disk, a progress bar) are listeners on these events (see
:mod:`logistic_sgd.outputs.listeners`). :class:`TrainState` is everything a run needs to continue exactly
where it stopped: what a checkpoint holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core.model import LogisticRegression
from ..core.stopping import PatienceStopping
from .config import TrainConfig


@dataclass
class ValidationEvent:
    """What a validation measured; passed to every listener's ``on_validation``.

    Errors are fractions (0.075 is 7.5 %), measured as the original tutorial does: the mean error
    over the whole minibatches of the split.

    Attributes
    ----------
    epoch : int
        The epoch of the validation, from 1.
    minibatch : int
        The minibatch of that epoch just trained, from 1.
    n_train_batches : int
        Minibatches in an epoch.
    iteration : int
        Minibatch steps taken before this one, from 0 (the original program's ``iter``).
    validation_error : float
        The validation error of the current model.
    improved : bool
        Whether it is the best so far (then the model was also scored on the test set).
    best_validation_error : float
        The best validation error so far, this one included.
    test_error : float or None
        The test error of the best model so far (None before the first).
    patience : float
        The patience after this validation, in minibatch steps.
    elapsed : float
        Seconds of training so far.
    model : LogisticRegression
        The current model (the loop's own: copy it to keep it).
    state : TrainState or None
        The loop's state, for listeners that write checkpoints.
    """

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
        """The event as JSON-ready numbers (without the model).

        Returns
        -------
        dict
            ``epoch``, ``minibatch``, ``n_train_batches``, ``iteration``, ``validation_error``,
            ``improved``, ``best_validation_error``, ``test_error``, ``patience``, ``elapsed``: one
            record of :attr:`TrainResult.history`.
        """
        return {
            "epoch": self.epoch, "minibatch": self.minibatch, "n_train_batches": self.n_train_batches,
            "iteration": self.iteration, "validation_error": self.validation_error,
            "improved": self.improved, "best_validation_error": self.best_validation_error,
            "test_error": self.test_error, "patience": self.patience, "elapsed": round(self.elapsed, 6),
        }


@dataclass
class TrainState:
    """Everything the loop needs to continue exactly where it stopped (what a checkpoint holds).

    Attributes
    ----------
    model : LogisticRegression
        The model being trained.
    stopping : PatienceStopping
        The early-stopping rule and its state (patience, best error).
    opt_state : dict
        The optimiser's state (momentum buffers, the step count of a schedule).
    epoch : int
        Epochs started.
    minibatch : int
        The next minibatch of that epoch (0 when the epoch is finished or not begun).
    iteration : int
        The last minibatch step taken, from 0 (-1 before the first).
    test_score : float
        The test error of the best model so far.
    best_model : LogisticRegression or None
        A copy of the best model so far.
    best_iteration : int or None
        The iteration at which it was found.
    elapsed : float
        Seconds of training so far.
    rng_state : dict or None
        The shuffling generator's state at the start of the current epoch, so that a resumed epoch
        draws the same permutation.
    history : list of dict
        One :meth:`ValidationEvent.as_record` per validation.
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
        """Ask the loop to stop after the current step (a ``signal.signal`` handler).

        Parameters
        ----------
        signum : int
            The signal received.
        frame : object, optional
            The frame it interrupted (unused).

        Raises
        ------
        KeyboardInterrupt
            On a second request: stop now (the last checkpoint stays valid).
        """
        if self.signal is not None:  # a second signal: stop now (the last checkpoint stays valid)
            raise KeyboardInterrupt
        self.signal = signum


class TrainingInterrupted(Exception):
    """Raised by :func:`fit` after a :class:`StopRequest`, once listeners have seen ``on_interrupt``.

    Parameters
    ----------
    signal : int
        The signal that asked for the stop.
    state : TrainState
        The state at the stop (what the checkpoint written at ``on_interrupt`` holds).
    """

    def __init__(self, signal: int, state: TrainState) -> None:
        super().__init__(f"interrupted by signal {signal}")
        self.signal = signal
        self.state = state


@dataclass
class TrainResult:
    """The outcome of a run: what the original program prints at the end, and the best model.

    Errors are fractions (0.075 is 7.5 %).

    Attributes
    ----------
    epochs : int
        Epochs run (the original program's "The code run for N epochs").
    iterations : int
        Minibatch steps taken.
    best_validation_error : float
        The best validation error, the mean over whole minibatches as the original program scores.
    test_error : float
        The test error of the model that had the best validation error, scored the same way.
    best_iteration : int or None
        The iteration (from 0) at which the best model was found.
    elapsed : float
        Seconds of training.
    config : TrainConfig
        The hyperparameters of the run.
    best_model : LogisticRegression or None
        The model with the best validation error (None if the run never validated).
    full_validation : tuple of (int, int) or None
        ``(wrong, total)`` of the best model on the complete validation set.
    full_test : tuple of (int, int) or None
        ``(wrong, total)`` of the best model on the complete test set.
    history : list of dict
        One record per validation (:meth:`ValidationEvent.as_record`): the learning curve.
    """

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
        """Epochs per second of training (infinite for a run that took no measurable time)."""
        return self.epochs / self.elapsed if self.elapsed > 0 else math.inf


class Listener(Protocol):
    """Receives the loop's events; every method is optional in practice (see :class:`BaseListener`)."""

    def on_train_begin(self, info: dict[str, Any]) -> None:
        """Training starts.

        Parameters
        ----------
        info : dict
            The sizes of the splits (``n_train``, ``n_valid``, ``n_test``), of the model (``n_in``,
            ``n_out``), ``n_train_batches``, ``validation_frequency``, the ``config`` as a dict, and
            ``resumed_at`` (the epoch and minibatch a resumed run starts from, else None).
        """

    def on_validation(self, event: ValidationEvent) -> None:
        """A validation was measured (and the test set scored, if it improved).

        Parameters
        ----------
        event : ValidationEvent
            What it measured.
        """

    def on_interrupt(self, state: TrainState) -> None:
        """The run is stopping on a :class:`StopRequest` (a checkpoint writer saves ``state`` now).

        Parameters
        ----------
        state : TrainState
            The state at the stop.
        """

    def on_train_end(self, result: TrainResult) -> None:
        """Training ended (early stopping, ``n_epochs`` or convergence).

        Parameters
        ----------
        result : TrainResult
            The outcome.
        """


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

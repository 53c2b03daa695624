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

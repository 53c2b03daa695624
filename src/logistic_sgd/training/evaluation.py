"""The original tutorial's validation step and the end of a run, shared by the minibatch loop and the full-batch
solvers."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.model import LogisticRegression
from ..errors import DivergenceError
from .config import TrainConfig
from .events import Listener, TrainResult, TrainState, ValidationEvent
from .scoring import count_errors, minibatch_error

if TYPE_CHECKING:
    from ..backends import Backend
    from .distributed import Communicator


@dataclass
class Evaluation:
    """The held-out splits of a run and who hears about them: what a validation needs.

    ``n_train_batches`` is the number of steps in an epoch (1 for a full-batch solver, whose
    iteration is one step over the whole training set); ``class_weights`` (one per class), when the
    training loss weighs classes, weigh the errors alike; ``started`` is the clock's reading at the
    start of the run (earlier by the time already spent, when resumed).
    """

    backend: Backend
    valid: tuple[Any, Any]
    test: tuple[Any, Any]
    batch_size: int
    n_train_batches: int
    listeners: Sequence[Listener] = ()
    comm: Communicator | None = None
    class_weights: Any = None
    started: float = field(default_factory=time.perf_counter)

    def start_clock(self, elapsed: float = 0.0) -> None:
        """Start the run's clock now, ``elapsed`` seconds in (a resumed run's time so far)."""
        self.started = time.perf_counter() - elapsed

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def validate(self, state: TrainState, keep_ties: bool = False) -> None:
        """The original tutorial's validation after ``state.iteration``: score the validation set, update the patience
        rule, on a new best score the test set and keep a copy of the model, then tell the listeners.
        With ``keep_ties``, a score equal to the best also keeps the model (not a new best for the
        patience rule): the full-batch solvers' later iterate, lower in training loss, is kept."""
        model, stopping = state.model, state.stopping
        this_validation = self._score(model, self.valid)
        improved = stopping.observe(state.iteration, this_validation)
        if improved or (keep_ties and state.best_model is not None and this_validation == stopping.best):
            state.test_score = self._score(model, self.test)
            best = state.best_model
            if best is None or best.W.shape != model.W.shape:
                state.best_model = model.copy()
            else:  # into the same arrays: a fresh copy of a wide model costs its page faults each time
                best.W[...] = model.W
                best.b[...] = model.b
            state.best_iteration = state.iteration
        state.elapsed = self.elapsed()
        event = ValidationEvent(
            state.epoch, state.minibatch, self.n_train_batches, state.iteration, this_validation, improved,
            stopping.best, state.test_score if improved else None, stopping.patience, state.elapsed, model, state,
        )
        state.history.append(event.as_record())
        for listener in self.listeners:
            listener.on_validation(event)

    def finish(self, state: TrainState, config: TrainConfig) -> TrainResult:
        """The run's result, with the best model scored on the complete validation and test sets."""
        best = state.best_model
        result = TrainResult(
            epochs=state.epoch, iterations=state.iteration + 1, best_validation_error=state.stopping.best,
            test_error=state.test_score, best_iteration=state.best_iteration, elapsed=self.elapsed(),
            config=config, best_model=best, history=state.history,
        )
        if best is not None:
            result.full_validation = (count_errors(self.backend, best, *self.valid), len(self.valid[0]))
            result.full_test = (count_errors(self.backend, best, *self.test), len(self.test[0]))
        for listener in self.listeners:
            listener.on_train_end(result)
        return result

    def _score(self, model: LogisticRegression, split: tuple[Any, Any]) -> float:
        return minibatch_error(self.backend, model, *split, self.batch_size, self.comm, self.class_weights)


def check_finite(model: LogisticRegression, epoch: int, learning_rate: float) -> None:
    """Raise :class:`DivergenceError` when the parameters hold NaN or Inf."""
    xp = model.arrays.xp
    if not bool(xp.all(xp.isfinite(model.W)) & xp.all(xp.isfinite(model.b))):  # one scalar from a device
        raise DivergenceError(
            f"training diverged in epoch {epoch}: the parameters became NaN or Inf; "
            f"try a smaller learning rate (it was {learning_rate:g}); the best model saved so far is intact"
        )

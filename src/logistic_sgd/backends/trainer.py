"""A model's steps on one training set: what the loop asks a backend for, once per run."""

from __future__ import annotations

from typing import Any

from ..core.model import LogisticRegression, Workspace
from ..data.rows import ScaledArray


class Trainer:
    """The minibatch steps of one model on one training set ``x, y``, for minibatches of ``rows`` rows
    whose gradient is divided by ``mean_over`` (see :meth:`Workspace.for_batch`).

    :meth:`gradient` computes a minibatch's gradient into buffers it owns; :attr:`grads` is that
    gradient as one flat array (what a data-parallel run all-reduces). Where :attr:`takes_runs`,
    :meth:`run` takes a run of plain SGD steps on consecutive minibatches of ``x`` in one call.
    """

    takes_runs: bool = False
    takes_decay: bool = False
    """Whether :meth:`run` takes L2 weight decay (``decay``) in its steps."""
    takes_adagrad: bool = False
    """Whether :meth:`run_adagrad` takes runs of :func:`logistic_sgd.optim.adagrad` steps."""
    shuffles_in_runs: bool = False
    """Whether runs may go over shuffled epochs, the rows permuted by :meth:`reorder`."""

    def __init__(self, model: LogisticRegression, x: Any, y: Any, rows: int, mean_over: int) -> None:
        self.model, self.x, self.y, self.rows = model, x, y, rows
        self.work = Workspace.for_batch(model, rows, mean_over)

    @property
    def grads(self) -> Any:
        return self.work.grads

    def gradient(self, x: Any, y: Any, weights: Any = None) -> tuple[Any, Any]:
        """The gradient ``(gW, gb)`` of the mean NLL over the minibatch ``x, y`` (rows of the training
        set as the backend placed it; each row's term times its weight, when ``weights`` are given),
        in this trainer's buffers."""
        if isinstance(x, ScaledArray):  # bytes another backend placed for its own kernels
            x = self.model.as_input(x)
        return self.model.gradient_into(x, y, self.work, weights)

    def takes_runs_of(self, optimizer: Any, shuffle: bool) -> bool:
        """Whether runs of ``optimizer``'s steps go to :meth:`run` in one call: this trainer takes runs,
        the optimiser's steps are plain SGD (with weight decay only where :attr:`takes_decay`) or adagrad
        alone (where :attr:`takes_adagrad`), and a
        shuffled epoch only where :attr:`shuffles_in_runs`."""
        steps = ((optimizer.takes_runs and (not optimizer.weight_decay or self.takes_decay))
                 or (optimizer.adagrad is not None and self.takes_adagrad))
        return self.takes_runs and steps and (not shuffle or self.shuffles_in_runs)

    def run(self, start: int, rates: Any, decay: float = 0.0) -> None:
        """``len(rates)`` steps of plain SGD, step ``i`` on the minibatch at row ``start + i * rows`` of
        the training set, ``params -= rates[i] * gradient`` (plus ``decay * W`` in ``W``'s gradient,
        where :attr:`takes_decay`): :meth:`gradient` then :func:`logistic_sgd.core.optim.sgd`'s update,
        step after step (bit for bit on the dense backends)."""
        raise NotImplementedError(f"{type(self).__name__} does not take runs of steps")

    def run_adagrad(self, start: int, steps: int, sum_sq: Any, adagrad: Any) -> None:
        """``steps`` steps of :func:`logistic_sgd.optim.adagrad` (its constants ``adagrad``, its
        accumulators ``sum_sq``, changed in place), as :meth:`run` takes SGD's (where :attr:`takes_adagrad`)."""
        raise NotImplementedError(f"{type(self).__name__} does not take runs of adagrad steps")

    def reorder(self, order: Any) -> None:
        """Take the next runs over the training rows in ``order`` (where :attr:`shuffles_in_runs`)."""
        raise NotImplementedError(f"{type(self).__name__} does not shuffle within runs")

    def warm_up(self, valid_x: Any) -> None:
        """Compile or load whatever the first step and the first scoring need, before the clock starts;
        changes nothing."""

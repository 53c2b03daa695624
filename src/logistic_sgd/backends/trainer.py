"""A model's steps on one training set: what the loop asks a backend for, once per run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from numpy.typing import ArrayLike

from ..core.model import LogisticRegression, Workspace
from ..data.rows import Rows, ScaledArray
from ..util.arrays import Array

if TYPE_CHECKING:
    from ..core.optim import Adagrad, Optimizer


class Trainer:
    """The minibatch steps of one model on one training set ``x, y``, for minibatches of ``rows`` rows
    whose gradient is divided by ``mean_over`` (see :meth:`Workspace.for_batch`).

    :meth:`gradient` computes a minibatch's gradient into buffers it owns; :attr:`grads` is that
    gradient as one flat array (what a data-parallel run all-reduces). Where :attr:`takes_runs`,
    :meth:`run` takes a run of plain SGD steps on consecutive minibatches of ``x`` in one call.

    Parameters
    ----------
    model : LogisticRegression
        The model trained, on the backend's arrays.
    x : Rows
        The training rows, placed by the backend.
    y : array-like of shape (n_train,), integer
        Their classes.
    rows : int
        Rows in a minibatch.
    mean_over : int
        The gradient is a mean over this many rows (the global minibatch of a data-parallel run).
    """

    takes_runs: bool = False
    takes_decay: bool = False
    """Whether :meth:`run` takes L2 weight decay (``decay``) in its steps."""
    takes_adagrad: bool = False
    """Whether :meth:`run_adagrad` takes runs of :func:`logistic_sgd.core.optim.adagrad` steps."""
    shuffles_in_runs: bool = False
    """Whether runs may go over shuffled epochs, the rows permuted by :meth:`reorder`."""

    def __init__(self, model: LogisticRegression, x: Rows, y: ArrayLike, rows: int, mean_over: int) -> None:
        self.model, self.x, self.y, self.rows = model, x, y, rows
        self.work = Workspace.for_batch(model, rows, mean_over)

    @property
    def grads(self) -> Array:
        """The last gradient as one flat array, ``[gW.ravel(), gb]`` (what a data-parallel run all-reduces)."""
        return self.work.grads

    def gradient(self, x: Rows, y: Array, weights: Array | None = None) -> tuple[Array, Array]:
        """The gradient of the mean NLL over the minibatch ``x, y``, in this trainer's buffers.

        Parameters
        ----------
        x : Rows
            Rows of the training set as the backend placed them.
        y : Array of shape (rows,), integer
            Their classes.
        weights : Array of shape (rows,), optional
            Each row's term of the loss is multiplied by its weight.

        Returns
        -------
        gW : Array of shape (n_in, n_out)
            The gradient with respect to ``W`` (overwritten by the next call).
        gb : Array of shape (n_out,)
            The gradient with respect to ``b`` (overwritten by the next call).
        """
        if isinstance(x, ScaledArray):  # bytes another backend placed for its own kernels
            x = self.model.as_input(x)
        return self.model.gradient_into(x, y, self.work, weights)

    def takes_runs_of(self, optimizer: Optimizer, shuffle: bool) -> bool:
        """Whether runs of ``optimizer``'s steps go to :meth:`run` (or :meth:`run_adagrad`) in one call.

        Parameters
        ----------
        optimizer : Optimizer
            The run's optimiser.
        shuffle : bool
            Whether the epochs are shuffled.

        Returns
        -------
        bool
            True when this trainer takes runs, the optimiser's steps are plain SGD (with weight
            decay only where :attr:`takes_decay`) or adagrad alone (where :attr:`takes_adagrad`),
            and the epochs are in order, or shuffled only where :attr:`shuffles_in_runs`.
        """
        steps = ((optimizer.takes_runs and (not optimizer.weight_decay or self.takes_decay))
                 or (optimizer.adagrad is not None and self.takes_adagrad))
        return self.takes_runs and steps and (not shuffle or self.shuffles_in_runs)

    def run(self, start: int, rates: ArrayLike, decay: float = 0.0) -> None:
        """``len(rates)`` steps of plain SGD: :meth:`gradient` then :func:`logistic_sgd.core.optim.sgd`'s
        update, step after step (bit for bit on the dense backends).

        Parameters
        ----------
        start : int
            The first row of the first minibatch; step ``i`` takes the minibatch at row
            ``start + i * rows``.
        rates : array-like of shape (steps,)
            The learning rate of each step (:meth:`Optimizer.run_rates`): ``params -= rates[i] * gradient``.
        decay : float, default 0.0
            L2 decay added to ``W``'s gradient as ``decay * W`` (where :attr:`takes_decay`).

        Raises
        ------
        NotImplementedError
            On a trainer that does not take runs (:attr:`takes_runs` is false).
        """
        raise NotImplementedError(f"{type(self).__name__} does not take runs of steps")

    def run_adagrad(self, start: int, steps: int, sum_sq: tuple[Array, Array], adagrad: Adagrad) -> None:
        """``steps`` steps of :func:`logistic_sgd.core.optim.adagrad`, as :meth:`run` takes SGD's.

        Parameters
        ----------
        start : int
            The first row of the first minibatch, as in :meth:`run`.
        steps : int
            How many minibatch steps.
        sum_sq : tuple of arrays
            The accumulated squared gradients of ``W`` and ``b``, changed in place.
        adagrad : Adagrad
            The optimiser's constants (learning rate, epsilon, per-feature scale).

        Raises
        ------
        NotImplementedError
            On a trainer that does not take adagrad's runs (:attr:`takes_adagrad` is false).
        """
        raise NotImplementedError(f"{type(self).__name__} does not take runs of adagrad steps")

    def reorder(self, order: ArrayLike) -> None:
        """Take the next runs over the training rows in ``order`` (where :attr:`shuffles_in_runs`).

        Parameters
        ----------
        order : array-like of shape (n_train,), integer
            A permutation of the training rows.

        Raises
        ------
        NotImplementedError
            On a trainer that does not shuffle within runs.
        """
        raise NotImplementedError(f"{type(self).__name__} does not shuffle within runs")

    def warm_up(self, valid_x: Rows) -> None:
        """Compile or load whatever the first step and the first scoring need, before the clock starts;
        changes nothing.

        Parameters
        ----------
        valid_x : Rows
            The validation rows, as placed (scoring them is compiled for their kind).
        """

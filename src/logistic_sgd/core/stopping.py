"""The original tutorial's patience rule for early stopping, as one small object with explicit state.

Training looks at ``patience`` minibatch iterations at least. Whenever the validation error
beats the best so far by a significant margin (``error < best * improvement_threshold``) the
horizon grows to ``max(patience, iteration * patience_increase)``. Training stops after the
first iteration ``i`` (0-based) with ``patience <= i``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass
class PatienceStopping:
    """State and rule of the original tutorial's early stopping.

    Parameters
    ----------
    patience : int
        Minimum number of minibatch iterations to look at (the original tutorial's 5000).
    patience_increase : float
        Factor by which the horizon grows on a significant improvement (the original tutorial's 2).
    improvement_threshold : float
        A relative improvement below this factor is significant (the original tutorial's 0.995).
    best : float
        Best validation error seen so far (``inf`` before the first validation).
    """

    patience: float = 5000
    patience_increase: float = 2
    improvement_threshold: float = 0.995
    best: float = math.inf

    def validation_frequency(self, n_train_batches: int) -> int:
        """Validate every this many iterations: ``min(n_train_batches, patience // 2)``, at least 1.

        Parameters
        ----------
        n_train_batches : int
            Minibatches in an epoch.

        Returns
        -------
        int
            Iterations between two validations.
        """
        return max(1, min(n_train_batches, int(self.patience // 2)))

    def observe(self, iteration: int, error: float) -> bool:
        """Record a validation: a new best below ``improvement_threshold`` times the old one raises the
        patience to ``max(patience, iteration * patience_increase)``.

        Parameters
        ----------
        iteration : int
            The iteration (from 0) after which the error was measured.
        error : float
            The validation error.

        Returns
        -------
        bool
            True if ``error`` is a new best (lower than every earlier one).
        """
        if not error < self.best:
            return False
        if error < self.best * self.improvement_threshold:
            self.patience = max(self.patience, iteration * self.patience_increase)
        self.best = error
        return True

    def should_stop(self, iteration: int) -> bool:
        """Whether to stop: ``patience <= iteration``.

        Parameters
        ----------
        iteration : int
            The iteration just taken, from 0.

        Returns
        -------
        bool
            True once ``iteration`` has reached the patience.
        """
        return self.patience <= iteration

    def state_dict(self) -> dict[str, float]:
        """The rule's whole state as plain numbers (for checkpoints and logs).

        Returns
        -------
        dict
            ``patience``, ``patience_increase``, ``improvement_threshold`` and ``best``.
        """
        return asdict(self)

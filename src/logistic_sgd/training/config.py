"""The hyperparameters of a run (:class:`TrainConfig`), checked once, where they enter.

Errors name the Python parameter (``learning_rate must be a finite number > 0, got -1``); the
command line shows the same check with its flag (``--learning-rate``). The CLI's defaults and
choices are read from here.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..core.model import FLOATX
from ..core.optim import SCHEDULES, Optimizer, adagrad, add_l2, chain, make_schedule, sgd
from ..core.weighting import CLASS_WEIGHTS
from ..errors import UsageError, UsageTypeError

OPTIMIZERS = ("sgd", "adagrad", "lbfgs", "cg")
FULL_BATCH = ("lbfgs", "cg")
CHOICES: dict[str, tuple[str, ...]] = {"floatx": FLOATX, "optimizer": OPTIMIZERS, "lr_schedule": SCHEDULES,
                                       "class_weight": CLASS_WEIGHTS}


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of a run; the defaults are the original tutorial's experiment.

    Parameters
    ----------
    learning_rate : float
        SGD step size (0.13).
    n_epochs : int
        At most this many epochs (1000).
    batch_size : int
        Minibatch size (600).
    patience : int
        Look at this many minibatches at least (5000).
    patience_increase : float
        On a significant improvement, grow patience to ``iteration * patience_increase`` (2).
    improvement_threshold : float
        A relative improvement below this factor is significant (0.995).
    floatx : {"float32", "float64"}
        Floating-point type of the model and the arithmetic.
    shuffle : bool
        Visit the minibatches in a new random order each epoch (seeded by ``seed``).
    seed : int
        Seed of the shuffling.
    optimizer : {"sgd", "adagrad", "lbfgs", "cg"}
        Minibatch SGD; minibatch AdaGrad with per-feature normalised steps (see
        :func:`logistic_sgd.core.optim.adagrad`; ``learning_rate`` is then its ``lr``); or a full-batch
        solver (an epoch is then one iteration).
    momentum, nesterov, l2, l1, lr_schedule, lr_decay, lr_step_epochs
        Optimiser pieces (see :mod:`logistic_sgd.core.optim`).
    class_weight : {"none", "balanced"}
        ``balanced`` weighs each training example by ``n / (n_classes * count of its class)``
        (see :mod:`logistic_sgd.core.weighting`), so that rare classes count as much as common ones.
    tol : float
        Full-batch solvers stop when the largest component of the (projected) gradient falls below ``tol``
        (SciPy's ``gtol``); ignored by SGD.
    """

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
    class_weight: str = "none"
    tol: float = 1e-4

    def validate(self) -> None:
        """Check every field's type and range.

        Raises
        ------
        UsageError
            A ``ValueError`` naming the first parameter out of range.
        UsageTypeError
            A ``TypeError`` naming the first parameter of the wrong type.
        """
        for f in fields(self):
            value = getattr(self, f.name)
            if not _KINDS[str(f.type)](value):
                raise UsageTypeError(f"{f.name} must be {_KIND_WORDS[str(f.type)]}, got {value!r}", f.name)
        for ok, name, expected in self._checks():
            if not ok:
                named = (name, *(f.name for f in fields(self) if f.name != name and re.search(rf"\b{f.name}\b",
                                                                                            expected)))
                raise UsageError(f"{name} must be {expected}, got {getattr(self, name)!r}", named)

    def _checks(self) -> list[tuple[bool, str, str]]:
        finite = math.isfinite
        return [
            (self.learning_rate > 0 and finite(self.learning_rate), "learning_rate", "a finite number > 0"),
            (self.n_epochs >= 1, "n_epochs", "an integer >= 1"),
            (self.batch_size >= 1, "batch_size", "an integer >= 1"),
            (self.patience >= 1, "patience", "an integer >= 1"),
            (self.patience_increase >= 1, "patience_increase", "a number >= 1"),
            (0 < self.improvement_threshold <= 1, "improvement_threshold", "a number in (0, 1]"),
            (self.floatx in FLOATX, "floatx", f"one of {', '.join(FLOATX)}"),
            (self.optimizer in OPTIMIZERS, "optimizer", f"one of {', '.join(OPTIMIZERS)}"),
            (0 <= self.momentum < 1, "momentum", "a number in [0, 1)"),
            (not self.nesterov or self.momentum > 0, "nesterov", "used with momentum > 0"),
            (self.l2 >= 0 and finite(self.l2), "l2", "a finite number >= 0"),
            (self.l1 >= 0 and finite(self.l1), "l1", "a finite number >= 0"),
            (self.lr_schedule in SCHEDULES, "lr_schedule", f"one of {', '.join(SCHEDULES)}"),
            (self.lr_decay > 0 and finite(self.lr_decay), "lr_decay", "a finite number > 0"),
            (self.lr_step_epochs > 0, "lr_step_epochs", "a number > 0"),
            (self.tol >= 0 and finite(self.tol), "tol", "a finite number >= 0"),
            (self.class_weight in CLASS_WEIGHTS, "class_weight", f"one of {', '.join(CLASS_WEIGHTS)}"),
            (self.optimizer == "sgd" or not (self.l1 or self.momentum or self.lr_schedule != "constant"),
             "optimizer", "sgd to use l1, momentum or lr_schedule (adagrad, lbfgs and cg take l2 only)"),
        ]

    def as_dict(self) -> dict[str, Any]:
        """The hyperparameters as a plain dict (kept in checkpoints and logs).

        Returns
        -------
        dict
            One entry per field.
        """
        return asdict(self)

    def make_optimizer(self, steps_per_epoch: int, feature_scale: ArrayLike | None = None) -> Optimizer:
        """The minibatch optimiser these hyperparameters describe (``sgd(lr)`` for the original tutorial's).

        Parameters
        ----------
        steps_per_epoch : int
            Minibatch steps in an epoch (the schedules count epochs).
        feature_scale : array of shape (n_in,), optional
            One number per feature that normalises adagrad's steps (``optimizer="adagrad"`` only).

        Returns
        -------
        Optimizer
            SGD with this configuration's L2, L1, momentum and learning-rate schedule, or adagrad
            with its L2.
        """
        if self.optimizer == "adagrad":
            plain = adagrad(self.learning_rate, feature_scale=feature_scale)
            return plain if not self.l2 else Optimizer("adagrad", chain(add_l2(self.l2), plain.transform))
        schedule = make_schedule(self.lr_schedule, self.learning_rate, steps_per_epoch, self.n_epochs,
                                 self.lr_decay, self.lr_step_epochs)
        return sgd(schedule, momentum_=self.momentum, nesterov=self.nesterov, l2=self.l2, l1=self.l1)


_KINDS = {
    "float": lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_),
    "int": lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_),
    "bool": lambda v: isinstance(v, bool | np.bool_),
    "str": lambda v: isinstance(v, str),
}
_KIND_WORDS = {"float": "a number", "int": "an integer", "bool": "True or False", "str": "a string"}
DEFAULTS = TrainConfig()

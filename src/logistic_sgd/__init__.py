"""logistic-sgd: multinomial logistic regression by minibatch SGD with the seed's early stopping.

A modern, installable rebuild of the Deep Learning Tutorials' ``logistic_sgd.py``::

    >>> from logistic_sgd import load_data, sgd_optimization_mnist
    >>> result = sgd_optimization_mnist(dataset="fashion-mnist")   # prints the seed's lines
"""

from __future__ import annotations

from ._version import __version__
from .config import TrainConfig
from .data import load_data
from .events import TrainResult
from .experiment import sgd_optimization_mnist
from .model import LogisticRegression
from .persist import load_model, save_model
from .train import fit

__all__ = [
    "LogisticRegression",
    "LogisticSGDClassifier",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "fit",
    "load_data",
    "load_model",
    "save_model",
    "sgd_optimization_mnist",
]


def __getattr__(name: str) -> object:
    """``LogisticSGDClassifier`` is imported on first use, so scikit-learn stays optional."""
    if name == "LogisticSGDClassifier":
        from .sklearn_estimator import LogisticSGDClassifier

        return LogisticSGDClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""logistic-sgd: multinomial logistic regression by minibatch SGD with the original tutorial's early stopping.

A modern, installable rebuild of the Deep Learning Tutorials' ``logistic_sgd.py``::

    >>> from logistic_sgd import load_data, sgd_optimization_mnist
    >>> result = sgd_optimization_mnist(dataset="fashion-mnist")   # prints the original tutorial's lines
"""

from __future__ import annotations

from ._version import __version__
from .core.model import LogisticRegression
from .data import load_data, open_dataset
from .experiment import sgd_optimization_mnist
from .outputs.persist import load_classifier, load_model, save_model
from .training.config import TrainConfig
from .training.events import TrainResult
from .training.loop import fit

__all__ = [
    "LogisticRegression",
    "LogisticSGDClassifier",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "fit",
    "load_classifier",
    "load_data",
    "load_model",
    "open_dataset",
    "save_model",
    "sgd_optimization_mnist",
]


def __getattr__(name: str) -> object:
    """``LogisticSGDClassifier`` is imported on first use, so scikit-learn stays optional."""
    if name == "LogisticSGDClassifier":
        from .sklearn_estimator import LogisticSGDClassifier

        return LogisticSGDClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

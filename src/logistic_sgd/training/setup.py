"""What every run needs before its first step, prepared in one place for the minibatch loop and the
full-batch solvers alike: the configuration checked, the backend ready, the classes counted, the
model made (or adopted) on the backend, the data placed there, and the weights of rows and classes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..backends import Backend
from ..core.model import LogisticRegression
from ..core.weighting import error_weights, row_weights
from ..data import Datasets, n_classes
from ..data.scaling import feature_scale
from ..errors import UsageError
from .config import TrainConfig
from .events import TrainState


@dataclass
class Run:
    """A run's pieces on its backend: ``train`` is the placed ``(x, y)`` of the training set, ``valid``
    and ``test`` likewise; ``weights`` each training row's weight (None: all 1), ``class_weights`` the
    weights of the classes in the validation and test errors (None: unweighted)."""

    config: TrainConfig
    backend: Backend
    model: LogisticRegression
    train: tuple[Any, Any]
    valid: tuple[Any, Any]
    test: tuple[Any, Any]
    weights: Any = None
    class_weights: Any = None
    feature_scale: Any = None
    """Each feature's typical size (``data.scaling.feature_scale``), for adagrad's steps; None otherwise."""


def prepare(
    datasets: Datasets,
    config: TrainConfig,
    backend: Backend,
    model: LogisticRegression | None = None,
    resume: TrainState | None = None,
    sample_weight: Any = None,
    class_weight: Mapping[int, float] | None = None,
) -> Run:
    """The :class:`Run` of ``config`` on ``datasets`` (see :func:`logistic_sgd.training.loop.fit` for the
    parameters): the model is ``resume``'s, else ``model``, else a zero-initialised one sized from the
    data; the classes are the model's, else as many as the labels need.

    Raises
    ------
    UsageError
        ``config`` is not valid, or a split holds fewer examples than a minibatch.
    """
    config.validate()
    for name, (x, _) in zip(("training", "validation", "test"), datasets, strict=True):
        if len(x) < config.batch_size:
            raise UsageError(
                f"batch_size {config.batch_size} is larger than the {name} set ({len(x)} examples)", "batch_size"
            )
    if resume is not None:
        model = resume.model
    n_out = model.n_out if model is not None else n_classes(datasets)
    class_weight = config.class_weight if class_weight is None else class_weight
    weights = row_weights(class_weight, datasets[0][1], n_out, sample_weight)
    scored = error_weights(class_weight, datasets[0][1], n_out)
    backend = backend.ready()
    if model is None:
        model = backend.new_model(datasets[0][0].shape[1], n_out, config.floatx)
    model = backend.adopt(model)
    train, valid, test = ((backend.place(x, config.floatx), backend.arrays.asarray(y)) for x, y in datasets)
    placed_weights = None if weights is None else backend.arrays.asarray(weights, dtype=config.floatx)
    scale = feature_scale(datasets[0][0]) if config.optimizer == "adagrad" else None
    return Run(config, backend, model, train, valid, test, placed_weights, scored, scale)

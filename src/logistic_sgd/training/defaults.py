"""Defaults that fit the data: what a run does with the settings a user did not give.

The original program's numbers (learning rate 0.13, minibatches of 600, patience 5000) are the
defaults of its experiment, and stay so for images: a run on MNIST, Fashion-MNIST or any other
images prints the original lines. They do not suit every other dataset: a table of a few hundred
rows has fewer validation examples than one minibatch. :func:`choose_defaults` looks at the data
(a :class:`DataSummary`) and the settings the user gave, and returns the changes to the other
settings with one line each saying what was chosen and why; a user who gives a setting always
keeps it.

The rules, in order:

- **images**: nothing changes (the original experiment's numbers), but for the iteration cap below
  when a full-batch solver is asked for;
- **a small dense table** (at most :data:`SMALL_CELLS` training cells), when SciPy is installed and
  no optimisation setting was given: full-batch L-BFGS with ``l2 = 1 / n_train`` (scikit-learn's
  ``LogisticRegression(C=1)`` on the mean loss: ``C * sum(loss) + ||W||^2 / 2`` divided by
  ``C * n_train``), validated after every iteration with the original patience rule;
- **sparse rows** (no optimiser or learning rate given): minibatch SGD on batches of
  :data:`SPARSE_BATCH` rows at the rate ``batch / mean ||x||^2`` (the training rows' mean squared
  norm): the step of normalised least mean squares, under which each example moves its own logits
  by about its own error; sparse rows (text) are nearly orthogonal, so their steps hardly add up
  on shared weights, and the rate is stable whatever the features' units (counts, tf-idf); and,
  unless a setting of the patience rule is given, a patience increase of
  :data:`SPARSE_PATIENCE_INCREASE` instead of the original 2: such a run improves by hundredths of
  a point an epoch for many epochs after its last clear improvement, and the original rule runs on
  to twice that iteration (the performance page measures both rules on five text tasks);
- **larger dense rows that are not images** (no optimiser or learning rate given, and the full-batch
  rule above did not apply): :func:`~logistic_sgd.core.optim.adagrad` (per-feature adaptive steps,
  normalised by each feature's size) at :data:`DENSE_RATE` on batches of :data:`DENSE_BATCH`, a rate
  that needs no tuning to the data's units or correlations (minibatch SGD at one rate does);
- **a full-batch solver** (L-BFGS or CG, chosen by the rule above or given) with no number of
  epochs given: at most :data:`FULL_BATCH_ITERATIONS` iterations, scikit-learn's ``max_iter``. The
  original 1,000 epochs are passes of minibatch SGD; a quasi-Newton iteration does far more per
  pass, and past a hundred iterations the validation error of these solvers moves by hundredths of
  a point while the patience rule, which doubles on each clear improvement, keeps them running
  (on Fashion-MNIST: 100 iterations, 15.59 % test error; run to the patience, 415 iterations and
  15.56 %, four times the time);
- **a minibatch larger than a split** (batch size not given): the batch shrinks so that the
  validation set is scored whole at every validation (the largest batch that divides it and fits
  in every split, unless that is less than half the smallest split: then that split's size).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from .config import FULL_BATCH, TrainConfig

SMALL_CELLS = 10_000_000
SPARSE_BATCH = 64
SPARSE_PATIENCE_INCREASE = 1.5
DENSE_BATCH = 100
DENSE_RATE = 0.1
FULL_BATCH_ITERATIONS = 100
STEP_SETTINGS = frozenset(("optimizer", "learning_rate", "momentum", "nesterov", "l1", "lr_schedule", "lr_decay",
                           "lr_step_epochs"))
"""Settings whose giving leaves the step to the user (a batch size or ``l2`` alone does not)."""
OPTIMISATION = frozenset(("optimizer", "learning_rate", "batch_size", "momentum", "nesterov", "l1", "l2",
                          "lr_schedule", "lr_decay", "lr_step_epochs", "tol"))
"""Settings whose giving leaves the choice of optimiser to the user."""
NEEDS_SGD = frozenset(("checkpoint", "resume", "distributed"))
"""Settings that only minibatch SGD takes (a full-batch solver's state lives in SciPy)."""
PATIENCE_SETTINGS = frozenset(("patience", "patience_increase", "improvement_threshold"))
"""Settings of the patience rule: giving one keeps the original rule (patience increase 2)."""


@dataclass(frozen=True)
class DataSummary:
    """What the defaults look at: the sizes of the splits, the number of features, and whether
    the examples are image pixels (the original experiment's kind of data) or sparse rows."""

    n_train: int
    n_valid: int
    n_test: int
    n_features: int
    images: bool = False
    sparse: bool = False
    mean_sq_norm: float = 0.0
    """The training rows' mean squared norm ``mean ||x||^2`` (sparse rows; 0 when not measured)."""


def choose_defaults(
    summary: DataSummary, config: TrainConfig, given: Collection[str],
) -> tuple[dict[str, Any], list[str]]:
    """The changes to ``config`` for data like ``summary``, leaving alone every setting in
    ``given`` (names of :class:`TrainConfig` fields, and ``checkpoint``, ``resume``,
    ``distributed`` when asked for), and one line for each change saying why.

    Returns
    -------
    changes : dict
        :class:`TrainConfig` field names to their new values (empty: keep ``config``).
    reasons : list of str
        One line per change, for the log.
    """
    given = set(given)
    if summary.images:
        return _iterations(config.optimizer, config, given)
    changes: dict[str, Any] = {}
    reasons: list[str] = []
    smallest = min(summary.n_train, summary.n_valid, summary.n_test)
    cells = summary.n_train * summary.n_features
    if (not summary.sparse and cells <= SMALL_CELLS and not given & (OPTIMISATION | NEEDS_SGD)
            and importlib.util.find_spec("scipy") is not None):
        l2 = 1.0 / summary.n_train
        changes |= {"optimizer": "lbfgs", "l2": l2}
        reasons.append(f"optimizer lbfgs, l2 {l2:.3g} (1 / {summary.n_train} training examples, scikit-learn's "
                       f"C=1): a small table ({summary.n_train} x {summary.n_features}) is fitted best by full-batch "
                       "L-BFGS; --optimizer sgd keeps the original program's minibatch SGD")
    if not changes and not given & STEP_SETTINGS:
        step_changes, reason = _step_rule(summary, config, given, smallest)
        changes |= step_changes
        reasons += [reason] if reason else []
    capped, reason = _iterations(changes.get("optimizer", config.optimizer), config, given)
    changes |= capped
    reasons += reason
    if "batch_size" not in given and config.batch_size > smallest and "batch_size" not in changes:
        batch = _scoring_batch(summary.n_valid, smallest)
        changes["batch_size"] = batch
        split = min((summary.n_valid, "validation"), (summary.n_test, "test"), (summary.n_train, "training"),
                    key=lambda sized: sized[0])
        scored = summary.n_valid - summary.n_valid % batch
        whole = "the whole validation set" if scored == summary.n_valid else f"{scored} of the validation examples"
        reasons.append(f"batch size {batch}: the default {config.batch_size} is larger than the {split[1]} set "
                       f"({split[0]} examples); {batch} scores {whole} ({summary.n_valid}) at every validation")
    return changes, reasons


def _iterations(optimizer: str, config: TrainConfig, given: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The cap on a full-batch solver's iterations (see the module doc), unless the epochs were given."""
    if optimizer not in FULL_BATCH or "n_epochs" in given or config.n_epochs <= FULL_BATCH_ITERATIONS:
        return {}, []
    return {"n_epochs": FULL_BATCH_ITERATIONS}, [
        f"at most {FULL_BATCH_ITERATIONS} iterations of {optimizer} (scikit-learn's max_iter): past them the "
        "validation error moves by hundredths of a point; --n-epochs sets another limit"]


def _step_rule(summary: DataSummary, config: TrainConfig, given: set[str], smallest: int
               ) -> tuple[dict[str, Any], str]:
    """The optimiser, rate and batch for sparse rows and for larger dense rows (see the module doc); the
    batch at most the ``smallest`` split."""
    if summary.sparse and summary.mean_sq_norm > 0:
        batch = config.batch_size if "batch_size" in given else min(SPARSE_BATCH, smallest)
        rate = batch / summary.mean_sq_norm
        changes: dict[str, Any] = {"optimizer": "sgd", "batch_size": batch, "learning_rate": rate}
        patience = ""
        if not given & PATIENCE_SETTINGS and config.patience_increase > SPARSE_PATIENCE_INCREASE:
            changes["patience_increase"] = SPARSE_PATIENCE_INCREASE
            patience = (f"; patience increase {SPARSE_PATIENCE_INCREASE:g} (not {config.patience_increase:g}) because "
                        "past its last clear improvement such a run gains hundredths of a point an epoch")
        return changes, (
            f"for sparse rows: optimizer sgd, batch size {batch}, learning rate {rate:.4g} (= {batch} / "
            f"{summary.mean_sq_norm:.4g}, the rows' mean squared norm) because that step moves each example's "
            f"logits by about its own error whatever the features' units, and sparse rows hardly share weights"
            f"{patience}")
    if summary.sparse or "distributed" in given:  # no rows to measure; distributed runs take sgd only
        return {}, ""
    batch = config.batch_size if "batch_size" in given else min(DENSE_BATCH, smallest)
    return {"optimizer": "adagrad", "batch_size": batch, "learning_rate": DENSE_RATE}, (
        f"for dense rows ({summary.n_train} x {summary.n_features}, trained by minibatches): optimizer adagrad, "
        f"learning rate {DENSE_RATE}, batch size {batch} because per-feature adaptive steps, normalised by each "
        "feature's size, need no rate tuned to the data")


def _scoring_batch(n_valid: int, limit: int) -> int:
    """The largest batch at most ``limit`` that divides ``n_valid`` (so validation drops no row),
    or ``limit`` itself when that divisor is less than half of it."""
    divisor = next(b for b in range(min(n_valid, limit), 0, -1) if n_valid % b == 0)
    return divisor if 2 * divisor >= limit else limit


def summary_of(datasets: Any, images: bool) -> DataSummary:
    """The :class:`DataSummary` of three (x, y) splits; ``images``: whether ``x`` are image pixels."""
    from ..data.rows import is_sparse
    from ..data.scaling import sparse_mean_sq_norm

    (x, _), (vx, _), (tx, _) = datasets
    sparse = is_sparse(x)
    norm = (sparse_mean_sq_norm(x) or 0.0) if sparse else 0.0
    return DataSummary(len(x), len(vx), len(tx), x.shape[1], images=images, sparse=sparse, mean_sq_norm=norm)

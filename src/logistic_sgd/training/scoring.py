"""The original tutorial's scores: the error of a model over minibatches of a split, and error counts on whole splits.

Every score asks the backend for the classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.model import LogisticRegression

if TYPE_CHECKING:
    from ..backends import Backend
    from .distributed import Communicator


def minibatch_error(
    backend: Backend, model: LogisticRegression, x: Any, y: Any, batch_size: int, comm: Communicator | None = None,
    class_weights: Any = None,
) -> float:
    """The original tutorial's score: the mean over whole minibatches of each minibatch's error rate.

    A trailing partial minibatch is left out, as in the original tutorial (9,600 of 10,000 images at batch 600).
    The logits are computed minibatch by minibatch (faster here than one tall product, and the
    same products the chapter computed); the softmax and argmax run over groups of minibatches.
    With ``comm``, the minibatches are shared out round-robin and the counts summed over ranks.
    With ``class_weights`` (one per class), each minibatch's error is weighted as the training loss
    is: ``sum w_y wrong / sum w_y`` (the balanced error rate, for balanced weights).
    """
    if class_weights is not None:
        return _weighted_minibatch_error(backend, model, x, y, batch_size, comm, class_weights)
    xp = model.arrays.xp
    n_batches = len(x) // batch_size
    if comm is not None:
        per_batch = np.zeros(n_batches, dtype=np.int64)
        for i in range(comm.rank, n_batches, comm.world):
            rows = slice(i * batch_size, (i + 1) * batch_size)
            per_batch[i] = int(xp.sum(backend.predict(model, x[rows]) != y[rows]))
        comm.allreduce_(per_batch)
        return float(np.mean(per_batch / batch_size))
    group = max(1, 8192 // batch_size)  # minibatches scored together: bounded memory for any set size
    counts = []
    for first in range(0, n_batches, group):
        last = min(n_batches, first + group)
        rows = slice(first * batch_size, last * batch_size)
        wrong = backend.predict(model, x[rows], chunk=batch_size) != y[rows]
        counts.append(xp.sum(xp.reshape(wrong, (last - first, batch_size)), axis=1))
    per_batch = model.arrays.to_numpy(xp.concat(counts))  # one transfer from a device
    return float(np.mean(per_batch / batch_size))


def _weighted_minibatch_error(
    backend: Backend, model: LogisticRegression, x: Any, y: Any, batch_size: int, comm: Communicator | None,
    class_weights: Any,
) -> float:
    arrays = model.arrays
    n_batches = len(x) // batch_size
    wrong = np.zeros(n_batches)
    total = np.zeros(n_batches)
    for i in range(n_batches) if comm is None else range(comm.rank, n_batches, comm.world):
        rows = slice(i * batch_size, (i + 1) * batch_size)
        labels = np.asarray(arrays.to_numpy(y[rows]), dtype=np.int64)
        missed = np.asarray(arrays.to_numpy(backend.predict(model, x[rows]) != y[rows]))
        w = class_weights[labels]
        wrong[i], total[i] = float(w @ missed), float(w.sum())
    if comm is not None:
        comm.allreduce_(wrong)
        comm.allreduce_(total)
    return float(np.mean(wrong / np.where(total > 0, total, 1.0)))


def count_errors(backend: Backend, model: LogisticRegression, x: Any, y: Any, chunk: int = 8192) -> int:
    """Number of misclassified rows of ``x``, scored in chunks to bound memory."""
    xp = model.arrays.xp
    return sum(
        int(xp.sum(backend.predict(model, x[i : i + chunk]) != y[i : i + chunk])) for i in range(0, len(x), chunk)
    )

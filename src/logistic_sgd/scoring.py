"""The seed's scores: the error of a model over minibatches of a split, and error counts on whole splits.

Every score asks the backend for the classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .model import LogisticRegression

if TYPE_CHECKING:
    from .backends import Backend
    from .distributed import Communicator


def minibatch_error(
    backend: Backend, model: LogisticRegression, x: Any, y: Any, batch_size: int, comm: Communicator | None = None
) -> float:
    """The seed's score: the mean over whole minibatches of each minibatch's error rate.

    A trailing partial minibatch is left out, as in the seed (9,600 of 10,000 images at batch 600).
    The logits are computed minibatch by minibatch (faster here than one tall product, and the
    same products the seed computed); the softmax and argmax run over groups of minibatches.
    With ``comm``, the minibatches are shared out round-robin and the counts summed over ranks.
    """
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


def count_errors(backend: Backend, model: LogisticRegression, x: Any, y: Any, chunk: int = 8192) -> int:
    """Number of misclassified rows of ``x``, scored in chunks to bound memory."""
    xp = model.arrays.xp
    return sum(
        int(xp.sum(backend.predict(model, x[i : i + chunk]) != y[i : i + chunk])) for i in range(0, len(x), chunk)
    )

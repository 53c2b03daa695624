"""Optimisers as small ``(init, update)`` pairs, in the manner of Optax.

``init(params) -> state`` makes the optimiser's state (explicit data, so it can be checkpointed);
``update(grads, state, params) -> state`` applies one step to ``params`` in place and returns the
new state. In-place updates keep the hot loop free of allocations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Params = Sequence[NDArray[np.floating]]
State = dict[str, Any]


@dataclass(frozen=True)
class Optimizer:
    """An optimiser: ``init(params) -> state`` and ``update(grads, state, params) -> state``."""

    name: str
    init: Callable[[Params], State]
    update: Callable[[Params, State, Params], State]


def sgd(learning_rate: float) -> Optimizer:
    """Plain minibatch SGD, the seed's rule: ``theta <- theta - learning_rate * grad``.

    The step is computed in the parameters' dtype (``learning_rate`` is cast to it first),
    as a Theano graph in floatX does. ``grads`` are overwritten.
    """

    def init(params: Params) -> State:
        return {"step": 0}

    def update(grads: Params, state: State, params: Params) -> State:
        for p, g in zip(params, grads, strict=True):
            g *= p.dtype.type(learning_rate) if isinstance(p, np.ndarray) else learning_rate
            p -= g
        return {"step": state["step"] + 1}

    return Optimizer("sgd", init, update)

"""Optimisers as small composable ``(init, update)`` pieces, in the manner of Optax.

A :class:`Transform` is ``init(params) -> state`` and ``update(grads, state, params) -> state``:
it rewrites ``grads`` in place into the step to subtract and returns its new state. :func:`chain`
composes transforms; an :class:`Optimizer` is a chain plus ``params -= step``. State is explicit
data (numbers and arrays), so checkpoints hold it and a resumed run continues exactly.

The original tutorial's rule is ``sgd(lr)``: ``theta <- theta - lr * grad``, computed in the parameters' dtype
(``lr`` is cast to it first, as a Theano graph in floatX does).

Pieces: ``add_l2`` (``grad + l2 * theta``), ``add_l1`` (``grad + l1 * sign(theta)``), ``momentum``
(heavy-ball ``v <- mu v + grad``, or Nesterov ``grad + mu v``), ``scale_by_schedule`` (the learning
rate at each step: constant, step, cosine, inverse-time), ``scale_by_adagrad`` (per-weight adaptive,
per-feature normalised steps: :func:`adagrad`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

Params = Sequence[Any]
State = dict[str, Any]
Schedule = Callable[[int], float]


@dataclass(frozen=True)
class Transform:
    """One piece of an optimiser: ``init(params) -> state``, ``update(grads, state, params) -> state``.

    ``rates``, set on a piece whose whole step is ``grads *= rate(step)``, gives the rates of the
    next ``n`` steps and the state after them without touching any array: what a backend needs to
    take a run of steps in one call. ``decay`` is set on L2 weight decay (``grads[0] += decay * W``,
    stateless), which a backend may take inside a run too.

    Attributes
    ----------
    init : callable
        ``init(params) -> state``: the state before the first step.
    update : callable
        ``update(grads, state, params) -> state``: rewrites ``grads`` in place into the step.
    rates : callable or None
        ``rates(state, n) -> (rates, state)``, on a piece whose step is ``grads *= rate(step)``.
    decay : float
        The L2 decay of an ``add_l2`` piece (0 otherwise).
    adagrad : Adagrad or None
        The constants of a :func:`scale_by_adagrad` piece (None otherwise).
    """

    init: Callable[[Params], State]
    update: Callable[[Params, State, Params], State]
    rates: Callable[[State, int], tuple[list[float], State]] | None = None
    decay: float = 0.0
    adagrad: Adagrad | None = None


@dataclass(frozen=True)
class Adagrad:
    """The constants of :func:`scale_by_adagrad`, for a backend that takes its steps in one call.

    Attributes
    ----------
    learning_rate : float
        The step's size in logits.
    eps : float
        Added to the accumulated squared gradients before the square root.
    feature_scale : ndarray of shape (n_in,) or None
        A typical size of each feature's values (None: 1 for every feature).
    """

    learning_rate: float
    eps: float
    feature_scale: ArrayLike | None = None


@dataclass(frozen=True)
class Optimizer:
    """A chain of transforms whose result is subtracted from the parameters, in place.

    Attributes
    ----------
    name : str
        The optimiser's name (``"sgd"``).
    transform : Transform
        The chain that turns gradients into the step.
    """

    name: str
    transform: Transform

    def init(self, params: Params) -> State:
        """The state before the first step.

        Parameters
        ----------
        params : sequence of arrays
            The parameters ``[W, b]``.

        Returns
        -------
        dict
            The state (step counters, momentum buffers): numbers and arrays, kept in checkpoints.
        """
        return self.transform.init(params)

    def update(self, grads: Params, state: State, params: Params) -> State:
        """Apply one step to ``params`` in place (``grads`` are overwritten) and return the new state.

        Parameters
        ----------
        grads : sequence of arrays
            The gradients ``[dW, db]``; overwritten by the step.
        state : dict
            The state after the previous step.
        params : sequence of arrays
            The parameters ``[W, b]``, updated in place.

        Returns
        -------
        dict
            The state after this step.
        """
        state = self.transform.update(grads, state, params)
        for p, g in zip(params, grads, strict=True):
            p -= g
        return state

    @property
    def takes_runs(self) -> bool:
        """Whether a step is ``params -= rate * grads`` (plain SGD, any schedule), perhaps with L2
        decay (:attr:`weight_decay`), so that a backend may take a run of steps in one call, given
        :meth:`run_rates`."""
        return self.transform.rates is not None

    @property
    def adagrad(self) -> Adagrad | None:
        """The constants of an optimiser that is :func:`adagrad` alone (a backend may take a run of its
        steps in one call, given :meth:`run_state`); None for any other."""
        return self.transform.adagrad

    def run_state(self, state: State, steps: int) -> tuple[list[Any], State]:
        """For :attr:`adagrad`: the accumulators a run of ``steps`` steps updates in place, and the
        state after those steps.

        Parameters
        ----------
        state : dict
            The optimiser's state before the run.
        steps : int
            How many steps the run takes.

        Returns
        -------
        list of arrays
            ``[A_W, A_b]``, shapes (n_in, 1) and (1,), to be updated in place by the run.
        dict
            The state after the run (the step counter advanced; the accumulators are the same arrays).

        Raises
        ------
        ValueError
            The optimiser is not adagrad alone.
        """
        if self.transform.adagrad is None:
            raise ValueError(f"{self.name} is not adagrad alone")
        part = state["parts"][-1]
        return part["sum_sq"], {"step": state["step"] + steps, "parts": state["parts"]}

    @property
    def weight_decay(self) -> float:
        """The L2 decay a run of steps must apply (0 for plain SGD)."""
        return self.transform.decay

    def run_rates(self, state: State, steps: int, dtype: DTypeLike) -> tuple[np.ndarray, State]:
        """The learning rates of the next ``steps`` steps, and the state after those steps; only where
        :attr:`takes_runs`.

        Parameters
        ----------
        state : dict
            The state before the run.
        steps : int
            Steps in the run.
        dtype : numpy dtype or str
            The parameters' dtype: the rates are cast as each :meth:`update` casts them.

        Returns
        -------
        rates : ndarray of shape (steps,)
            The learning rate of each step.
        state : dict
            The state after the run.

        Raises
        ------
        ValueError
            If a step does more than scale the gradient by a learning rate.
        """
        if self.transform.rates is None:
            raise ValueError(f"{self.name} does more than scale the gradient by a learning rate")
        rates, state = self.transform.rates(state, steps)
        return np.array(rates, dtype=dtype), state


def chain(*transforms: Transform) -> Transform:
    """Apply ``transforms`` in order; the state is the list of their states and a step counter.

    A chain whose last piece has ``rates`` and whose other pieces are weight decays has them too.

    Parameters
    ----------
    *transforms : Transform
        The pieces, applied first to last.

    Returns
    -------
    Transform
        The composed piece.
    """

    def init(params: Params) -> State:
        return {"step": 0, "parts": [t.init(params) for t in transforms]}

    def update(grads: Params, state: State, params: Params) -> State:
        parts = [t.update(grads, s, params) for t, s in zip(transforms, state["parts"], strict=True)]
        return {"step": state["step"] + 1, "parts": parts}

    def rates(state: State, steps: int) -> tuple[list[float], State]:
        last = transforms[-1].rates
        assert last is not None
        values, part = last(state["parts"][-1], steps)
        return values, {"step": state["step"] + steps, "parts": [*state["parts"][:-1], part]}

    runs = bool(transforms) and transforms[-1].rates is not None and all(t.decay for t in transforms[:-1])
    alone = transforms[0].adagrad if len(transforms) == 1 else None
    return Transform(init, update, rates if runs else None, sum(t.decay for t in transforms[:-1]) if runs else 0.0,
                     alone)


def _cast(p: Any, value: float) -> Any:
    return p.dtype.type(value) if isinstance(p, np.ndarray) else value


def add_l2(l2: float) -> Transform:
    """L2 weight decay on ``W`` (not the bias): ``grad_W += l2 * W``, i.e. the loss gains ``l2/2 ||W||^2``.

    Parameters
    ----------
    l2 : float
        The decay.

    Returns
    -------
    Transform
        The piece (stateless).
    """

    def update(grads: Params, state: State, params: Params) -> State:
        g = grads[0]  # in place: grads may be a tuple
        g += _cast(params[0], l2) * params[0]
        return state

    return Transform(lambda params: {}, update, decay=l2)


def add_l1(l1: float) -> Transform:
    """L1 penalty on ``W`` (not the bias): ``grad_W += l1 * sign(W)``, i.e. the loss gains ``l1 ||W||_1``.

    Parameters
    ----------
    l1 : float
        The penalty's weight.

    Returns
    -------
    Transform
        The piece (stateless).
    """

    def update(grads: Params, state: State, params: Params) -> State:
        xp = np if isinstance(params[0], np.ndarray) else _namespace(params[0])
        g = grads[0]
        g += _cast(params[0], l1) * xp.sign(params[0])
        return state

    return Transform(lambda params: {}, update)


def momentum(mu: float, nesterov: bool = False) -> Transform:
    """Heavy-ball momentum ``v <- mu v + g`` (step ``v``), or Nesterov's (step ``g + mu v``).

    Parameters
    ----------
    mu : float
        The momentum, in [0, 1).
    nesterov : bool, default False
        Nesterov's step instead of the heavy ball's.

    Returns
    -------
    Transform
        The piece; its state is the velocity ``v`` of each parameter.
    """

    def init(params: Params) -> State:
        return {"velocity": [p * 0 for p in params]}

    def update(grads: Params, state: State, params: Params) -> State:
        for g, v in zip(grads, state["velocity"], strict=True):
            v *= _cast(v, mu)
            v += g
            if nesterov:
                g += _cast(v, mu) * v
            else:
                g[...] = v
        return state

    return Transform(init, update)


def scale_by_schedule(schedule: Schedule) -> Transform:
    """Multiply the step by the learning rate ``schedule(step)`` (cast to the parameters' dtype).

    Parameters
    ----------
    schedule : callable
        ``schedule(step) -> learning rate``, the step counted from 0.

    Returns
    -------
    Transform
        The piece; its state counts the steps.
    """

    def init(params: Params) -> State:
        return {"count": 0}

    def update(grads: Params, state: State, params: Params) -> State:
        lr = schedule(state["count"])
        for p, g in zip(params, grads, strict=True):
            g *= _cast(p, lr)
        return {"count": state["count"] + 1}

    def rates(state: State, steps: int) -> tuple[list[float], State]:
        count = state["count"]
        return [schedule(count + i) for i in range(steps)], {"count": count + steps}

    return Transform(init, update, rates)


def scale_by_adagrad(learning_rate: float, eps: float = 1e-8, feature_scale: ArrayLike | None = None) -> Transform:
    """Per-feature adaptive steps (AdaGrad, Duchi, Hazan and Singer 2011, one rate per feature),
    normalised by each feature's size.

    Row ``k`` of ``W`` holds feature ``k``'s weights for every class; ``A_k`` (state ``sum_sq``: an
    (n_in, 1) array for ``W``, a (1,) array for ``b``, which counts as one feature) sums the squared
    norms of the row's gradients: ``A_k <- A_k + ||g_k||^2``, and the row's step is ``lr * g_k /
    (s_k sqrt(A_k + eps))``, with ``s_k = feature_scale[k]`` a typical size of the feature's values
    (1 for the bias, and for every feature when not given). A feature seen often gets smaller steps
    than a rare one; the classes' weights of a row keep their proportions (a class whose gradient is
    small moves little); and a step moves the logits by about ``lr`` whatever the feature's units.

    A row whose gradient is zero keeps its ``A_k`` and does not move: a step on sparse rows changes
    only the weight rows of its minibatch's features, exactly as this dense update does.

    Parameters
    ----------
    learning_rate : float
        ``lr``: about how far a step moves the logits.
    eps : float, default 1e-8
        Added to ``A_k`` under the square root.
    feature_scale : array-like of shape (n_in,), optional
        ``s_k`` for each feature (1 when not given).

    Returns
    -------
    Transform
        The piece, with :attr:`Transform.adagrad` set for backends that take its runs.
    """
    constants = Adagrad(learning_rate, eps, feature_scale)

    def init(params: Params) -> State:
        return {"sum_sq": [p[..., :1] * 0 for p in params]}  # (n_in, 1) for W, (1,) for b

    def update(grads: Params, state: State, params: Params) -> State:
        xp = np if isinstance(params[0], np.ndarray) else _namespace(params[0])
        for i, (p, g, a) in enumerate(zip(params, grads, state["sum_sq"], strict=True)):
            a += xp.sum(g * g, axis=-1, keepdims=True)
            g *= _cast(p, learning_rate) / xp.sqrt(a + _cast(p, eps))
            if i == 0 and feature_scale is not None:
                g /= xp.asarray(feature_scale, dtype=p.dtype)[:, None]
        return state

    return Transform(init, update, adagrad=constants)


def make_schedule(
    kind: str, learning_rate: float, steps_per_epoch: int, n_epochs: int, decay: float, step_epochs: float
) -> Schedule:
    """The learning rate as a function of the step; epochs are ``step / steps_per_epoch``.

    ``constant``: ``lr``. ``step``: ``lr * decay ** floor(epoch / step_epochs)``.
    ``cosine``: ``lr * (1 + cos(pi * epoch / n_epochs)) / 2``. ``inverse-time``: ``lr / (1 + decay * epoch)``.

    Parameters
    ----------
    kind : {"constant", "step", "cosine", "inverse-time"}
        The schedule.
    learning_rate : float
        ``lr``, the rate at step 0.
    steps_per_epoch : int
        Steps in an epoch.
    n_epochs : int
        Epochs of the run (the cosine's period).
    decay : float
        The decay of ``step`` and ``inverse-time``.
    step_epochs : float
        Epochs between two decays of ``step``.

    Returns
    -------
    callable
        ``schedule(step) -> learning rate``.

    Raises
    ------
    ValueError
        An unknown ``kind``.
    """
    if kind == "constant":
        return lambda step: learning_rate
    if kind == "step":
        return lambda step: learning_rate * decay ** math.floor(step / steps_per_epoch / step_epochs)
    if kind == "cosine":
        return lambda step: learning_rate * 0.5 * (1 + math.cos(math.pi * min(step / steps_per_epoch, n_epochs)
                                                                  / n_epochs))
    if kind == "inverse-time":
        return lambda step: learning_rate / (1 + decay * step / steps_per_epoch)
    raise ValueError(f"unknown schedule {kind!r}")


SCHEDULES = ("constant", "step", "cosine", "inverse-time")


def sgd(
    learning_rate: float | Schedule,
    *,
    momentum_: float = 0.0,
    nesterov: bool = False,
    l2: float = 0.0,
    l1: float = 0.0,
) -> Optimizer:
    """Minibatch SGD: optional L2 and L1 terms, then momentum, then the (scheduled) learning rate.

    ``sgd(lr)`` alone is the original tutorial's rule, bit for bit.

    Parameters
    ----------
    learning_rate : float or callable
        The learning rate, or a schedule ``step -> rate`` (:func:`make_schedule`).
    momentum_ : float, default 0.0
        Momentum (:func:`momentum`); 0 for none.
    nesterov : bool, default False
        Nesterov's momentum.
    l2 : float, default 0.0
        L2 weight decay (:func:`add_l2`).
    l1 : float, default 0.0
        L1 penalty (:func:`add_l1`).

    Returns
    -------
    Optimizer
        The optimiser.
    """
    schedule = learning_rate if callable(learning_rate) else (lambda step: learning_rate)
    parts = [p for p in (
        add_l2(l2) if l2 else None,
        add_l1(l1) if l1 else None,
        momentum(momentum_, nesterov) if momentum_ else None,
    ) if p is not None]
    return Optimizer("sgd", chain(*parts, scale_by_schedule(schedule)))


def adagrad(learning_rate: float, *, eps: float = 1e-8, feature_scale: ArrayLike | None = None) -> Optimizer:
    """AdaGrad with per-feature normalised steps (:func:`scale_by_adagrad`).

    Parameters
    ----------
    learning_rate : float
        About how far a step moves the logits.
    eps : float, default 1e-8
        Added to the accumulated squared gradients under the square root.
    feature_scale : array-like of shape (n_in,), optional
        A typical size of each feature's values (1 when not given).

    Returns
    -------
    Optimizer
        The optimiser, named ``"adagrad"``.
    """
    return Optimizer("adagrad", chain(scale_by_adagrad(learning_rate, eps, feature_scale)))


def _namespace(a: Any) -> Any:
    import array_api_compat

    return array_api_compat.array_namespace(a)

"""Optimisers: each piece against its formula, composition, full-batch SciPy methods, exact resume."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd import TrainConfig, fit, load_data
from logistic_sgd.core.optim import add_l1, add_l2, chain, make_schedule, scale_by_schedule, sgd
from logistic_sgd.outputs.persist import load_checkpoint, save_checkpoint
from logistic_sgd.training.events import BaseListener, StopRequest, TrainingInterrupted


def _params(rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    p = [rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)]
    g = [rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)]
    return p, g


def test_plain_sgd_is_the_seeds_rule_bit_for_bit() -> None:
    p, g = _params(np.random.default_rng(0))
    expected = [a - np.float32(0.13) * b for a, b in zip(p, g, strict=True)]
    opt = sgd(0.13)
    opt.update([x.copy() for x in g], opt.init(p), p)
    for a, b in zip(p, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_run_rates_are_what_updates_would_do() -> None:
    """The rates and state a run of plain steps reports are those of single updates; only plain SGD,
    with L2 decay (which the run applies), may be run that way, not with L1 or momentum."""
    schedule = make_schedule("cosine", 0.13, 7, 3, 0.5, 1.0)
    opt = sgd(schedule)
    p, g = _params(np.random.default_rng(1))
    state = opt.update([x.copy() for x in g], opt.init(p), p)
    assert opt.takes_runs
    rates, after = opt.run_rates(state, 4, np.float32)
    for rate in rates:
        ones = [np.ones_like(x) for x in g]
        state = opt.update(ones, state, p)
        assert ones[0][0, 0] == rate and rates.dtype == np.float32
    assert after == state and len(set(rates.tolist())) == 4 and opt.weight_decay == 0
    decayed = sgd(schedule, l2=1e-4)
    assert decayed.takes_runs and decayed.weight_decay == 1e-4
    start = decayed.update([x.copy() for x in g], decayed.init(p), p)
    rates, after = decayed.run_rates(start, 3, np.float32)
    for rate in rates:
        ones = [np.ones_like(x) for x in g]
        start = decayed.update(ones, start, p)
        assert ones[1][0] == rate  # the bias: no decay, the rate alone
    assert after == start
    for other in (sgd(0.1, momentum_=0.9), sgd(0.1, l1=1e-4), sgd(0.1, l2=1e-4, l1=1e-4)):
        assert not other.takes_runs
        with pytest.raises(ValueError, match="learning rate"):
            other.run_rates(other.init(p), 1, np.float32)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_against_its_formula(nesterov: bool) -> None:
    rng = np.random.default_rng(1)
    p, _ = _params(rng)
    p64 = [a.astype(np.float64) for a in p]
    ref = [a.copy() for a in p64]
    velocity = [np.zeros_like(a) for a in ref]
    opt = sgd(0.1, momentum_=0.9, nesterov=nesterov)
    state = opt.init(p64)
    for _ in range(4):
        grads = [rng.normal(size=a.shape) for a in ref]
        for a, v, g in zip(ref, velocity, grads, strict=True):
            v *= 0.9
            v += g
            a -= 0.1 * (g + 0.9 * v if nesterov else v)
        state = opt.update([g.copy() for g in grads], state, p64)
    for a, b in zip(p64, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert state["step"] == 4


def test_weight_decay_terms_touch_W_only() -> None:
    p, g = _params(np.random.default_rng(2))
    g2 = [x.copy() for x in g]
    t = chain(add_l2(0.5), add_l1(0.25))
    t.update(g2, t.init(p), p)
    np.testing.assert_allclose(g2[0], g[0] + 0.5 * p[0] + 0.25 * np.sign(p[0]), rtol=1e-6)
    np.testing.assert_array_equal(g2[1], g[1])


def test_schedules() -> None:
    steps = 10
    assert make_schedule("constant", 0.1, steps, 20, 0.5, 10)(123) == 0.1
    step = make_schedule("step", 0.1, steps, 20, 0.5, 2)
    assert step(0) == 0.1 and step(19) == 0.1 and step(20) == 0.05 and step(45) == 0.025
    cos = make_schedule("cosine", 0.1, steps, 20, 0.5, 10)
    assert cos(0) == 0.1 and cos(100) == pytest.approx(0.05) and cos(200) == pytest.approx(0) and cos(400) >= 0
    inv = make_schedule("inverse-time", 0.1, steps, 20, 0.5, 10)
    assert inv(20) == pytest.approx(0.1 / 2)
    s = scale_by_schedule(step)
    p, g = _params(np.random.default_rng(3))
    state = s.init(p)
    for _ in range(20):
        state = s.update([x.copy() for x in g], state, p)
    g2 = [x.copy() for x in g]
    s.update(g2, state, p)
    np.testing.assert_allclose(g2[0], g[0] * np.float32(0.05))


@pytest.mark.parametrize("method", ["lbfgs", "cg"])
def test_full_batch_methods_fit_and_stop(idx_folder: Path, method: str) -> None:
    pytest.importorskip("scipy")
    data = load_data(idx_folder)
    result = fit(data, TrainConfig(optimizer=method, n_epochs=40, batch_size=100, floatx="float64", l2=1e-4))
    assert 1 <= result.epochs <= 40 and result.best_model is not None
    assert result.best_validation_error < 0.1 and len(result.history) == result.epochs
    loss, _, _ = result.best_model.loss_and_gradient(data[0][0], data[0][1])
    assert loss < 0.6 * math.log(10)  # well below the zero model's log(10)


def test_resume_with_momentum_schedule_and_shuffle_is_exact(idx_folder: Path, tmp_path: Path) -> None:
    data = load_data(idx_folder)
    config = TrainConfig(batch_size=50, n_epochs=6, momentum=0.9, nesterov=True, lr_schedule="cosine",
                         learning_rate=0.05, shuffle=True, seed=4, l2=1e-4, patience=10**6)
    reference = fit(data, config)

    stop = StopRequest()

    class StopAt(BaseListener):
        def on_validation(self, event) -> None:
            if event.epoch == 3:
                stop.request(2)

    with pytest.raises(TrainingInterrupted) as info:
        fit(data, config, [StopAt()], stop=stop)
    save_checkpoint(tmp_path / "ck.npz", info.value.state, config, "fp")
    resumed = fit(data, config, resume=load_checkpoint(tmp_path / "ck.npz", config, "fp"))
    np.testing.assert_array_equal(resumed.best_model.W, reference.best_model.W)
    assert [h["validation_error"] for h in resumed.history] == [h["validation_error"] for h in reference.history]


def test_bad_optimiser_flags(idx_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from logistic_sgd.cli import main

    assert main(["train", "--data", str(idx_folder), "--momentum", "1.5"]) == 2
    assert "--momentum must be a number in [0, 1)" in capsys.readouterr().err
    assert main(["train", "--data", str(idx_folder), "--nesterov"]) == 2
    assert "--nesterov must be used with --momentum > 0" in capsys.readouterr().err
    assert main(["train", "--data", str(idx_folder), "--optimizer", "lbfgs", "--l1", "0.1"]) == 2
    err = capsys.readouterr().err
    assert ("--optimizer must be sgd to use --l1, --momentum or --lr-schedule (adagrad, lbfgs and cg take --l2 "
            "only)") in err

"""The seed's patience rule, checked against schedules computed by hand."""

from __future__ import annotations

import math

from logistic_sgd.core.stopping import PatienceStopping


def test_validation_frequency_is_min_of_batches_and_half_patience() -> None:
    rule = PatienceStopping()
    assert rule.validation_frequency(83) == 83  # MNIST at batch 600: every epoch
    assert rule.validation_frequency(10_000) == 2500  # patience // 2
    assert PatienceStopping(patience=1).validation_frequency(83) == 1


def test_hand_computed_schedule() -> None:
    # 83 minibatches an epoch, validation after iterations 82, 165, 248, ... (0-based).
    rule = PatienceStopping(patience=5000, patience_increase=2, improvement_threshold=0.995)
    assert rule.best == math.inf
    # First validation always improves significantly: patience = max(5000, 82 * 2) = 5000.
    assert rule.observe(82, 0.20) is True and rule.patience == 5000 and rule.best == 0.20
    # 0.199 < 0.20 but not < 0.20 * 0.995 = 0.199: a new best, patience unchanged.
    assert rule.observe(165, 0.199) is True and rule.patience == 5000 and rule.best == 0.199
    # Worse: nothing changes.
    assert rule.observe(248, 0.25) is False and rule.best == 0.199
    # Equal is not better.
    assert rule.observe(331, 0.199) is False
    # Significant improvement late: patience = max(5000, 3000 * 2) = 6000.
    assert rule.observe(3000, 0.10) is True and rule.patience == 6000
    assert not rule.should_stop(5999)
    assert rule.should_stop(6000)
    # A significant improvement early never shrinks patience.
    assert rule.observe(100, 0.05) is True and rule.patience == 6000


def test_seed_mnist_ending() -> None:
    # In the seed's MNIST run the last significant improvement came at epoch 37 or so; training ends
    # at the first iteration >= patience. With patience 2 * 3071 = 6142 and 83 batches an epoch,
    # iteration 6142 is minibatch 0 of epoch 75 (6142 // 83 = 74): the loop reports 75 epochs.
    rule = PatienceStopping()
    rule.observe(3071, 0.1)
    assert rule.patience == 6142
    stop = next(i for i in range(10_000) if rule.should_stop(i))
    assert stop == 6142 and stop // 83 + 1 == 75


def test_state_dict_round_trips() -> None:
    rule = PatienceStopping(patience=10)
    rule.observe(40, 0.3)
    assert PatienceStopping(**rule.state_dict()) == rule

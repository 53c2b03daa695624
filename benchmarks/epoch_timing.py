"""The original experiment timed call by call, for ``epoch_parts.py`` (numba) and ``torch_parts.py`` (torch).

``train.fit`` runs with the original tutorial's hyperparameters; the trainer's runs of steps and the scores are
timed (``sync`` before and after each, for a device that computes asynchronously): the steps,
scoring the validation set (the first score after the steps), scoring the test set (after each
improvement), and the rest of the epoch.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from logistic_sgd import TrainConfig
from logistic_sgd.training import evaluation as validation
from logistic_sgd.training import loop as train

PARTS = ("epoch", "steps", "valid", "test", "rest")


def timed_runs(datasets: Any, backend: Any, trainer: type, repeats: int,
               sync: Callable[[], None] = lambda: None) -> tuple[dict[str, list[float]], Any, dict[str, Any]]:
    """ms per epoch of each part in each of ``repeats`` runs, the last run's result, and what the last
    run used: its trainer (``"trainer"``) and the arguments of its last validation (``"score"``)."""
    real_run, real_error = trainer.run, validation.minibatch_error
    times: dict[str, float] = {}
    seen: dict[str, Any] = {}

    def run(self: Any, start: int, rates: Any, decay: float = 0.0) -> None:
        sync()
        began = time.perf_counter()
        real_run(self, start, rates, decay)
        sync()
        if len(rates):  # not the call that compiles before the clock starts
            times["steps"] += time.perf_counter() - began
            seen.update(trainer=self, last="steps")

    def error(*args: Any) -> float:
        sync()
        began = time.perf_counter()
        value = real_error(*args)
        sync()
        kind = "valid" if seen.get("last") == "steps" else "test"  # the first score after the steps validates
        times[kind] += time.perf_counter() - began
        seen["last"] = kind
        if kind == "valid":
            seen["score"] = args
        return value

    spent: dict[str, list[float]] = defaultdict(list)
    trainer.run, validation.minibatch_error = run, error
    try:
        for _ in range(repeats):
            times.update(steps=0.0, valid=0.0, test=0.0)
            result = train.fit(datasets, TrainConfig(), backend=backend)
            per_epoch = {k: v / result.epochs for k, v in times.items()}
            per_epoch["rest"] = result.elapsed / result.epochs - sum(per_epoch.values())
            per_epoch["epoch"] = result.elapsed / result.epochs
            for k, v in per_epoch.items():
                spent[k].append(v * 1000)
    finally:
        trainer.run, validation.minibatch_error = real_run, real_error
    return spent, result, seen


def print_medians(title: str, spent: dict[str, list[float]]) -> None:
    print(f"{title}, ms per epoch, medians of {len(spent['epoch'])}:")
    for k in PARTS:
        print(f"  {k:<6} {statistics.median(spent[k]):7.2f}   (runs: {', '.join(f'{v:.2f}' for v in spent[k])})")

"""Step rules on one sparse set, in one process: each optimiser, rate and batch trained by ``fit`` with
the original tutorial's early stopping on the same splits, one after another; epochs, seconds and test accuracy.

A row is ``name=value`` pairs: ``opt`` (sgd, adagrad), ``lr`` (a number, or ``rule`` for
``batch / mean ||x||^2``), ``bs``. Example:

  python benchmarks/compare_steps.py TRAIN.svm TEST.svm opt=sgd,lr=rule,bs=64 opt=adagrad,lr=0.5,bs=32

Usage: python benchmarks/compare_steps.py TRAIN TEST ROW [ROW ...]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from logistic_sgd.backends import get_backend
from logistic_sgd.data import open_dataset
from logistic_sgd.training.config import TrainConfig
from logistic_sgd.training.loop import fit


def main() -> None:
    train, test, *rows = sys.argv[1:]
    loaded = open_dataset(train, (), test=test)
    x = loaded.datasets[0][0]
    data = np.asarray(x.data[: int(x.indptr[-1])], dtype=np.float64)
    norm = float(data @ data) / len(x)
    print(f"{loaded.description}; mean squared row norm {norm:.4g}")
    backend = get_backend("auto")
    for row in rows:
        spec = dict(pair.split("=") for pair in row.split(","))
        batch = int(spec.get("bs", 64))
        rate = batch / norm if spec.get("lr", "rule") == "rule" else float(spec["lr"])
        config = TrainConfig(optimizer=spec.get("opt", "sgd"), learning_rate=rate, batch_size=batch)
        start = time.perf_counter()
        result = fit(loaded.datasets, config, backend=backend)
        wrong, total = result.full_test
        print(f"{row:<28} rate {rate:8.4g}  epochs {result.epochs:3d}  {time.perf_counter() - start:7.2f} s  "
              f"test accuracy {100 * (1 - wrong / total):.2f} %", flush=True)


if __name__ == "__main__":
    main()

"""What one SGD step costs on sparse rows: a step of a run of sparse steps against a step of the optimisers
that take the dense gradient one step at a time, on minibatches of an svmlight file.

- sparse: plain SGD, the run of steps the training loop hands its backend (each step reads and writes
  only the weight rows of the minibatch's features);
- sparse-l2: the same with L2 decay, by scaled weights (still only those rows);
- momentum, l1: one step at a time, as the loop takes them for these optimisers: the sparse gradient
  written into a dense (n_features x n_out) buffer, then the optimiser's update of every weight.

Each configuration has its own model (created and warmed before the clock starts); in turn, round-robin,
``--repeats`` times, the sparse ones take a run of ``--run-steps`` minibatches (the loop's runs go up to
the next validation: an epoch, on the corpus) and the others ``--steps`` minibatches from the same first
one; the table shows the median time per step and its ratio to the sparse step. The arithmetic is the
training loop's own (the backend's trainer and ``optim.sgd``), without validation.

Usage: python benchmarks/bench_sparse_step.py TRAIN_SVM [--batch-size 32] [--steps 20] [--run-steps 1000]
       [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from logistic_sgd.backends import get_backend
from logistic_sgd.core.optim import sgd
from logistic_sgd.data.formats.svmlight import read_svmlight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20, help="minibatches of a dense configuration per repetition")
    parser.add_argument("--run-steps", type=int, default=1000, help="minibatches of a sparse run per repetition")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    x, labels = read_svmlight(args.train)
    classes, y = np.unique(labels, return_inverse=True)
    backend = get_backend(args.backend).ready()
    xs = backend.place(x, "float32")
    n, lr = args.batch_size, args.learning_rate
    print(f"{args.train}: {len(x)} rows, {x.n_features} features, {len(classes)} classes; batch {n}; "
          f"runs of {args.run_steps} sparse steps, {args.steps} dense steps; {args.repeats} repeats; "
          f"backend {backend.name}")
    configs = {
        "sparse": (runs(backend, xs, y, n, lr, 0.0), args.run_steps),
        "sparse-l2": (runs(backend, xs, y, n, lr, 1e-6), args.run_steps),
        "momentum": (one_by_one(backend, xs, y, n, sgd(lr, momentum_=0.9)), args.steps),
        "l1": (one_by_one(backend, xs, y, n, sgd(lr, l1=1e-6)), args.steps),
    }
    times: dict[str, list[float]] = {name: [] for name in configs}
    for rep in range(args.repeats + 1):  # the first round is a warm-up, untimed
        first = (rep * args.run_steps) % (len(x) // n - args.run_steps)
        for name, (take, steps) in configs.items():
            start = time.perf_counter()
            take(first, steps)
            if rep:
                times[name].append((time.perf_counter() - start) / steps)
    base = statistics.median(times["sparse"])
    print(f"{'step':<10} {'ms per step':>12} {'vs sparse':>10} {'each repeat (ms)':>20}")
    for name, t in times.items():
        each = ", ".join(f"{1e3 * v:.2f}" for v in t)
        print(f"{name:<10} {1e3 * statistics.median(t):12.3f} {statistics.median(t) / base:9.1f}x   {each}")


def runs(backend: Any, xs: Any, y: np.ndarray, n: int, lr: float, l2: float) -> Callable[[int, int], None]:
    """Steps ``first..first + count`` as one run of sparse steps."""
    model = backend.new_model(xs.n_features, int(y.max()) + 1, "float32")
    trainer = backend.trainer(model, xs, y, n, n)
    trainer.warm_up(xs[:n])

    def take(first: int, count: int) -> None:
        trainer.run(first * n, np.full(count, lr, np.float32), l2)

    return take


def one_by_one(backend: Any, xs: Any, y: np.ndarray, n: int, optimizer: Any) -> Callable[[int, int], None]:
    """Steps ``first..first + count`` one at a time through the dense gradient and ``optimizer``."""
    model = backend.new_model(xs.n_features, int(y.max()) + 1, "float32")
    trainer = backend.trainer(model, xs, y, n, n)
    state = {"opt": optimizer.init(model.params)}
    state["opt"] = optimizer.update(trainer.gradient(xs[:n], y[:n]), state["opt"], model.params)  # every page

    def take(first: int, count: int) -> None:
        for i in range(first, first + count):
            grads = trainer.gradient(xs[i * n : (i + 1) * n], y[i * n : (i + 1) * n])
            state["opt"] = optimizer.update(grads, state["opt"], model.params)

    return take


if __name__ == "__main__":
    main()

"""How the numba backend's epoch of the original tutorial's experiment scales with its threads, measured in one process.

For each thread count (``--threads``, default 1, 2, 4, ... up to every thread Numba may use), in
turn, ``--repeats`` times: an epoch's 83 runs of SGD steps of 600 rows (``sgd_steps``, from zero
weights, in one call as the training loop makes it) and scoring the 9,600 validation rows
(``predict``), the rows kept as bytes as ``logistic-sgd train`` keeps them. Prints the medians, each
count's time against the last count's (by default every thread) and the time of a step.

A step's rows are shared out between the threads, and every thread sums all the threads' partial
gradients at the start of the next step; with many threads and 600-row minibatches that summing
and the threads' meeting at each step can outweigh their arithmetic, so fewer threads than cores
can be faster. This shows where that happens on the machine it runs on.

Usage: python benchmarks/bench_threads.py [--data DIR] [--repeats 5] [--threads 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numba
import numpy as np

from bench import cpu_line
from logistic_sgd.backends import get_backend
from logistic_sgd.backends.numba import kernels
from logistic_sgd.data import open_dataset

BATCH, STEPS, RATE = 600, 83, 0.13  # the original tutorial's minibatch, an epoch's steps, its learning rate


def counts(most: int) -> list[int]:
    """1, 2, 4, ... and ``most`` itself."""
    out, n = [], 1
    while n < most:
        out.append(n)
        n *= 2
    return [*out, most]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", default=None, help="comma-separated thread counts (default 1, 2, 4, ..., all)")
    args = parser.parse_args()
    most = numba.config.NUMBA_NUM_THREADS
    threads = [int(t) for t in args.threads.split(",")] if args.threads else counts(most)
    if any(not 1 <= t <= most for t in threads):
        raise SystemExit(f"--threads: each count must lie in 1..{most} (NUMBA_NUM_THREADS)")

    backend = get_backend("numba").ready()
    (tx, ty), (vx, _), _ = open_dataset(args.data, keep_bytes=("train", "valid", "test")).datasets
    train, valid = backend.place(tx, "float32"), backend.place(vx, "float32")
    X, V, divisor = train.stored, valid.stored[: len(valid) // BATCH * BATCH], train.divisor
    y = np.ascontiguousarray(ty, dtype=np.intp)
    rates = np.full(STEPS, RATE, np.float32)
    W, b = np.zeros((X.shape[1], 10), np.float32), np.zeros(10, np.float32)

    scratch = {}
    for t in threads:  # compiled and each thread count's buffers made before the clock starts
        numba.set_num_threads(t)
        scratch[t] = kernels.Scratch.for_model(X.shape[1], 10, np.float32)
        kernels.sgd_steps(X, y, 0, BATCH, rates[:1], W, b, BATCH, scratch[t], divisor)
        kernels.predict(V, W, b, divisor)

    spent: dict[int, dict[str, list[float]]] = {t: {"steps": [], "valid": []} for t in threads}
    for _ in range(args.repeats):
        for t in threads:  # interleaved: the machine's load moves all counts alike
            numba.set_num_threads(t)
            W[:], b[:] = 0, 0
            began = time.perf_counter()
            kernels.sgd_steps(X, y, 0, BATCH, rates, W, b, BATCH, scratch[t], divisor)
            between = time.perf_counter()
            kernels.predict(V, W, b, divisor)
            spent[t]["steps"].append((between - began) * 1000)
            spent[t]["valid"].append((time.perf_counter() - between) * 1000)

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{cpu_line()}, {cores} cores; {kernels.native_lanes()} lanes, "
          f"threading layer {numba.threading_layer()}; medians of {args.repeats}, ms")
    print(f"{'threads':>7} {'steps':>8} {'valid':>7} {'both':>8} {'vs last':>7} {'us/step':>8}")
    both = {t: statistics.median(s + v for s, v in zip(spent[t]["steps"], spent[t]["valid"], strict=True))
            for t in threads}
    for t in threads:
        steps, valid = statistics.median(spent[t]["steps"]), statistics.median(spent[t]["valid"])
        print(f"{t:>7} {steps:8.2f} {valid:7.2f} {both[t]:8.2f} {both[t] / both[threads[-1]]:6.2f}x "
              f"{steps / STEPS * 1000:8.1f}")


if __name__ == "__main__":
    main()

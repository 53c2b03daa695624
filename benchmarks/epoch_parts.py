"""Where an epoch of the original tutorial's experiment goes with the numba backend, measured in one process.

1. The whole run (``train.fit``, the original tutorial's hyperparameters, float32, every split kept as bytes as
   ``logistic-sgd train`` keeps them), its calls timed: the runs of steps, scoring the validation
   set, scoring the test set (after each improvement), and the rest (the loop, copies of the best
   model). Medians of ``--repeats`` runs, in ms per epoch.
2. What lies around the arithmetic, on every thread, medians of 15: an epoch's steps on the
   training rows as bytes and as float32 (the same numbers, a four times larger read); the kernels'
   ``predict`` on the validation rows right after an epoch of steps, and again at once with its rows
   in cache; an empty parallel region of Numba's threading layer (the threads meet at every step).
3. The step's parts on one thread, with the rows of one block in cache (CPU time, the fastest of
   nine), over an epoch's 49,800 rows in blocks of 32: the forward product, the softmax minus one-hot, the
   backward product, scaling bytes to floats; and the fixed cost of one call of ``sgd_steps``.

Usage: python benchmarks/epoch_parts.py [--data DIR] [--repeats 3] [--lanes 16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np
from numba import njit, prange

from epoch_timing import print_medians, timed_runs
from logistic_sgd.backends import get_backend
from logistic_sgd.backends.numba import KernelTrainer, kernels
from logistic_sgd.data import open_dataset

ROWS = 49_800  # an epoch's training rows (83 minibatches of 600)


def whole_run(data: str, repeats: int) -> None:
    datasets = open_dataset(data, keep_bytes=("train", "valid", "test")).datasets
    spent, result, _ = timed_runs(datasets, get_backend("numba").ready(), KernelTrainer, repeats)
    print_medians(f"whole run ({result.epochs} epochs, {numba.get_num_threads()} threads, "
                  f"{kernels.native_lanes()} lanes)", spent)


def around(data: str, reps: int = 15) -> None:
    (tx, ty), (vx, _), _ = open_dataset(data, keep_bytes=("train", "valid", "test")).datasets
    U, V, divisor = tx.stored[:ROWS], vx.stored[:9_600], tx.divisor
    F = U.astype(np.float32) / np.float32(divisor)  # the numbers the kernels scale the bytes to
    y = np.ascontiguousarray(ty[:ROWS], dtype=np.intp)
    rates = np.full(ROWS // 600, 0.13, np.float32)
    scratch = kernels.Scratch.for_model(784, 10, np.float32)
    W, b = np.zeros((784, 10), np.float32), np.zeros(10, np.float32)
    Wf, bf = W.copy(), b.copy()
    spent: dict[str, list[float]] = {k: [] for k in ("bytes", "floats", "after", "again", "region")}
    for rows, w_, b_ in ((U, W, b), (F, Wf, bf)):  # compiled before the clock starts
        kernels.sgd_steps(rows, y, 0, 600, rates[:0], w_, b_, 600, scratch, divisor if rows is U else None)
    kernels.predict(V, W, b, divisor)
    _region(np.zeros((numba.get_num_threads(), 16)), 1)
    for _ in range(reps):
        for key, rows, w_, b_ in (("bytes", U, W, b), ("floats", F, Wf, bf)):
            w_[:], b_[:] = 0, 0
            began = time.perf_counter()
            kernels.sgd_steps(rows, y, 0, 600, rates, w_, b_, 600, scratch, divisor if rows is U else None)
            spent[key].append(time.perf_counter() - began)
            if key == "bytes":
                for when in ("after", "again"):
                    began = time.perf_counter()
                    kernels.predict(V, W, b, divisor)
                    spent[when].append(time.perf_counter() - began)
        began = time.perf_counter()
        _region(np.zeros((numba.get_num_threads(), 16)), 1000)
        spent["region"].append((time.perf_counter() - began) / 1000)
    same = np.array_equal(W, Wf) and np.array_equal(b, bf)
    ms = {k: statistics.median(v) * 1000 for k, v in spent.items()}
    print(f"around the arithmetic, {numba.get_num_threads()} threads, medians of {reps}:")
    print(f"  an epoch of steps on bytes {ms['bytes']:.2f} ms, on float32 rows {ms['floats']:.2f} ms "
          f"({ms['floats'] / ms['bytes']:.2f}x; the same weights: {same})")
    print(f"  predict on the validation rows right after the steps {ms['after']:.2f} ms, again at once "
          f"{ms['again']:.2f} ms")
    print(f"  an empty parallel region ({numba.threading_layer()}): {ms['region'] * 1000:.2f} us")


@njit(parallel=True)
def _region(a, n):
    for _ in range(n):
        for t in prange(a.shape[0]):
            a[t, 0] += 1.0


@njit(fastmath=kernels._fastmath)
def _forward(w, X, WT, b, z, reps):
    for _ in range(reps):
        kernels._forward(w, X, WT, b, 0, X.shape[0], z, X, 0, 0)


@njit(fastmath=kernels._fastmath)
def _softmax(w, y, dT, gb, reps):
    for _ in range(reps):
        kernels._softmax_minus_onehot(w, y, 0, dT.shape[1], dT, np.float32(600), gb)


@njit(fastmath=kernels._fastmath)
def _backward(w, X, dT, gT, reps):
    for _ in range(reps):
        kernels._backward(w, X, 0, X.shape[0], dT, gT, False)


@njit(fastmath=kernels._fastmath)
def _scale(w, U, buf, scale, reps):
    for _ in range(reps):
        kernels._rows(w, U, 0, U.shape[0], scale, buf)


def parts(lanes: int) -> None:
    rng = np.random.default_rng(0)
    w, block = kernels._width(lanes), 32
    X = rng.random((block, 784), dtype=np.float32)
    WT = rng.normal(size=(10, 784)).astype(np.float32) * 0.01
    dT = rng.normal(size=(10, block)).astype(np.float32)
    U = rng.integers(0, 256, size=(block, 784), dtype=np.uint8)
    y = rng.integers(0, 10, size=block)
    reps = ROWS // block
    calls = {
        "forward": (_forward, (w, X, WT, np.zeros(10, np.float32), dT.T)),
        "softmax": (_softmax, (w, y, dT, np.zeros(16, np.float32))),
        "backward": (_backward, (w, X, dT * 1e-3, np.zeros((10, 784), np.float32))),
        "scaling": (_scale, (w, U, np.empty_like(X), kernels._split_inverse(255.0))),
    }
    print(f"the step's parts on one thread, {lanes} lanes, an epoch's {ROWS} rows in blocks of {block} in cache "
          "(CPU time, fastest of 9):")
    for name, (fn, args) in calls.items():
        fn(*args, 1)
        best = min(_cpu(fn, *args, reps) for _ in range(9))
        flops = f" ({2 * ROWS * 7840 / best / 1e9:.0f} GFLOP/s)" if name in ("forward", "backward") else ""
        print(f"  {name:<9} {best * 1000:6.2f} ms{flops}")
    W, b = np.zeros((784, 10), np.float32), np.zeros(10, np.float32)
    scratch = kernels.Scratch.for_model(784, 10, np.float32)
    none = np.empty(0, np.float32)
    kernels.sgd_steps(U, y, 0, 600, none, W, b, 600, scratch, 255.0, lanes=lanes)
    call = min(_cpu(kernels.sgd_steps, U, y, 0, 600, none, W, b, 600, scratch, 255.0, lanes=lanes) for _ in range(99))
    print(f"  one call of sgd_steps without steps: {call * 1e6:.0f} us")


def _cpu(fn: object, *args: object, **kwargs: object) -> float:
    start = time.process_time()
    fn(*args, **kwargs)  # type: ignore[operator]
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lanes", type=int, default=None, help="vector width of part 3 (default: the CPU's)")
    args = parser.parse_args()
    whole_run(args.data, args.repeats)
    around(args.data)
    numba.set_num_threads(1)
    parts(args.lanes or kernels.native_lanes())


if __name__ == "__main__":
    main()

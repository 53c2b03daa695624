"""Optimisers side by side with scikit-learn's LogisticRegression(), on the full 10,000 test images.

Every configuration trains on the same 50,000 training images (scikit-learn too), interleaved,
``--repeats`` times; the table shows the median fit time, the test error of the returned model on
all 10,000 test images, and the time relative to scikit-learn. Ours train in float32 on the default
backend (the compiled kernels when Numba is installed); scikit-learn gets the rows as float64, its
fastest input (with float32 rows it multiplies float32 data by float64 coefficients, which NumPy
computes without BLAS).

Usage: python benchmarks/bench_optimizers.py [--data DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

from logistic_sgd import TrainConfig, fit, load_data
from logistic_sgd.backends import NUMPY, get_backend
from logistic_sgd.training.scoring import count_errors

CONFIGS = {
    "sgd, the original tutorial's (lr 0.13, batch 600, patience)": TrainConfig(),
    "sgd + Nesterov 0.9, cosine, lr 0.02, batch 100, shuffle, 30 epochs": TrainConfig(
        momentum=0.9, nesterov=True, lr_schedule="cosine", learning_rate=0.02, batch_size=100, shuffle=True,
        n_epochs=30, patience=10**9),
    "sgd + momentum 0.9, cosine, lr 0.05, shuffle, 20 epochs": TrainConfig(
        momentum=0.9, lr_schedule="cosine", learning_rate=0.05, shuffle=True, n_epochs=20, patience=10**9),
    "lbfgs, to the patience (tol 1e-4, the original tutorial's patience in iterations, 1000 at most)":
        TrainConfig(optimizer="lbfgs"),
    "lbfgs, l2 2e-5 (sklearn's C=1), 100 iterations": TrainConfig(optimizer="lbfgs", l2=2e-5, n_epochs=100),
    "cg, l2 2e-5, 100 iterations": TrainConfig(optimizer="cg", l2=2e-5, n_epochs=100),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    data = load_data(args.data)
    (train_x, train_y), _, (test_x, test_y) = data
    train64 = np.asarray(train_x, dtype=np.float64)
    backend = get_backend("auto")
    times: dict[str, list[float]] = {}
    errors: dict[str, float] = {}
    for _ in range(args.repeats):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sk = LogisticRegression().fit(train64, train_y)
        times.setdefault("scikit-learn LogisticRegression() (lbfgs)", []).append(time.perf_counter() - start)
        errors["scikit-learn LogisticRegression() (lbfgs)"] = float(np.mean(sk.predict(test_x) != test_y))
        for name, config in CONFIGS.items():
            start = time.perf_counter()
            result = fit(data, config, backend=backend)
            times.setdefault(name, []).append(time.perf_counter() - start)
            errors[name] = count_errors(NUMPY, result.best_model, test_x, test_y) / len(test_y)
            print(f"  {name:<72} {times[name][-1]:7.2f} s  {errors[name] * 100:6.2f} %", flush=True)
    ref = statistics.median(times["scikit-learn LogisticRegression() (lbfgs)"])
    print(f"\n{'configuration':<72} {'fit s':>7} {'vs sklearn':>10} {'test error':>10}")
    for name, t in times.items():
        med = statistics.median(t)
        print(f"{name:<72} {med:7.2f} {med / ref:9.2f}x {errors[name] * 100:9.2f} %")


if __name__ == "__main__":
    main()

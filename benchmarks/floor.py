"""The floor of an epoch on this machine: one sequential read of the training array; the two
matrix products of an epoch (83 minibatches of 600: x @ W and x.T @ d) through NumPy's BLAS; and
the epoch's multiply-adds (forward and backward over the training minibatches, forward over the
validation minibatches) at the machine's peak, taken as the rate of a large square sgemm on all cores.

Usage: python benchmarks/floor.py DATA   (prints medians of 9 repetitions, in ms; the data's size in MB)
"""

import sys
import time

import numpy as np

from logistic_sgd import load_data

data = load_data(sys.argv[1])
(train_x, _), (valid_x, _), _ = data
bs, n = 600, len(train_x) // 600
rng = np.random.default_rng(0)
W = rng.normal(size=(train_x.shape[1], 10)).astype(np.float32)
d = rng.normal(size=(bs, 10)).astype(np.float32)
z, g = np.empty((bs, 10), np.float32), np.empty_like(W)


def read() -> None:
    np.add.reduce(train_x, axis=0)  # streams every byte once, vectorised


def products() -> None:
    for i in range(n):
        x = train_x[i * bs : (i + 1) * bs]
        np.matmul(x, W, out=z)
        np.matmul(x.T, d, out=g)


for name, f in (("read", read), ("matmul", products)):
    times = []
    for _ in range(9):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    print(f"{name} {np.median(times) * 1000:f} ms")

a = rng.random((2000, 2000), dtype=np.float32)
peak = []
for _ in range(5):
    start = time.perf_counter()
    a @ a
    peak.append(2 * 2000**3 / (time.perf_counter() - start))
fmas = (2 * n * bs + len(valid_x) // bs * bs) * train_x.shape[1] * W.shape[1]
print(f"compute {2 * fmas / max(peak) * 1000:f} ms")
print(f"data {sum(x.size * 4 for x, _ in data) / 2**20:f} MB")

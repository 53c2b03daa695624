"""The obvious NumPy implementation of the original tutorial's algorithm, written plainly: the benchmark's baseline.

Usage: python benchmarks/naive_numpy.py DATA_DIR [N_EPOCHS]   (prints the original tutorial's summary lines)
"""

import sys
import time

import numpy as np

from logistic_sgd import load_data  # only to read the same arrays; the training below is independent

(train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_data(sys.argv[1])
n_epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
lr, bs = 0.13, 600
W, b = np.zeros((784, 10), np.float32), np.zeros(10, np.float32)


def error(x, y):
    n = len(x) // bs
    return np.mean([np.mean(np.argmax(x[i * bs:(i + 1) * bs] @ W + b, axis=1) != y[i * bs:(i + 1) * bs])
                    for i in range(n)])


n_batches = len(train_x) // bs
patience, best, test_score, epoch, done = 5000, np.inf, 0.0, 0, False
start = time.perf_counter()
while epoch < n_epochs and not done:
    epoch += 1
    for i in range(n_batches):
        x, y = train_x[i * bs:(i + 1) * bs], train_y[i * bs:(i + 1) * bs]
        z = x @ W + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(bs), y] -= 1
        W -= lr * (x.T @ p) / bs
        b -= lr * p.sum(axis=0) / bs
        it = (epoch - 1) * n_batches + i
        if (it + 1) % min(n_batches, patience // 2) == 0:
            v = error(valid_x, valid_y)
            if v < best:
                if v < best * 0.995:
                    patience = max(patience, it * 2)
                best, test_score = v, error(test_x, test_y)
        if patience <= it:
            done = True
            break
elapsed = time.perf_counter() - start
print(f"Optimization complete with best validation score of {best * 100:f} %,"
      f"with test performance {test_score * 100:f} %")
print(f"The code run for {epoch} epochs, with {epoch / elapsed:f} epochs/sec")

"""logistic-sgd on svmlight files: read with the package's reader, train by sparse SGD with the seed's
early stopping, score the best model on the test file.

The last ``--valid-fraction`` of the training file's rows validate (the corpus's rows are in random
order); the rest train. Prints the seed's lines, then ``load S s, train S s, test accuracy A %``.
``--load-only`` reads the files and prints ``load S s``.

Usage: python benchmarks/sparse_train.py TRAIN TEST [--learning-rate 30] [--batch-size 32] [--l2 0]
"""

from __future__ import annotations

import argparse
import time

from logistic_sgd.data.svmlight import read_svmlight_files
from logistic_sgd.report import SeedLog
from logistic_sgd.sparse.fit import fit_sparse, sparse_ops
from logistic_sgd.train import TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("--learning-rate", type=float, default=30.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--l2", type=float, default=0.0)
    parser.add_argument("--patience", type=int, default=5000)
    parser.add_argument("--valid-fraction", type=float, default=0.1)
    parser.add_argument("--backend", default="auto", choices=("auto", "numba", "numpy"))
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    (x, y), (test_x, test_y) = read_svmlight_files([args.train, args.test])
    loaded = time.perf_counter()
    if args.load_only:
        print(f"load {loaded - start:f} s, {x.nnz + test_x.nnz} non-zeros")
        return
    n_valid = int(len(x) * args.valid_fraction)
    n_train = len(x) - n_valid
    splits = ((x.rows(0, n_train), y[:n_train]), (x.rows(n_train, len(x)), y[n_train:]), (test_x, test_y))
    config = TrainConfig(learning_rate=args.learning_rate, batch_size=args.batch_size, l2=args.l2,
                         patience=args.patience)
    result = fit_sparse(splits, config, [SeedLog(quiet=args.quiet)], ops=sparse_ops(args.backend))
    wrong, n = result.full_test
    trained = time.perf_counter() - loaded
    print(f"load {loaded - start:f} s, train {trained:f} s, test accuracy {100 * (1 - wrong / n):f} %")


if __name__ == "__main__":
    main()

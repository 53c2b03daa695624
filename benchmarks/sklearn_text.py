"""scikit-learn on svmlight files, as its users run it: ``load_svmlight_files`` then a fit.

``sgd``: ``SGDClassifier(loss="log_loss", n_jobs=2)``; ``saga``: ``LogisticRegression(solver="saga")``;
``load``: the reading alone. Both read float64 (the loader's default, and the type both fit in). The
loader returns int64 indices, which ``SGDClassifier`` refuses ("Only sparse matrices with 32-bit
integer indices are accepted"), so the indices are converted to int32 first (counted in the load).

Prints ``load S s, fit S s, test accuracy A %`` (or ``load S s``).

Usage: python benchmarks/sklearn_text.py {sgd,saga,load} TRAIN TEST
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_svmlight_files
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier


def main() -> None:
    kind, train, test = sys.argv[1:4]
    start = time.perf_counter()
    x, y, test_x, test_y = load_svmlight_files([train, test])
    for m in (x, test_x):
        m.indices, m.indptr = m.indices.astype(np.int32), m.indptr.astype(np.int32)
    loaded = time.perf_counter()
    if kind == "load":
        print(f"load {loaded - start:f} s")
        return
    if kind == "sgd":
        model = SGDClassifier(loss="log_loss", n_jobs=2, random_state=0)
    else:
        model = LogisticRegression(solver="saga")
    warnings.simplefilter("ignore", ConvergenceWarning)
    model.fit(x, y)
    fitted = time.perf_counter()
    accuracy = np.mean(model.predict(test_x) == test_y)
    print(f"load {loaded - start:f} s, fit {fitted - loaded:f} s, test accuracy {100 * accuracy:f} %")


if __name__ == "__main__":
    main()

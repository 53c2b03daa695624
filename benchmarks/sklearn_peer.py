"""scikit-learn as a peer: fit time and full test error on the same split.

The rows are given to scikit-learn as float64, its fastest input: with float32 rows its
LogisticRegression multiplies float32 data by float64 coefficients, a product NumPy computes
without BLAS (several times slower).

Usage: python benchmarks/sklearn_peer.py DATA {lbfgs,sgd}
"""

import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier

from logistic_sgd import load_data

(train_x, train_y), _, (test_x, test_y) = load_data(sys.argv[1])
train_x, test_x = np.asarray(train_x, dtype=np.float64), np.asarray(test_x, dtype=np.float64)
model = LogisticRegression() if sys.argv[2] == "lbfgs" else SGDClassifier(loss="log_loss", random_state=0)
warnings.simplefilter("ignore", ConvergenceWarning)  # lbfgs stops at max_iter=100 on these data, as it does for users
start = time.perf_counter()
model.fit(train_x, train_y)
elapsed = time.perf_counter() - start
error = np.mean(model.predict(test_x) != test_y)
print(f"fit {elapsed:f} s, test error {error * 100:f} %")

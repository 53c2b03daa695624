"""scikit-learn as a peer, and this package through its scikit-learn estimator: fit time and full
test error on the same split.

By default the rows are given to scikit-learn as float64, its fastest input: with float32 rows its
LogisticRegression multiplies float32 data by float64 coefficients, a product NumPy computes
without BLAS (several times slower). ``--float32`` gives every estimator the float32 rows as
loaded instead (scikit-learn's ``LogisticRegression`` then keeps them float32, and so does
``LogisticSGDClassifier``).

Usage: python benchmarks/sklearn_peer.py DATA {lbfgs,sgd,estimator-lbfgs} [--float32]

``estimator-lbfgs`` is ``LogisticSGDClassifier(optimizer="lbfgs")``, given the validation split as
``eval_set`` for its patience rule: the command line's protocol (without it, the estimator would
hold out a random 10 % of the training rows and train on the rest).
"""

import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier

from logistic_sgd import load_data
from logistic_sgd.sklearn_estimator import LogisticSGDClassifier

(train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_data(sys.argv[1])
dtype = np.float32 if "--float32" in sys.argv[3:] else np.float64
train_x, valid_x, test_x = (np.asarray(x, dtype=dtype) for x in (train_x, valid_x, test_x))
model = {
    "lbfgs": lambda: LogisticRegression(),
    "sgd": lambda: SGDClassifier(loss="log_loss", random_state=0),
    "estimator-lbfgs": lambda: LogisticSGDClassifier(optimizer="lbfgs"),
}[sys.argv[2]]()
warnings.simplefilter("ignore", ConvergenceWarning)  # lbfgs stops at max_iter=100 on these data, as it does for users
start = time.perf_counter()
if isinstance(model, LogisticSGDClassifier):
    model.fit(train_x, train_y, eval_set=(valid_x, valid_y))
else:
    model.fit(train_x, train_y)
elapsed = time.perf_counter() - start
error = np.mean(model.predict(test_x) != test_y)
print(f"fit {elapsed:f} s, test error {error * 100:f} %")

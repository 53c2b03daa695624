"""The vectoriser's choices measured: test accuracy of one model trained on rows made each way.

Reads a fastText-format pair (``train.txt``, ``test.txt``: ``make_text_corpus.py --raw`` writes them),
vectorises both with :class:`~logistic_sgd.data.vectorize.TextVectorizer` under each setting below
(the defaults, then one choice changed at a time), and trains ``LogisticSGDClassifier`` with the same
flags each time (``--learning-rate 30 --batch-size 32``, the sparse text benchmark's, at most
``--epochs`` epochs, 10 % of the training file held out for early stopping, seed 0). Prints one row
per setting: the vectoriser's fit and transform times, the non-zeros and the test accuracy.

Usage: python benchmarks/text_choices.py TRAIN.txt TEST.txt [--epochs 30] [--only default,signed]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from logistic_sgd.data.formats.text import read_fasttext
from logistic_sgd.data.vectorize import TextVectorizer
from logistic_sgd.sklearn_estimator import LogisticSGDClassifier

SETTINGS = {
    "default": {},
    "signed": {"signed": True},
    "unigrams": {"ngram_range": (1, 1)},
    "1-3 grams": {"ngram_range": (1, 3)},
    "2^18 features": {"n_features": 2**18},
    "2^22 features": {"n_features": 2**22},
    "raw tf": {"sublinear_tf": False},
    "no idf": {"idf": False},
    "no norm": {"norm": "none"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--only", help="comma-separated settings")
    args = parser.parse_args()
    (train, _), (test, _) = read_fasttext(args.train), read_fasttext(args.test)
    y_train, y_test = train.labels, test.labels
    wanted = args.only.split(",") if args.only else list(SETTINGS)
    print("| setting | fit + transform train (s) | transform test (s) | non-zeros per row | test accuracy |")
    print("|---|---|---|---|---|")
    for name in wanted:
        v = TextVectorizer(**SETTINGS[name])
        t = time.perf_counter()
        x_train = v.fit_transform(train.x)
        fitted = time.perf_counter() - t
        t = time.perf_counter()
        x_test = v.transform(test.x)
        transformed = time.perf_counter() - t
        model = LogisticSGDClassifier(learning_rate=30, batch_size=32, max_epochs=args.epochs, floatx="float32",
                                      random_state=0)
        model.fit(x_train.to_scipy(), y_train)
        accuracy = float(np.mean(model.predict(x_test.to_scipy()) == y_test))
        print(f"| {name} | {fitted:.2f} | {transformed:.2f} | {x_train.nnz / len(x_train):.0f} | "
              f"{100 * accuracy:.2f} % |", flush=True)


if __name__ == "__main__":
    main()

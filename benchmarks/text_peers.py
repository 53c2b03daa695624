"""The text benchmark's peers, each as its users run it with its defaults, on the corpus's raw text
(``train.csv`` and ``test.csv``, ``make_text_corpus.py --raw``: columns ``section`` and
``description``, each description made one line here) or its svmlight files.

- ``vw``: Vowpal Wabbit (pip ``vowpalwabbit``), ``--oaa K``, one pass: each document as a VW example
  (``label | words``, the characters ``|`` and ``:`` that VW reserves replaced by spaces), learnt in
  turn, then the test documents predicted.
- ``fasttext``: fastText (pip ``fasttext-numpy2-wheel``) ``train_supervised`` with its defaults on a
  file in its format (``__label__section text``, written first, counted in the load).
- ``fasttext-tuned``: the same with ``wordNgrams=2, epoch=25, lr=0.5``.
- ``sk-tfidf-saga``: scikit-learn ``TfidfVectorizer(ngram_range=(1, 2))`` then
  ``LogisticRegression(solver="saga")``.
- ``sk-hash-sgd``: ``HashingVectorizer(ngram_range=(1, 2))`` then ``SGDClassifier(loss="log_loss")``.
- ``estimator``: ``LogisticSGDClassifier()`` with its defaults on the svmlight files' CSR matrix
  (read by scikit-learn's ``load_svmlight_files``), arguments ``TRAIN.svm TEST.svm``.

Prints ``load S s, fit S s, test accuracy A %`` ("fit" includes the vectorising, where the program
vectorises).

Usage: python benchmarks/text_peers.py PROGRAM TRAIN TEST
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def read_csv(path: str) -> tuple[list[str], list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    return [" ".join(text.split()) for _, text in rows], [section for section, _ in rows]  # one line each


def vw(train: str, test: str) -> tuple[float, float, float]:
    from vowpalwabbit import Workspace

    start = time.perf_counter()
    x, y = read_csv(train)
    tx, ty = read_csv(test)
    names = sorted(set(y))
    code = {name: i + 1 for i, name in enumerate(names)}
    clean = str.maketrans("|:", "  ")
    loaded = time.perf_counter()
    model = Workspace(f"--oaa {len(names)} --quiet")
    for text, label in zip(x, y, strict=True):
        model.learn(f"{code[label]} | {text.translate(clean)}")
    fitted = time.perf_counter()
    right = sum(model.predict(f"| {text.translate(clean)}") == code[label] for text, label in zip(tx, ty, strict=True))
    model.finish()
    return loaded - start, fitted - loaded, right / len(ty)


def fasttext(train: str, test: str, tuned: bool) -> tuple[float, float, float]:
    import fasttext as ft

    start = time.perf_counter()
    x, y = read_csv(train)
    tx, ty = read_csv(test)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.writelines(f"__label__{label} {text}\n" for text, label in zip(x, y, strict=True))
    loaded = time.perf_counter()
    options = {"wordNgrams": 2, "epoch": 25, "lr": 0.5} if tuned else {}
    model = ft.train_supervised(f.name, verbose=0, **options)
    fitted = time.perf_counter()
    Path(f.name).unlink()
    labels, _ = model.predict(tx)
    right = sum(got[0] == f"__label__{label}" for got, label in zip(labels, ty, strict=True))
    return loaded - start, fitted - loaded, right / len(ty)


def sklearn_text(train: str, test: str, kind: str) -> tuple[float, float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    x, y = read_csv(train)
    tx, ty = read_csv(test)
    loaded = time.perf_counter()
    warnings.simplefilter("ignore", ConvergenceWarning)
    if kind == "saga":
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(solver="saga"))
    else:
        model = make_pipeline(HashingVectorizer(ngram_range=(1, 2)), SGDClassifier(loss="log_loss", random_state=0))
    model.fit(x, y)
    fitted = time.perf_counter()
    return loaded - start, fitted - loaded, float(np.mean(model.predict(tx) == np.asarray(ty)))


def estimator(train: str, test: str) -> tuple[float, float, float]:
    from sklearn.datasets import load_svmlight_files

    from logistic_sgd.sklearn_estimator import LogisticSGDClassifier

    start = time.perf_counter()
    x, y, tx, ty = load_svmlight_files([train, test], dtype=np.float32)
    loaded = time.perf_counter()
    model = LogisticSGDClassifier().fit(x, y)
    fitted = time.perf_counter()
    return loaded - start, fitted - loaded, float(np.mean(model.predict(tx) == ty))


PROGRAMS = {
    "vw": vw,
    "fasttext": lambda train, test: fasttext(train, test, tuned=False),
    "fasttext-tuned": lambda train, test: fasttext(train, test, tuned=True),
    "sk-tfidf-saga": lambda train, test: sklearn_text(train, test, "saga"),
    "sk-hash-sgd": lambda train, test: sklearn_text(train, test, "sgd"),
    "estimator": estimator,
}


def main() -> None:
    kind, train, test = sys.argv[1:4]
    load, fit, accuracy = PROGRAMS[kind](train, test)
    print(f"load {load:f} s, fit {fit:f} s, test accuracy {100 * accuracy:f} %")


if __name__ == "__main__":
    main()

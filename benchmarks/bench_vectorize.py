"""Reading and vectorising raw text: logistic-sgd's reader and TextVectorizer against scikit-learn's
vectorisers, side by side in one process, on the same documents.

Input: a fastText-format file (``make_text_corpus.py --raw`` writes ``train.txt``). Two sets are made
from it: the documents as they are, and their first lines only (Debian's one-line synopses: short
documents). For each set, in turn, ``--repeats`` times after one untimed warm-up (the compiled
kernels loaded, the page cache warm), medians of:

  read                 read_fasttext: the file's lines, labels taken out (ours; the synopses from a file too)
  ours fit+transform   TextVectorizer().fit_transform (1- and 2-grams, 2^20 columns, tf-idf, unit rows, names)
  ours transform       the fitted vectoriser's transform
  sk hashing           scikit-learn HashingVectorizer(ngram_range=(1, 2), alternate_sign=False).transform
                       on the decoded strings (counts, unit rows: no idf)
  sk tfidf             scikit-learn TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform

Usage: python benchmarks/bench_vectorize.py TRAIN.txt [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logistic_sgd.data.formats.text import read_fasttext
from logistic_sgd.data.vectorize import TextVectorizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="Numba's threads (default: its own, one a core)")
    args = parser.parse_args()
    if args.threads:
        import numba

        numba.set_num_threads(args.threads)
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

    with tempfile.TemporaryDirectory() as tmp:
        short = Path(tmp) / "short.txt"
        with args.train.open(encoding="utf-8") as f, short.open("w", encoding="utf-8") as out:
            for line in f:  # the label and the synopsis: the words up to the first full stop or 12 words
                label, _, text = line.partition(" ")
                out.write(f"{label} {' '.join(text.split('. ')[0].split()[:12])}\n")
        print("| documents | bytes of text | step | median (s) | range (s) |")
        print("|---|---|---|---|---|")
        for name, path in (("descriptions", args.train), ("synopses", short)):
            examples, _ = read_fasttext(path)
            docs, texts = examples.x, examples.x.texts()
            fitted = TextVectorizer().fit(docs)
            steps: dict[str, Callable[[], Any]] = {
                "read": lambda p=path: read_fasttext(p),
                "ours fit+transform": lambda d=docs: TextVectorizer().fit_transform(d),
                "ours transform": lambda d=docs, v=fitted: v.transform(d),
                "sk hashing": lambda t=texts: HashingVectorizer(ngram_range=(1, 2), alternate_sign=False).transform(t),
                "sk tfidf": lambda t=texts: TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(t),
            }
            times: dict[str, list[float]] = {step: [] for step in steps}
            for rep in range(args.repeats + 1):
                for step, run in steps.items():
                    start = time.perf_counter()
                    run()
                    if rep:
                        times[step].append(time.perf_counter() - start)
            for step, values in times.items():
                print(f"| {len(docs)} {name} | {docs.nbytes / 1e6:.1f} MB | {step} | {statistics.median(values):.3f} | "
                      f"{min(values):.3f}-{max(values):.3f} |", flush=True)


if __name__ == "__main__":
    main()

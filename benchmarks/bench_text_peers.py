"""Text classification with every program at its defaults, side by side: logistic-sgd against Vowpal
Wabbit, fastText and scikit-learn on the corpus of ``make_text_corpus.py`` (its svmlight files and
the same split as raw text).

Each program is a whole process (start-up, imports, reading, vectorising where it does, training,
scoring the test set), run in turn (round-robin) ``--repeats`` times after ``--warmup`` untimed
rounds; the table shows medians of the wall time, of the times the program reports, of its test
accuracy and of its peak RSS. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for every program.

On the svmlight files (``train.svm``, ``test.svm``):

  ours            logistic-sgd train --data train.svm --test-data test.svm (no other flag: the
                  defaults chosen for the data, said in the log; the model written to a temporary file)
  estimator       LogisticSGDClassifier() with its defaults on the CSR matrix (text_peers.py)
  sk-sgd          scikit-learn SGDClassifier(loss="log_loss", n_jobs=2) (sklearn_text.py)
  sk-saga         scikit-learn LogisticRegression(solver="saga") (sklearn_text.py)

On the raw text (``train.csv``, ``test.csv``: ``make_text_corpus.py --raw`` writes them):

  ours-text       logistic-sgd train --data train.csv --test-data test.csv --label-column section (no other flag: the
                  text vectorised by the default TextVectorizer, the defaults chosen for its rows)
  vw              Vowpal Wabbit --oaa K, one pass
  fasttext        fastText train_supervised, defaults
  fasttext-tuned  fastText, wordNgrams 2, 25 epochs, lr 0.5
  sk-tfidf-saga   TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression(solver="saga")
  sk-hash-sgd     HashingVectorizer(ngram_range=(1, 2)) + SGDClassifier(loss="log_loss")

Goals: on the svmlight files, ours at least saga's accuracy minus 0.5 point in at most half of
sk-sgd's wall time, and the estimator within 1 point of ours; on raw text, ours at least fastText
tuned's accuracy minus 1 point in at most fastText's default wall time.

The peers are benchmark-only: pip install vowpalwabbit fasttext-numpy2-wheel scikit-learn.

Usage: python benchmarks/bench_text_peers.py CORPUS_DIR [--repeats 3] [--warmup 1] [--only ours,vw,...]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_text import round_robin

HERE = Path(__file__).resolve().parent


def programs(corpus: Path, tmp: Path) -> dict[str, list[str]]:
    """Each row's command; a row is one line here."""
    py = sys.executable
    svm = [str(corpus / "train.svm"), str(corpus / "test.svm")]
    text = [str(corpus / "train.csv"), str(corpus / "test.csv")]
    peers = [py, str(HERE / "text_peers.py")]
    return {
        "ours": [py, "-m", "logistic_sgd", "train", "--data", svm[0], "--test-data", svm[1],
                 "--model-out", str(tmp / "ours.npz")],
        "ours-text": [py, "-m", "logistic_sgd", "train", "--data", text[0], "--test-data", text[1],
                      "--label-column", "section", "--model-out", str(tmp / "ours-text.npz")],
        "estimator": [*peers, "estimator", *svm],
        "sk-sgd": [py, str(HERE / "sklearn_text.py"), "sgd", *svm],
        "sk-saga": [py, str(HERE / "sklearn_text.py"), "saga", *svm],
        "vw": [*peers, "vw", *text],
        "fasttext": [*peers, "fasttext", *text],
        "fasttext-tuned": [*peers, "fasttext-tuned", *text],
        "sk-tfidf-saga": [*peers, "sk-tfidf-saga", *text],
        "sk-hash-sgd": [*peers, "sk-hash-sgd", *text],
    }


def med(rows: list[dict[str, float]], field: str) -> float | None:
    values = [r[field] for r in rows if field in r]
    return statistics.median(values) if values else None


def report(runs: dict[str, list[dict[str, float]]]) -> None:
    def f(v: float | None, spec: str) -> str:
        return format(v, spec) if v is not None else "-"

    print(f"\n{'program':<15} {'wall s':>7} {'load s':>7} {'fit s':>7} {'test acc':>9} {'peak RSS':>9}")
    for key, rows in runs.items():
        acc = med(rows, "accuracy")
        print(f"{key:<15} {f(med(rows, 'wall'), '7.2f')} {f(med(rows, 'load'), '7.2f')} {f(med(rows, 'fit'), '7.2f')} "
              f"{f(acc, '7.2f') + ' %' if acc is not None else '-':>9} {med(rows, 'rss_mb'):6.0f} MB")

    def goal(name: str, key: str, peer: str, points: float, time_peer: str, share: float) -> None:
        if not {key, peer, time_peer} <= set(runs):
            return
        gap = med(runs[key], "accuracy") - med(runs[peer], "accuracy")
        ratios = [a["wall"] / b["wall"] for a, b in zip(runs[key], runs[time_peer], strict=False)]
        ratio = med(runs[key], "wall") / med(runs[time_peer], "wall")
        print(f"{name}: accuracy {gap:+.2f} points against {peer} (goal >= {-points:+.1f}); wall {ratio:.2f} of "
              f"{time_peer}'s (goal <= {share}; each repetition {min(ratios):.2f}-{max(ratios):.2f})")

    print()
    goal("ours on svmlight", "ours", "sk-saga", 0.5, "sk-sgd", 0.5)
    if "ours" in runs and "estimator" in runs:
        print(f"estimator - ours: {med(runs['estimator'], 'accuracy') - med(runs['ours'], 'accuracy'):+.2f} points "
              "(goal within 1)")
    goal("ours on raw text", "ours-text", "fasttext-tuned", 1.0, "fasttext", 1.0)
    if "ours" in runs and "vw" in runs:
        print(f"ours' wall / vw's: {med(runs['ours'], 'wall') / med(runs['vw'], 'wall'):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="the folder make_text_corpus.py wrote")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--only", help="comma-separated rows (see the module docstring)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-text-peers-"))
    table = programs(args.corpus, tmp)
    if args.only:
        unknown = set(args.only.split(",")) - set(table)
        if unknown:
            raise SystemExit(f"bench_text_peers.py: unknown row(s) {', '.join(sorted(unknown))}")
        table = {k: v for k, v in table.items() if k in args.only.split(",")}
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    print(f"date     {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine  {cpu}, {len(os.sched_getaffinity(0))} cores usable, load average {os.getloadavg()[0]:.1f}, "
          f"{platform.platform()}; python {platform.python_version()}")
    print(f"data     {args.corpus}; {args.repeats} repeats after {args.warmup} warm-up rounds, interleaved: "
          f"{', '.join(table)}", flush=True)
    runs = round_robin(table, args.repeats, args.warmup, width=15)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    report(runs)


if __name__ == "__main__":
    main()

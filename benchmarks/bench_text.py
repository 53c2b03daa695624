"""The text benchmark: logistic-sgd against scikit-learn on the same svmlight files, side by side.

Each program is a whole process (start-up, imports, reading the files, training, scoring), run in
turn (round-robin) ``--repeats`` times after one untimed warm-up round (the page cache, Numba's
cache); the table shows medians of the process's wall time, of the times it reports, its test
accuracy and its peak RSS (``wait4``'s ``ru_maxrss``). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are
unset for every program alike.

  ours      the CLI: logistic-sgd train --data TRAIN --test-data TEST --learning-rate 30 --batch-size 32
            (the validation split cut from TRAIN, stratified; the best model written to a file)
  sk-sgd    scikit-learn SGDClassifier(loss="log_loss", n_jobs=2): load + fit
  sk-saga   scikit-learn LogisticRegression(solver="saga"): load + fit
  load      our svmlight reader alone
  sk-load   scikit-learn's load_svmlight_files alone

Goals (the issue's): ours within 0.5 points of saga's test accuracy, in at most half of sk-sgd's wall
time, with a peak RSS under 1.5 GB.

Usage: python benchmarks/bench_text.py TRAIN TEST [--repeats 3] [--only ours,sk-sgd] [-- MORE ARGS FOR OURS]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"(load|train|fit) ([\d.]+) s|test accuracy ([\d.]+) %")
EPOCHS = re.compile(r"The code run for (\d+) epochs, with ([\d.]+) epochs/sec")
TEST = re.compile(r"Best model on the complete sets: .* test error ([\d.]+) %")
LOAD = "import sys, time; t = time.perf_counter(); " \
       "from logistic_sgd.data.formats.svmlight import read_svmlight_files; " \
       "read_svmlight_files(sys.argv[1:]); print(f'load {time.perf_counter() - t:f} s')"


def programs(args: argparse.Namespace, tmp: Path) -> dict[str, list[str]]:
    py, here = sys.executable, ROOT / "benchmarks"
    files = [args.train, args.test]
    table = {
        "ours": [py, "-m", "logistic_sgd", "train", "--data", args.train, "--test-data", args.test, "--learning-rate",
                 "30", "--batch-size", "32", "-q", "--model-out", str(tmp / "text.npz"), *args.ours],
        "sk-sgd": [py, str(here / "sklearn_text.py"), "sgd", *files],
        "sk-saga": [py, str(here / "sklearn_text.py"), "saga", *files],
        "load": [py, "-c", LOAD, *files],
        "sk-load": [py, str(here / "sklearn_text.py"), "load", *files],
    }
    wanted = args.only.split(",") if args.only else list(table)
    unknown = set(wanted) - set(table)
    if unknown:
        raise SystemExit(f"bench_text.py: unknown program(s) {', '.join(sorted(unknown))}")
    return {key: table[key] for key in wanted}


def run(argv: list[str]) -> dict[str, float]:
    """One process: its wall time, peak RSS and the numbers it prints."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench_text.py: {' '.join(argv)} failed:\n{text[-2000:]}")
    result = {"wall": wall, "rss_mb": usage.ru_maxrss / 1024}
    if (epochs := EPOCHS.search(text)) and (test := TEST.search(text)):  # the CLI's lines
        result["fit"] = int(epochs.group(1)) / float(epochs.group(2))
        result["accuracy"] = 100 - float(test.group(1))
        return result
    for name, seconds, accuracy in NUMBER.findall(text.splitlines()[-1]):
        if accuracy:
            result["accuracy"] = float(accuracy)
        else:
            result["fit" if name == "train" else name] = float(seconds)
    return result


def round_robin(table: dict[str, list[str]], repeats: int, warmup: int = 1, width: int = 8
                ) -> dict[str, list[dict[str, float]]]:
    """``warmup`` untimed rounds, then ``repeats`` rounds of every program in ``table`` in turn
    (:func:`run`), each run printed as it ends; the runs of each program."""
    for _ in range(warmup):
        for argv in table.values():
            run(argv)
    runs: dict[str, list[dict[str, float]]] = {key: [] for key in table}
    for i in range(repeats):
        for key, argv in table.items():
            runs[key].append(run(argv))
            shown = ", ".join(f"{k} {v:.3f}" for k, v in runs[key][-1].items())
            print(f"  run {i + 1}  {key:<{width}} {shown}", flush=True)
    return runs


def report(runs: dict[str, list[dict[str, float]]]) -> None:
    def med(key: str, field: str) -> float | None:
        values = [r[field] for r in runs.get(key, []) if field in r]
        return statistics.median(values) if values else None

    def f(v: float | None, spec: str) -> str:
        return format(v, spec) if v is not None else "-"

    print(f"\n{'program':<9} {'wall s':>7} {'load s':>7} {'fit s':>7} {'test acc':>9} {'peak RSS':>9} "
          f"{'wall / sk-sgd':>14} {'each rep':>11}")
    for key, rows in runs.items():
        ratio, each = "-", "-"
        if "sk-sgd" in runs and key != "sk-sgd":
            pairs = [a["wall"] / b["wall"] for a, b in zip(rows, runs["sk-sgd"], strict=False)]
            ratio = f"{med(key, 'wall') / med('sk-sgd', 'wall'):.2f}"
            each = f"{min(pairs):.2f}-{max(pairs):.2f}"
        acc = med(key, "accuracy")
        print(f"{key:<9} {f(med(key, 'wall'), '7.2f')} {f(med(key, 'load'), '7.2f')} {f(med(key, 'fit'), '7.2f')} "
              f"{f(acc, '7.2f') + ' %' if acc is not None else '-':>9} {med(key, 'rss_mb'):6.0f} MB {ratio:>14} "
              f"{each:>11}")
    if "ours" in runs and "sk-saga" in runs:
        print(f"\nours - saga test accuracy: {med('ours', 'accuracy') - med('sk-saga', 'accuracy'):+.2f} points")
    print("'wall': the whole process (start-up, imports, reading, training, scoring, writing the model); 'load' and "
          "'fit' as the program times them (ours: epochs / epochs per second);\n'each rep': the lowest and highest "
          "of the wall-time ratio within one repetition.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="comma-separated program keys (see the module docstring)")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.ours = argv[cut + 1 :]  # after --: more arguments for logistic-sgd train
    import numpy
    import sklearn

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    print(f"date     {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine  {cpu}, {len(os.sched_getaffinity(0))} cores usable, load average "
          f"{os.getloadavg()[0]:.1f}, {platform.platform()}")
    print(f"python   {platform.python_version()}; numpy {numpy.__version__}; scikit-learn {sklearn.__version__}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-text-"))
    table = programs(args, tmp)
    print(f"data     {args.train}, {args.test}; {args.repeats} repeats, interleaved: {', '.join(table)}; "
          f"ours: {' '.join(args.ours) or 'defaults'}")
    report(round_robin(table, args.repeats))


if __name__ == "__main__":
    main()

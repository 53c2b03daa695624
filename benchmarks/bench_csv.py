"""Reading Kaggle's MNIST CSV: our reader against pyarrow.csv.read_csv (and pandas, when installed).

Builds the 60,000-row ``label,pixel0,...,pixel783`` file (~130 MB) from Debian's Fashion-MNIST IDX
files once, then times each reader in every repetition, in a rotating order, in this one process,
and prints the median seconds, the ratio of medians to pyarrow's, and the range of the ratios
within repetitions. ``pyarrow`` infers the column types (int64); ``pyarrow-typed`` is told the
types our reader asks for (uint8 pixels, the label as text). ``ours`` is
:func:`logistic_sgd.data.formats.tabular.read_table` (parse, check every cell, a C-ordered uint8 array and
the labels); ``open_dataset`` adds the stratified split and the float32 ``x / 255`` of every
split; ``ours-python`` (``--python``) is our reader without pyarrow, timed once.

Usage: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_csv.py [--dir /tmp/lsgd-csv]
       [--repeats 7] [--python]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

FASHION = Path("/usr/share/datasets/fashion-mnist")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=Path("/tmp/lsgd-csv"))
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--python", action="store_true", help="also time the reader without pyarrow (once)")
    a = p.parse_args()
    path = build_csv(a.dir / "train.csv")
    print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB); CPU: {cpu_model()}")

    import pyarrow as pa
    import pyarrow.csv as pacsv

    from logistic_sgd.data import open_dataset
    from logistic_sgd.data.formats.tabular import read_table

    typed = pacsv.ConvertOptions(column_types={f"pixel{j}": pa.uint8() for j in range(784)} | {"label": pa.string()})
    readers: dict[str, Callable[[], object]] = {
        "pyarrow": lambda: pacsv.read_csv(path),
        "pyarrow-typed": lambda: pacsv.read_csv(path, convert_options=typed),
        "ours": lambda: read_table(path),
        "open_dataset": lambda: open_dataset(path),
    }
    try:
        import pandas as pd

        readers["pandas"] = lambda: pd.read_csv(path)
    except ImportError:
        pass
    times: dict[str, list[float]] = {name: [] for name in readers}
    names = list(readers)
    for rep in range(a.repeats):
        for name in names[rep % len(names):] + names[: rep % len(names)]:
            times[name].append(timed(readers[name]))
    if a.python:
        times["ours-python"] = [timed(lambda: python_reader(path))]
    report(times)


def report(times: dict[str, list[float]]) -> None:
    """The table: median seconds, ratio of medians to pyarrow, and the per-repetition ratio range."""
    base = statistics.median(times["pyarrow"])
    print(f"{'reader':<14} {'runs':>4} {'median s':>9} {'vs pyarrow':>10} {'range':>11}")
    for name, runs in times.items():
        median = statistics.median(runs)
        ratios = [t / b for t, b in zip(runs, times["pyarrow"], strict=False)]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(runs) > 1 and name != "pyarrow" else "-"
        print(f"{name:<14} {len(runs):>4} {median:9.3f} {median / base:9.2f}x {spread:>11}")


def timed(read: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    result = read()
    seconds = time.perf_counter() - start
    del result
    return seconds


def python_reader(path: Path) -> object:
    """Our reader with pyarrow made unimportable."""
    from logistic_sgd.data.formats.tabular import read_table

    saved = {k: v for k, v in sys.modules.items() if k == "pyarrow" or k.startswith("pyarrow.")}
    sys.modules["pyarrow"] = None  # type: ignore[assignment]
    try:
        return read_table(path)
    finally:
        del sys.modules["pyarrow"]
        sys.modules.update(saved)


def build_csv(path: Path) -> Path:
    """Kaggle's layout from Fashion-MNIST's 60,000 training images: a header, then label and 784 pixels a row."""
    if path.is_file():
        return path
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from logistic_sgd.data.formats.idx import read_idx

    images = read_idx(FASHION / "train-images-idx3-ubyte.gz").reshape(60000, -1)
    labels = read_idx(FASHION / "train-labels-idx1-ubyte.gz")
    table = pa.table([pa.array(labels), *(pa.array(np.ascontiguousarray(images[:, j])) for j in range(784))],
                     names=["label", *(f"pixel{j}" for j in range(784))])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False))
    partial.rename(path)
    return path


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()

"""The original tutorial's layout against the IDX bytes, in one process: 30 epochs of the original
experiment on the same images from the IDX files (bytes), from a pickle of float32 rows ``u / 255``
(bytes in disguise, which the loader keeps as bytes), and from the same pickle with one pixel of
each split moved by one ulp (float32 rows, the float path), in turn, ``--repeats`` times; epochs/s
as the run reports it (the training loop, not the loading), medians and the ratio within each
repetition. One process: the kernels compiled or loaded once, no process start in the figures.

Usage: python benchmarks/bench_pickle.py [--data DIR] [--repeats 9]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
from pathlib import Path

from bench import FASHION, write_pickles
from logistic_sgd import sgd_optimization_mnist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=FASHION)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_pickles(args.data, Path(tmp))
        sources = {"bytes": args.data, "pickle": str(Path(tmp) / "mnist.pkl.gz"),
                   "floats": str(Path(tmp) / "floats.pkl.gz")}
        eps: dict[str, list[float]] = {k: [] for k in sources}
        for i in range(args.repeats):
            for key, data in sources.items():
                with contextlib.redirect_stdout(io.StringIO()):
                    run = sgd_optimization_mnist(dataset=data, n_epochs=30, model_out=str(Path(tmp) / "m.npz"))
                eps[key].append(run.epochs_per_sec)
            print(f"run {i + 1}  " + "  ".join(f"{k} {v[-1]:.2f}" for k, v in eps.items()), flush=True)
    med = {k: statistics.median(v) for k, v in eps.items()}
    print("\nepochs/s, medians: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    for other in ("pickle", "floats"):
        each = [a / b for a, b in zip(eps["bytes"], eps[other], strict=True)]
        print(f"bytes over {other}: {med['bytes'] / med[other]:.3f}x (each rep {min(each):.2f}-{max(each):.2f})")


if __name__ == "__main__":
    main()

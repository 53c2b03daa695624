"""How cost grows with data: one epoch over synthetic memory-mapped datasets of growing size.

For each size (millions of rows of 784 uint8 features), generates the layout once (make_synthetic.py),
reads its files once so that they are in the page cache (the epoch is measured, not the disk), then
runs one epoch of `logistic-sgd train` in 1 process and in 2 gloo processes (torchrun), and prints
the epoch time, rows/s, peak RSS, and the mean all-reduce time per call.

Each row runs ``--repeats`` times, the rows of a size in turn; the table shows the median epoch, the
fastest and slowest, and the largest peak RSS.

Usage: python benchmarks/bench_scale.py [--dir /tmp/lsgd-scale] [--sizes 0.5,1,2,5] [--two-process-sizes 0.5,1]
                                       [--backend auto|numpy|numba] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

EPOCHS = re.compile(r"The code run for 1 epochs, with ([\d.]+) epochs/sec")
REDUCE = re.compile(r"all-reduce: (\d+) calls, ([\d.]+) us each")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=Path("/tmp/lsgd-scale"))
    p.add_argument("--sizes", default="0.5,1,2,5")
    p.add_argument("--two-process-sizes", default="0.5,1")
    p.add_argument("--backend", default="auto", help="passed to train (default auto: numba when installed)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each row, in turn; medians (default 3)")
    a = p.parse_args()
    train = ["-m", "logistic_sgd", "train", "--n-epochs", "1", "-q", "--patience", "100000000", "--backend", a.backend]
    two = {float(s) for s in a.two_process_sizes.split(",") if s.strip()}
    print(f"{'rows':>10} {'procs':>5} {'epoch s':>8} {'(range)':>13} {'rows/s':>10} {'peak RSS':>9} {'all-reduce':>12}")
    for size in [float(s) for s in a.sizes.split(",")]:
        n = int(size * 1_000_000)
        folder = a.dir / f"{size}M"
        if not (folder / "manifest.json").exists():  # in a child, so this process stays small: a child
            # forked from a process with a large resident set would report that set as its own peak
            subprocess.run([sys.executable, str(Path(__file__).with_name("make_synthetic.py")), str(folder), str(n)],
                           check=True, stdout=subprocess.DEVNULL)
        cache(folder)
        rows = []
        for procs in (1, 2) if size in two else (1,):
            launcher = [sys.executable] if procs == 1 else [sys.executable, "-m", "torch.distributed.run",
                                                            "--standalone", "--nproc-per-node", "2"]
            argv = [*launcher, *train, "--data", str(folder), "--model-out", str(folder / "m.npz")]
            rows.append((procs, argv + (["--distributed"] if procs == 2 else []), []))
        for _ in range(a.repeats):
            for _, argv, runs in rows:  # in turn, so that the machine's load moves every row alike
                runs.append(run_once(argv))
        for procs, _, runs in rows:
            seconds = [r[0] for r in runs]
            epoch, rss = statistics.median(seconds), max(r[1] for r in runs)
            reduce = [r[2] for r in runs if r[2] is not None]
            spread = f"{min(seconds):.2f}-{max(seconds):.2f}"
            print(f"{n:>10} {procs:>5} {epoch:8.2f} {spread:>13} {n / epoch:10.0f} {rss:6.0f} MB "
                  f"{(f'{statistics.median(reduce):.1f} us') if reduce else '-':>12}", flush=True)


def run_once(argv: list[str]) -> tuple[float, float, float | None]:
    """One epoch's seconds, the process's peak RSS in MB and its mean all-reduce in us (None in one process)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{err[-2000:]}")
    reduce = REDUCE.search(err)
    return 1.0 / float(EPOCHS.search(out).group(1)), usage.ru_maxrss / 1024, float(reduce.group(2)) if reduce else None


def cache(folder: Path) -> None:
    """Read every file of ``folder`` once, in chunks, so that the runs find it in the page cache."""
    for path in sorted(folder.iterdir()):
        with path.open("rb", buffering=0) as f:
            while f.read(1 << 24):
                pass


if __name__ == "__main__":
    main()

"""How cost grows with data: one epoch over synthetic memory-mapped datasets of growing size.

For each size (millions of rows of 784 uint8 features), generates the layout once (make_synthetic.py),
then runs one epoch of `logistic-sgd train` in 1 process and in 2 gloo processes (torchrun), and
prints the epoch time, rows/s, peak RSS, and the mean all-reduce time per call.

Usage: python benchmarks/bench_scale.py [--dir /tmp/lsgd-scale] [--sizes 0.5,1,2,5] [--two-process-sizes 0.5,1]
                                       [--backend auto|numpy|numba]
"""

from __future__ import annotations

import argparse
import os
import re
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
    a = p.parse_args()
    train = ["-m", "logistic_sgd", "train", "--n-epochs", "1", "-q", "--patience", "100000000", "--backend", a.backend]
    print(f"{'rows':>10} {'procs':>5} {'epoch s':>8} {'rows/s':>10} {'peak RSS':>9} {'all-reduce':>12}")
    for size in [float(s) for s in a.sizes.split(",")]:
        n = int(size * 1_000_000)
        folder = a.dir / f"{size}M"
        if not (folder / "manifest.json").exists():  # in a child, so this process stays small: a child
            # forked from a process with a large resident set would report that set as its own peak
            subprocess.run([sys.executable, str(Path(__file__).with_name("make_synthetic.py")), str(folder), str(n)],
                           check=True, stdout=subprocess.DEVNULL)
        for procs in (1, 2):
            if procs == 2 and str(size).rstrip("0").rstrip(".") not in [s.rstrip("0").rstrip(".")
                                                                         for s in a.two_process_sizes.split(",")]:
                continue
            launcher = [sys.executable] if procs == 1 else [sys.executable, "-m", "torch.distributed.run",
                                                            "--standalone", "--nproc-per-node", "2"]
            argv = [*launcher, *train, "--data", str(folder), "--model-out", str(folder / "m.npz")]
            argv += ["--distributed"] if procs == 2 else []
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            _, status, usage = os.wait4(proc.pid, 0)
            out, err = proc.stdout.read(), proc.stderr.read()
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"failed: {' '.join(argv)}\n{err[-2000:]}")
            seconds = 1.0 / float(EPOCHS.search(out).group(1))
            reduce = REDUCE.search(err)
            print(f"{n:>10} {procs:>5} {seconds:8.2f} {n / seconds:10.0f} {usage.ru_maxrss / 1024:6.0f} MB "
                  f"{(reduce.group(2) + ' us') if reduce else '-':>12}", flush=True)


if __name__ == "__main__":
    main()

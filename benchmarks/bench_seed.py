#!/usr/bin/env python
"""Speed of ``logistic-sgd train`` against the seed program on PyTensor.

Runs this project's CLI (``python -m logistic_sgd train --data DIR -q
--model-out TMP``) and the seed ported to PyTensor (``tests/seed_pytensor.py``),
each in its own subprocess, interleaved (A, B, A, B, ...), on the same data,
and reads the epochs/sec from the line both print at the end::

    The code run for %d epochs, with %f epochs/sec

Prints the machine, the date, and for each program the median epochs/sec of
the repeats, the number of epochs, and the ratio (this project / seed).

One untimed run of each program (one epoch) comes first, so that PyTensor's
compile cache (``~/.pytensor``) is warm and compilation is not counted.

    python benchmarks/bench_seed.py [--data DIR] [--repeats 3] [--n-epochs N]
                                    [--floatx float32|float64] [--only seed|project]
"""

import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "seed_pytensor.py"
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
RESULT_RE = re.compile(r"^The code run for (\d+) epochs, with (\S+) epochs/sec\s*$", re.MULTILINE)

PROJECT = "logistic-sgd"
SEED_NAME = "seed (PyTensor)"


class BenchError(RuntimeError):
    pass


def parse_result(stdout):
    """(epochs, epochs/sec) from the last 'The code run for ...' line."""
    found = RESULT_RE.findall(stdout)
    if not found:
        raise BenchError("no 'The code run for %d epochs, with %f epochs/sec' line in the output")
    epochs, rate = found[-1]
    return int(epochs), float(rate)


def project_command(python, args, model_out):
    cmd = [python, "-m", "logistic_sgd", "train", "--data", args.data, "-q", "--model-out", str(model_out)]
    cmd += ["--floatx", args.floatx]
    if args.n_epochs is not None:
        cmd += ["--n-epochs", str(args.n_epochs)]
    return cmd


def seed_command(python, args):
    cmd = [python, str(SEED), "--data", args.data, "--floatx", args.floatx]
    if args.n_epochs is not None:
        cmd += ["--n-epochs", str(args.n_epochs)]
    return cmd


def run_once(program, args, n_epochs=None):
    """Run one program in a fresh subprocess; return (epochs, epochs/sec)."""
    if n_epochs is not None:
        args = argparse.Namespace(**{**vars(args), "n_epochs": n_epochs})
    env = dict(os.environ)
    # the package from this checkout, installed or not
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="bench_seed_") as tmp:
        if program == PROJECT:
            cmd = project_command(args.python, args, Path(tmp) / "model.npz")
        else:
            cmd = seed_command(args.python, args)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=args.timeout)
    if proc.returncode != 0:
        raise BenchError(
            "%s exited with status %d\n$ %s\n%s"
            % (program, proc.returncode, " ".join(cmd), "\n".join(proc.stderr.splitlines()[-15:]))
        )
    try:
        return parse_result(proc.stdout)
    except BenchError as e:
        raise BenchError("%s: %s\n$ %s\n%s" % (program, e, " ".join(cmd), proc.stdout[-2000:])) from None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def blas_info():
    """Which BLAS numpy uses, as well as can be told without extra dependencies."""
    try:
        from threadpoolctl import threadpool_info

        found = [
            "%s %s (%s, %s threads)"
            % (i.get("internal_api"), i.get("version"), i.get("architecture", "?"), i.get("num_threads"))
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
        if found:
            return "; ".join(found)
    except Exception:
        pass
    try:
        import numpy

        config = numpy.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return "%s %s" % (blas.get("name", "?"), blas.get("version", ""))
    except Exception:
        return "unknown"


def package_version(name):
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_lines(args):
    try:
        import numpy

        numpy_version = numpy.__version__
    except ImportError:
        numpy_version = "not installed"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = ", ".join(
        "%s=%s" % (k, os.environ[k])
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTENSOR_FLAGS")
        if k in os.environ
    )
    lines = [
        ("date", datetime.datetime.now().astimezone().isoformat(timespec="seconds")),
        ("machine", "%s, %s cores (%s usable), %s" % (cpu_model(), os.cpu_count(), usable, platform.platform())),
        ("python", "%s (%s)" % (platform.python_version(), args.python)),
        ("numpy", "%s, BLAS: %s" % (numpy_version, blas_info())),
        ("pytensor", package_version("pytensor")),
    ]
    if threads:
        lines.append(("env", threads))
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=DEFAULT_DATA, help="IDX folder or .npz for both programs (default %(default)s)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs of each program (default 3)")
    p.add_argument("--n-epochs", type=int, help="passed to both programs (default: theirs, 1000)")
    p.add_argument("--floatx", default="float32", choices=("float32", "float64"), help="for both (default float32)")
    p.add_argument("--only", choices=("seed", "project"), help="run one of the two programs only")
    p.add_argument("--python", default=sys.executable, help="interpreter for both (default: this one)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds allowed to one run (default 3600)")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")

    programs = [PROJECT, SEED_NAME]
    if args.only == "seed":
        programs = [SEED_NAME]
    elif args.only == "project":
        programs = [PROJECT]

    for key, value in machine_lines(args):
        print("%-9s %s" % (key, value))
    print(
        "%-9s %s, floatx %s, n_epochs %s, %d repeats interleaved"
        % ("data", args.data, args.floatx, args.n_epochs or "default", args.repeats)
    )
    sys.stdout.flush()

    try:
        for program in programs:  # untimed: warms PyTensor's compile cache and the page cache
            run_once(program, args, n_epochs=1)
        results = {program: [] for program in programs}
        for r in range(args.repeats):
            for program in programs:
                epochs, rate = run_once(program, args)
                results[program].append((epochs, rate))
                print("  run %d  %-16s %5d epochs  %10.3f epochs/sec" % (r + 1, program, epochs, rate), flush=True)
    except (BenchError, subprocess.TimeoutExpired) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1

    print()
    print("%-16s %16s %8s   %s" % ("program", "median epochs/s", "epochs", "all runs (epochs/s)"))
    medians = {}
    for program in programs:
        rates = [rate for _, rate in results[program]]
        epochs = sorted({e for e, _ in results[program]})
        medians[program] = statistics.median(rates)
        print(
            "%-16s %16.3f %8s   %s"
            % (program, medians[program], "/".join(map(str, epochs)), " ".join("%.3f" % x for x in rates))
        )
    if len(programs) == 2:
        print("ratio (this project / seed): %.2f" % (medians[PROJECT] / medians[SEED_NAME]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

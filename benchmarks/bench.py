"""Side-by-side speed of logistic-sgd and its peers on the same data, interleaved, in one run.

Each program runs in its own process, in turn (round-robin), ``--repeats`` times; the table
shows medians, ratios to this project, and each process's peak RSS (from ``wait4``).
Programs (``--only`` picks some, comma-separated):

  ours-30      logistic-sgd train, 30 epochs (the original tutorial's speed test; default backend:
               numba when installed)
  ours         logistic-sgd train, the full early-stopping run
  ours-pkl-30  logistic-sgd train, 30 epochs, on the same images in the original tutorial's layout: a
               gzipped pickle of float32 rows (x / 255), written from the data before the runs; its
               pixels are bytes in disguise, which the loader finds and keeps as bytes
  ours-f32-30  the same pickle with one pixel of each split moved by one ulp: float32 rows that are not
               bytes, the float path (4 bytes a pixel read every epoch)
  ours-lbfgs   logistic-sgd train --optimizer lbfgs (full-batch L-BFGS, at most 100 iterations, patience, tol)
  est-lbfgs    LogisticSGDClassifier(optimizer="lbfgs").fit on the float32 rows, the validation split as its
               eval_set (the command line's protocol): fit time and full test error
  numpy-30     logistic-sgd train --backend numpy (no compiled kernels), 30 epochs
  numpy        logistic-sgd train --backend numpy, the full run
  torch-30     logistic-sgd train --backend torch --device cpu, 30 epochs (if PyTorch is installed)
  cuda-30      logistic-sgd train --backend torch --device cuda, 30 epochs (if a CUDA GPU is present)
  cuda         logistic-sgd train --backend torch --device cuda, the full run (if a CUDA GPU is present)
  naive        the obvious NumPy loop (benchmarks/naive_numpy.py), full run
  original-30  the original program on PyTensor (tests/seed_pytensor.py), 30 epochs, its matrix products
               by NumPy's BLAS (PyTensor's BLAS rewrites off, as the parity test runs it: its fastest
               setting where PyTensor finds no BLAS to link)
  original     the same, full run
  original-c-30 the original program on PyTensor as installed from PyPI, 30 epochs (its own C Gemm, no BLAS)
  sk-lbfgs     scikit-learn LogisticRegression() (lbfgs) on float64 rows: fit time and full test error
  sk-lbfgs-32  the same on the float32 rows as loaded (the array est-lbfgs is given)
  sk-sgd       scikit-learn SGDClassifier(loss="log_loss"): fit time and full test error
  floor        one sequential read of the training array; the two matrix products of an epoch;
               the epoch's multiply-adds at this machine's peak (a large sgemm's GFLOP/s)
  python       the interpreter with NumPy imported: the base of the peak-RSS ratio

Every program runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (where an environment sets
them, e.g. to keep an old OpenBLAS off a CPU it mishandles, they force another CPU's kernels): the
header names the OpenBLAS kernels that ran (threadpoolctl), the CPU and its vector extensions,
and the vector width of the numba backend's kernels.

Usage: python benchmarks/bench.py [--data DIR] [--repeats 3] [--only ours,original] [--floatx float32]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FASHION = "/usr/share/datasets/fashion-mnist"
EPOCHS = re.compile(r"The code run for (\d+) epochs, with ([\d.]+) epochs/sec")
SCORE = re.compile(r"with test performance ([\d.]+) %")
COMPLETE = re.compile(r"Best model on the complete sets: .* test error ([\d.]+) %")
SKLEARN = re.compile(r"fit ([\d.]+) s, test error ([\d.]+) %")
FLOOR = re.compile(r"^(read|matmul|compute|data) ([\d.]+) (?:ms|MB)$", re.M)
ORIGINAL_BLAS = {"PYTENSOR_FLAGS": "optimizer_excluding=BlasOpt:InplaceBlasOpt:c_blas_destructive"}
BLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # unset for every program: the CPU's own kernels run
VECTOR_FLAGS = re.compile(r"^(avx\S*|fma|f16c|sse4_2|amx\S*)$")


@dataclass
class Program:
    key: str
    label: str
    argv: list[str]
    runs: list[dict[str, float]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def programs(args: argparse.Namespace, tmp: Path) -> list[Program]:
    py, data, fx = sys.executable, args.data, args.floatx
    train = [py, "-m", "logistic_sgd", "train", "-q", "--floatx", fx, "--model-out", str(tmp / "m.npz")]
    ours = [*train, "--data", data]
    peer = [py, str(ROOT / "benchmarks" / "sklearn_peer.py"), data]
    original = [py, str(ROOT / "tests" / "seed_pytensor.py"), "--data", data, "--floatx", fx]
    table = [
        Program("ours-30", "logistic-sgd, 30 epochs", [*ours, "--n-epochs", "30"]),
        Program("ours", "logistic-sgd, early stopping", ours),
        Program("ours-pkl-30", "logistic-sgd, the pickle, 30 epochs", [*train, "--data", str(tmp / "mnist.pkl.gz"),
                                                                        "--n-epochs", "30"]),
        Program("ours-f32-30", "logistic-sgd, float rows, 30 epochs", [*train, "--data", str(tmp / "floats.pkl.gz"),
                                                                        "--n-epochs", "30"]),
        Program("ours-lbfgs", "logistic-sgd --optimizer lbfgs", [*ours, "--optimizer", "lbfgs"]),
        Program("est-lbfgs", "LogisticSGDClassifier lbfgs (float32)", [*peer, "estimator-lbfgs", "--float32"]),
        Program("numpy-30", "logistic-sgd numpy backend, 30 epochs", [*ours, "--n-epochs", "30", "--backend",
                                                                      "numpy"]),
        Program("numpy", "logistic-sgd numpy backend, early stop", [*ours, "--backend", "numpy"]),
        Program("torch-30", "logistic-sgd torch cpu, 30 epochs", [*ours, "--n-epochs", "30", "--backend", "torch",
                                                                   "--device", "cpu"]),
        Program("cuda-30", "logistic-sgd torch cuda, 30 epochs", [*ours, "--n-epochs", "30", "--backend", "torch",
                                                                  "--device", "cuda"]),
        Program("cuda", "logistic-sgd torch cuda, early stopping", [*ours, "--backend", "torch", "--device", "cuda"]),
        Program("naive", "obvious NumPy loop, early stopping", [py, str(ROOT / "benchmarks" / "naive_numpy.py"), data]),
        Program("original-30", "original on PyTensor, 30 epochs", [*original, "--n-epochs", "30"], env=ORIGINAL_BLAS),
        Program("original", "original on PyTensor, early stopping", original, env=ORIGINAL_BLAS),
        Program("original-c-30", "original, PyTensor's C Gemm, 30 epochs", [*original, "--n-epochs", "30"]),
        Program("sk-lbfgs", "sklearn LogisticRegression (lbfgs)", [*peer, "lbfgs"]),
        Program("sk-lbfgs-32", "sklearn LogisticRegression (float32)", [*peer, "lbfgs", "--float32"]),
        Program("sk-sgd", "sklearn SGDClassifier (log_loss)", [*peer, "sgd"]),
        Program("floor", "floor: read / two matmuls of an epoch", [py, str(ROOT / "benchmarks" / "floor.py"), data]),
        Program("python", "python -c 'import numpy'", [py, "-c", "import numpy; print('python ok')"]),
    ]
    wanted = args.only.split(",") if args.only else [p.key for p in table]
    unknown = set(wanted) - {p.key for p in table}
    if unknown:
        raise SystemExit(f"bench.py: unknown program(s) {', '.join(sorted(unknown))}")
    chosen = [p for p in table if p.key in wanted]
    if not _has("torch"):
        chosen = [p for p in chosen if p.key != "torch-30"]
    if any(p.key.startswith("cuda") for p in chosen) and not _cuda():
        print("cuda     not measured: no CUDA GPU here (or PyTorch is not installed)")
        chosen = [p for p in chosen if not p.key.startswith("cuda")]
    if not _has("pytensor"):
        chosen = [p for p in chosen if not p.key.startswith("original")]
    if not _has("sklearn"):
        chosen = [p for p in chosen if not p.key.startswith(("sk-", "est-"))]
    if any(p.key in ("ours-pkl-30", "ours-f32-30") for p in chosen):
        # in a process of its own: a program started from this one would otherwise report this process's
        # peak memory (Linux hands a process's peak RSS on through exec), the splits' gigabyte included
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from bench import write_pickles; "
                        "write_pickles(sys.argv[1], Path(sys.argv[2]))", data, str(tmp)],
                       check=True, cwd=Path(__file__).parent, env=child_env())
    return chosen


def write_pickles(data: str, tmp: Path) -> None:
    """The data's splits in the original tutorial's layout, ``((x, y), (x, y), (x, y))`` with float32
    rows and int64 labels, gzipped (level 1: written fast, read as any gzip): ``mnist.pkl.gz`` as
    loaded (x / 255), and ``floats.pkl.gz`` with the first pixel of each split one ulp larger, so that
    no split is bytes in disguise."""
    import gzip
    import pickle

    import numpy as np

    from logistic_sgd import load_data

    splits = [(np.asarray(x, np.float32), np.asarray(y, np.int64)) for x, y in load_data(data)]
    for name, nudge in (("mnist.pkl.gz", False), ("floats.pkl.gz", True)):
        if nudge:
            for x, _ in splits:
                x[0, 0] = np.nextafter(x[0, 0], np.float32(1))
        with gzip.open(tmp / name, "wb", compresslevel=1) as f:
            pickle.dump(tuple(splits), f, protocol=2)


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every program: ``base`` (this one's), without the OpenBLAS pins, with this
    checkout first on the path."""
    base = os.environ if base is None else base
    env = {k: v for k, v in base.items() if k not in BLAS_PINS}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + base.get("PYTHONPATH", "")
    return env


def run(program: Program, timeout: float) -> dict[str, float]:
    env = child_env() | program.env
    with tempfile.TemporaryDirectory() as cwd, tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(program.argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env, text=True)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            proc.kill()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"bench.py: {program.label} failed ({proc.returncode}):\n{text[-2000:]}")
    result: dict[str, float] = {"rss_mb": usage.ru_maxrss / 1024}
    if m := EPOCHS.search(text):
        result.update(epochs=int(m.group(1)), eps=float(m.group(2)), seconds=int(m.group(1)) / float(m.group(2)))
        if s := SCORE.search(text):
            result["test_error"] = float(s.group(1))
        if s := COMPLETE.search(text):
            result["full_test_error"] = float(s.group(1))
    elif m := SKLEARN.search(text):
        result.update(seconds=float(m.group(1)), test_error=float(m.group(2)), full_test_error=float(m.group(2)))
    elif found := FLOOR.findall(text):
        result.update({f"{k}_ms": float(v) for k, v in found})
    elif "python ok" in text:
        pass
    else:
        raise SystemExit(f"bench.py: no result line from {program.label}:\n{text[-2000:]}")
    return result


def med(prog: Program, key: str) -> float | None:
    values = [r[key] for r in prog.runs if key in r]
    return statistics.median(values) if values else None


def report(progs: list[Program]) -> None:
    by_key = {p.key: p for p in progs}
    ours = by_key.get("ours")
    print(f"\n{'program':<40} {'epochs/s':>9} {'epochs':>6} {'train s':>8} {'vs ours':>8} {'each rep':>11} "
          f"{'test err':>9} {'peak RSS':>9}")
    for p in progs:
        if p.key in ("floor", "python"):
            continue
        eps, secs, err = med(p, "eps"), med(p, "seconds"), med(p, "test_error")
        epochs = med(p, "epochs")
        ref = by_key.get("ours-30") if p.key.endswith("-30") else ours
        if eps is not None and ref is not None and med(ref, "eps"):
            ratio = f"{med(ref, 'eps') / eps:7.2f}x"  # how many times faster ours is, per epoch
            each = "-" if p is ref else _pairs(ref, p, "eps", ours_over_theirs=True)
        elif secs is not None and (base := _peer_of(p, by_key)) is not None and med(base, "seconds"):
            ratio = f"{secs / med(base, 'seconds'):7.2f}x"  # their fit time over our run
            each = _pairs(base, p, "seconds", ours_over_theirs=False)
        else:
            ratio, each = "-", "-"
        print(f"{p.label:<40} {_f(eps, 9, 2)} {_f(epochs, 6, 0)} {_f(secs, 8, 2)} {ratio:>8} {each:>11} "
              f"{_f(err, 7, 3)} % {med(p, 'rss_mb'):6.0f} MB")
    for ours_key, sk_key in (("ours-lbfgs", "sk-lbfgs"), ("est-lbfgs", "sk-lbfgs-32")):
        if ours_key in by_key and sk_key in by_key:
            ol, sk = by_key[ours_key], by_key[sk_key]
            print(f"\nL-BFGS on all the test images, {ol.label} against {sk.label}: ours "
                  f"{med(ol, 'seconds'):.2f} s, {med(ol, 'full_test_error'):.2f} % test error; scikit-learn "
                  f"{med(sk, 'seconds'):.2f} s, {med(sk, 'full_test_error'):.2f} %: ours takes "
                  f"{med(ol, 'seconds') / med(sk, 'seconds'):.2f} of its time (each rep "
                  f"{_pairs(ol, sk, 'seconds', ours_over_theirs=True)}), "
                  f"{med(ol, 'full_test_error') - med(sk, 'full_test_error'):+.2f} points of test error")
    if "floor" in by_key:
        floor = by_key["floor"]
        read, mm, compute = med(floor, "read_ms"), med(floor, "matmul_ms"), med(floor, "compute_ms")
        print(f"\nfloor: one sequential read of the training array {read:.1f} ms; the two matrix products of an "
              f"epoch through BLAS {mm:.1f} ms;\n       an epoch's multiply-adds (training and validation) at "
              f"this machine's peak sgemm rate {compute:.1f} ms (at most {1000 / compute:.0f} epochs/s)")
        for p in progs:
            if p.key.startswith(("ours", "numpy")) and med(p, "eps"):
                epoch_ms = 1000 / med(p, "eps")
                each = [1000 / r["eps"] / f["compute_ms"] for r, f in zip(p.runs, floor.runs, strict=False)
                        if r.get("eps") and f.get("compute_ms")]  # the ratio within each repetition
                print(f"  {p.label}: {epoch_ms:.1f} ms an epoch = {epoch_ms / read:.2f}x the read, "
                      f"{epoch_ms / mm:.2f}x the two products, {epoch_ms / compute:.2f}x the compute floor "
                      f"(each rep {min(each):.2f}-{max(each):.2f})")
        if "python" in by_key and med(floor, "data_ms"):
            base = med(floor, "data_ms") + med(by_key["python"], "rss_mb")
            print(f"\npeak RSS over (data in float32 {med(floor, 'data_ms'):.0f} MB + interpreter "
                  f"{med(by_key['python'], 'rss_mb'):.0f} MB = {base:.0f} MB):")
            for p in progs:
                if p.key.startswith(("ours", "numpy")):
                    print(f"  {p.label}: {med(p, 'rss_mb') / base:.2f}x")
    print("\n'vs ours': for epoch-based programs, our epochs/s over theirs (30-epoch runs against ours-30;")
    print("for the GPU rows, below 1 means the GPU is faster than our CPU run);")
    print("for scikit-learn, its fit time over our full run (SGDClassifier: the early-stopping run;")
    print("LogisticRegression: ours-lbfgs, which validates every iteration). 'each rep': the lowest and highest")
    print("of the same ratio taken within each repetition (the programs of one repetition run within about")
    print("two minutes of each other, so a slow spell of the machine tends to slow both). Peak RSS: the whole process.")


def _peer_of(program: Program, by_key: dict[str, Program]) -> Program | None:
    """Our run that a scikit-learn row is compared with: L-BFGS with L-BFGS (the float32 rows with the
    estimator), else the SGD run."""
    if program.key == "est-lbfgs":
        return None  # ours: compared with scikit-learn on its row
    peers = {"sk-lbfgs": ("ours-lbfgs",), "sk-lbfgs-32": ("est-lbfgs", "ours-lbfgs")}.get(program.key, ())
    return next((by_key[key] for key in (*peers, "ours") if key in by_key), None)


def _pairs(ours: Program, theirs: Program, key: str, ours_over_theirs: bool) -> str:
    """The ratio of ``key`` between ours and theirs within each repetition, as ``lowest-highest``."""
    ratios = [(a[key] / b[key]) if ours_over_theirs else (b[key] / a[key])
              for a, b in zip(ours.runs, theirs.runs, strict=False) if a.get(key) and b.get(key)]
    return f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"


def _f(v: float | None, width: int, digits: int) -> str:
    return f"{v:{width}.{digits}f}" if v is not None else f"{'-':>{width}}"


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@functools.cache
def _cuda() -> str | None:
    """The CUDA GPU's name, asked of PyTorch in a child process (this one stays light); None without one."""
    if not _has("torch"):
        return None
    probe = "import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
    try:
        found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False,
                               timeout=120)
    except subprocess.TimeoutExpired:
        return None
    return found.stdout.strip() or None


def machine(args: argparse.Namespace) -> None:
    import numpy

    blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    versions = ", ".join(f"{n} {_version(n)}" for n in ("pytensor", "torch", "numba", "scikit-learn"))
    print(f"date     {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine  {cpu_line()}, {len(os.sched_getaffinity(0))} cores usable, {platform.platform()}")
    print(f"python   {platform.python_version()}; numpy {numpy.__version__} with {blas.get('name')} "
          f"{blas.get('version')}; {versions}")
    here = ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in BLAS_PINS)
    print(f"env      {', '.join(BLAS_PINS)} unset for every program (in this shell: {here})")
    print(f"blas     {blas_line()}")
    print(f"kernels  {kernels_line()}")
    if args.only is None or "cuda" in args.only:
        print(f"gpu      {_cuda() or 'none'}")


def cpu_line() -> str:
    """The CPU's model, family and model numbers, and its vector extensions (from /proc/cpuinfo)."""
    info: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    if not info:
        return f"{platform.processor() or platform.machine()} (no /proc/cpuinfo)"
    flags = " ".join(f for f in info.get("flags", "").split() if VECTOR_FLAGS.match(f))
    return (f"{info.get('model name', 'unknown CPU')} (family {info.get('cpu family', '?')} model "
            f"{info.get('model', '?')}; {flags or 'no AVX'})")


def blas_line() -> str:
    """The BLAS library the programs load, and the kernels it picked, asked in a child process with
    their environment (threadpoolctl's 'architecture': e.g. SkylakeX for AVX-512, Haswell for AVX2)."""
    probe = ("import numpy, threadpoolctl; print('; '.join(f\"{i['internal_api']} {i['version']}, "
             "{i.get('architecture')} kernels, {i['num_threads']} threads\" for i in "
             "threadpoolctl.threadpool_info() if i['user_api'] == 'blas'))")
    return _child(probe) or "unknown (threadpoolctl is not installed)"


def kernels_line() -> str:
    """The vector width of the numba backend's kernels on this CPU, asked in a child process."""
    probe = "from logistic_sgd.backends.numba import kernels; print(kernels.native_lanes())"
    lanes = _child(probe)
    return f"numba backend in {lanes} float32 lanes" if lanes else "numba backend not installed"


def _child(code: str) -> str:
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(),
                           check=False, timeout=300)
    return found.stdout.strip() if found.returncode == 0 else ""


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=FASHION)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="comma-separated program keys (see the module docstring)")
    parser.add_argument("--floatx", default="float32", choices=("float32", "float64"))
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    machine(args)
    with tempfile.TemporaryDirectory() as tmp:
        progs = programs(args, Path(tmp))
        print(f"data     {args.data}, {args.floatx}; {args.repeats} repeats, interleaved: "
              f"{', '.join(p.key for p in progs)}")
        for p in progs:  # warm-up, untimed: PyTensor's compile cache, the page cache
            if p.key.startswith("original"):
                run(Program(p.key, p.label, [*p.argv, "--n-epochs", "1"], env=p.env), args.timeout)
        for i in range(args.repeats):
            for p in progs:
                p.runs.append(run(p, args.timeout))
                r = p.runs[-1]
                shown = ", ".join(f"{k} {v:.3f}" for k, v in r.items())
                print(f"  run {i + 1}  {p.label:<40} {shown}", flush=True)
        report(progs)


if __name__ == "__main__":
    main()

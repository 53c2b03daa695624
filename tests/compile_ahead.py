"""Compile the kernels the test suite runs, once each, in parallel, before the tests start.

On a machine whose kernel cache is empty (a new machine, a change to the kernels), the suite's
processes would each compile the kernel variants they meet, one after another: the file of kernel
tests alone meets some thirty (three vector widths, two dtypes, bytes and floats, and the whole
set again for other CPUs in processes of their own), and a test that starts a program compiles
what that program runs unless an earlier process has cached it. Here every variant the suite
uses is compiled once, the variants shared out between as many processes as there are cores,
into the cache every process of the suite then reads (see
:mod:`logistic_sgd.backends.numba.compile`). A stamp in the cache folder records that this list
was compiled for this CPU, so that a warm run skips even the processes.

A variant is ``kernel:lanes:dtype:input``: one of the compiled kernels (``steps``, which
``sgd_steps`` and ``gradient_into`` run; ``predict``, which ``predict`` and ``logits_into`` run;
``sparse_steps``, ``sparse_adagrad``, ``sparse_predict``; ``scan``, the svmlight reader; ``text``,
the tokeniser and the CSV check) or ``forward``, the part of a step that ``test_kernels.py`` calls
on its own at each tiling (lanes ``16r32``: 16 lanes, 32 registers); the
vector width in float32 lanes (``native``: the CPU's), the model's dtype and what the rows are
(``floats``, ``bytes``, read-only or not: the kernels take every array of rows read-only; for
sparse rows ``i64``: 64-bit column indices and row offsets, ``p64``: 64-bit row offsets, ``f64``:
float64 values for a float32 model). A variant compiled for another CPU carries its target:
``@avx2`` or ``@portable`` (the CPUs of the cross-CPU tests in ``test_kernels.py``).

The variants of one width and dtype share the parts of their step (compiled once per type, see
:mod:`logistic_sgd.backends.numba.kernels`), so each such group is compiled by one process.

Usage: python tests/compile_ahead.py [PROCESSES]   (``conftest.py`` runs it before the tests start)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

# Numba's targets of the cross-CPU tests (test_kernels.AVX2 and PORTABLE)
TARGETS = {
    "avx2": {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+cx8,"
             "+f16c,+fma,+fxsr,+lzcnt,+mmx,+movbe,+popcnt,+sahf,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,"
             "-avx512f"},
    "portable": {"NUMBA_CPU_NAME": "generic"},
}
_WIDTHS = ("16", "8", "4")
_OUTPUTS = (("steps", "floats"), ("predict", "bytes"))  # test_kernels.kernel_outputs
# (lanes, vector registers) of the forward tiles test_kernels checks: AVX-512, AVX2, other x86-64, AArch64
TILES = ((16, 32), (8, 16), (4, 16), (4, 32))
# the sparse rows the tests give beyond float32 / float64 values with int32 indices
_SPARSE = {("sparse_steps", "float32", "i64"), ("sparse_steps", "float64", "i64"), ("sparse_steps", "float32", "p64"),
           ("sparse_steps", "float32", "f64"), ("sparse_predict", "float32", "i64"),
           ("sparse_predict", "float64", "i64"), ("sparse_predict", "float32", "p64")}



def _compared_widths() -> tuple[str, ...]:
    """The widths whose kernel outputs test_kernels compares with another CPU's: 4 (any x86-64), and
    8 and 16 where this CPU runs AVX2 and AVX-512 code."""
    try:
        import llvmlite.binding as llvm
    except ImportError:
        return ()
    host = llvm.get_host_cpu_features()
    has = lambda *features: all(host.get(f, False) for f in features)  # noqa: E731
    return tuple(lanes for lanes, ok in (("16", has("avx512f")), ("8", has("avx2", "fma")), ("4", True)) if ok)


def _native_lanes() -> str:
    """The CPU's width in float32 lanes (what ``native`` compiles), "" without Numba."""
    try:
        from logistic_sgd.backends.numba.kernels import native_lanes
    except ImportError:
        return ""
    return str(native_lanes())


def _distinct(variants: list[str]) -> list[str]:
    """``variants`` without repeats, a width that is this CPU's own read as ``native`` (the kernel is
    compiled for the same type either way: compiled twice, in two processes, it would cost twice)."""
    native = _native_lanes()
    out: dict[str, None] = {}
    for variant in variants:
        kernel, lanes, rest = variant.split(":", 2)
        host = "@" not in rest
        out.setdefault(f"{kernel}:native:{rest}" if host and lanes == native else variant)
    return list(out)


VARIANTS = _distinct([
    # the bit-for-bit tests of whole steps at every width, both dtypes
    *(f"steps:{lanes}:{dtype}:floats" for lanes in _WIDTHS for dtype in ("float32", "float64")),
    # what training, scoring and the full-batch solvers run, at the CPU's width
    *(f"{kernel}:native:{dtype}:{rows}" for kernel in ("steps", "predict")
      for dtype in ("float32", "float64") for rows in ("floats", "bytes")),
    # kernel_outputs at each width here, for the cross-CPU comparisons
    *(f"{kernel}:{lanes}:float32:{rows}" for kernel, rows in _OUTPUTS for lanes in _compared_widths()),
    *(f"{kernel}:native:float32:{rows}@{target}" for target in TARGETS for kernel, rows in _OUTPUTS),
    # test_kernels' forward tiles, both dtypes
    *(f"forward:{lanes}r{registers}:{dtype}:floats" for lanes, registers in TILES for dtype in ("float32", "float64")),
    *(f"{kernel}::{dtype}:{rows}" for kernel in ("sparse_steps", "sparse_adagrad", "sparse_predict", "scan")
      for dtype in ("float32", "float64") for rows in ("floats", "i64", "p64", "f64")
      if rows == "floats" or (kernel, dtype, rows) in _SPARSE),
    "text::uint8:utf8",
])
# rough compile times, relative: what each process is given is balanced by these
_COST = {"steps": 5.0, "predict": 2.0, "text": 4.0, "forward": 0.3}


def compile_variant(variant: str) -> None:
    """Run ``variant``'s kernel once on small inputs, which compiles it (or reads it from the cache)."""
    import numpy as np

    kernel, lanes_text, dtype, rows = variant.partition("@")[0].split(":")
    if kernel == "scan":
        return _scan(dtype)
    if kernel == "text":
        return _text()
    if kernel.startswith("sparse_"):
        return _sparse(kernel, dtype, rows)
    from logistic_sgd.backends.numba import kernels

    rng = np.random.default_rng(0)
    n_in, n_out = 20, 3
    if kernel == "forward":  # as test_kernels calls it (as the kernels do): class-major logits, read-only rows
        from logistic_sgd.backends.numba.simd import Width
        from logistic_sgd.util.arrays import read_only

        x = read_only(rng.random((8, n_in)).astype(dtype))
        w = Width(*map(int, lanes_text.split("r")))
        WT, b, z = np.zeros((n_out, n_in), dtype), np.zeros(n_out, dtype), np.empty((n_out, 8), dtype).T
        kernels._forward(w, x, WT, b, 1, 5, z, x, 5, 8)
        return None
    lanes = None if lanes_text in ("native", "") else int(lanes_text)
    x = rng.integers(0, 256, (8, n_in)).astype(np.uint8) if rows == "bytes" else rng.random((8, n_in)).astype(dtype)
    divisor = 255.0 if rows == "bytes" else None
    W, b, y = np.zeros((n_in, n_out), dtype), np.zeros(n_out, dtype), rng.integers(0, n_out, 8)
    scratch = kernels.Scratch.for_model(n_in, n_out, dtype)
    if kernel == "steps":
        kernels.gradient_into(x, y, W, b, 8, np.empty_like(W), np.empty_like(b), scratch, divisor, lanes=lanes)
        kernels.sgd_steps(x, y, 0, 4, np.full(2, 0.1), W, b, 4, scratch, divisor, lanes=lanes)
    else:
        kernels.logits_into(x, W, b, np.empty((8, n_out), dtype), divisor, lanes=lanes)
        kernels.predict(x, W, b, divisor, lanes=lanes)
    return None


def _sparse(kernel: str, dtype: str, rows: str) -> None:
    import numpy as np

    from logistic_sgd.backends.numba import sparse_kernels
    from logistic_sgd.data.rows import CSR

    index, offsets = (np.int64, np.int64) if rows == "i64" else (np.int32, np.int64 if rows == "p64" else np.int32)
    arrays = [np.ones(3, np.float64 if rows == "f64" else dtype), np.array([0, 2, 1], index),
              np.array([0, 2, 3], offsets)]
    x = CSR(*arrays, 4)
    W, b = np.zeros((4, 3), dtype), np.zeros(3, dtype)
    if kernel == "sparse_predict":
        sparse_kernels.predict(x, W, b)
    elif kernel == "sparse_adagrad":
        sparse_kernels.adagrad_steps(x, np.array([0, 1]), 0, 1, 2, W, b, np.zeros((4, 1), dtype), np.zeros(1, dtype),
                                     0.1, 1e-8)
    else:
        sparse_kernels.sgd_steps(x, np.array([0, 1]), 0, 1, np.full(2, 0.1), W, b)


def _text() -> None:
    """The tokeniser and hasher (counts, names of the features, tf-idf) and the CSV check: a list of
    texts, and a table of two text columns and a category trained on and evaluated by the CLI."""
    import contextlib
    import io
    import tempfile

    from logistic_sgd.cli import main
    from logistic_sgd.data.vectorize import TextVectorizer

    docs = ["Hello world, hello", "\u65e5\u672c\u8a9e\u306e\u6587", "b\u00e4d bytes"]
    vectorizer = TextVectorizer(n_features=2**10)
    vectorizer.fit_transform(docs)
    vectorizer.feature_names([0, 1])
    TextVectorizer(n_features=2**10, signed=True, sublinear_tf=False, idf=False).fit_transform(docs)
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        table, model = Path(tmp) / "t.csv", Path(tmp) / "m.npz"
        rows = [f'{"ab"[i % 2]},"title {i}, more","a longer text, {i} words",{"xyz"[i % 3]}' for i in range(40)]
        table.write_text("label,title,body,kind\n" + "\n".join(rows) + "\n")
        trained = main(["train", "--data", str(table), "--label-column", "label", "--n-epochs", "1", "-q",
                        "--model-out", str(model)])
        if trained != 0 or main(["evaluate", "--model", str(model), "--data", str(table)]) != 0:
            raise SystemExit("the CLI failed on the text table")


def _scan(dtype: str) -> None:
    import tempfile

    from logistic_sgd.data.formats.svmlight import read_svmlight

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "two.svm"
        path.write_text("1 1:0.5 3:2\n0 2:1.5\n")
        read_svmlight(path, dtype=dtype)


def shares(variants: list[str], processes: int) -> list[dict[str, list[str]]]:
    """``variants`` shared out between ``processes`` in the units :func:`_unit` makes, the costliest
    first, each to the least loaded; each share maps a target ("" for this CPU) to its variants."""
    units: dict[str, list[str]] = {}
    for variant in variants:
        units.setdefault(_unit(variant), []).append(variant)
    loads = [0.0] * processes
    out: list[dict[str, list[str]]] = [{} for _ in range(processes)]
    for unit in sorted(units.values(), key=lambda u: sum(map(_cost, u)), reverse=True):
        i = loads.index(min(loads))
        out[i].setdefault(unit[0].partition("@")[2], []).extend(unit)
        loads[i] += sum(map(_cost, unit))
    return out


def _unit(variant: str) -> str:
    """What ``variant`` is compiled with, in one process: another CPU's variants (one child process
    compiles them), the dense kernels of one width and dtype (they share the parts of a step), or
    the variant alone."""
    kernel, lanes, dtype, rest = variant.split(":")
    target = rest.partition("@")[2]
    if target:
        return "@" + target
    if kernel in ("steps", "predict", "forward"):
        return f"{_native_lanes() if lanes == 'native' else lanes.partition('r')[0]}:{dtype}"
    return variant


def _cost(variant: str) -> float:
    kernel, lanes, dtype = variant.split(":")[:3]
    return _COST.get(kernel, 0.2) * (2.0 if dtype == "float64" and lanes == "4" else 1.0)


def stamp() -> Path | None:
    """The file that says this list was compiled into the kernels' cache for this CPU (None without Numba)."""
    try:
        import llvmlite.binding as llvm
        import numba

        from logistic_sgd.backends.numba import compile
    except ImportError:
        return None
    key = "\n".join([*VARIANTS, llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten(), numba.__version__,
                     sys.version, Path(__file__).read_text()])
    return compile.cache_root() / compile.source_key() / f"ahead-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def compile_ahead(processes: int | None = None, log: bool = True) -> float:
    """Compile every variant of :data:`VARIANTS` not compiled yet, in ``processes`` processes at once
    (the usable cores by default); returns the seconds taken (0 when the stamp says it was done)."""
    done = stamp()
    if done is None or done.exists():
        return 0.0
    processes = processes or len(os.sched_getaffinity(0))
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--share", str(i), str(processes)], env=_child_env())
             for i in range(processes)]
    failed = [p.args for p in procs if p.wait() != 0]
    took = time.perf_counter() - started
    if failed:
        print(f"compile_ahead: {len(failed)} of {processes} processes failed; the tests compile what is missing",
              file=sys.stderr)
        return took
    done.parent.mkdir(parents=True, exist_ok=True)
    done.write_text(f"{len(VARIANTS)} variants in {took:.1f} s\n")
    if log:
        print(f"compile_ahead: {len(VARIANTS)} kernel variants compiled or read from the cache in {took:.1f} s by "
              f"{processes} processes", file=sys.stderr)
    return took


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")}
    env["NUMBA_NUM_THREADS"] = "1"  # compiling is one thread's work; the kernels' thread count is not in their type
    return env


def _run_share(index: int, processes: int) -> None:
    """This process's share: the variants of this CPU here, then each other target's in a child process."""
    share = shares(VARIANTS, processes)[index]
    for variant in share.get("", []):
        compile_variant(variant)
    for target, variants in share.items():
        if target and subprocess.run([sys.executable, __file__, "--variants", *variants],
                                     env=_child_env() | TARGETS[target], check=False).returncode != 0:
            raise SystemExit(1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--share"]:
        _run_share(int(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1:2] == ["--variants"]:
        for name in sys.argv[2:]:
            compile_variant(name)
    else:
        print(f"{compile_ahead(int(sys.argv[1]) if sys.argv[1:] else None, log=False):.1f} s")

"""Compiled CPU kernels for the training step (the ``numba`` backend; the ``[numba]`` extra).

The products of an epoch have a skinny shape: ``x @ W`` with ``W`` of 10 columns, ``x.T @ d``
with ``d`` of 10 columns. BLAS libraries tune for square blocks and spend as much time packing
these as multiplying them; the kernels, written for few columns, keep their sums in vector
registers (:mod:`.simd`) in vectors of the CPU's width: 16 float32 lanes with
AVX-512, 8 with AVX2, 4 elsewhere (:func:`native_lanes`; ``lanes=`` picks another).

- the forward pass computes four rows by two classes per sweep over the features, so each load of
  ``x`` and of ``W`` feeds several multiply-adds held in registers (:func:`_dot` states the order of
  its additions, which depends on the width);
- the softmax takes a vector of rows at a time, with an exponential computed in double precision
  and rounded once (:func:`.simd.exp`);
- the backward pass keeps a tile of ``gW^T``, 5 classes by two vectors of features, in registers
  while every row of the block adds to it, the rows in order, one rounded multiply-add each: the
  same numbers on every width;
- one step (logits, softmax minus one-hot, gradient) runs block by block over the minibatch, so
  each block of rows is read from memory once and reused from cache; bytes are scaled to floats
  as a block is read; the rows read next are fetched into cache while a block's logits are
  computed; the rows are shared out between threads, each with its own partial gradient, summed
  in a fixed order at the end;
- :func:`sgd_steps` runs many steps (each step, then the SGD update) in one call: the training loop
  hands it every run of minibatches between two validations, without a Python round trip per step.

The loop nest of :func:`sgd_steps`, and the layouts it works in::

    for step i in the run:                          one call, no Python between steps
      for thread t in prange(threads):              each thread: rows lo..hi of the minibatch
        W^T[t] -= rate * (g[0] + g[1] + ...)        the previous step's partials, in thread order
        for block of rows in lo..hi:                at most 2^19 bytes of floats: stays in L2
          rows <- X[block] (bytes scaled exactly)   the rows after it fetched into cache meanwhile
          for 4 rows, for 2 classes j:              z[j, r] = b[j] + X[r] . W^T[j]
            for vector k of features:               16 / 8 / 4 lanes (AVX-512 / AVX2 / other)
          z <- softmax(z) - onehot(y), / n          a vector of rows at a time
          for tile of 5 classes x 2 vectors k:      g[t][j, k] += z[j, r] * X[r, k], rows in order

    W^T   (classes, features): a class's weights are one contiguous row, read a vector at a time;
          each thread keeps its own copy, updated from the same sums in the same order, so the
          copies stay equal to the bit and no thread waits for another's update
    z     (classes, rows in the block): class-major logits, so the softmax reads a vector of rows
    g     (2 steps, threads, classes, features): this step's partial and the last one's, in turn

Exact order, without fast-math: the helpers whose order of additions the tests hold bit for bit
(:func:`_scale_and_sum`, :func:`_sum_and_descend`, :func:`_sum`, :func:`_rows`) are plain Python
stubs given their compiled body by ``@overload(stub, jit_options={"fastmath": False})``. The
kernels that call them are compiled with fast-math (contraction, reassociation) for speed; an
overload is compiled as a function of its own with the options it names, so these few sums keep
their written order and their separate roundings inside the fast-math kernels that call them.

Compiled pieces: the parts of a step (:func:`_part`, :func:`_forward`, :func:`_backward`, ...)
are functions of their own, compiled once for each set of argument types and shared by the
kernels that call them; LLVM inlines them where it sees fit. The steps run at nearly the speed
they had as one function, which took nearly three times as long to compile (Numba copies and
re-analyses an inlined body at every call site, and a parallel loop's body again). Only the
tiles of the forward pass (:func:`_dots`, :func:`_dots5`, :func:`_dot`), called in its innermost
loop, are inlined by Numba, so that their sums stay in registers. The public kernels run two
compiled functions: :func:`_steps` (:func:`sgd_steps`, :func:`gradient_into`) and :func:`_predict`
(:func:`predict`, :func:`logits_into`); a parallel loop is compiled in several layers, each holding
the whole step, so four such functions took about twice as long to compile as two.

The arithmetic is the model's (:meth:`LogisticRegression.gradient_into` is the reference); the
tests hold the kernels to their own order of additions bit for bit, width by width, and to the
model's results to rounding (the order differs from a BLAS library's, as BLAS libraries differ
among themselves).
"""
from __future__ import annotations

import functools
import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import prange, types
from numba.extending import overload
from numpy.typing import NDArray

from ...util.arrays import read_only
from .compile import compiled
from .simd import (
    Width,
    add,
    div,
    exp,
    fma,
    full,
    hsum,
    hsums,
    lane,
    lane_count,
    load,
    load_bytes,
    load_first,
    maximum,
    mul,
    prefetch_far,
    registers,
    store_first,
    sub,
    where_greater,
    where_not_at_most,
    zeros,
)

_TIE = 2.0**-16  # logits closer than this to the largest may tie with it in the softmax: see _classes
_LINE = 64  # bytes in a cache line
_BLOCK_BYTES = 2**19  # a block of rows as floats, at most: it stays in a core's L2 cache between passes, with
# the rows read next fetched beside it
_lock = threading.Lock()  # numba's default thread pool must not be entered from two threads at once

_fastmath = {"contract", "reassoc", "nsz", "arcp"}  # no nnan/ninf: NaN and Inf must show


def native_lanes() -> int:
    """The float32 lanes of the widest vectors of the CPU Numba compiles for: 16 with AVX-512, 8 with
    AVX2 and FMA, else 4 (SSE2, NEON, ...: the portable width). That CPU is the one this runs on,
    or the one ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` name where they are set: LLVM, asked
    for that CPU, compiles a multiply-add of 16 and of 8 lanes, and the registers it takes tell."""
    return _native().lanes


@functools.cache
def _native() -> Width:
    """The width of :func:`native_lanes`."""
    from numba.core.registry import cpu_target

    return width_of(*cpu_target.target_context.codegen().magic_tuple())


def width_of(triple: str, cpu: str, features: str) -> Width:
    """The widest vectors of a CPU (an LLVM target triple, CPU name and features) in float32 lanes, with
    its number of vector registers (32 with AVX-512 and on AArch64, else 16)."""
    import llvmlite.binding as llvm

    machine = llvm.Target.from_triple(triple).create_target_machine(cpu=cpu, features=features, opt=2)
    for lanes, register in ((16, "%zmm"), (8, "%ymm")):
        v = f"<{lanes} x float>"
        probe = llvm.parse_assembly(
            f"define void @probe(ptr %p) {{\n  %v = load {v}, ptr %p, align 4\n"
            f"  %r = call {v} @llvm.fma.v{lanes}f32({v} %v, {v} %v, {v} %v)\n  store {v} %r, ptr %p, align 4\n"
            f"  ret void\n}}\ndeclare {v} @llvm.fma.v{lanes}f32({v}, {v}, {v})\n")
        if any("vfmadd" in line and register in line for line in machine.emit_assembly(probe).splitlines()):
            return Width(lanes, 32 if lanes == 16 else 16)
    return Width(4, 32 if triple.startswith(("aarch64", "arm64")) else 16)


@functools.cache
def _width(lanes: int | None) -> Width:
    return _native() if lanes is None else Width(lanes, _native().registers)


def _compiled(**options: Any) -> Any:
    """``njit`` with the kernels' on-disk cache (see :mod:`.compile`), with this module's fast-math flags."""
    return compiled(fastmath=_fastmath, **options)


@_compiled()
def _forward(  # pragma: no cover - compiled
    w: Any, X: Any, WT: Any, b: Any, r0: int, r1: int, z: Any, P: Any, p0: int, p1: int
) -> None:
    """``z[r - r0, j] = b[j] + X[r] . WT[j]`` for rows ``r0 <= r < r1``, each as :func:`_dot` computes
    it, four rows by five classes at a time where the CPU has 32 vector registers (:func:`_dots5`),
    else by two (:func:`_dots`): the same numbers either way.

    Meanwhile rows ``p0 <= p < p1`` of ``P`` (the rows to be read next, as stored) are fetched into
    cache, four with each four rows computed: the products keep the core busy while memory
    delivers them, instead of every core waiting for rows at the start of a block at once."""
    J = WT.shape[0]
    r = r0
    step = _LINE // P.itemsize
    while r + 4 <= r1:
        for p in range(p0 + r - r0, min(p0 + r - r0 + 4, p1)):
            for k in range(0, P.shape[1], step):
                prefetch_far(P, p, k)
        j = 0
        if registers(w) >= 32:
            while j + 5 <= J:
                _dots5(w, X, r, WT, j, b, z, r - r0)
                j += 5
        while j + 2 <= J:
            _dots(w, X, r, WT, j, b, z, r - r0)
            j += 2
        if j < J:  # an odd number of classes
            for i in range(4):
                z[r - r0 + i, j] = _dot(w, X, r + i, WT, j, b)
        r += 4
    while r < r1:
        for j in range(J):
            z[r - r0, j] = _dot(w, X, r, WT, j, b)
        r += 1


@_compiled(inline="always")
def _dots(w: Any, X: Any, r: int, WT: Any, j: int, b: Any, z: Any, q: int) -> None:  # pragma: no cover
    """The logits of rows ``r .. r + 3`` for classes ``j, j + 1`` into ``z[q .. q + 3]``: eight vectors
    of sums stay in registers while the features go by, each load of ``X`` feeding two multiply-adds
    and each load of ``W^T`` four."""
    K, L = X.shape[1], lane_count(w, X)
    a0 = a1 = a2 = a3 = c0 = c1 = c2 = c3 = zeros(w, X)
    k = 0
    while k < K:
        n = K - k  # lanes of this vector: all, but at the end
        if n >= L:
            x0, x1, x2, x3 = load(w, X, r, k), load(w, X, r + 1, k), load(w, X, r + 2, k), load(w, X, r + 3, k)
            u, v = load(w, WT, j, k), load(w, WT, j + 1, k)
        else:
            x0, x1 = load_first(w, X, r, k, n), load_first(w, X, r + 1, k, n)
            x2, x3 = load_first(w, X, r + 2, k, n), load_first(w, X, r + 3, k, n)
            u, v = load_first(w, WT, j, k, n), load_first(w, WT, j + 1, k, n)
        a0, a1, a2, a3 = fma(u, x0, a0), fma(u, x1, a1), fma(u, x2, a2), fma(u, x3, a3)
        c0, c1, c2, c3 = fma(v, x0, c0), fma(v, x1, c1), fma(v, x2, c2), fma(v, x3, c3)
        k += L
    h0, h1, h2, h3, h4, h5, h6, h7 = hsums((a0, a1, a2, a3, c0, c1, c2, c3))
    z[q, j], z[q + 1, j], z[q + 2, j], z[q + 3, j] = b[j] + h0, b[j] + h1, b[j] + h2, b[j] + h3
    z[q, j + 1], z[q + 1, j + 1], z[q + 2, j + 1], z[q + 3, j + 1] = b[j + 1] + h4, b[j + 1] + h5, b[j + 1] + h6, \
        b[j + 1] + h7


@_compiled(inline="always")
def _dots5(w: Any, X: Any, r: int, WT: Any, j: int, b: Any, z: Any, q: int) -> None:  # pragma: no cover
    """As :func:`_dots` for classes ``j .. j + 4``: twenty vectors of sums in registers, each load of
    ``X`` feeding five multiply-adds (for CPUs with 32 vector registers)."""
    K, L = X.shape[1], lane_count(w, X)
    a0 = a1 = a2 = a3 = c0 = c1 = c2 = c3 = e0 = e1 = e2 = e3 = f0 = f1 = f2 = f3 = g0 = g1 = g2 = g3 = zeros(w, X)
    k = 0
    while k < K:
        n = K - k
        if n >= L:
            x0, x1, x2, x3 = load(w, X, r, k), load(w, X, r + 1, k), load(w, X, r + 2, k), load(w, X, r + 3, k)
            u0, u1, u2 = load(w, WT, j, k), load(w, WT, j + 1, k), load(w, WT, j + 2, k)
            u3, u4 = load(w, WT, j + 3, k), load(w, WT, j + 4, k)
        else:
            x0, x1 = load_first(w, X, r, k, n), load_first(w, X, r + 1, k, n)
            x2, x3 = load_first(w, X, r + 2, k, n), load_first(w, X, r + 3, k, n)
            u0, u1, u2 = load_first(w, WT, j, k, n), load_first(w, WT, j + 1, k, n), load_first(w, WT, j + 2, k, n)
            u3, u4 = load_first(w, WT, j + 3, k, n), load_first(w, WT, j + 4, k, n)
        a0, a1, a2, a3 = fma(u0, x0, a0), fma(u0, x1, a1), fma(u0, x2, a2), fma(u0, x3, a3)
        c0, c1, c2, c3 = fma(u1, x0, c0), fma(u1, x1, c1), fma(u1, x2, c2), fma(u1, x3, c3)
        e0, e1, e2, e3 = fma(u2, x0, e0), fma(u2, x1, e1), fma(u2, x2, e2), fma(u2, x3, e3)
        f0, f1, f2, f3 = fma(u3, x0, f0), fma(u3, x1, f1), fma(u3, x2, f2), fma(u3, x3, f3)
        g0, g1, g2, g3 = fma(u4, x0, g0), fma(u4, x1, g1), fma(u4, x2, g2), fma(u4, x3, g3)
        k += L
    for i, h in enumerate(hsums((a0, a1, a2, a3, c0, c1, c2, c3))):
        z[q + i % 4, j + i // 4] = b[j + i // 4] + h
    for i, h in enumerate(hsums((e0, e1, e2, e3, f0, f1, f2, f3))):
        z[q + i % 4, j + 2 + i // 4] = b[j + 2 + i // 4] + h
    for i, h in enumerate(hsums((g0, g1, g2, g3))):
        z[q + i, j + 4] = b[j + 4] + h


@_compiled(inline="always")
def _dot(w: Any, X: Any, r: int, WT: Any, j: int, b: Any) -> Any:  # pragma: no cover - compiled
    """``b[j] + X[r] . WT[j]`` in vectors of ``w``'s width: lane ``i`` sums the products of the
    features ``k = i (mod lanes)`` in order, one rounded multiply-add each; :func:`hsum` adds the
    lanes, then ``b[j]`` is added. The order of the additions depends on the width, so the logits
    of two widths may differ in the last bits (the tests hold each width to this rule exactly)."""
    K, L = X.shape[1], lane_count(w, X)
    a = zeros(w, X)
    k = 0
    while k + L <= K:
        a = fma(load(w, WT, j, k), load(w, X, r, k), a)
        k += L
    if k < K:
        a = fma(load_first(w, WT, j, k, K - k), load_first(w, X, r, k, K - k), a)
    return b[j] + hsum(a)


@_compiled()
def _softmax_row(z: Any, q: int) -> None:  # pragma: no cover - compiled
    """``z[q] <- softmax(z[q])``: ``exp(z - max z) / sum exp(z - max z)``, as the model computes it."""
    J = z.shape[1]
    m = z[q, 0]
    for j in range(1, J):
        m = max(m, z[q, j])
    t = np.exp(z[q, 0] - m)
    z[q, 0] = t
    for j in range(1, J):
        e = np.exp(z[q, j] - m)
        z[q, j] = e
        t += e
    for j in range(J):
        z[q, j] /= t


@_compiled()
def _classes(w: Any, zT: Any, n: int, out: Any, r0: int) -> None:  # pragma: no cover - compiled
    """``out[r0 + q] = argmax softmax`` of the logits in column ``q`` of ``zT`` (one row per class), the
    first class on ties, for ``q < n``: the model's rule, with the softmax computed only where it can
    change the answer. A vector of rows at a time:

    With ``m`` the largest logit and ``a`` the first class holding it, the softmax gives class ``a``
    ``exp(0) / t = 1 / t`` and every class ``j`` at most that, rounding being monotone. Only a class
    before ``a`` can win a tie, and only if its ``exp(z_j - m)`` rounds to within a few ulps of 1.
    When every earlier ``z_j - m`` is at most ``-2**-16``, its ``exp`` is below ``1 - 2**-17``, far
    outside rounding: ``a`` is the answer, and the softmax is skipped. A row with a near tie, NaN or
    an infinite largest logit (``not z_j - m <= 0`` for some ``j``) takes the softmax
    (:func:`_softmax_row`). The comparisons and ``z_j - m`` are :mod:`.simd`'s, taken as written
    (no fast-math)."""
    J, L = zT.shape[0], lane_count(w, zT)
    one, zero, tie = full(w, zT, 1.0), zeros(w, zT), full(w, zT, -_TIE)
    z = zT.T
    for q in range(0, n, L):
        c = min(L, n - q)
        m, a = load_first(w, zT, 0, q, c), zero
        for j in range(1, J):
            zj = load_first(w, zT, j, q, c)
            a = where_greater(zj, m, full(w, zT, j), a)  # the first class of the largest logit
            m = where_greater(zj, m, zj, m)
        near = zero
        for j in range(J):
            d = sub(load_first(w, zT, j, q, c), m)
            near = where_not_at_most(d, zero, one, near)  # NaN, or an infinite largest logit
            near = where_greater(a, full(w, zT, j), where_greater(d, tie, one, near), near)  # j < a, within 2**-16
        for i in range(c):
            if lane(near, i) == 0:
                out[r0 + q + i] = int(lane(a, i))
            else:
                _softmax_row(z, q + i)
                arg = 0
                for j in range(1, J):
                    if z[q + i, j] > z[q + i, arg]:
                        arg = j
                out[r0 + q + i] = arg


@_compiled()
def _softmax_minus_onehot(  # pragma: no cover - compiled
    w: Any, y: Any, r0: int, r1: int, dT: Any, n: Any, gb: Any
) -> None:
    """Column ``q`` of ``dT`` (the logits of row ``r0 + q``) becomes ``(softmax - onehot(y)) / n``,
    the rows taken a vector at a time: ``e_j = exp(z_j - max z)`` (:func:`.simd.exp`),
    ``t = e_0 + e_1 + ...`` in class order, ``e_j / t``, minus 1 at the label, divided by ``n``,
    each operation rounded once, as the model computes it; ``gb +=`` the columns."""
    J, L, rows = dT.shape[0], lane_count(w, dT), r1 - r0
    for q in range(0, rows, L):
        c = rows - q  # the rows of this vector (all lanes, or fewer at the end)
        m = load_first(w, dT, 0, q, c)
        for j in range(1, J):
            m = maximum(m, load_first(w, dT, j, q, c))
        t = zeros(w, dT)
        for j in range(J):
            e = exp(sub(load_first(w, dT, j, q, c), m))
            store_first(dT, j, q, e, c)
            t = e if j == 0 else add(t, e)
        for j in range(J):
            store_first(dT, j, q, div(load_first(w, dT, j, q, c), t), c)
    for r in range(r0, r1):
        dT[y[r], r - r0] -= 1
    _scale_and_sum(dT, rows, n, gb)


def _scale_and_sum(dT: Any, rows: int, n: Any, gb: Any) -> None:
    """``dT[:, :rows] /= n``, then ``gb += dT[:, q]`` for ``q = 0, 1, ...`` in order. Compiled through
    the overload below, without fast-math, so that the order of the sums holds."""
    raise NotImplementedError  # pragma: no cover - only called from compiled code


@overload(_scale_and_sum, jit_options={"fastmath": False})
def _scale_and_sum_compiled(dT: Any, rows: Any, n: Any, gb: Any) -> Any:  # pragma: no cover - compiled
    def impl(dT: Any, rows: Any, n: Any, gb: Any) -> None:
        for j in range(dT.shape[0]):
            for q in range(rows):
                dT[j, q] /= n
        for q in range(rows):
            for j in range(dT.shape[0]):
                gb[j] += dT[j, q]

    return impl


@_compiled()
def _backward(  # pragma: no cover - compiled
    w: Any, X: Any, r0: int, r1: int, d: Any, gT: Any, fresh: bool
) -> None:
    """``gT[j] += sum_r d[j, r - r0] * X[r]`` for rows ``r0 <= r < r1`` (``gT[j] =`` that sum, started
    from zeros, where ``fresh``), the rows added one after another, each with one rounded
    multiply-add: the same numbers for every width (the tests hold every width to that, bit for
    bit). Tiles of 5 classes by two vectors of features (see :func:`_tile`), then the classes left
    over one at a time."""
    J, K, L = gT.shape[0], X.shape[1], lane_count(w, X)
    for j in range(0, J - 4, 5):
        k = 0
        while k + 2 * L <= K:
            _tile(w, X, r0, r1, d, gT, j, k, L, L, fresh)
            k += 2 * L
        if k + L < K:
            _tile(w, X, r0, r1, d, gT, j, k, L, K - k - L, fresh)
        elif k < K:
            _tile(w, X, r0, r1, d, gT, j, k, K - k, 0, fresh)
    for j in range(J - J % 5, J):
        for k in range(0, K, L):
            g = zeros(w, gT) if fresh else load_first(w, gT, j, k, K - k)
            for r in range(r0, r1):
                g = fma(d[j, r - r0], load_first(w, X, r, k, K - k), g)
            store_first(gT, j, k, g, K - k)


@_compiled()
def _tile(  # pragma: no cover - compiled
    w: Any, X: Any, r0: int, r1: int, d: Any, gT: Any, j: int, k: int, n: int, m: int, fresh: bool
) -> None:
    """``gT[j:j + 5]`` at features ``k`` onwards: ``n`` lanes of a first vector and ``m`` of a second
    (``m = 0``: none). Its ten vectors of sums (zeros where ``fresh``, else read from ``gT``) stay in
    registers while every row of the block adds to them (two loads of the row, five multiply-adds
    per vector), so each row is read twice for ten classes, not ten times, and ``gT`` once."""
    L = lane_count(w, X)
    k2 = k + L if m > 0 else k  # no second vector: its loads and stores repeat the first's, harmlessly
    if fresh:
        a0 = b0 = a1 = b1 = a2 = b2 = a3 = b3 = a4 = b4 = zeros(w, gT)
    else:
        a0, b0 = load_first(w, gT, j, k, n), load_first(w, gT, j, k2, m)
        a1, b1 = load_first(w, gT, j + 1, k, n), load_first(w, gT, j + 1, k2, m)
        a2, b2 = load_first(w, gT, j + 2, k, n), load_first(w, gT, j + 2, k2, m)
        a3, b3 = load_first(w, gT, j + 3, k, n), load_first(w, gT, j + 3, k2, m)
        a4, b4 = load_first(w, gT, j + 4, k, n), load_first(w, gT, j + 4, k2, m)
    for r in range(r0, r1):
        q = r - r0
        x, y = load_first(w, X, r, k, n), load_first(w, X, r, k2, m)
        e = d[j, q]
        a0, b0 = fma(e, x, a0), fma(e, y, b0)
        e = d[j + 1, q]
        a1, b1 = fma(e, x, a1), fma(e, y, b1)
        e = d[j + 2, q]
        a2, b2 = fma(e, x, a2), fma(e, y, b2)
        e = d[j + 3, q]
        a3, b3 = fma(e, x, a3), fma(e, y, b3)
        e = d[j + 4, q]
        a4, b4 = fma(e, x, a4), fma(e, y, b4)
    store_first(gT, j, k, a0, n)
    store_first(gT, j, k2, b0, m)
    store_first(gT, j + 1, k, a1, n)
    store_first(gT, j + 1, k2, b1, m)
    store_first(gT, j + 2, k, a2, n)
    store_first(gT, j + 2, k2, b2, m)
    store_first(gT, j + 3, k, a3, n)
    store_first(gT, j + 3, k2, b3, m)
    store_first(gT, j + 4, k, a4, n)
    store_first(gT, j + 4, k2, b4, m)


def _rows(w: Any, X: Any, r0: int, r1: int, scale: tuple[float, float], buf: Any) -> tuple[Any, int]:
    """Rows ``r0:r1`` of ``X`` as floats, and where they start: float rows are read where they are
    (``X, r0``); bytes ``u`` are scaled into ``buf`` (``buf, 0``) a vector at a time as
    ``fma(u, lo, u * hi)`` in float32 (``u * hi`` exact, then ``u * lo`` added with one rounding),
    where ``scale = (hi, lo)`` splits ``1 / divisor`` (see :func:`_split_inverse`); for a float64
    ``buf``, the same float32 numbers one at a time (the products exact in float64, the sum
    rounded once to float32), then widened. Compiled through the overload below, without
    fast-math, so that the roundings are the ones written."""
    raise NotImplementedError  # pragma: no cover - only called from compiled code


@overload(_rows, jit_options={"fastmath": False})
def _rows_compiled(w: Any, X: Any, r0: Any, r1: Any, scale: Any, buf: Any) -> Any:  # pragma: no cover - compiled
    if isinstance(X.dtype, types.Integer) and buf.dtype == types.float64:

        def widened(w: Any, X: Any, r0: Any, r1: Any, scale: Any, buf: Any) -> Any:
            hi, lo = scale  # the same float32 numbers as below: the sum of exact products, rounded once
            for r in range(r0, r1):
                for k in range(X.shape[1]):
                    u = np.float32(X[r, k])
                    buf[r - r0, k] = np.float32(np.float64(u * hi) + np.float64(u) * np.float64(lo))
            return buf, 0

        return widened
    if isinstance(X.dtype, types.Integer):

        def scaled(w: Any, X: Any, r0: Any, r1: Any, scale: Any, buf: Any) -> Any:
            hi, lo = scale
            his = full(w, buf, hi)
            K, L = X.shape[1], lane_count(w, buf)
            for r in range(r0, r1):
                k = 0
                while k + L <= K:  # whole vectors: the masks fold away
                    u = load_bytes(w, X, r, k, L)
                    store_first(buf, r - r0, k, fma(lo, u, mul(u, his)), L)
                    k += L
                if k < K:
                    u = load_bytes(w, X, r, k, K - k)
                    store_first(buf, r - r0, k, fma(lo, u, mul(u, his)), K - k)
            return buf, 0

        return scaled

    def read(w: Any, X: Any, r0: Any, r1: Any, scale: Any, buf: Any) -> Any:
        return X, r0

    return read


@_compiled()
def _block_rows(n_in: int, itemsize: int) -> int:  # pragma: no cover - compiled
    """Rows per block: as many as fit in ``_BLOCK_BYTES`` (164 rows of 784 float32 features), from
    32 to 1,024, a multiple of 4."""
    return max(32, min(1024, _BLOCK_BYTES // (n_in * itemsize))) // 4 * 4


@_compiled()
def _share(n: int, parts: int, multiple: int) -> int:  # pragma: no cover - compiled
    """Rows per part: ``n`` split in ``parts``, rounded up to a multiple of ``multiple``."""
    return ((n + parts - 1) // parts + multiple - 1) // multiple * multiple


@_compiled()
def _labels_ok(y: Any, r0: int, r1: int, J: int) -> bool:  # pragma: no cover - compiled
    for r in range(r0, r1):  # noqa: SIM110 - a loop compiles; all() over a generator does not
        if y[r] >= J or y[r] < -J:
            return False
    return True


@_compiled()
def _transpose(W: Any, WT: Any) -> None:  # pragma: no cover - compiled
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            WT[j, k] = W[k, j]


@_compiled()
def _nll(y: Any, r0: int, r1: int, dT: Any) -> float:  # pragma: no cover - compiled
    """``sum_r logsumexp(z_r) - z_r[y_r]`` over rows ``r0 <= r < r1``, in float64, from their logits
    in the columns of ``dT`` (before the softmax overwrites them)."""
    J, total = dT.shape[0], 0.0
    for q in range(r1 - r0):
        m = np.float64(dT[0, q])
        for j in range(1, J):
            m = max(m, np.float64(dT[j, q]))
        e = 0.0
        for j in range(J):
            e += math.exp(np.float64(dT[j, q]) - m)
        total += math.log(e) + m - np.float64(dT[y[r0 + q], q])
    return total


@_compiled()
def _part(  # pragma: no cover - compiled
    w: Any, X: Any, scale: Any, y: Any, WT: Any, b: Any, n_mean: Any, start: int, n: int, t: int,
    gT: Any, gbT: Any, z: Any, xb: Any, nll: Any, ahead: int,
) -> None:
    """Thread ``t``'s share of the step on rows ``start:start + n``: its partial gradient in ``gT[t]``,
    ``gbT[t]``, block by block (logits, softmax minus one-hot, gradient while the block is in cache);
    where ``nll`` has a place per thread, the sum of its rows' negative log-likelihoods in ``nll[t]``.
    While a block's logits are computed, the rows ``ahead`` rows further on are fetched into cache
    (the same share of the next step), or, where ``ahead`` is 0, the share's next block."""
    per = _share(n, gT.shape[0], 4)
    lo, hi = start + t * per, min(start + n, start + (t + 1) * per)
    if lo >= hi:  # no rows: the first block's backward pass sets the partial otherwise
        gT[t, :, :] = 0
    gbT[t, :] = 0
    block = xb.shape[1]
    for r0 in range(lo, hi, block):
        r1 = min(hi, r0 + block)
        rows, o = _rows(w, X, r0, r1, scale, xb[t])
        if ahead > 0:  # these rows' places in the next step
            p0, p1 = r0 + ahead, min(X.shape[0], r1 + ahead)
        else:  # the next block of this share
            p0, p1 = r1, min(hi, r1 + block)
        _forward(w, rows, WT, b, o, o + r1 - r0, z[t].T, X, p0, p1)
        if nll.shape[0] > t:
            nll[t] += _nll(y, r0, r1, z[t])
        _softmax_minus_onehot(w, y, r0, r1, z[t], n_mean, gbT[t])
        _backward(w, rows, o, o + r1 - r0, z[t], gT[t], r0 == lo)


def _sum_and_descend(gT: Any, gbT: Any, rate: Any, WT: Any, b: Any, row: Any) -> None:
    """``W^T -= rate * (gT[0] + gT[1] + ...)`` and ``b -= rate * (gbT[0] + gbT[1] + ...)``: the threads'
    partial gradients summed in a fixed order (thread 0, 1, ...), then the update as
    :func:`logistic_sgd.core.optim.sgd` computes it (the product rounded, then subtracted). The last
    partial is added in the same pass as the update; with more than two threads, ``row`` holds the
    sum of the ones before it. Compiled through the overload below, without fast-math, so that the
    order holds and no fused multiply-subtract changes the last bit."""
    raise NotImplementedError  # pragma: no cover - only called from compiled code


@overload(_sum_and_descend, jit_options={"fastmath": False})
def _sum_and_descend_compiled(gT: Any, gbT: Any, rate: Any, WT: Any, b: Any, row: Any) -> Any:  # pragma: no cover
    def impl(gT: Any, gbT: Any, rate: Any, WT: Any, b: Any, row: Any) -> None:
        parts, J, K = gT.shape
        for j in range(J):
            g = gbT[0, j]
            for t in range(1, parts):
                g += gbT[t, j]
            b[j] = b[j] - g * rate
            w = WT[j]
            if parts == 1:
                g0 = gT[0, j]
                for k in range(K):
                    w[k] = w[k] - g0[k] * rate
                continue
            first, last = gT[0, j], gT[parts - 1, j]
            if parts > 2:
                second = gT[1, j]
                for k in range(K):
                    row[k] = first[k] + second[k]
                for t in range(2, parts - 1):
                    for k in range(K):
                        row[k] += gT[t, j, k]
                first = row
            for k in range(K):
                w[k] = w[k] - (first[k] + last[k]) * rate

    return impl


def _sum(gT: Any, gbT: Any, gW: Any, gb: Any) -> None:
    """``gW^T = gT[0] + gT[1] + ...`` and ``gb = gbT[0] + gbT[1] + ...``, in that order. Compiled
    through the overload below, without fast-math, so that the order holds."""
    raise NotImplementedError  # pragma: no cover - only called from compiled code


@overload(_sum, jit_options={"fastmath": False})
def _sum_compiled(gT: Any, gbT: Any, gW: Any, gb: Any) -> Any:  # pragma: no cover - compiled
    def impl(gT: Any, gbT: Any, gW: Any, gb: Any) -> None:
        parts, J, K = gT.shape
        for j in range(J):
            g = gbT[0, j]
            for t in range(1, parts):
                g += gbT[t, j]
            gb[j] = g
            for k in range(K):
                g = gT[0, j, k]
                for t in range(1, parts):
                    g += gT[t, j, k]
                gW[k, j] = g

    return impl


@_compiled(parallel=True)
def _steps(  # pragma: no cover - compiled
    w: Any, X: Any, scale: Any, y: Any, start: int, batch: int, n_mean: Any, rates: Any, W: Any, b: Any, s: Any,
    gradient: bool, gW: Any, gb: Any, nll: Any,
) -> bool:
    """``len(rates)`` steps of SGD, step ``i`` on rows ``start + i * batch`` onwards with rate
    ``rates[i]``; with ``gradient``, no step: the gradient at rows ``start:start + batch`` into
    ``gW``, ``gb`` (and, where ``nll`` has a place per thread, each thread's sum of negative
    log-likelihoods). False, with nothing changed, when a label lies outside the classes.

    Each thread keeps its own copy of ``W^T`` and ``b`` (the layout of the gradient) and updates it
    at the start of the next step from every thread's partial gradient, summed in the same order
    by all: the copies stay equal to the bit, and no thread waits while another updates the
    weights. The partial gradients of two steps in a row go to two buffers in turn, so that a
    thread's next partial never overwrites one that another thread is still summing. ``W`` and
    ``b`` get thread 0's copy at the end.

    The gradient is the first step's partials summed (:func:`_sum`), without the update: one
    function for both, so that both are compiled once (each parallel loop is compiled in several
    layers, each with the whole step in it)."""
    WT, bT, gT, gbT, z, xb = s
    n, parts, J = 1 if gradient else rates.shape[0], gT.shape[1], W.shape[1]
    if not _labels_ok(y, start, start + n * batch, J):
        return False
    nll[:] = 0
    for t in prange(parts):
        _transpose(W, WT[t])
        bT[t, :J] = b
    for i in range(n):
        for t in prange(parts):
            if i > 0:
                _sum_and_descend(gT[(i - 1) % 2], gbT[(i - 1) % 2], rates[i - 1], WT[t], bT[t, :J], xb[t, 0])
            _part(w, X, scale, y, WT[t], bT[t, :J], n_mean, start + i * batch, batch, np.int64(t), gT[i % 2],
                  gbT[i % 2], z, xb, nll, 0 if gradient else batch)
    if gradient:
        _sum(gT[0], gbT[0], gW, gb)
        return True
    if n > 0:
        _sum_and_descend(gT[(n - 1) % 2], gbT[(n - 1) % 2], rates[n - 1], WT[0], bT[0, :J], xb[0, 0])
    _transpose(WT[0], W)
    b[:] = bT[0, :J]
    return True


@_compiled(parallel=True)
def _predict(  # pragma: no cover - compiled
    w: Any, X: Any, scale: Any, W: Any, b: Any, classes: Any, logits: bool, z: Any, parts: int
) -> None:
    """The class of each row into ``classes``; with ``logits``, the logits into ``z`` instead (one
    function for both, compiled once)."""
    WT = np.ascontiguousarray(W.T)
    n, J = X.shape[0], W.shape[1]
    per = _share(n, parts, 4)
    for t in prange(parts):
        block = _block_rows(X.shape[1], W.itemsize)
        zT = np.empty((J, block), W.dtype)
        xb = np.empty((block, X.shape[1]), W.dtype)
        end = min(n, (t + 1) * per)
        for r0 in range(t * per, end, block):
            r1 = min(end, r0 + block)
            rows, o = _rows(w, X, r0, r1, scale, xb)
            _forward(w, rows, WT, b, o, o + r1 - r0, zT.T, X, r1, min(end, r1 + block))
            if logits:
                for q in range(r1 - r0):
                    for j in range(J):
                        z[r0 + q, j] = zT[j, q]
            else:
                _classes(w, zT, r1 - r0, classes, r0)


@dataclass
class Scratch:
    """Buffers of one model shape for :func:`gradient_into` and :func:`sgd_steps`, per thread: a copy
    of ``W^T`` and of ``b``, two partial gradients (of this step and of the one before), a block of
    logits (one row per class) and a block of rows (bytes scaled to floats). Each starts on a cache
    line (64 bytes), and so does each thread's part of the small ones, so that two threads never
    write to one line and rows of 16 floats load from one line."""

    WT: NDArray[Any]
    b: NDArray[Any]
    gT: NDArray[Any]
    gb: NDArray[Any]
    z: NDArray[Any]
    x: NDArray[Any]

    def buffers(self) -> tuple[NDArray[Any], ...]:
        """The buffers in the order the compiled step takes them: ``(W^T, b, gT, gb, z, x)``."""
        return self.WT, self.b, self.gT, self.gb, self.z, self.x

    @classmethod
    def for_model(cls, n_in: int, n_out: int, dtype: Any) -> Scratch:
        parts, line = numba.get_num_threads(), _LINE // np.dtype(dtype).itemsize
        block, padded = _block_rows(n_in, np.dtype(dtype).itemsize), -(-n_out // line) * line
        return cls(
            WT=_aligned((parts, n_out, n_in), dtype), b=_aligned((parts, padded), dtype),
            gT=_aligned((2, parts, n_out, n_in), dtype), gb=_aligned((2, parts, padded), dtype),
            z=_aligned((parts, n_out, block), dtype), x=_aligned((parts, block, n_in), dtype),
        )


def _aligned(shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
    """``np.empty(shape, dtype)`` starting on a cache line."""
    size = math.prod(shape) * np.dtype(dtype).itemsize
    raw = np.empty(size + _LINE, np.uint8)
    start = -raw.ctypes.data % _LINE
    return raw[start : start + size].view(dtype).reshape(shape)


@functools.cache
def bytes_exact(divisor: float) -> bool:
    """Whether the kernels scale every byte ``u`` to ``float32(u) / float32(divisor)``, the number
    float32 division gives (they compute ``u * hi + u * lo`` rounded once; true for every whole
    divisor up to 2,000 at least, checked by the tests). Here in float64, where both products and
    their sum are exact, then rounded to float32 once, as the fused multiply-add rounds."""
    u = np.arange(256, dtype=np.float32)
    hi, lo = _split_inverse(divisor)
    fused = (u * hi).astype(np.float64) + u.astype(np.float64) * np.float64(lo)
    return bool(np.array_equal(fused.astype(np.float32), u / np.float32(divisor)))


def reads(x: Any) -> bool:
    """Whether the kernels can take the stored rows of the :class:`ScaledArray` ``x`` as they are."""
    return x.stored.dtype == np.uint8 and bytes_exact(x.divisor)


@functools.cache
def _split_inverse(divisor: float | None) -> tuple[np.float32, np.float32]:
    """``1 / divisor`` as ``hi + lo`` in float32, ``hi`` of 16 significant bits: the product of a byte
    and ``hi`` is exact, and only the sum with the small ``u * lo`` is rounded."""
    if divisor is None:
        return np.float32(1), np.float32(0)
    inv = 1.0 / float(np.float32(divisor))
    e = math.frexp(inv)[1]
    hi = math.ldexp(round(math.ldexp(inv, 16 - e)), e - 16)
    return np.float32(hi), np.float32(inv - hi)


def _input(X: NDArray[Any], divisor: float | None) -> tuple[NDArray[Any], tuple[np.float32, np.float32]]:
    """``X`` contiguous and read-only (:func:`~logistic_sgd.util.arrays.read_only`), with the scale of
    its bytes; bytes need a divisor that scales them exactly."""
    if X.dtype.kind == "f":
        return read_only(np.ascontiguousarray(X)), _split_inverse(None)
    if X.dtype == np.uint8:
        if divisor is None or not bytes_exact(divisor):
            raise ValueError(f"bytes need a divisor that scales them exactly, got {divisor}")
    else:
        raise ValueError(f"X must hold floats or bytes, got {X.dtype}")
    return read_only(np.ascontiguousarray(X)), _split_inverse(divisor)


def _labels(y: NDArray[Any]) -> NDArray[np.intp]:
    """Labels as one integer type, so that each kernel is compiled once per data type, not once more
    for every type labels come in (bytes from IDX files, int64 from NumPy, ...)."""
    if y.dtype.kind not in "iu":
        raise IndexError(f"labels must be integers, got {y.dtype}")
    return np.ascontiguousarray(y, dtype=np.intp)


def _no_gradient(dtype: Any) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.float64]]:
    """What :func:`_steps` takes in place of the gradient's outputs when it takes steps: empty arrays
    of the types :func:`gradient_into` passes (so that both are one compiled function)."""
    return np.empty((0, 0), dtype), np.empty(0, dtype), np.empty(0)


def gradient_into(
    X: NDArray[Any], y: NDArray[Any], W: NDArray[Any], b: NDArray[Any], n: Any,
    gW: NDArray[Any], gb: NDArray[Any], scratch: Scratch, divisor: float | None = None, *, lanes: int | None = None,
    nll: bool = False,
) -> float | None:
    """``gW, gb <-`` the gradient of the NLL summed over the rows of ``X`` and divided by ``n`` (the
    minibatch size, in ``W``'s dtype as the model divides by it; a rank holding a slice passes the
    global size). ``y`` holds integer labels.
    ``X`` holds floats of ``W``'s dtype, or bytes standing for ``float32(X) / float32(divisor)``.
    ``lanes`` is the width of the vectors in float32 lanes (:func:`native_lanes` when None): the
    logits, and so what follows from them, depend on it in the last bits (see :func:`_dot`).
    With ``nll``, returns the sum of the rows' negative log-likelihoods, ``logsumexp(z) - z_y``
    computed in float64 from the same logits during the same pass (the full-batch solvers' loss);
    else None.

    Raises
    ------
    IndexError
        A label outside the model's classes (as NumPy's indexing in the reference would).
    """
    X, scale = _input(X, divisor)
    y = _labels(y)
    sums = np.zeros(scratch.gT.shape[1] if nll else 0)
    with _lock:
        done = _steps(_width(lanes), X, scale, y, 0, X.shape[0], W.dtype.type(n), np.empty(0, W.dtype), W, b,
                      scratch.buffers(), True, gW, gb, sums)
    if not done:
        raise IndexError(f"labels must lie in [0, {W.shape[1]}), got {int(y.min())}..{int(y.max())}")
    return float(sum(sums.tolist())) if nll else None


def sgd_steps(
    X: NDArray[Any], y: NDArray[Any], start: int, batch: int, rates: NDArray[Any],
    W: NDArray[Any], b: NDArray[Any], n: Any, scratch: Scratch, divisor: float | None = None, *,
    lanes: int | None = None,
) -> None:
    """``len(rates)`` steps of minibatch SGD in one call, in place on ``W`` and ``b``: step ``i`` takes
    rows ``start + i * batch`` to ``start + (i + 1) * batch`` of ``X`` and ``y`` and subtracts
    ``rates[i]`` (cast to ``W``'s dtype) times the gradient (divided by ``n``). Each step is
    :func:`gradient_into` followed by :func:`logistic_sgd.core.optim.sgd`'s update, bit for bit (at the
    same ``lanes``); only the Python round trip per minibatch is gone.

    Raises
    ------
    IndexError
        A label of these rows outside the model's classes; nothing is changed then.
    ValueError
        Rows past the end of ``X``.
    """
    X, scale = _input(X, divisor)
    y, rates = _labels(y), np.ascontiguousarray(rates, dtype=W.dtype)  # rates cast as sgd casts them
    end = start + len(rates) * batch
    if start < 0 or end > min(len(X), len(y)):
        raise ValueError(f"rows {start}:{end} do not lie in the {min(len(X), len(y))} rows given")
    with _lock:
        done = _steps(_width(lanes), X, scale, y, start, batch, W.dtype.type(n), rates, W, b, scratch.buffers(),
                      False, *_no_gradient(W.dtype))
    if not done:
        rows = y[start:end]
        raise IndexError(f"labels must lie in [0, {W.shape[1]}), got {int(rows.min())}..{int(rows.max())}")


def logits_into(
    X: NDArray[Any], W: NDArray[Any], b: NDArray[Any], out: NDArray[Any], divisor: float | None = None, *,
    lanes: int | None = None,
) -> None:
    """``out <- X @ W + b``, the rows shared out between threads (``X`` and ``lanes`` as in
    :func:`gradient_into`)."""
    X, scale = _input(X, divisor)
    with _lock:
        _predict(_width(lanes), X, scale, W, b, np.empty(0, np.int64), True, out, numba.get_num_threads())


def predict(
    X: NDArray[Any], W: NDArray[Any], b: NDArray[Any], divisor: float | None = None, *, lanes: int | None = None
) -> NDArray[np.int64]:
    """``argmax softmax(X @ W + b)`` of each row (the first on ties), without storing the logits
    (``X`` and ``lanes`` as in :func:`gradient_into`).

    The probabilities agree with the model's to rounding, so two classes within an ulp or two of each
    other may be ordered differently than NumPy orders them (as between two BLAS libraries)."""
    X, scale = _input(X, divisor)
    out = np.empty(X.shape[0], np.int64)
    with _lock:
        _predict(_width(lanes), X, scale, W, b, out, False, np.empty((0, W.shape[1]), W.dtype),
                 numba.get_num_threads())
    return out


def share_cores(processes: int) -> None:
    """Use this process's share of the cores when ``processes`` processes run on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS, cores // max(1, processes))))

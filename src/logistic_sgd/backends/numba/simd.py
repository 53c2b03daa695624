"""Vectors of floats of a chosen width as values inside compiled kernels (Numba intrinsics; the
``[numba]`` extra).

Numba vectorises loops, but it will not keep a tile of accumulators in vector registers across
an outer loop (a local array or 80 scalar variables both stay in memory or scalar), and it picks
its own order of additions. These intrinsics let a kernel say what it means, for any vector
width: a kernel takes a :class:`Width` argument (``Width(16)``: 16 float32 lanes, a 512-bit
register; ``Width(8)``: 256 bits; ``Width(4)``: 128 bits) and passes it on to the intrinsics,
which work on vectors of that many bits: ``Width(16)`` holds 16 float32 or 8 float64 lanes. The
width is part of the compiled function's type signature, so Numba compiles, and caches on disk,
one version of a kernel per width, from one source.

- :func:`load` reads a vector from ``array[i, j:]``, :func:`load_first` its first ``n`` lanes
  (the others read as zero, nothing past them is touched); :func:`store` and :func:`store_first`
  write back;
- :func:`zeros` is a vector of zeros, :func:`lane_count` the lane count for an array's dtype,
  :func:`registers` the CPU's number of vector registers;
- :func:`fma` is ``acc + s * x`` lane by lane, rounded once (LLVM's ``fma``), ``s`` a scalar on
  every lane or a vector;
- :func:`hsum` adds a vector's lanes as a halving tree: lane ``i`` to lane ``i + n/2``, then the
  same on the first half, down to one lane (for 4 lanes, ``(v0 + v2) + (v1 + v3)``);
- :func:`where_greater` and :func:`where_not_at_most` choose lane by lane between two vectors on a
  comparison of two others (NaN taken as the IEEE comparisons take it), :func:`lane` reads one lane;
- :func:`load_bytes` reads bytes as a float32 vector; :func:`prefetch` and :func:`prefetch_far`
  ask for a line of memory ahead of its use.

The arithmetic is exactly as written: Numba's fast-math flags do not reach these instructions,
so a kernel's order of additions is the one its source states. The caller keeps the indices in
bounds: nothing is checked. Arrays are C-ordered and 2-D, of float32 or float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import NativeValue, intrinsic, models, register_model, typeof_impl, unbox


@dataclass(frozen=True)
class Width:
    """The width of the vectors a kernel computes with, in float32 lanes (16, 8, 4, ...; a power of
    two), and how many vector registers the CPU has (16 with AVX2 or SSE, 32 with AVX-512 or NEON):
    a kernel may keep more sums in registers where there are more (:func:`registers`)."""

    lanes: int
    registers: int = 16

    def __post_init__(self) -> None:
        if self.lanes < 2 or self.lanes & (self.lanes - 1):
            raise ValueError(f"lanes must be a power of two of at least 2, got {self.lanes}")


class WidthType(types.Type):
    """The Numba type of a :class:`Width`: the width is in the type, so each one compiles apart."""

    def __init__(self, lanes: int, registers: int) -> None:
        self.lanes, self.registers = lanes, registers
        super().__init__(name=f"width{lanes}r{registers}")


class Vector(types.Type):
    """The Numba type of ``count`` lanes of ``dtype`` (float32 or float64) held as one value."""

    def __init__(self, dtype: Any, count: int) -> None:
        self.dtype, self.count = dtype, count
        super().__init__(name=f"{dtype}x{count}")


@typeof_impl.register(Width)
def _typeof_width(value: Width, context: Any) -> WidthType:
    return WidthType(value.lanes, value.registers)


@register_model(WidthType)
class _WidthModel(models.OpaqueModel):
    pass


@unbox(WidthType)
def _unbox_width(typ: Any, obj: Any, c: Any) -> NativeValue:
    return NativeValue(c.context.get_dummy_value())


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm: Any, fe_type: Vector) -> None:
        super().__init__(dmm, fe_type, _llvm(fe_type))


_I32 = ir.IntType(32)


def _llvm(vector: Vector) -> ir.VectorType:
    scalar = ir.FloatType() if vector.dtype == types.float32 else ir.DoubleType()
    return ir.VectorType(scalar, vector.count)


def _vector_of(width: Any, array: Any) -> Vector:
    """The vector type ``width`` makes of ``array``'s dtype, after checking both."""
    if not isinstance(width, WidthType):
        raise TypingError(f"expected a Width, got {width}")
    if not (isinstance(array, types.Array) and array.dtype in (types.float32, types.float64) and array.ndim == 2
            and array.layout == "C"):
        raise TypingError(f"vector access needs a C-ordered 2-D float32 or float64 array, got {array}")
    return Vector(array.dtype, width.lanes * 32 // array.dtype.bitwidth)


def _pointer(context: Any, builder: Any, array_type: Any, array: Any, i: Any, j: Any, vector: Vector) -> Any:
    """A pointer to ``array[i, j]``, as a pointer to a vector."""
    ary = context.make_array(array_type)(context, builder, array)
    item = cgutils.get_item_pointer(context, builder, array_type, ary, [i, j], wraparound=False, boundscheck=False)
    return builder.bitcast(item, _llvm(vector).as_pointer())


def _first(builder: Any, n: Any, count: int) -> Any:
    """The mask of the lanes below ``n``."""
    n = builder.sext(n, ir.IntType(64)) if n.type.width < 64 else n
    every = builder.shuffle_vector(
        builder.insert_element(ir.Constant(ir.VectorType(n.type, count), ir.Undefined), n, ir.Constant(_I32, 0)),
        ir.Constant(ir.VectorType(n.type, count), ir.Undefined), ir.Constant(ir.VectorType(_I32, count), [0] * count))
    return builder.icmp_signed("<", ir.Constant(ir.VectorType(n.type, count), list(range(count))), every)


def _masked(builder: Any, name: str, vector: Vector, args: list[Any]) -> Any:
    v = _llvm(vector)
    suffix = f"v{vector.count}f{vector.dtype.bitwidth}.p0"
    mask = ir.VectorType(ir.IntType(1), vector.count)
    if name == "load":
        fnty = ir.FunctionType(v, [v.as_pointer(), _I32, mask, v])
    else:
        fnty = ir.FunctionType(ir.VoidType(), [v, v.as_pointer(), _I32, mask])
    return builder.call(cgutils.get_or_insert_function(builder.module, fnty, f"llvm.masked.{name}.{suffix}"), args)


@intrinsic
def lane_count(typingctx: Any, width: Any, array: Any) -> Any:
    """The number of lanes of ``array``'s dtype in a vector of ``width`` (a constant)."""
    vector = _vector_of(width, array)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return ir.Constant(ir.IntType(64), vector.count)

    return types.int64(width, array), codegen


@intrinsic
def registers(typingctx: Any, width: Any) -> Any:
    """The number of vector registers of ``width``'s CPU (a constant)."""
    if not isinstance(width, WidthType):
        raise TypingError(f"expected a Width, got {width}")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return ir.Constant(ir.IntType(64), width.registers)

    return types.int64(width), codegen


@intrinsic
def zeros(typingctx: Any, width: Any, array: Any) -> Any:
    """A vector of zeros of ``array``'s dtype."""
    vector = _vector_of(width, array)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return ir.Constant(_llvm(vector), None)

    return vector(width, array), codegen


@intrinsic
def load(typingctx: Any, width: Any, array: Any, i: Any, j: Any) -> Any:
    """``array[i, j:j + lanes]`` as one vector."""
    vector = _vector_of(width, array)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        itemsize = vector.dtype.bitwidth // 8
        return builder.load(_pointer(context, builder, sig.args[1], *args[1:], vector), align=itemsize)

    return vector(width, array, i, j), codegen


@intrinsic
def load_first(typingctx: Any, width: Any, array: Any, i: Any, j: Any, n: Any) -> Any:
    """``array[i, j:j + n]`` in the first ``n`` lanes (all of them if ``n >= lanes``), zeros in the others."""
    vector = _vector_of(width, array)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        ptr = _pointer(context, builder, sig.args[1], *args[1:4], vector)
        itemsize = ir.Constant(_I32, vector.dtype.bitwidth // 8)
        return _masked(builder, "load", vector, [ptr, itemsize, _first(builder, args[4], vector.count),
                                                  ir.Constant(_llvm(vector), None)])

    return vector(width, array, i, j, n), codegen


@intrinsic
def load_bytes(typingctx: Any, width: Any, array: Any, i: Any, j: Any, n: Any) -> Any:
    """The bytes ``array[i, j:j + n]`` (``uint8``, C-ordered, 2-D) as float32 in the first ``n`` lanes
    (all of them if ``n >= lanes``), zeros in the others; nothing past them is touched."""
    if not isinstance(width, WidthType):
        raise TypingError(f"expected a Width, got {width}")
    if not (isinstance(array, types.Array) and array.dtype == types.uint8 and array.ndim == 2
            and array.layout == "C"):
        raise TypingError(f"load_bytes needs a C-ordered 2-D uint8 array, got {array}")
    vector = Vector(types.float32, width.lanes)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        count = vector.count
        u8 = ir.VectorType(ir.IntType(8), count)
        ary = context.make_array(sig.args[1])(context, builder, args[1])
        item = cgutils.get_item_pointer(context, builder, sig.args[1], ary, list(args[2:4]), wraparound=False,
                                        boundscheck=False)
        ptr = builder.bitcast(item, u8.as_pointer())
        mask = _first(builder, args[4], count)
        fnty = ir.FunctionType(u8, [u8.as_pointer(), _I32, ir.VectorType(ir.IntType(1), count), u8])
        fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.masked.load.v{count}i8.p0")
        raw = builder.call(fn, [ptr, ir.Constant(_I32, 1), mask, ir.Constant(u8, None)])
        return builder.uitofp(raw, _llvm(vector))

    return vector(width, array, i, j, n), codegen


def _prefetcher(locality: int, doc: str) -> Any:
    def typer(typingctx: Any, array: Any, i: Any, j: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            ary = context.make_array(sig.args[0])(context, builder, args[0])
            at = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], sig.args[1:], strict=True)]
            item = cgutils.get_item_pointer(context, builder, sig.args[0], ary, at, wraparound=False,
                                            boundscheck=False)
            i8 = ir.IntType(8).as_pointer()
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8, _I32, _I32, _I32]),
                                                "llvm.prefetch.p0i8")
            builder.call(fn, [builder.bitcast(item, i8), _I32(0), _I32(locality), _I32(1)])  # a read, of data
            return context.get_dummy_value()

        return types.void(array, i, j), codegen

    typer.__doc__ = doc
    return intrinsic(typer)


prefetch = _prefetcher(3, "Ask the CPU to bring ``array[i, j]`` into every level of cache (LLVM's ``prefetch``, "
                          "locality 3); no effect on the numbers. The caller keeps the indices in bounds.")
prefetch_far = _prefetcher(1, "As :func:`prefetch`, with the hint for data needed later (locality 1: on x86, "
                              "``prefetcht2``), which leaves the first level of cache to the data in use.")


@intrinsic
def store(typingctx: Any, array: Any, i: Any, j: Any, v: Any) -> Any:
    """``array[i, j:j + lanes] = v``."""
    if not isinstance(v, Vector) or v.dtype != getattr(array, "dtype", None):
        raise TypingError(f"store needs a vector of the array's dtype, got {v} for {array}")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        builder.store(args[3], _pointer(context, builder, sig.args[0], *args[:3], v), align=v.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return types.void(array, i, j, v), codegen


@intrinsic
def store_first(typingctx: Any, array: Any, i: Any, j: Any, v: Any, n: Any) -> Any:
    """``array[i, j:j + n] = v[:n]``; nothing past them is touched."""
    if not isinstance(v, Vector) or v.dtype != getattr(array, "dtype", None):
        raise TypingError(f"store needs a vector of the array's dtype, got {v} for {array}")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        ptr = _pointer(context, builder, sig.args[0], *args[:3], v)
        _masked(builder, "store", v, [args[3], ptr, ir.Constant(_I32, v.dtype.bitwidth // 8),
                                      _first(builder, args[4], v.count)])
        return context.get_dummy_value()

    return types.void(array, i, j, v, n), codegen


@intrinsic
def fma(typingctx: Any, s: Any, x: Any, acc: Any) -> Any:
    """``acc + s * x`` lane by lane, rounded once; ``s`` is a vector or a scalar of the vectors' dtype."""
    if not (isinstance(x, Vector) and x == acc):
        raise TypingError(f"fma needs two vectors of one type, got {x} and {acc}")
    if s != x and s != x.dtype:
        raise TypingError(f"fma scales by a {x.dtype} or a {x}, got {s}")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        v = _llvm(x)
        scale = args[0]
        if s == x.dtype:  # the scalar on every lane
            scale = builder.shuffle_vector(builder.insert_element(ir.Constant(v, ir.Undefined), scale,
                                                                  ir.Constant(_I32, 0)),
                                           ir.Constant(v, ir.Undefined),
                                           ir.Constant(ir.VectorType(_I32, x.count), [0] * x.count))
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v, [v] * 3),
                                            f"llvm.fma.v{x.count}f{x.dtype.bitwidth}")
        return builder.call(fn, [scale, args[1], args[2]])

    return x(s, x, acc), codegen


@intrinsic
def hsum(typingctx: Any, v: Any) -> Any:
    """The sum of the lanes as a halving tree: ``v[:n/2] + v[n/2:]``, again on the result, down to one lane."""
    if not isinstance(v, Vector):
        raise TypingError(f"hsum needs a vector, got {v}")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        acc, n = args[0], v.count
        while n > 1:
            n //= 2
            low = builder.shuffle_vector(acc, acc, ir.Constant(ir.VectorType(_I32, n), list(range(n))))
            high = builder.shuffle_vector(acc, acc, ir.Constant(ir.VectorType(_I32, n), list(range(n, 2 * n))))
            acc = builder.fadd(low, high)
            acc.flags.append("nsz")  # a flag of its own: Numba's fast-math pass then adds no reassociation
        return builder.extract_element(acc, ir.Constant(_I32, 0))

    return v.dtype(v), codegen


@intrinsic
def hsums(typingctx: Any, vectors: Any) -> Any:
    """:func:`hsum` of each vector of a tuple, as a tuple: the same additions, in the same order, but
    done on several vectors at once (the halves of two vectors are shuffled into one), about a
    quarter of the instructions of one :func:`hsum` each."""
    if not (isinstance(vectors, types.UniTuple) and isinstance(vectors.dtype, Vector)):
        raise TypingError(f"hsums needs a tuple of vectors of one type, got {vectors}")
    v, m = vectors.dtype, vectors.count

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        # each entry: (value, the inputs whose segments it holds in order, lanes per segment)
        packed = [(builder.extract_value(args[0], i), [i], v.count) for i in range(m)]
        seg = v.count
        while seg > 1:
            half, merged = seg // 2, []
            pairs = [packed[i : i + 2] for i in range(0, len(packed), 2)]
            for pair in pairs:
                a = pair[0]
                b = pair[1] if len(pair) == 2 else None
                other = b[0] if b is not None else a[0]
                owners = a[1] + (b[1] if b is not None else [])
                lo, hi = [], []
                for n_seg in range(len(owners)):
                    base = n_seg * seg  # in the concatenation of a and b
                    lo += list(range(base, base + half))
                    hi += list(range(base + half, base + seg))
                mask = ir.VectorType(_I32, len(lo))
                low = builder.shuffle_vector(a[0], other, ir.Constant(mask, lo))
                high = builder.shuffle_vector(a[0], other, ir.Constant(mask, hi))
                merged.append((_flagged(builder.fadd(low, high)), owners, half))
            packed, seg = merged, half
        sums = [None] * m
        for value, owners, _ in packed:
            for lane, owner in enumerate(owners):
                sums[owner] = builder.extract_element(value, ir.Constant(_I32, lane))
        return context.make_tuple(builder, sig.return_type, sums)

    return types.UniTuple(v.dtype, m)(vectors), codegen


def _flagged(instr: Any) -> Any:
    """``instr`` with a flag of its own, so that Numba's fast-math pass adds none (it flags only
    unflagged instructions): no reassociation, no contraction, the operation as written."""
    instr.flags.append("nsz")
    return instr


def _binary(op: str, doc: str) -> Any:
    def typer(typingctx: Any, a: Any, b: Any) -> Any:
        if not (isinstance(a, Vector) and a == b):
            raise TypingError(f"{op} needs two vectors of one type, got {a} and {b}")

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            return _flagged(getattr(builder, op)(*args))

        return a(a, b), codegen

    typer.__doc__ = doc
    typer.__name__ = op[1:]
    return intrinsic(typer)


add = _binary("fadd", "``a + b`` lane by lane, rounded as IEEE arithmetic rounds it.")
sub = _binary("fsub", "``a - b`` lane by lane.")
mul = _binary("fmul", "``a * b`` lane by lane, rounded once.")
div = _binary("fdiv", "``a / b`` lane by lane, the correctly rounded quotient.")


@intrinsic
def maximum(typingctx: Any, a: Any, b: Any) -> Any:
    """``b if b > a else a`` lane by lane (a NaN in ``b`` is passed over, as in ``max(a, b)`` over floats)."""
    if not (isinstance(a, Vector) and a == b):
        raise TypingError(f"maximum needs two vectors of one type, got {a} and {b}")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.select(_flagged(builder.fcmp_ordered(">", args[1], args[0])), args[1], args[0])

    return a(a, b), codegen


def _where(ordered: bool, doc: str) -> Any:
    def typer(typingctx: Any, x: Any, y: Any, p: Any, q: Any) -> Any:
        if not (isinstance(x, Vector) and x == y == p == q):
            raise TypingError(f"a lane-wise choice needs four vectors of one type, got {x}, {y}, {p}, {q}")

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            compare = builder.fcmp_ordered(">", *args[:2]) if ordered else builder.fcmp_unordered(">", *args[:2])
            return builder.select(_flagged(compare), args[2], args[3])

        return x(x, y, p, q), codegen

    typer.__doc__ = doc
    return intrinsic(typer)


where_greater = _where(True, "``p if x > y else q`` lane by lane (``q`` where ``x`` or ``y`` is NaN).")
where_not_at_most = _where(False, "``p if not x <= y else q`` lane by lane (``p`` where ``x`` or ``y`` is NaN).")


@intrinsic
def lane(typingctx: Any, v: Any, i: Any) -> Any:
    """Lane ``i`` of ``v`` (``0 <= i <`` its lanes; not checked)."""
    if not isinstance(v, Vector):
        raise TypingError(f"lane needs a vector, got {v}")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.extract_element(args[0], context.cast(builder, args[1], sig.args[1], types.int32))

    return v.dtype(v, i), codegen


@intrinsic
def full(typingctx: Any, width: Any, array: Any, x: Any) -> Any:
    """A vector of ``array``'s dtype with ``x`` on every lane."""
    vector = _vector_of(width, array)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        value = context.cast(builder, args[2], sig.args[2], vector.dtype)
        return _splat(builder, value, vector.count)

    return vector(width, array, x), codegen


def _splat(builder: Any, value: Any, count: int) -> Any:
    v = ir.VectorType(value.type, count)
    one = builder.insert_element(ir.Constant(v, ir.Undefined), value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(one, ir.Constant(v, ir.Undefined), ir.Constant(ir.VectorType(_I32, count),
                                                                                 [0] * count))


# exp in double precision: x = n ln 2 + r with |r| <= ln 2 / 2 (ln 2 in two parts, n ln2_hi exact),
# exp(r) by its Taylor series to r**12 / 12! (truncation below 2e-16 relative), times 2**n.
_LN2_HI = float.fromhex("0x1.62e42fefa3800p-1")  # ln 2 to 42 bits: n * _LN2_HI is exact for |n| < 2**11
_LN2_LO = float.fromhex("0x1.ef35793c76730p-45")
_SHIFTER = float.fromhex("0x1.8p52")  # adding it rounds to an integer, held in the low bits
_TAYLOR = [1.0 / math.factorial(i) for i in range(13)]


@intrinsic
def exp(typingctx: Any, v: Any) -> Any:
    """``e**v`` lane by lane. float32: computed in double precision (relative error below about
    4e-16) and rounded once to float32, which is the correctly rounded result but for arguments
    within that error of a rounding boundary (about one in 10**8), and the same on every width and
    CPU (only exact operations and fused multiply-adds). float64: the C library's ``exp``, lane by
    lane. NaN gives NaN, ``-inf`` 0 and ``+inf`` infinity."""
    if not isinstance(v, Vector):
        raise TypingError(f"exp needs a vector, got {v}")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        if v.dtype == types.float64:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_llvm(v), [_llvm(v)]),
                                                f"llvm.exp.v{v.count}f64")
            return builder.call(fn, args)
        n = v.count
        d = ir.VectorType(ir.DoubleType(), n)
        i64 = ir.VectorType(ir.IntType(64), n)
        fma_d = cgutils.get_or_insert_function(builder.module, ir.FunctionType(d, [d] * 3), f"llvm.fma.v{n}f64")

        def const(value: float) -> Any:
            return ir.Constant(d, [value] * n)

        x = builder.fpext(args[0], d)
        low, high = const(-150.0), const(100.0)  # e**-150 rounds to 0 in float32, e**100 to infinity
        x = builder.select(_flagged(builder.fcmp_ordered("<", x, low)), low, x)
        x = builder.select(_flagged(builder.fcmp_ordered(">", x, high)), high, x)
        t = builder.call(fma_d, [x, const(1 / math.log(2)), const(_SHIFTER)])
        k = _flagged(builder.fsub(t, const(_SHIFTER)))  # round(x / ln 2)
        r = builder.call(fma_d, [builder.fneg(k), const(_LN2_HI), x])
        r = builder.call(fma_d, [builder.fneg(k), const(_LN2_LO), r])
        p = const(_TAYLOR[-1])
        for c in reversed(_TAYLOR[:-1]):
            p = builder.call(fma_d, [p, r, const(c)])
        scale = builder.add(builder.shl(builder.bitcast(t, i64), ir.Constant(i64, [52] * n)),
                            ir.Constant(i64, [1023 << 52] * n))  # 2**k: k's bits moved into the exponent
        return builder.fptrunc(_flagged(builder.fmul(p, builder.bitcast(scale, d))), _llvm(v))

    return v(v), codegen

"""Eight float32 lanes as one value inside compiled kernels (Numba intrinsics; the ``[numba]`` extra).

Numba vectorises loops, but it will not keep a tile of accumulators in vector registers across
an outer loop (a local array or 80 scalar variables both stay in memory or scalar). These
intrinsics let a kernel say so: :func:`load8` reads eight consecutive ``float32`` of a C-ordered
2-D array, :func:`store8` writes them back, and :func:`fma8` is ``acc + s * x`` with the scalar
``s`` on every lane, rounded once (LLVM's ``fma``), as the compiled loops' multiply-adds are. The
caller keeps the indices in bounds: nothing is checked.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic, models, register_model

_LANES = 8
_VECTOR = ir.VectorType(ir.FloatType(), _LANES)


class Float32x8(types.Type):
    """The Numba type of eight float32 lanes."""

    def __init__(self) -> None:
        super().__init__(name="float32x8")


float32x8 = Float32x8()


@register_model(Float32x8)
class _Float32x8Model(models.PrimitiveModel):
    def __init__(self, dmm: Any, fe_type: Any) -> None:
        super().__init__(dmm, fe_type, _VECTOR)


def _lanes_at(context: Any, builder: Any, array_type: Any, array: Any, i: Any, j: Any) -> Any:
    """A pointer to the eight float32 from ``array[i, j]`` on."""
    ary = context.make_array(array_type)(context, builder, array)
    item = cgutils.get_item_pointer(context, builder, array_type, ary, [i, j], wraparound=False, boundscheck=False)
    return builder.bitcast(item, _VECTOR.as_pointer())


def _check(array: Any) -> None:
    if not (isinstance(array, types.Array) and array.dtype == types.float32 and array.ndim == 2
            and array.layout == "C"):
        raise TypingError(f"eight-lane access needs a C-ordered 2-D float32 array, got {array}")


@intrinsic
def load8(typingctx: Any, array: Any, i: Any, j: Any) -> Any:
    """``array[i, j:j + 8]`` as one value."""
    _check(array)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.load(_lanes_at(context, builder, sig.args[0], *args), align=4)

    return float32x8(array, i, j), codegen


@intrinsic
def store8(typingctx: Any, array: Any, i: Any, j: Any, lanes: Any) -> Any:
    """``array[i, j:j + 8] = lanes``."""
    _check(array)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        builder.store(args[3], _lanes_at(context, builder, sig.args[0], *args[:3]), align=4)
        return context.get_dummy_value()

    return types.void(array, i, j, float32x8), codegen


@intrinsic
def fma8(typingctx: Any, s: Any, x: Any, acc: Any) -> Any:
    """``acc + s * x`` lane by lane, rounded once; ``s`` is a float32 scalar."""
    if s != types.float32:
        raise TypingError(f"fma8 scales by a float32, got {s}")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        lane0 = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), args[0], ir.Constant(ir.IntType(32), 0))
        every = builder.shuffle_vector(lane0, ir.Constant(_VECTOR, ir.Undefined),
                                       ir.Constant(ir.VectorType(ir.IntType(32), _LANES), [0] * _LANES))
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VECTOR, [_VECTOR] * 3), "llvm.fma.v8f32")
        return builder.call(fma, [every, args[1], args[2]])

    return float32x8(s, float32x8, float32x8), codegen

"""Accumulation helpers of the CPU kernels (the rendered sums of :mod:`.render`).

Kernels compile without ``reassoc`` (a user's ``a * (b / c)`` must not become ``(a * b) / c``),
so a plain ``acc += v`` loop would run as one serial float32 chain: slow (no SIMD) and inaccurate
(relative error ~n*eps). Two helpers restore both, for the accumulation only:

* :func:`sg_radd` -- ``a + b`` compiled as its own function with ``reassoc``: LLVM inlines it
  keeping the flag on that one ``fadd`` (flags are per instruction), so the loop vectorizer
  splits the block's sum over SIMD lanes and interleaved accumulators (64 partial sums with
  AVX-512) while the element statements around it stay IEEE. Kernels sum blocks of
  ``render.BLOCK`` elements this way and add each block's sum into a float64 accumulator.
* :func:`sg_scratch_f64` / :func:`sg_release` -- a zeroed float64 array shaped like a kernel's
  reduction output (``calloc``/``free``, no numba runtime, so the native tier can run it), for
  reductions that accumulate into an output row: the row sums in float64 and is rounded once.
* :func:`sg_block_sum` -- the sum of a block of reduction values in the order fixed by
  :mod:`.blocksum` (chunked kernels: the same bits from numba and from the LLVM renderer).
* :func:`sg_vector_width` -- ``sg_vector_width(512)`` marks the function it is compiled into
  with LLVM's ``"prefer-vector-width"`` attribute: a tiled kernel's compute-bound stage loops
  (:mod:`..tiling`) vectorize at 512 bits where the CPU has AVX-512 (LLVM's default for those
  CPUs is 256: the chain workload ran 1.45x faster at 512, same bits). Called inside the chunk
  loop, so it also marks the function numba outlines a ``prange`` body into.
* :func:`sg_scratch` -- an uninitialized 1-D array of ``n`` elements of a scalar's type
  (``malloc``; :func:`sg_release` frees it): tile buffers and per-chunk partials of chunked
  kernels (:mod:`.render_chunks`).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from . import blocksum

ACC_FASTMATH = frozenset({"reassoc", "nsz"})


def sg_radd(a, b):
    """``a + b``; inside a kernel, an addition LLVM may reassociate (a reduction's only)."""
    return a + b


@overload(sg_radd, jit_options={"fastmath": set(ACC_FASTMATH), "error_model": "numpy"})
def _ov_radd(a, b):
    def impl(a, b):
        return a + b

    return impl


def sg_scratch_f64(like):
    """Python stand-in of the intrinsic: zeros shaped like ``like``, float64."""
    import numpy as np

    return np.zeros(np.shape(like), np.float64)


def sg_release(w) -> None:
    """Python stand-in: nothing to free."""


@intrinsic
def _scratch(typingctx, like):
    if not isinstance(like, types.Array):
        return None
    rt = types.Array(types.float64, like.ndim, "C")

    def codegen(context, builder, sig, args):
        src = context.make_array(like)(context, builder, args[0])
        shape = cgutils.unpack_tuple(builder, src.shape, like.ndim)
        intp = context.get_value_type(types.intp)
        n = ir.Constant(intp, 1)
        for s in shape:
            n = builder.mul(n, s)
        fnty = ir.FunctionType(cgutils.voidptr_t, [intp, intp])
        calloc = cgutils.get_or_insert_function(builder.module, fnty, "calloc")
        raw = builder.call(calloc, [n, ir.Constant(intp, 8)])
        strides, step = [], ir.Constant(intp, 8)
        for s in reversed(shape):
            strides.insert(0, step)
            step = builder.mul(step, s)
        out = context.make_array(rt)(context, builder)
        data = builder.bitcast(raw, context.get_value_type(types.float64).as_pointer())
        context.populate_array(out, data=data, shape=shape, strides=strides,
                               itemsize=ir.Constant(intp, 8), meminfo=None)
        return out._getvalue()

    return rt(like), codegen


def sg_scratch(n, proto):
    """Python stand-in of the intrinsic: ``n`` elements of ``proto``'s type."""
    import numpy as np

    return np.empty(n, np.asarray(proto).dtype)


@intrinsic
def _scratch_1d(typingctx, n, proto):
    if not isinstance(n, types.Integer) or not isinstance(proto, (types.Number, types.Boolean)):
        return None
    rt = types.Array(proto, 1, "C")

    def codegen(context, builder, sig, args):
        intp = context.get_value_type(types.intp)
        count = context.cast(builder, args[0], sig.args[0], types.intp)
        size = context.get_abi_sizeof(context.get_data_type(proto))
        fnty = ir.FunctionType(cgutils.voidptr_t, [intp])
        malloc = cgutils.get_or_insert_function(builder.module, fnty, "malloc")
        nbytes = builder.mul(count, ir.Constant(intp, size))  # malloc(0) may be NULL: unread
        raw = builder.call(malloc, [nbytes])
        out = context.make_array(rt)(context, builder)
        data = builder.bitcast(raw, context.get_data_type(proto).as_pointer())
        context.populate_array(out, data=data, shape=[count], strides=[ir.Constant(intp, size)],
                               itemsize=ir.Constant(intp, size), meminfo=None)
        return out._getvalue()

    return rt(n, proto), codegen


@intrinsic
def _release(typingctx, w):
    if not isinstance(w, types.Array):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(w)(context, builder, args[0])
        fnty = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t])
        free = cgutils.get_or_insert_function(builder.module, fnty, "free")
        builder.call(free, [builder.bitcast(ary.data, cgutils.voidptr_t)])
        return context.get_dummy_value()

    return types.none(w), codegen


def sg_block_sum(buf, m):
    """Python stand-in of the intrinsic: ``buf[:m]`` summed in :mod:`.blocksum`'s order."""
    import numpy as np

    dt = buf.dtype.type
    n = blocksum.LANE_BYTES // buf.dtype.itemsize
    lanes = np.zeros(n, buf.dtype)
    for i in range(m):
        lanes[i % n] = dt(lanes[i % n] + buf[i])
    s = lanes[0]
    for k in range(1, n):
        s = dt(s + lanes[k])
    return s


@intrinsic
def _block_sum(typingctx, buf, m):
    if not (isinstance(buf, types.Array) and buf.dtype in (types.float32, types.float64)
            and isinstance(m, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(buf)(context, builder, args[0])
        fn = blocksum.define(builder.module, context.get_value_type(buf.dtype))
        return builder.call(fn, [ary.data, context.cast(builder, args[1], sig.args[1],
                                                        types.int64)])

    return buf.dtype(buf, m), codegen


@intrinsic
def sg_vector_width(typingctx, bits):
    """See the module docstring; ``bits`` must be a literal integer (the rendered source)."""
    if not isinstance(bits, types.IntegerLiteral):
        return None
    attr = f'"prefer-vector-width"="{bits.literal_value}"'

    def codegen(context, builder, sig, args):
        # llvmlite's FunctionAttributes accepts only its list of keyword attributes; a string
        # attribute is printed as given, so it goes in past the check (set.add)
        set.add(builder.function.attributes, attr)
        return context.get_dummy_value()

    return types.none(bits), codegen


@overload(sg_block_sum)
def _ov_block_sum(buf, m):
    return lambda buf, m: _block_sum(buf, m)


@overload(sg_scratch_f64)
def _ov_scratch(like):
    return lambda like: _scratch(like)


@overload(sg_scratch)
def _ov_scratch_1d(n, proto):
    return lambda n, proto: _scratch_1d(n, proto)


@overload(sg_release)
def _ov_release(w):
    return lambda w: _release(w)


__all__ = ["sg_block_sum", "sg_radd", "sg_release", "sg_scratch", "sg_scratch_f64",
           "sg_vector_width"]

"""The basic ``sg_*`` functions of the CPU scalar library (:mod:`.scalar` re-exports them with
the polynomial ones): ``relu``, ``abs``, ``sign``, ``max``/``min``, ``clamp``, ``pow``, the
rounding functions, ``erf`` and the casts, each a plain Python function (numpy semantics) with a
numba ``@overload``; and the options every library function compiles with.

Special values follow the registry's numpy kernels (PyTorch's): ``relu(NaN)=NaN``,
``sign(NaN)=0``, ``max``/``min``/``clamp`` propagate NaN, ``x ** 0.5 = sqrt(x)`` and
``x ** -0.5 = 1/sqrt(x)``.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

LIB_FASTMATH = frozenset({"contract", "nsz", "arcp"})
"""The library's fast-math flags (``sg_pow`` drops ``arcp``): no ``reassoc`` (it would undo the
Cody-Waite split of ``exp``), no ``nnan``/``ninf`` (they would break the special values)."""
JIT_OPTIONS = {"fastmath": set(LIB_FASTMATH), "error_model": "numpy"}
_JIT = JIT_OPTIONS


# ------------------------------------------------------------------------------- bitcasts
def _bitcast(src, dst, lty):
    """An intrinsic reinterpreting the bits of ``src`` as ``dst``; wider integers (numba widens
    int32 arithmetic to int64) are truncated to ``src``'s width first."""

    @intrinsic
    def cast(typingctx, x):
        if x != src and not (isinstance(src, types.Integer) and isinstance(x, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            v = args[0]
            if isinstance(src, types.Integer) and x.bitwidth != src.bitwidth:
                v = builder.trunc(v, ir.IntType(src.bitwidth)) if x.bitwidth > src.bitwidth \
                    else builder.sext(v, ir.IntType(src.bitwidth))
            return builder.bitcast(v, lty)

        return dst(x), codegen

    return cast


_i32_as_f32 = _bitcast(types.int32, types.float32, ir.FloatType())
_f32_as_i32 = _bitcast(types.float32, types.int32, ir.IntType(32))
_i64_as_f64 = _bitcast(types.int64, types.float64, ir.DoubleType())
_f64_as_i64 = _bitcast(types.float64, types.int64, ir.IntType(64))


# --------------------------------------------------------------------------------- inlining
@intrinsic
def _always_inline(typingctx):
    """Marks the library function it is called in ``alwaysinline``. numba links a cached
    library function into a kernel as a call that LLVM inlines only under its cost threshold:
    ``expm1``/``softplus`` (an exp and a log inside) stayed calls, and a call per element keeps
    the kernel's loop scalar (~5x slower)."""

    def codegen(context, builder, sig, args):
        builder.function.attributes.add("alwaysinline")
        return context.get_dummy_value()

    return types.none(), codegen


def _isf(t, bits: int) -> bool:
    return isinstance(t, types.Float) and t.bitwidth == bits


def _unary_float(pyfunc, f32impl, f64impl, generic=None):
    """Register an overload of ``pyfunc`` choosing the float32/float64 implementation; integer
    and bool inputs compute in float64 (they only reach here in unfused corner cases). The glue
    is always inlined: an implementation marked so is inlined into it, and the glue around a big
    one (expm1) would otherwise stay a call in the kernel."""

    def f32(x):
        _always_inline()
        return f32impl(x)

    def f64(x):
        _always_inline()
        return f64impl(x)

    @overload(pyfunc, jit_options=JIT_OPTIONS)
    def ov(x):
        if _isf(x, 32):
            return f32
        if _isf(x, 64):
            return f64
        if isinstance(x, (types.Integer, types.Boolean)):
            return lambda x: f64impl(np.float64(x))
        return None

    return ov


def sg_relu(x):
    return np.where(x < 0, 0, x)


def sg_abs(x):
    return np.abs(x)


def sg_sign(x):
    return np.where(x != x, 0, np.sign(x))


def sg_max(x, y):
    return np.maximum(x, y)


def sg_min(x, y):
    return np.minimum(x, y)


def sg_clamp(x, lo, hi):
    return np.clip(x, lo, hi)


def sg_pow(x, y):
    from ...ops.elementwise import _pow_impl

    return _pow_impl(np.asarray(x), np.asarray(y))


def _zero_one(t):
    """Typed 0 and 1 of numba type ``t`` (closure constants keep their dtype)."""
    if isinstance(t, types.Boolean):
        return False, True
    dt = np.dtype(str(t))
    return dt.type(0), dt.type(1)


@overload(sg_relu, jit_options=_JIT)
def _ov_relu(x):
    zero, _ = _zero_one(x)
    return lambda x: zero if x < zero else x


@overload(sg_abs, jit_options=_JIT)
def _ov_abs(x):
    return lambda x: abs(x)


@overload(sg_sign, jit_options=_JIT)
def _ov_sign(x):
    zero, one = _zero_one(x)
    if isinstance(x, types.Boolean):
        return lambda x: x
    return lambda x: one if x > zero else (-one if x < zero else zero)


@overload(sg_max, jit_options=_JIT)
def _ov_max(x, y):
    return lambda x, y: x if (x >= y or x != x) else y


@overload(sg_min, jit_options=_JIT)
def _ov_min(x, y):
    return lambda x, y: x if (x <= y or x != x) else y


@overload(sg_clamp, jit_options=_JIT)
def _ov_clamp(x, lo, hi):
    def impl(x, lo, hi):
        r = lo if x < lo else x
        return hi if r > hi else r
    return impl


@overload(sg_pow, jit_options={**_JIT, "fastmath": set(LIB_FASTMATH - {"arcp"})})
def _ov_pow(x, y):
    if isinstance(x, types.Float):
        _, one = _zero_one(x)

        def fpow(x, y):
            if y == 0.5:
                return np.sqrt(x)
            if y == -0.5:  # no arcp here: LLVM would use an rsqrt estimate (NaN at 0 and inf)
                return one / np.sqrt(x)
            return x ** y
        return fpow
    if isinstance(y, types.Float):
        return lambda x, y: x ** y
    if isinstance(x, types.Integer) and isinstance(y, types.Integer):
        def ipow(x, y):
            r = x - x + 1
            b = x
            e = y
            while e > 0:
                if e & 1:
                    r = r * b
                b = b * b
                e = e >> 1
            return r
        return ipow
    return None


# ------------------------------------------------------------------------- rounding, erf
def sg_floor(x):
    return np.floor(x)


def sg_ceil(x):
    return np.ceil(x)


def sg_trunc(x):
    return np.trunc(x)


def sg_round(x):
    return np.round(x)


for _py, _f in ((sg_floor, np.floor), (sg_ceil, np.ceil), (sg_trunc, np.trunc),
                (sg_round, np.rint)):  # rint: half to even, as np.round
    def _reg_rounding(py=_py, f=_f):
        @overload(py, jit_options=_JIT)
        def ov(x):
            if isinstance(x, types.Float):
                return lambda x: f(x)
            if isinstance(x, (types.Integer, types.Boolean)):
                return lambda x: x  # integers round to themselves
            return None
    _reg_rounding()


def sg_erf(x):
    from ...ops.elementwise import ERF

    return ERF.impl(np.asarray(x))


@overload(sg_erf, jit_options=_JIT)
def _ov_erf(x):  # in double precision, rounded once: the registry kernel's result
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: np.float32(math.erf(np.float64(x)))
    if isinstance(x, (types.Float, types.Integer, types.Boolean)):
        return lambda x: math.erf(np.float64(x))
    return None


# ------------------------------------------------------------------------------------ casts
CAST_DTYPES = ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")
CASTS: dict = {}


def _make_cast(name: str):
    dt = np.dtype(name)

    def cast(x):
        return np.asarray(x).astype(dt)

    cast.__name__ = f"sg_cast_{name}"
    target = dt.type

    @overload(cast, jit_options=_JIT)
    def ov(x):
        if name == "bool":
            return lambda x: x != 0
        return lambda x: target(x)

    return cast


for _n in CAST_DTYPES:
    CASTS[f"sg_cast_{_n}"] = _make_cast(_n)
globals().update(CASTS)

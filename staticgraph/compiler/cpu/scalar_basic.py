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
from numba import types
from numba.extending import overload

LIB_FASTMATH = frozenset({"contract", "nsz", "arcp"})
"""The library's fast-math flags (``sg_pow`` drops ``arcp``): no ``reassoc`` (it would undo the
Cody-Waite split of ``exp``), no ``nnan``/``ninf`` (they would break the special values)."""
JIT_OPTIONS = {"fastmath": set(LIB_FASTMATH), "error_model": "numpy"}
_JIT = JIT_OPTIONS


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

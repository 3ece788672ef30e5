"""The CUDA scalar library: the same ``sg_*`` names as :mod:`..cpu.scalar`, as ``numba.cuda``
device functions (libdevice ``math.*`` runs per thread, so no polynomial is needed). Imported
lazily: only when the CUDA renderer is used and ``numba.cuda`` imports.

Types stay those of the operands: constants are ``np.int8`` (which unifies with float32 to
float32 and with int64 to int64) or ``np.float32`` (float32 + float64 is float64), never Python
``int``/``float`` literals, which numba types as int64/float64 and would promote float32 math to
float64 (``tests/compiler/test_cuda_executor_ptx.py`` checks the PTX of float32 graphs has no f64
arithmetic). Special values are those of the CPU library (``relu(NaN)=NaN``, ``sign(NaN)=0``,
``x ** +-0.5`` as ``sqrt``/``1/sqrt``, ``log(0)=-inf``, ``log(x<0)=NaN``, ``log1p(-1)=-inf``,
max/min/clip propagate NaN). The guards on ``exp``/``expm1``/``log``/``log1p``/``sqrt``/``sin``/
``cos`` also keep the CUDA simulator (plain Python ``math``, which raises on overflow and domain
errors) on the IEEE results the device gives.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

_Z = np.int8(0)
_O = np.int8(1)
_M = np.int8(-1)
_TWO = np.int8(2)
_F1 = np.float32(1.0)
_HALF = np.float32(0.5)
_NAN = np.float32(np.nan)
_INF = np.float32(np.inf)
_NINF = np.float32(-np.inf)
_EXP_BIG = np.float32(709.0)  # above: +inf in both precisions (float32 overflows at 88.7)


@cuda.jit(device=True)
def sg_exp(x):
    if x > _EXP_BIG:
        return _INF
    return math.exp(x)


@cuda.jit(device=True)
def sg_log(x):
    if x > _Z:
        return math.log(x)
    return _NINF if x == _Z else _NAN


@cuda.jit(device=True)
def sg_log1p(x):
    if x > _M:
        return math.log1p(x)
    return _NINF if x == _M else _NAN


@cuda.jit(device=True)
def sg_expm1(x):
    if x > _EXP_BIG:
        return _INF
    return math.expm1(x)


@cuda.jit(device=True)
def sg_softplus(x):
    m = x if x > _Z else _Z
    return m + math.log1p(sg_exp(-abs(x)))


@cuda.jit(device=True)
def sg_tanh(x):
    return math.tanh(x)


@cuda.jit(device=True)
def sg_sigmoid(x):
    e = sg_exp(-abs(x))
    return _F1 / (_F1 + e) if x >= _Z else e / (_F1 + e)


@cuda.jit(device=True)
def sg_sqrt(x):
    return math.sqrt(x) if x >= _Z else _NAN


@cuda.jit(device=True)
def sg_sin(x):
    return math.sin(x) if x - x == _Z else _NAN


@cuda.jit(device=True)
def sg_cos(x):
    return math.cos(x) if x - x == _Z else _NAN


@cuda.jit(device=True)
def sg_floor(x):
    return math.floor(x) if x - x == _Z else x  # +-inf, NaN: themselves


@cuda.jit(device=True)
def sg_ceil(x):
    return math.ceil(x) if x - x == _Z else x


@cuda.jit(device=True)
def sg_trunc(x):
    if x - x != _Z:
        return x
    return math.floor(x) if x >= _Z else math.ceil(x)  # (the simulator's float32: no __trunc__)


@cuda.jit(device=True)
def sg_round(x):
    """Half to even (``np.round``); a zero result keeps ``x``'s sign."""
    if x - x != _Z:
        return x
    r = math.floor(x)
    d = x - r
    if d > _HALF or (d == _HALF and r - _TWO * math.floor(r * _HALF) != _Z):
        r = r + _O
    return r if r != _Z else x * _Z


@cuda.jit(device=True)
def sg_erf(x):
    return math.erf(x)


@cuda.jit(device=True)
def sg_atan2(x, y):
    return math.atan2(x, y)


@cuda.jit(device=True)
def sg_hypot(x, y):
    return math.hypot(x, y)


@cuda.jit(device=True)
def sg_fmod(x, y):
    return math.fmod(x, y)


@cuda.jit(device=True)
def sg_sinh(x):
    return math.sinh(x)


@cuda.jit(device=True)
def sg_cosh(x):
    return math.cosh(x)


@cuda.jit(device=True)
def sg_asinh(x):
    return math.asinh(x)


@cuda.jit(device=True)
def sg_exp2(x):
    return math.pow(2.0, x)


@cuda.jit(device=True)
def sg_lgamma(x):
    return math.lgamma(x)


@cuda.jit(device=True)
def sg_relu(x):
    return _Z if x < _Z else x


@cuda.jit(device=True)
def sg_abs(x):
    return abs(x)


@cuda.jit(device=True)
def sg_sign(x):
    return _O if x > _Z else (_M if x < _Z else _Z)


@cuda.jit(device=True)
def sg_max(x, y):
    return x if (x >= y or x != x) else y


@cuda.jit(device=True)
def sg_min(x, y):
    return x if (x <= y or x != x) else y


@cuda.jit(device=True)
def sg_clamp(x, lo, hi):
    r = lo if x < lo else x
    return hi if r > hi else r


@cuda.jit(device=True)
def sg_pow(x, y):
    r = x ** y
    if (y == _HALF or y == -_HALF) and x <= _Z:  # as sqrt / 1/sqrt where they differ from pow
        if x == _NINF:
            return x - x
        if x == _Z and _F1 / x < _Z:  # -0.0
            return x if y == _HALF else -r
    return r


def _cast(conv):
    @cuda.jit(device=True)
    def cast(x):
        return conv(x)
    return cast


@cuda.jit(device=True)
def _to_bool(x):
    return x != _Z


NAMESPACE: dict = {
    "sg_exp": sg_exp, "sg_log": sg_log, "sg_tanh": sg_tanh, "sg_sigmoid": sg_sigmoid,
    "sg_sqrt": sg_sqrt, "sg_sin": sg_sin, "sg_cos": sg_cos, "sg_relu": sg_relu,
    "sg_abs": sg_abs, "sg_sign": sg_sign, "sg_max": sg_max, "sg_min": sg_min,
    "sg_clamp": sg_clamp, "sg_pow": sg_pow, "sg_log1p": sg_log1p, "sg_expm1": sg_expm1,
    "sg_softplus": sg_softplus, "sg_floor": sg_floor, "sg_ceil": sg_ceil, "sg_trunc": sg_trunc,
    "sg_round": sg_round, "sg_erf": sg_erf, "math": math, "sg_cast_bool": _to_bool,
    "sg_atan2": sg_atan2, "sg_hypot": sg_hypot, "sg_fmod": sg_fmod, "sg_sinh": sg_sinh,
    "sg_cosh": sg_cosh, "sg_asinh": sg_asinh, "sg_exp2": sg_exp2, "sg_lgamma": sg_lgamma,
}
"""Every scalar-library name, for the namespace generated CUDA kernels are executed in."""

for _name in ("float32", "float64", "int8", "int16", "int32", "int64", "uint8"):
    NAMESPACE[f"sg_cast_{_name}"] = _cast(getattr(np, _name))

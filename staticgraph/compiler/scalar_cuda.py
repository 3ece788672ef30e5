"""The CUDA scalar library: the same ``sg_*`` names as :mod:`.scalar_cpu`, as ``numba.cuda``
device functions (CUDA's libdevice ``math.*`` is vectorized per thread already, so no polynomial
is needed). Imported lazily: only when the CUDA renderer is used and ``numba.cuda`` imports.
Special values follow numpy as on the CPU (``relu(NaN)=0``, max/min/clip propagate NaN).
"""

from __future__ import annotations

import math

from numba import cuda


@cuda.jit(device=True)
def sg_exp(x):
    return math.exp(x)


@cuda.jit(device=True)
def sg_log(x):
    return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)


@cuda.jit(device=True)
def sg_tanh(x):
    return math.tanh(x)


@cuda.jit(device=True)
def sg_sigmoid(x):
    e = math.exp(-abs(x))
    return 1 / (1 + e) if x >= 0 else e / (1 + e)


@cuda.jit(device=True)
def sg_sqrt(x):
    return math.sqrt(x) if x >= 0 else math.nan


@cuda.jit(device=True)
def sg_sin(x):
    return math.sin(x)


@cuda.jit(device=True)
def sg_cos(x):
    return math.cos(x)


@cuda.jit(device=True)
def sg_relu(x):
    return x if x > 0 else 0


@cuda.jit(device=True)
def sg_abs(x):
    return abs(x)


@cuda.jit(device=True)
def sg_sign(x):
    return 1 if x > 0 else (-1 if x < 0 else (0 if x == 0 else x))


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
    return x ** y


def _cast(conv):
    @cuda.jit(device=True)
    def cast(x):
        return conv(x)
    return cast


NAMESPACE: dict = {
    "sg_exp": sg_exp, "sg_log": sg_log, "sg_tanh": sg_tanh, "sg_sigmoid": sg_sigmoid,
    "sg_sqrt": sg_sqrt, "sg_sin": sg_sin, "sg_cos": sg_cos, "sg_relu": sg_relu,
    "sg_abs": sg_abs, "sg_sign": sg_sign, "sg_max": sg_max, "sg_min": sg_min,
    "sg_clamp": sg_clamp, "sg_pow": sg_pow, "math": math,
}


def _casts() -> None:
    from numba import types

    for name in ("float32", "float64", "int8", "int16", "int32", "int64", "uint8"):
        NAMESPACE[f"sg_cast_{name}"] = _cast(getattr(types, name))
    NAMESPACE["sg_cast_bool"] = _cast(lambda x: x != 0)


_casts()

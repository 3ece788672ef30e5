"""The special-function names of the CPU scalar library: ``sg_atan2``, ``sg_hypot``,
``sg_fmod``, ``sg_sinh``, ``sg_cosh``, ``sg_asinh``, ``sg_exp2``, ``sg_lgamma`` -- the ``scalar``
templates of the records in ``staticgraph/ops/special.py``, so compiled plans fuse them.

As ``sg_erf``: each is a plain Python function (the registry kernel, for a template evaluated
outside numba) with a numba ``@overload`` that computes in double precision with numba's libm
functions and rounds once for float32 operands, which is what the registry kernels do
(``_via_double``/``_in_double``). Integer and bool operands go to float64 (the output's dtype
rounds them, as the kernels' ``"float"`` rule). ``sg_fmod`` of integers is C's remainder (the
dividend's sign; 0 for a zero divisor, numpy's value). ``digamma``, ``polygamma`` and ``erfinv``
have no libm function and stay unfused numpy steps.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

from .scalar_basic import JIT_OPTIONS

_JIT = JIT_OPTIONS
_NUM = (types.Float, types.Integer, types.Boolean)


def _registry(name: str):
    def fn(*xs):
        from ...ops import REGISTRY

        return REGISTRY[name].impl(*(np.asarray(x) for x in xs))
    fn.__name__ = f"sg_{name}"
    return fn


def _f32(*xs) -> bool:
    """All float operands float32 (and at least one float): the result rounds to float32."""
    floats = [x for x in xs if isinstance(x, types.Float)]
    return bool(floats) and all(x.bitwidth == 32 for x in floats)


sg_atan2, sg_hypot, sg_fmod = _registry("atan2"), _registry("hypot"), _registry("fmod")
sg_sinh, sg_cosh, sg_asinh = _registry("sinh"), _registry("cosh"), _registry("asinh")
sg_exp2, sg_lgamma = _registry("exp2"), _registry("lgamma")


def _reg_unary(py, m) -> None:
    @overload(py, jit_options=_JIT)
    def ov(x):
        if not isinstance(x, _NUM):
            return None
        if _f32(x):
            return lambda x: np.float32(m(np.float64(x)))
        return lambda x: m(np.float64(x))


for _py, _m in ((sg_sinh, math.sinh), (sg_cosh, math.cosh), (sg_asinh, math.asinh),
                (sg_exp2, np.exp2), (sg_lgamma, math.lgamma)):
    _reg_unary(_py, _m)


def _reg_binary(py, m) -> None:
    @overload(py, jit_options=_JIT)
    def ov(x, y):
        if not (isinstance(x, _NUM) and isinstance(y, _NUM)):
            return None
        if _f32(x, y):
            return lambda x, y: np.float32(m(np.float64(x), np.float64(y)))
        return lambda x, y: m(np.float64(x), np.float64(y))


_reg_binary(sg_atan2, math.atan2)
_reg_binary(sg_hypot, math.hypot)


@overload(sg_fmod, jit_options=_JIT)
def _ov_fmod(x, y):
    if isinstance(x, types.Integer) and isinstance(y, types.Integer):
        def ifmod(x, y):
            if y == 0:
                return x - x  # numpy's 0 (with a warning there)
            r = abs(x) % abs(y)
            return -r if x < 0 else r
        return ifmod
    if not (isinstance(x, _NUM) and isinstance(y, _NUM)):
        return None
    if _f32(x, y):  # exact in float64, so rounding once is float32's fmod
        return lambda x, y: np.float32(np.fmod(np.float64(x), np.float64(y)))
    return lambda x, y: np.fmod(np.float64(x), np.float64(y))


NAMES: dict = {"sg_atan2": sg_atan2, "sg_hypot": sg_hypot, "sg_fmod": sg_fmod,
               "sg_sinh": sg_sinh, "sg_cosh": sg_cosh, "sg_asinh": sg_asinh, "sg_exp2": sg_exp2,
               "sg_lgamma": sg_lgamma}
"""The names this module adds to the scalar library's namespace."""

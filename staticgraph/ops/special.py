"""More elementwise ops: ``atan2``, ``hypot``, ``fmod``, ``sinh``, ``cosh``, ``asinh``, ``exp2``,
``lgamma``, ``digamma``, ``trigamma`` and ``erfinv``, one record each, for both modes.

Laid out like ``elementwise.py``: numpy kernel (PyTorch's values at 0, +-inf and NaN), the
shape/dtype rule (``"float"``: integer inputs give float32, as in PyTorch), the VJP written with
public op functions (PyTorch's formulas from ``derivatives.yaml``), the PyTorch ``grad_fn`` and
TF names. They have no scalar template: the compiler runs them as numpy steps, unfused (the
compiler's scalar library has no ``atan2``/``lgamma``...; adding them there is a compiler
change). ``lgamma``, ``digamma``, ``trigamma`` and ``erfinv`` are computed in double precision
and rounded once, as ``erf`` is (numpy has no such ufuncs; the series are below).
"""

from __future__ import annotations

import math

import numpy as np

from .core import Op, bind, register
from .elementwise import add, div, elementwise_infer, exp, mul, neg, reciprocal, sqrt
from .rounding import trunc


def atan2(y, x): return bind(ATAN2, y, x)
def hypot(x, y): return bind(HYPOT, x, y)
def fmod(x, y): return bind(FMOD, x, y)
def sinh(x): return bind(SINH, x)
def cosh(x): return bind(COSH, x)
def asinh(x): return bind(ASINH, x)
def exp2(x): return bind(EXP2, x)
def lgamma(x): return bind(LGAMMA, x)
def digamma(x): return bind(DIGAMMA, x)
def trigamma(x): return bind(TRIGAMMA, x)
def erfinv(x): return bind(ERFINV, x)


def _rec(name, impl, vjp, *, nin=1, saves=(0,), rule="float", grad_name="", tf_name="",
         tf_differentiable=True) -> Op:
    """An elementwise record without a scalar template (runs unfused in compiled plans)."""
    return register(Op(name=name, impl=impl, infer=elementwise_infer(rule), vjp=vjp,
                       kind="elementwise", scalar=None, grad_name=grad_name, saves=saves,
                       nin=nin, dtype_rule=rule, tf_name=tf_name,
                       tf_differentiable=tf_differentiable,
                       jvp="diagonal" if vjp is not None else None))


def _in_double(fn):
    """``fn`` (a float -> float function) on every element, in float64, rounded once."""
    vec = np.vectorize(fn, otypes=[np.float64])

    def impl(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        out = vec(x.astype(np.float64)) if x.size else np.zeros(x.shape)
        return out.astype(x.dtype if x.dtype.kind == "f" else np.float32)

    return impl


def _lgamma1(v: float) -> float:
    """``log|Gamma(v)|``; +inf at the poles (0 and the negative integers), as PyTorch."""
    try:
        return math.lgamma(v)
    except ValueError:
        return math.inf


_DIGAMMA_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132)  # ln x - 1/2x - sum c_k / x^2k
_TRIGAMMA_SERIES = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66)  # 1/x + 1/2x^2 + sum c_k / x^2k+1


def _digamma1(v: float) -> float:
    """psi(v): recurrence up to 10, then the asymptotic series; reflection below 0.5.
    PyTorch: ``digamma(0) = -inf``, NaN at the negative integers, ``digamma(inf) = inf``."""
    if math.isnan(v) or v == -math.inf:
        return math.nan
    if v == math.inf:
        return math.inf
    if v == 0:
        return math.inf if math.copysign(1, v) < 0 else -math.inf
    if v < 0 and v == math.floor(v):
        return math.nan
    if v < 0.5:
        return _digamma1(1 - v) - math.pi / math.tan(math.pi * v)
    acc = 0.0
    while v < 10:
        acc -= 1 / v
        v += 1
    inv2 = 1 / (v * v)
    s, p = 0.0, inv2
    for c in _DIGAMMA_SERIES:
        s += c * p
        p *= inv2
    return acc + math.log(v) - 0.5 / v - s


def _trigamma1(v: float) -> float:
    """psi'(v), the derivative of ``digamma``; +inf at the poles."""
    if math.isnan(v) or v == -math.inf:
        return math.nan
    if v == math.inf:
        return 0.0
    if v <= 0 and v == math.floor(v):
        return math.inf
    if v < 0.5:
        return -_trigamma1(1 - v) + (math.pi / math.sin(math.pi * v)) ** 2
    acc = 0.0
    while v < 10:
        acc += 1 / (v * v)
        v += 1
    inv2 = 1 / (v * v)
    s, p = 0.0, 1 / (v * v * v)
    for c in _TRIGAMMA_SERIES:
        s += c * p
        p *= inv2
    return acc + 1 / v + 0.5 * inv2 + s


def _erfinv1(v: float) -> float:
    """The inverse of ``erf`` on [-1, 1] (+-inf at +-1, NaN outside): Giles' single-precision
    approximation refined by Newton steps on ``math.erf`` (to double precision)."""
    if math.isnan(v) or abs(v) > 1:
        return math.nan
    if abs(v) == 1:
        return math.copysign(math.inf, v)
    w = -math.log((1 - v) * (1 + v))
    if w < 5:
        w -= 2.5
        p = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
            p = c + p * w
    else:
        w = math.sqrt(w) - 3
        p = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
            p = c + p * w
    r = p * v
    for _ in range(3):
        err = math.erf(r) - v
        d = 2 / math.sqrt(math.pi) * math.exp(-r * r)
        if d == 0:
            break
        r -= err / d
    return r


def _atan2_vjp(g, out, y, x):
    r = reciprocal(add(mul(y, y), mul(x, x)))  # PyTorch: (self^2 + other^2).reciprocal()
    return mul(mul(g, x), r), mul(mul(g, neg(y)), r)


def _fmod_name(args, params) -> str:
    return "FmodBackward0" if isinstance(args[1], (int, float)) else "FmodBackward1"


def _fmod_vjp(g, out, x, y):
    if isinstance(y, (int, float)):
        return g, None
    return g, neg(mul(g, trunc(div(x, y))))


_LN2 = math.log(2.0)
_HALF_SQRT_PI = math.sqrt(math.pi) / 2

ATAN2 = _rec("atan2", np.arctan2, _atan2_vjp, nin=2, saves=(0, 1),
             grad_name="Atan2Backward0", tf_name="Atan2")
HYPOT = _rec("hypot", np.hypot, lambda g, out, x, y: (mul(g, div(x, out)), mul(g, div(y, out))),
             nin=2, saves=(0, 1, "out"), rule="promote", grad_name="HypotBackward0")
FMOD = _rec("fmod", np.fmod, _fmod_vjp, nin=2, saves=(0, 1), rule="promote",
            grad_name=_fmod_name, tf_name="TruncateMod", tf_differentiable=False)  # TF: none
SINH = _rec("sinh", np.sinh, lambda g, out, x: (mul(g, cosh(x)),), grad_name="SinhBackward0",
            tf_name="Sinh")
COSH = _rec("cosh", np.cosh, lambda g, out, x: (mul(g, sinh(x)),), grad_name="CoshBackward0",
            tf_name="Cosh")
ASINH = _rec("asinh", np.arcsinh, lambda g, out, x: (div(g, sqrt(add(mul(x, x), 1.0))),),
             grad_name="AsinhBackward0", tf_name="Asinh")
EXP2 = _rec("exp2", np.exp2, lambda g, out, x: (mul(g, mul(out, _LN2)),), saves=("out",),
            grad_name="Exp2Backward0")
LGAMMA = _rec("lgamma", _in_double(_lgamma1), lambda g, out, x: (mul(g, digamma(x)),),
              grad_name="LgammaBackward0", tf_name="Lgamma")
DIGAMMA = _rec("digamma", _in_double(_digamma1), lambda g, out, x: (mul(g, trigamma(x)),),
               grad_name="DigammaBackward0", tf_name="Digamma")
# PyTorch's ``polygamma(1, x)``; its own derivative (``polygamma(2, x)``) is not provided
TRIGAMMA = _rec("trigamma", _in_double(_trigamma1), None, saves=(),
                grad_name="PolygammaBackward0")
ERFINV = _rec("erfinv", _in_double(_erfinv1),
              lambda g, out, x: (mul(g, mul(exp(mul(out, out)), _HALF_SQRT_PI)),),
              saves=("out",), grad_name="ErfinvBackward0", tf_name="Erfinv")

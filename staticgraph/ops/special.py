"""More elementwise ops: ``atan2``, ``hypot``, ``fmod``, ``sinh``, ``cosh``, ``asinh``, ``exp2``,
``lgamma``, ``digamma``, ``polygamma`` and ``erfinv``, one record each, for both modes.

Laid out like ``elementwise.py``: numpy kernel (PyTorch's values at 0, +-inf and NaN), the
shape/dtype rule (``"float"``: integer inputs give float32, as in PyTorch), the VJP written with
public op functions (PyTorch's formulas from ``derivatives.yaml``), the PyTorch ``grad_fn`` and
TF names. ``atan2``, ``hypot``, ``fmod``, ``sinh``, ``cosh``, ``asinh``, ``exp2`` and ``lgamma``
have scalar templates (``sg_atan2({0}, {1})``...: libm in double precision, rounded once, the
compiler's ``cpu/scalar_special.py``), so compiled plans fuse them; ``digamma``, ``polygamma``
and ``erfinv`` have no libm function and run as numpy steps, unfused. ``lgamma``, ``digamma``,
``polygamma`` and ``erfinv`` are computed in double precision and rounded once, as ``erf`` is
(numpy has no such ufuncs); ``digamma`` and ``polygamma`` replay PyTorch's algorithms (cephes'
series and Hurwitz zeta), so float64 values agree with PyTorch's.
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
def polygamma(x, n: int): return bind(POLYGAMMA, x, n=int(n))
def erfinv(x): return bind(ERFINV, x)


def _rec(name, impl, vjp, *, nin=1, saves=(0,), rule="float", grad_name="", tf_name="",
         fused: bool = False) -> Op:
    """An elementwise record; ``fused``: with the scalar template ``sg_<name>(...)`` (the
    compiler's ``cpu/scalar_special.py``), else it runs unfused in compiled plans."""
    scalar = f"sg_{name}(" + ", ".join(f"{{{i}}}" for i in range(nin)) + ")" if fused else None
    return register(Op(name=name, impl=impl, infer=elementwise_infer(rule), vjp=vjp,
                       kind="elementwise", scalar=scalar, grad_name=grad_name, saves=saves,
                       nin=nin, dtype_rule=rule, tf_name=tf_name,
                       jvp="diagonal" if vjp is not None else None))


def _in_double(fn):
    """``fn`` (a float -> float function) on every element, in float64, rounded once."""
    vec = np.vectorize(fn, otypes=[np.float64])

    def impl(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        out = vec(x.astype(np.float64)) if x.size else np.zeros(x.shape)
        return out.astype(x.dtype if x.dtype.kind == "f" else np.float32)

    return impl


def _via_double(fn):
    """numpy's ``fn`` evaluated in float64 for narrower floats and rounded once (numpy's float32
    loops of ``arctan2``, ``sinh``... are up to an ulp off; PyTorch's are correctly rounded
    nearly always)."""
    def impl(*xs: np.ndarray) -> np.ndarray:
        dt = np.result_type(*xs)
        if dt.kind == "f" and dt.itemsize < 8:
            return fn(*(np.asarray(x, np.float64) for x in xs)).astype(dt)
        return fn(*xs)
    impl.__name__ = fn.__name__
    return impl


def _lgamma1(v: float) -> float:
    """``log|Gamma(v)|``; +inf at the poles (0 and the negative integers), as PyTorch."""
    try:
        return math.lgamma(v)
    except ValueError:
        return math.inf


_PSI_10 = 2.25175258906672110764  # digamma(10)
_DIGAMMA_A = (8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
              -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
              8.33333333333333333333E-2)


def _digamma1(v: float) -> float:
    """PyTorch's ``calc_digamma`` (cephes): recurrence up to 10, then the asymptotic series;
    reflection below 0. ``digamma(+-0) = -+inf``, NaN at the negative integers."""
    if v == 0:
        return math.inf if math.copysign(1, v) < 0 else -math.inf
    if math.isnan(v) or v == -math.inf:
        return math.nan
    if v == math.inf:
        return math.inf
    if v < 0:
        if v == math.trunc(v):
            return math.nan
        r = math.modf(v)[0]
        return _digamma1(1 - v) - math.pi / math.tan(math.pi * r)
    acc = 0.0
    while v < 10:
        acc -= 1 / v
        v += 1
    if v == 10:
        return acc + _PSI_10
    y = 0.0
    if v < 1.0e17:
        z = 1.0 / (v * v)
        poly = 0.0
        for c in _DIGAMMA_A:
            poly = poly * z + c
        y = z * poly
    return acc + math.log(v) - 0.5 / v - y


def _trigamma1(v: float) -> float:
    """PyTorch's ``calc_trigamma``: reflection below 0.5, six recurrence steps, then the
    asymptotic series (its accuracy, about 1e-10 relative, is PyTorch's)."""
    sign, acc = 1.0, 0.0
    if v < 0.5:
        sign = -1.0
        s = math.sin(math.pi * v)
        acc -= math.pi * math.pi / (s * s) if s else math.inf
        v = 1 - v
    for _ in range(6):
        acc += 1 / (v * v)
        v += 1
    ixx = 1 / (v * v)
    acc += (1 + 1 / (2 * v) + ixx * (1.0 / 6 - ixx * (1.0 / 30 - ixx * (1.0 / 42)))) / v
    return sign * acc


_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18)
_MACHEP = 1.11022302462515654042e-16


def _zeta(x: float, q: float) -> float:
    """The Hurwitz zeta function ``sum_k (k + q)^-x`` (cephes ``zeta``, as PyTorch's)."""
    if x == 1:
        return math.inf
    if x < 1 or math.isnan(q):
        return math.nan
    if q <= 0:
        if q == math.floor(q):
            return math.inf
        if x != math.floor(x):
            return math.nan
    s = q ** -x
    a, i, b = q, 0, 0.0
    while i < 9 or a <= 9.0:
        i += 1
        a += 1.0
        b = a ** -x
        s += b
        if abs(b / s) < _MACHEP:
            return s
    w = a
    s += b * w / (x - 1)
    s -= 0.5 * b
    a, k = 1.0, 0.0
    for c in _ZETA_A:
        a *= x + k
        b /= w
        t = a * b / c
        s += t
        if abs(t / s) < _MACHEP:
            return s
        k += 1.0
        a *= x + k
        b /= w
        k += 1.0
    return s


def _polygamma_impl(x: np.ndarray, n: int) -> np.ndarray:
    """``polygamma(n, x)``, n >= 1: PyTorch's trigamma for n = 1, else
    ``(-1)^(n+1) n! zeta(n + 1, x)``."""
    if n == 1:
        return _in_double(_trigamma1)(x)
    fact = math.exp(math.lgamma(n + 1.0)) * (1.0 if n % 2 else -1.0)
    return _in_double(lambda v: fact * _zeta(n + 1.0, v))(x)


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

ATAN2 = _rec("atan2", _via_double(np.arctan2), _atan2_vjp, nin=2, saves=(0, 1),
             grad_name="Atan2Backward0", tf_name="Atan2", fused=True)
HYPOT = _rec("hypot", _via_double(np.hypot), lambda g, out, x, y: (mul(g, div(x, out)), mul(g, div(y, out))),
             nin=2, saves=(0, 1, "out"), rule="promote", grad_name="HypotBackward0", fused=True)
FMOD = _rec("fmod", np.fmod, _fmod_vjp, nin=2, saves=(0, 1), rule="promote",
            grad_name=_fmod_name, tf_name="TruncateMod", fused=True)  # (TF registers no gradient:
# ours is PyTorch's, so both modes agree; ``tf.gradients`` through TF's TruncateMod raises
# LookupError)
SINH = _rec("sinh", _via_double(np.sinh), lambda g, out, x: (mul(g, cosh(x)),), grad_name="SinhBackward0",
            tf_name="Sinh", fused=True)
COSH = _rec("cosh", _via_double(np.cosh), lambda g, out, x: (mul(g, sinh(x)),), grad_name="CoshBackward0",
            tf_name="Cosh", fused=True)
ASINH = _rec("asinh", _via_double(np.arcsinh), lambda g, out, x: (div(g, sqrt(add(mul(x, x), 1.0))),),
             grad_name="AsinhBackward0", tf_name="Asinh", fused=True)
EXP2 = _rec("exp2", _via_double(np.exp2), lambda g, out, x: (mul(g, mul(out, _LN2)),), saves=("out",),
            grad_name="Exp2Backward0", fused=True)
LGAMMA = _rec("lgamma", _in_double(_lgamma1), lambda g, out, x: (mul(g, digamma(x)),),
              grad_name="LgammaBackward0", tf_name="Lgamma", fused=True)
DIGAMMA = _rec("digamma", _in_double(_digamma1), lambda g, out, x: (mul(g, polygamma(x, 1)),),
               grad_name="DigammaBackward0", tf_name="Digamma")
# ``polygamma(n, x)`` for n >= 1 (PyTorch's argument order is ``polygamma(n, x)``)
POLYGAMMA = _rec("polygamma", _polygamma_impl,
                 lambda g, out, x, n: (mul(g, polygamma(x, n + 1)),),
                 grad_name="PolygammaBackward0")
ERFINV = _rec("erfinv", _in_double(_erfinv1),
              lambda g, out, x: (mul(g, mul(exp(mul(out, out)), _HALF_SQRT_PI)),),
              saves=("out",), grad_name="ErfinvBackward0", tf_name="Erfinv")

"""The CPU scalar library: the ``sg_*`` functions named by the registry's ``scalar`` templates.

The basic names (``relu``, ``abs``, ``sign``, ``max``/``min``, ``clamp``, ``pow``, casts) are in
:mod:`.scalar_basic`; this module adds the polynomial ones and :data:`NAMESPACE`, all of them.
Each name is a plain Python function (numpy semantics, used when a template is evaluated outside
numba) with a numba ``@overload`` that picks a dtype-specific implementation, so a rendered
statement such as ``sg_exp(v3)`` compiles to float32 code for float32 operands (no silent
promotion to float64, which would halve the SIMD width).

Why not ``math.exp``: numba here has no SVML, so libm calls block loop vectorization. ``exp`` is a
Cody-Waite range reduction (``x = n*ln2 + r``), a polynomial in ``r`` (Cephes' ``expf`` / ``exp``
coefficients) and ``2**n`` built by an int->float bitcast (:func:`_i32_as_f32`). ``2**n`` is
applied as two factors ``2**(n>>1) * 2**(n - (n>>1))`` so that overflow to +inf and gradual
underflow into denormals come out of ordinary IEEE arithmetic, with no branch. ``log`` (float32)
splits the exponent with a bitcast; ``tanh`` and ``sigmoid`` are built on ``exp``.

Special values follow the registry's numpy kernels (which follow PyTorch): NaN in -> NaN out,
``exp(+inf)=inf``, ``exp(-inf)=0``, ``log(0)=-inf``, ``log(x<0)=NaN``, ``relu(NaN)=NaN``,
``sign(NaN)=0``, ``x ** 0.5 = sqrt(x)`` and ``x ** -0.5 = 1/sqrt(x)`` (PyTorch's
specialisations), ``maximum``/``minimum``/``clip`` propagate NaN. Library functions are compiled
with fast-math flags ``{"contract", "nsz", "arcp"}`` only (``sg_pow`` without ``arcp``, which
would turn ``1/sqrt`` into an rsqrt estimate): ``reassoc`` would let LLVM undo the Cody-Waite
split and ``nnan``/``ninf`` would break the special-value semantics. Accuracy (float32 and
float64, whole range incl. denormals): see ``tests/compiler/test_scalar_ulp.py`` for the
measured bounds.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from .scalar_basic import (  # noqa: F401 - the library's names, for generated kernels
    CASTS,
    JIT_OPTIONS,
    LIB_FASTMATH,
    _always_inline,
    _f32_as_i32,
    _f64_as_i64,
    _i32_as_f32,
    _i64_as_f64,
    _unary_float,
    sg_abs,
    sg_ceil,
    sg_clamp,
    sg_erf,
    sg_floor,
    sg_max,
    sg_min,
    sg_pow,
    sg_relu,
    sg_round,
    sg_sign,
    sg_trunc,
)
from .scalar_special import NAMES as SPECIAL_NAMES
from .scalar_special import (  # noqa: F401 - the library's names, for generated kernels
    sg_asinh,
    sg_atan2,
    sg_cosh,
    sg_exp2,
    sg_fmod,
    sg_hypot,
    sg_lgamma,
    sg_sinh,
)

_JIT = JIT_OPTIONS
_JIT_CACHED = {**_JIT, "cache": True}
"""Module-level library functions are cached by numba beside this file (``__pycache__``): they
are compiled once per installation, not once per process (cold compiles of new graphs skip
them). Overload glue (``sg_*``) is compiled into each kernel and cannot be cached."""

F32, F64 = np.float32, np.float64


# ------------------------------------------------------------------------------------ exp
# ``n = round(x * log2(e))`` is read from the bits of ``x * log2(e) + 1.5 * 2**23`` (float32;
# ``2**52`` float64): the addition rounds to an integer in the low mantissa bits, so ``n`` is
# an integer subtraction of bit patterns, not ``floor`` plus a float->int conversion. The
# clamps keep NaN (``HI if x > HI else x``), and a NaN's bit pattern is an ordinary integer
# (``fptosi`` of NaN would be poison), so NaN propagates through ``p * s1 * s2`` with no select.
_SHIFT32, _SHIFT32_BITS = F32(12582912.0), 0x4B400000
_SHIFT64, _SHIFT64_BITS = F64(6755399441055744.0), 0x4338000000000000
_E32 = dict(hi=F32(89.0), lo=F32(-104.0), log2e=F32(1.44269504088896341), shift=_SHIFT32,
            c1=F32(0.693359375), c2=F32(-2.12194440e-4), p0=F32(1.9875691500e-4),
            p1=F32(1.3981999507e-3), p2=F32(8.3334519073e-3), p3=F32(4.1665795894e-2),
            p4=F32(1.6666665459e-1), p5=F32(5.0000001201e-1), one=F32(1.0))


@njit(**_JIT_CACHED)
def _exp_f32(x):
    k = _E32_T
    xc = k[0] if x > k[0] else x
    xc = k[1] if xc < k[1] else xc
    sh = xc * k[2] + k[3]
    n = sh - k[3]
    r = xc - n * k[4]
    r = r - n * k[5]
    z = r * r
    p = (((((k[6] * r + k[7]) * r + k[8]) * r + k[9]) * r + k[10]) * r + k[11]) * z + r + k[12]
    ni = _f32_as_i32(sh) - np.int32(_SHIFT32_BITS)
    n1 = ni >> np.int32(1)
    n2 = ni - n1
    s1 = _i32_as_f32((n1 + np.int32(127)) << np.int32(23))
    s2 = _i32_as_f32((n2 + np.int32(127)) << np.int32(23))
    return p * s1 * s2


_E32_T = tuple(_E32[k] for k in ("hi", "lo", "log2e", "shift", "c1", "c2", "p0", "p1", "p2",
                                 "p3", "p4", "p5", "one"))

_E64_T = (F64(710.0), F64(-746.0), F64(1.4426950408889634073599), _SHIFT64,
          F64(6.93145751953125e-1), F64(1.42860682030941723212e-6),
          F64(1.26177193074810590878e-4), F64(3.02994407707441961300e-2),
          F64(9.99999999999999999910e-1), F64(3.00198505138664455042e-6),
          F64(2.52448340349684104192e-3), F64(2.27265548208155028766e-1),
          F64(2.00000000000000000009e0), F64(1.0), F64(2.0))


@njit(**_JIT_CACHED)
def _exp_f64(x):
    k = _E64_T
    xc = k[0] if x > k[0] else x
    xc = k[1] if xc < k[1] else xc
    sh = xc * k[2] + k[3]
    n = sh - k[3]
    r = xc - n * k[4]
    r = r - n * k[5]
    xx = r * r
    px = r * ((k[6] * xx + k[7]) * xx + k[8])
    q = ((k[9] * xx + k[10]) * xx + k[11]) * xx + k[12]
    e = k[13] + k[14] * (px / (q - px))
    ni = _f64_as_i64(sh) - np.int64(_SHIFT64_BITS)
    n1 = ni >> np.int64(1)
    n2 = ni - n1
    s1 = _i64_as_f64((n1 + np.int64(1023)) << np.int64(52))
    s2 = _i64_as_f64((n2 + np.int64(1023)) << np.int64(52))
    return e * s1 * s2


# ------------------------------------------------------------------------------------ log
_L32_T = (F32(1.17549435e-38), F32(8388608.0), F32(0.707106781186547524), F32(1.0),
          F32(7.0376836292e-2), F32(-1.1514610310e-1), F32(1.1676998740e-1),
          F32(-1.2420140846e-1), F32(1.4249322787e-1), F32(-1.6668057665e-1),
          F32(2.0000714765e-1), F32(-2.4999993993e-1), F32(3.3333331174e-1),
          F32(-2.12194440e-4), F32(-0.5), F32(0.693359375), F32(np.inf), F32(np.nan), F32(0.0))


@njit(**_JIT_CACHED)
def _log_f32(x):
    k = _L32_T
    sub = x < k[0]
    xs = x * k[1] if sub else x
    bits = _f32_as_i32(xs)
    e = ((bits >> np.int32(23)) & np.int32(0xFF)) - np.int32(126)
    e = e - np.int32(23) if sub else e
    m = _i32_as_f32((bits & np.int32(0x807FFFFF)) | np.int32(0x3F000000))
    small = m < k[2]
    e = e - np.int32(1) if small else e
    m = (m + m - k[3]) if small else (m - k[3])
    fe = np.float32(e)
    z = m * m
    y = ((((((((k[4] * m + k[5]) * m + k[6]) * m + k[7]) * m + k[8]) * m + k[9]) * m + k[10])
          * m + k[11]) * m + k[12]) * m * z
    y = y + k[13] * fe
    y = y + k[14] * z
    r = m + y
    r = r + k[15] * fe
    r = r if x < k[16] else x
    r = -k[16] if x == k[18] else r
    return k[17] if x < k[18] else r


# ------------------------------------------------------------------------------ tanh, sigmoid
# tanh: ``x + x z P(z)`` below CUT, else ``1 - 2 / (exp(2|x|) + 1)`` with the sign of x, both
# computed for every lane (branch-free, vectorizes). The exp is inlined for its range: |x| is
# clamped to BIG (tanh(BIG) rounds to 1; the clamp also maps NaN to BIG, so no NaN reaches the
# integer part), so 2|x| in [0, 18.2] needs no overflow/underflow care: one scale factor.
# A NaN input takes the polynomial side (``a >= CUT`` is false), which is NaN; the sign comes
# from x last (the polynomial's fused ``c * x + x`` gave +0.0 for -0.0).
_T32_T = (F32(0.625), F32(-5.70498872745e-3), F32(2.06390887954e-2), F32(-5.37397155531e-2),
          F32(1.33314422036e-1), F32(-3.33332819422e-1), F32(1.0), F32(2.0), F32(9.1),
          _E32["log2e"], _SHIFT32, _E32["c1"], _E32["c2"], _E32["p0"], _E32["p1"], _E32["p2"],
          _E32["p3"], _E32["p4"], _E32["p5"])


@njit(**_JIT_CACHED)
def _tanh_f32(x):
    k = _T32_T
    a = abs(x)
    z = x * x
    small = ((((k[1] * z + k[2]) * z + k[3]) * z + k[4]) * z + k[5]) * z * x + x
    ac = a if a < k[8] else k[8]
    xc = ac + ac
    sh = xc * k[9] + k[10]
    n = sh - k[10]
    r = xc - n * k[11]
    r = r - n * k[12]
    zr = r * r
    p = (((((k[13] * r + k[14]) * r + k[15]) * r + k[16]) * r + k[17]) * r + k[18]) * zr + r \
        + k[6]
    s = _i32_as_f32((_f32_as_i32(sh) + np.int32(127 - _SHIFT32_BITS)) << np.int32(23))
    big = k[6] - k[7] / (p * s + k[6])
    return math.copysign(big if a >= k[0] else small, x)


_ONE32 = F32(1.0)


@njit(**_JIT_CACHED)
def _sigmoid_f32(x):
    e = _exp_f32(-abs(x))
    return (_ONE32 if x >= 0 else e) / (_ONE32 + e)


@njit(**_JIT_CACHED)
def _sigmoid_f64(x):
    e = _exp_f64(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


# float64: Cephes' ``x + x z P(z)/Q(z)`` below CUT, the same exp form above (2|x| <= 40)
_T64_T = (F64(0.625), F64(-9.64399179425052238628e-1), F64(-9.92877231001918586564e1),
          F64(-1.61468768441708447952e3), F64(1.12811678491632931402e2),
          F64(2.23548839060100448583e3), F64(4.84406305325125486048e3), F64(1.0), F64(2.0),
          F64(20.0), *_E64_T[2:13])


@njit(**_JIT_CACHED)
def _tanh_f64(x):
    k = _T64_T
    a = abs(x)
    z = x * x
    small = x + x * z * (((k[1] * z + k[2]) * z + k[3]) / (((z + k[4]) * z + k[5]) * z + k[6]))
    ac = a if a < k[9] else k[9]
    xc = ac + ac
    sh = xc * k[10] + k[11]
    n = sh - k[11]
    r = xc - n * k[12]
    r = r - n * k[13]
    xx = r * r
    px = r * ((k[14] * xx + k[15]) * xx + k[16])
    q = ((k[17] * xx + k[18]) * xx + k[19]) * xx + k[20]
    e = k[7] + k[8] * (px / (q - px))
    s = _i64_as_f64((_f64_as_i64(sh) + np.int64(1023 - _SHIFT64_BITS)) << np.int64(52))
    big = k[7] - k[8] / (e * s + k[7])
    return math.copysign(big if a >= k[0] else small, x)


@njit(**_JIT_CACHED)
def _log_f64(x):
    return math.log(x) if x > 0.0 else (-np.inf if x == 0.0 else (x if x != x else np.nan))


# -------------------------------------------------------------------- log1p, expm1, softplus
_P32_T = (F32(1.0), F32(np.inf), F32(-1.0), F32(0.0), F32(-17.5))


@njit(**_JIT_CACHED)
def _log1p_f32(x):
    """Goldberg's ``log(u) * x / (u - 1)`` with ``u = 1 + x``: the quotient corrects for the
    rounding of ``u`` (``u - 1`` is exact), so the polynomial ``log`` gives log1p to ~2 ulp
    with no libm call (libm's ``log1pf`` blocks vectorization: ~5x slower fused)."""
    k = _P32_T
    u = k[0] + x
    r = _log_f32(u) * (x / (u - k[0]))
    r = x if u == k[0] else r  # |x| < eps/2: log1p(x) = x (keeps -0.0 and denormals)
    return x if x == k[1] else r


@njit(**_JIT_CACHED)
def _expm1_f32(x):
    """Kahan's ``(u - 1) * x / log(u)`` with ``u = exp(x)``: the rounding of ``u`` cancels
    between the factors, so the polynomial ``exp``/``log`` give expm1 to ~2 ulp."""
    _always_inline()
    k = _P32_T
    u = _exp_f32(x)
    r = (u - k[0]) * (x / _log_f32(u))
    r = x if u == k[0] else r  # |x| tiny
    r = k[2] if x < k[4] else r  # exp(x) < 2**-25: -1 (and no denormal u in log)
    return u if u == k[1] else r  # overflow and +inf


@njit(**_JIT_CACHED)
def _log1p_f64(x):
    return math.log1p(x)


@njit(**_JIT_CACHED)
def _expm1_f64(x):
    return math.expm1(x)


@njit(**_JIT_CACHED)
def _softplus_f32(x):
    _always_inline()
    m = x if x > _P32_T[3] else _P32_T[3]
    return m + _log1p_f32(_exp_f32(-abs(x)))


@njit(**_JIT_CACHED)
def _softplus_f64(x):
    m = x if x > 0.0 else 0.0
    return m + math.log1p(_exp_f64(-abs(x)))


# --------------------------------------------------------------------- public names + overloads
def sg_exp(x):
    return np.exp(x)


def sg_log(x):
    return np.log(x)


def sg_tanh(x):
    return np.tanh(x)


def sg_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sg_log1p(x):
    return np.log1p(x)


def sg_expm1(x):
    return np.expm1(x)


def sg_softplus(x):
    from ...ops.elementwise import _softplus_impl

    return _softplus_impl(np.asarray(x))


_unary_float(sg_exp, _exp_f32, _exp_f64)
_unary_float(sg_log1p, _log1p_f32, _log1p_f64)
_unary_float(sg_expm1, _expm1_f32, _expm1_f64)
_unary_float(sg_softplus, _softplus_f32, _softplus_f64)
_unary_float(sg_log, _log_f32, _log_f64)
_unary_float(sg_tanh, _tanh_f32, _tanh_f64)
_unary_float(sg_sigmoid, _sigmoid_f32, _sigmoid_f64)


def sg_sqrt(x):
    return np.sqrt(x)


def sg_sin(x):
    return np.sin(x)


def sg_cos(x):
    return np.cos(x)


for _py, _m in ((sg_sqrt, math.sqrt), (sg_sin, math.sin), (sg_cos, math.cos)):
    def _reg(py=_py, m=_m):
        @overload(py, jit_options=_JIT)
        def ov(x):
            if isinstance(x, types.Float):
                if m is math.sqrt:  # llvm.sqrt: NaN for x < 0 (no exception), vectorizes
                    return lambda x: np.sqrt(x)
                return lambda x: m(x) if x - x == x - x else x - x  # +-inf/NaN -> NaN
            if isinstance(x, (types.Integer, types.Boolean)):
                return lambda x: m(np.float64(x))
            return None
    _reg()


globals().update(CASTS)

NAMESPACE: dict = {
    "sg_exp": sg_exp, "sg_log": sg_log, "sg_tanh": sg_tanh, "sg_sigmoid": sg_sigmoid,
    "sg_sqrt": sg_sqrt, "sg_sin": sg_sin, "sg_cos": sg_cos, "sg_relu": sg_relu,
    "sg_abs": sg_abs, "sg_sign": sg_sign, "sg_max": sg_max, "sg_min": sg_min,
    "sg_clamp": sg_clamp, "sg_pow": sg_pow, "sg_log1p": sg_log1p, "sg_expm1": sg_expm1,
    "sg_softplus": sg_softplus, "sg_floor": sg_floor, "sg_ceil": sg_ceil, "sg_trunc": sg_trunc,
    "sg_round": sg_round, "sg_erf": sg_erf, **CASTS, **SPECIAL_NAMES,
}
"""Every scalar-library name, for the namespace generated CPU kernels are executed in."""

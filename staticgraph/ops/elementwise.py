"""Elementwise ops: one record each (kernel, scalar form for fusion, VJP, PyTorch grad_fn name).

Scalar forms use names from the backend's scalar library (``sg_exp``, ``sg_tanh``...) so the CPU and
CUDA renderers share them. Every VJP returns one cotangent per input, un-broadcast by the walker.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import np_rules, tiles
from .core import (
    BOOL,
    AVal,
    Op,
    bind,
    broadcast_shapes,
    register,
    result_type,
    to_float,
)
from .shapes import zeros_like


def elementwise_infer(rule: str):
    """Shape: broadcast of all inputs. Dtype: ``promote`` (PyTorch promotion), ``float`` (promoted,
    ints become float32), ``bool`` (comparisons)."""

    def infer(*avals: AVal, **params: Any) -> tuple:
        shape = broadcast_shapes(*(a.shape for a in avals))
        if rule == "bool":
            return shape, BOOL
        dt = result_type(*avals)
        return shape, (to_float(dt) if rule == "float" else dt)

    return infer


def _ew(name, impl, scalar, vjp=None, *, nin=1, saves=(), saved_for=None, dtype_rule="promote",
        grad_name="", tf_name="", np_vjp=None, np_vjp_owned=None, jvp="diagonal",
        vjp_needs=False) -> Op:
    """An elementwise record; its JVP is derived from the VJP (diagonal Jacobian) by default."""
    return register(Op(name=name, impl=impl, infer=elementwise_infer(dtype_rule), vjp=vjp,
                       kind="elementwise", scalar=scalar, grad_name=grad_name, saves=saves,
                       saved_for=saved_for, nin=nin, dtype_rule=dtype_rule, tf_name=tf_name, np_vjp=np_vjp,
                       np_vjp_owned=np_vjp_owned, jvp=jvp if vjp is not None else None,
                       vjp_needs=vjp_needs))


def _add_jvp(ts, out, x, y):
    """``tx + ty``, without adding a zero where one side has no tangent."""
    return ts[0] if ts[1] is None else (ts[1] if ts[0] is None else add(ts[0], ts[1]))


def _sub_jvp(ts, out, x, y):
    return ts[0] if ts[1] is None else (neg(ts[1]) if ts[0] is None else sub(ts[0], ts[1]))


# the numpy-level rules (``Op.np_vjp`` / ``np_vjp_owned``) live in np_rules.py
_np_relu, _np_tanh_vjp, _np_sigmoid_vjp = np_rules.relu, np_rules.tanh_vjp, np_rules.sigmoid_vjp


# --------------------------------------------------------------------------- public functions
def add(x, y): return bind(ADD, x, y)
def sub(x, y): return bind(SUB, x, y)
def mul(x, y): return bind(MUL, x, y)
def div(x, y): return bind(DIV, x, y)
def pow(x, y): return bind(POW, x, y)  # noqa: A001 - the op's name
def maximum(x, y): return bind(MAXIMUM, x, y)
def minimum(x, y): return bind(MINIMUM, x, y)
def neg(x): return bind(NEG, x)
def exp(x): return bind(EXP, x)
def log(x): return bind(LOG, x)
def log1p(x): return bind(LOG1P, x)
def expm1(x): return bind(EXPM1, x)
def erf(x): return bind(ERF, x)
def sqrt(x): return bind(SQRT, x)
def sin(x): return bind(SIN, x)
def cos(x): return bind(COS, x)
def tanh(x): return bind(TANH, x)
def sigmoid(x): return bind(SIGMOID, x)
def softplus(x): return bind(SOFTPLUS, x)
def relu(x): return bind(RELU, x)
def abs(x): return bind(ABS, x)  # noqa: A001
def sign(x): return bind(SIGN, x)
def square(x): return bind(SQUARE, x)
def reciprocal(x): return bind(RECIPROCAL, x)
def where(cond, x, y): return bind(WHERE, cond, x, y)
def eq(x, y): return bind(EQ, x, y)
def ne(x, y): return bind(NE, x, y)
def lt(x, y): return bind(LT, x, y)
def le(x, y): return bind(LE, x, y)
def gt(x, y): return bind(GT, x, y)
def ge(x, y): return bind(GE, x, y)
def logical_not(x): return bind(LOGICAL_NOT, x)
def logical_and(x, y): return bind(LOGICAL_AND, x, y)
def logical_or(x, y): return bind(LOGICAL_OR, x, y)


def clamp(x, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    """Clamp into ``[min, max]`` (either bound may be None)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    lo = -np.inf if min is None else float(min)
    hi = np.inf if max is None else float(max)
    return bind(CLAMP, x, min=lo, max=hi)


def cast(x, dtype):
    """Convert to ``dtype`` (a numpy dtype or anything ``np.dtype`` accepts)."""
    return bind(CAST, x, dtype=np.dtype(dtype))


def _pow_name(args, params) -> str:
    base_is_tensor = not isinstance(args[0], (int, float))
    exp_is_tensor = not isinstance(args[1], (int, float))
    return "PowBackward1" if base_is_tensor and exp_is_tensor else (
        "PowBackward0" if base_is_tensor else "PowBackward2")


def _is_scalar(v) -> bool:
    return isinstance(v, (int, float))


def _pow_vjp(g, out, x, y):
    """PyTorch's ``pow_backward_self`` / ``pow_backward_exponent``: d/dx is 0 where ``y == 0``
    (even at ``x = 0``); d/dy is 0 where ``x == 0`` and ``y >= 0``. A Python-scalar base's log is
    taken in double precision and stays a weak scalar, so it follows the tensor's dtype."""
    gx = gy = None
    if not _is_scalar(x):
        if _is_scalar(y):
            gx = zeros_like(g) if y == 0 else mul(g, mul(y, pow(x, y - 1)))
        else:
            gx = where(eq(y, 0), 0.0, mul(g, mul(y, pow(x, sub(y, 1)))))
    if not _is_scalar(y):
        if not _is_scalar(x):
            zero_base = logical_and(eq(x, 0), ge(y, 0))
            gy = mul(g, where(zero_base, 0.0, mul(out, log(where(zero_base, 1.0, x)))))
        elif x == 0:
            gy = mul(g, where(ge(y, 0), 0.0, mul(out, -math.inf)))
        else:
            gy = mul(g, mul(out, math.log(x) if x > 0 else math.nan))
    return gx, gy


def _max_min_vjp(x_loses, y_loses):
    """PyTorch's maximum/minimum rule: ties split the gradient in half; otherwise it goes to
    both inputs except the one that strictly loses, so a NaN operand (no comparison holds)
    sends the full gradient to both sides."""

    def vjp(g, out, x, y):
        split = where(eq(x, y), mul(g, 0.5), g)
        return where(x_loses(x, y), 0.0, split), where(y_loses(x, y), 0.0, split)

    return vjp


def _relu_impl(x: np.ndarray) -> np.ndarray:
    """``max(0, x)`` in one ufunc pass, NaN and -0.0 kept as PyTorch keeps them (``maximum``
    propagates NaN and returns its second operand on ties, so ``-0.0`` stays ``-0.0``)."""
    return x if x.dtype == BOOL else np.maximum(x.dtype.type(0), x)


def _pow_impl(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x ** y`` where exponents of +-0.5 are ``sqrt(x)`` and ``1 / sqrt(x)`` (PyTorch's
    specialisations: ``(-inf) ** -0.5`` is NaN, ``(-0.0) ** -0.5`` is -inf)."""
    out = np.power(x, y)
    if x.dtype == np.float16 and np.any(np.abs(y) == 0.5):  # 1 / sqrt(x): one rounding
        return _pow_impl(x.astype(np.float32), np.asarray(y, np.float32)).astype(x.dtype)
    if x.dtype.kind == "f" and np.any(np.abs(y) == 0.5):
        with np.errstate(divide="ignore", invalid="ignore"):
            root = np.sqrt(x)
            out = np.where(y == 0.5, root, np.where(y == -0.5, 1 / root, out))
    return out


def _sign_impl(x: np.ndarray) -> np.ndarray:
    """PyTorch's sign: ``(0 < x) - (x < 0)``, so ``sign(NaN) = 0``."""
    if x.dtype == BOOL:
        return x
    return ((x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)).astype(x.dtype, copy=False)


_BOTH = (True, True)


def _sub_vjp(g, out, x, y, needs=_BOTH):
    return g if needs[0] else None, neg(g) if needs[1] else None


def _mul_vjp(g, out, x, y, needs=_BOTH):
    return mul(g, y) if needs[0] else None, mul(g, x) if needs[1] else None


def _div_vjp(g, out, x, y, needs=_BOTH):
    return (div(g, y) if needs[0] else None,
            neg(mul(g, div(div(x, y), y))) if needs[1] else None)


# ----------------------------------------------------------------------------------- records
ADD = _ew("add", np.add, "({0} + {1})", lambda g, out, x, y: (g, g), nin=2,
          grad_name="AddBackward0", tf_name="Add", np_vjp=np_rules.add, jvp=_add_jvp)
SUB = _ew("sub", np.subtract, "({0} - {1})", _sub_vjp, nin=2, vjp_needs=True,
          grad_name=lambda a, p: "RsubBackward1" if isinstance(a[0], (int, float)) else
          "SubBackward0", tf_name="Sub", np_vjp=np_rules.sub,
          np_vjp_owned=np_rules.sub_owned, jvp=_sub_jvp)
MUL = _ew("mul", np.multiply, "({0} * {1})", _mul_vjp, nin=2, vjp_needs=True,
          saves=(0, 1), saved_for=((1,), (0,)), grad_name="MulBackward0", tf_name="Mul", np_vjp=np_rules.mul,
          np_vjp_owned=np_rules.mul_owned, jvp="multilinear")
DIV = _ew("div", np.true_divide, "({0} / {1})", _div_vjp, nin=2, vjp_needs=True,
          saves=(0, 1),
          saved_for=((1,), (0, 1)), dtype_rule="float", grad_name="DivBackward0", tf_name="RealDiv", np_vjp=np_rules.div,
          np_vjp_owned=np_rules.div_owned)
POW = _ew("pow", _pow_impl, "sg_pow({0}, {1})", _pow_vjp, nin=2, saves=(0, 1, "out"),
          grad_name=_pow_name, tf_name="Pow")
MAXIMUM = _ew("maximum", np.maximum, "sg_max({0}, {1})", _max_min_vjp(lt, gt), nin=2,
              saves=(0, 1), grad_name="MaximumBackward0", tf_name="Maximum")
MINIMUM = _ew("minimum", np.minimum, "sg_min({0}, {1})", _max_min_vjp(gt, lt), nin=2,
              saves=(0, 1), grad_name="MinimumBackward0", tf_name="Minimum")
NEG = _ew("neg", np.negative, "(-{0})", lambda g, out, x: (neg(g),), grad_name="NegBackward0",
          tf_name="Neg", np_vjp=np_rules.neg, np_vjp_owned=np_rules.neg_owned, jvp="linear")
EXP = _ew("exp", np.exp, "sg_exp({0})", lambda g, out, x: (mul(g, out),), saves=("out",),
          dtype_rule="float", grad_name="ExpBackward0", tf_name="Exp",
          np_vjp=np_rules.exp, np_vjp_owned=np_rules.exp_owned)
LOG = _ew("log", np.log, "sg_log({0})", lambda g, out, x: (div(g, x),), saves=(0,),
          dtype_rule="float", grad_name="LogBackward0", tf_name="Log")
# exact near 0, where ``log(1 + x)`` and ``exp(x) - 1`` lose every digit. expm1's gradient is
# ``exp(x)``, not PyTorch's ``out + 1`` (0 for x below -17 in float32; the same at 0, +-inf, NaN)
LOG1P = _ew("log1p", np.log1p, "sg_log1p({0})", lambda g, out, x: (div(g, add(x, 1)),),
            saves=(0,), dtype_rule="float", grad_name="Log1PBackward0", tf_name="Log1p")
EXPM1 = _ew("expm1", np.expm1, "sg_expm1({0})", lambda g, out, x: (mul(g, exp(x)),),
            saves=(0,), dtype_rule="float", grad_name="Expm1Backward0", tf_name="Expm1")
_erf64 = np.vectorize(math.erf, otypes=[np.float64])
# computed in double precision and rounded once (numpy has no erf ufunc)
ERF = _ew("erf", lambda x: _erf64(x).astype(x.dtype), "sg_erf({0})",
          lambda g, out, x: (mul(g, mul(exp(mul(mul(x, x), -1.0)), 2 / math.sqrt(math.pi))),),
          saves=(0,), dtype_rule="float", grad_name="ErfBackward0", tf_name="Erf")
SQRT = _ew("sqrt", np.sqrt, "sg_sqrt({0})", lambda g, out, x: (div(g, mul(out, 2)),),
           saves=("out",), dtype_rule="float", grad_name="SqrtBackward0", tf_name="Sqrt")
SIN = _ew("sin", np.sin, "sg_sin({0})", lambda g, out, x: (mul(g, cos(x)),), saves=(0,),
          dtype_rule="float", grad_name="SinBackward0", tf_name="Sin")
COS = _ew("cos", np.cos, "sg_cos({0})", lambda g, out, x: (neg(mul(g, sin(x))),), saves=(0,),
          dtype_rule="float", grad_name="CosBackward0", tf_name="Cos")
TANH = _ew("tanh", np.tanh, "sg_tanh({0})",
           lambda g, out, x: (mul(g, sub(1, mul(out, out))),), saves=("out",),
           dtype_rule="float", grad_name="TanhBackward0", tf_name="Tanh",
           np_vjp=np_rules.tanh, np_vjp_owned=np_rules.tanh_owned)


def _sigmoid_impl(x: np.ndarray) -> np.ndarray:
    """Stable logistic: never overflows exp for large |x|. With ``e = exp(-|x|)`` it is
    ``1 / (1 + e)`` for ``x >= 0`` and ``e / (1 + e)`` below, computed as
    ``max(e, x >= 0) / (1 + e)`` (the same bits, NaN included), on floats tile by tile
    (``tiles.sigmoid``: a select by a data-dependent mask, ``np.where``, costs ten passes on
    random signs, and each pass over a large array one trip through memory)."""
    x = np.asarray(x)
    if x.dtype == np.float16:  # six float16 roundings: in float32, rounded once (as PyTorch)
        return tiles.sigmoid(x.astype(np.float32)).astype(x.dtype)
    if x.dtype.kind == "f":
        return tiles.sigmoid(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


SIGMOID = _ew("sigmoid", _sigmoid_impl, "sg_sigmoid({0})",
              lambda g, out, x: (mul(g, mul(out, sub(1, out))),), saves=("out",),
              dtype_rule="float", grad_name="SigmoidBackward0", tf_name="Sigmoid",
              np_vjp=np_rules.sigmoid, np_vjp_owned=np_rules.sigmoid_owned)


def _softplus_impl(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))``: no overflow for large x, full
    precision for very negative x (where the result is ``exp(x)``, down to denormals)."""
    if x.dtype == np.float16:  # computed in float32, rounded once (PyTorch's opmath)
        return _softplus_impl(x.astype(np.float32)).astype(x.dtype)
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)


# beta = 1 and no threshold (TF's Softplus); ``dynamic``'s F.softplus adds PyTorch's threshold
SOFTPLUS = _ew("softplus", _softplus_impl, "sg_softplus({0})",
               lambda g, out, x: (mul(g, sigmoid(x)),), saves=(0,), dtype_rule="float",
               grad_name="SoftplusBackward0", tf_name="Softplus")
# PyTorch's threshold_backward: the gradient passes wherever ``out <= 0`` fails, NaN included
RELU = _ew("relu", _relu_impl, "sg_relu({0})", lambda g, out, x: (where(le(out, 0), 0.0, g),),
           saves=("out",), grad_name="ReluBackward0", tf_name="Relu", np_vjp=np_rules.relu)
ABS = _ew("abs", np.abs, "sg_abs({0})", lambda g, out, x: (mul(g, sign(x)),), saves=(0,),
          grad_name="AbsBackward0", tf_name="Abs")
SIGN = _ew("sign", _sign_impl, "sg_sign({0})", lambda g, out, x: (zeros_like(g),),
           grad_name="SignBackward0", tf_name="Sign")
SQUARE = _ew("square", np.square, "({0} * {0})", lambda g, out, x: (mul(g, mul(x, 2)),),
             saves=(0,), grad_name="PowBackward0", tf_name="Square")
RECIPROCAL = _ew("reciprocal", np.reciprocal, "(1.0 / {0})",
                 lambda g, out, x: (neg(mul(g, mul(out, out))),), saves=("out",),
                 dtype_rule="float", grad_name="ReciprocalBackward0", tf_name="Reciprocal")
CLAMP = _ew("clamp", lambda x, min, max: np.clip(x, min, max),
            "sg_clamp({0}, {p[min]}, {p[max]})",
            lambda g, out, x, min, max: (where(logical_and(ge(x, min), le(x, max)), g, 0.0),),
            saves=(0,), grad_name="ClampBackward1", tf_name="ClipByValue")


def _where_infer(c: AVal, x: AVal, y: AVal) -> tuple:
    return broadcast_shapes(c.shape, x.shape, y.shape), result_type(x, y)


WHERE = register(Op(
    name="where", impl=lambda c, x, y: np.where(c, x, y), infer=_where_infer,
    vjp=lambda g, out, c, x, y: (None, where(c, g, 0.0), where(c, 0.0, g)),
    kind="elementwise", scalar="({1} if {0} else {2})", grad_name="WhereBackward0", saves=(0,),
    nin=3, dtype_rule="where", tf_name="Select", input_names=("condition", "t", "e"),
    same_dtype=(1, 2), jvp="linear"))
EQ = _ew("eq", np.equal, "({0} == {1})", nin=2, dtype_rule="bool", tf_name="Equal")
NE = _ew("ne", np.not_equal, "({0} != {1})", nin=2, dtype_rule="bool", tf_name="NotEqual")
LT = _ew("lt", np.less, "({0} < {1})", nin=2, dtype_rule="bool", tf_name="Less")
LE = _ew("le", np.less_equal, "({0} <= {1})", nin=2, dtype_rule="bool", tf_name="LessEqual")
GT = _ew("gt", np.greater, "({0} > {1})", nin=2, dtype_rule="bool", tf_name="Greater")
GE = _ew("ge", np.greater_equal, "({0} >= {1})", nin=2, dtype_rule="bool", tf_name="GreaterEqual")
LOGICAL_NOT = _ew("logical_not", np.logical_not, "(not {0})", dtype_rule="bool",
                  tf_name="LogicalNot")
LOGICAL_AND = _ew("logical_and", np.logical_and, "({0} and {1})", nin=2, dtype_rule="bool",
                  tf_name="LogicalAnd")
LOGICAL_OR = _ew("logical_or", np.logical_or, "({0} or {1})", nin=2, dtype_rule="bool",
                 tf_name="LogicalOr")


def _cast_infer(x: AVal, dtype: np.dtype) -> tuple:
    return x.shape, np.dtype(dtype)


def _cast_vjp(g, out, x, dtype):
    return (cast(g, aval_dtype(x)),)


def aval_dtype(x) -> np.dtype:
    """The dtype of any value (tensor, array, scalar)."""
    from .core import aval_of

    return aval_of(x).dtype


CAST = register(Op(
    name="cast", impl=lambda x, dtype: x.astype(dtype), infer=_cast_infer, vjp=_cast_vjp,
    kind="elementwise", scalar="sg_cast_{p[dtype]}({0})", grad_name="ToCopyBackward0",
    dtype_rule="keep", tf_name="Cast", jvp="linear"))

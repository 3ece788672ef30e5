"""Rounding and integer division: ``floor``, ``ceil``, ``round`` (half to even), ``trunc``,
``floor_divide`` (``//``) and ``remainder`` (``%``), for both modes.

The kernels are numpy's, which agree with PyTorch's ``//`` and ``%`` (Python's floor semantics:
the remainder has the sign of the divisor, ``-7 // 2 == -4``) and with TF's ``FloorMod`` and
integer ``FloorDiv``. TF's ``FloorDiv`` of floats is ``floor(x / y)``: the static frontend builds
it from ``div`` and ``floor`` (``staticgraph.graph.composite_ops``).

Gradients: the rounding ops are piecewise constant. The eager mode records PyTorch's exact zero
gradient (0 even for an inf/NaN cotangent); TF registers none (``tf_differentiable=False``), so
``tf.gradients`` stops there. ``floor_divide`` has no gradient in either mode.

``div_floor``/``div_trunc`` are PyTorch's ``div(rounding_mode="floor"|"trunc")``: the values of
``//`` and of C's division towards zero, with ``DivBackward2``'s exact zero gradient (an edge of
the graph, unlike ``floor_divide``).

``x % y`` is two records of one kernel (``np.remainder``) whose ``d/dx`` is 1 and whose ``d/dy``
is minus each library's floor quotient: ``remainder`` (``%``, ``torch.remainder``: PyTorch's
``RemainderBackward``, ``-g * div_floor(x, y)``, whose own derivative is ``DivBackward2``'s
zero) and ``floormod`` (``tf.math.floormod``, the static frontend: TF's
``_FloorModGrad``, ``-floor(x / y)``, whose graph stops at ``floor``). They differ at
``x = +-inf`` (TF ``-+inf``, PyTorch NaN), at ``y = inf`` with ``x < 0`` (TF ``floor(-0.0)``,
PyTorch -1) and where ``x / y`` rounds up to an integer (``1.5 / 0.1``: 15 and 14). (Fuzz seed
25514: one rule, ``floor(div(x, y))``, served both, and the eager second order went through
``div``: ``0 * (1 / y)``, NaN at ``y = NaN``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import Op, bind, register
from .elementwise import div, elementwise_infer, mul, neg
from .shapes import zeros_like


def floor(x): return bind(FLOOR, x)
def ceil(x): return bind(CEIL, x)
def round(x): return bind(ROUND, x)  # noqa: A001 - the op's name
def trunc(x): return bind(TRUNC, x)
def floor_divide(x, y): return bind(FLOOR_DIVIDE, x, y)
def remainder(x, y): return bind(REMAINDER, x, y)
def floormod(x, y): return bind(FLOOR_MOD, x, y)
def div_floor(x, y): return bind(DIV_FLOOR, x, y)
def div_trunc(x, y): return bind(DIV_TRUNC, x, y)


def _zero_vjp(g, out, x):
    return (zeros_like(g),)


def _step(name: str, impl: Any, tf_name: str) -> Op:
    """A piecewise-constant op: input dtype kept (integers round to themselves)."""
    return register(Op(name=name, impl=impl, infer=elementwise_infer("keep"), vjp=_zero_vjp,
                       kind="elementwise", scalar=f"sg_{name}({{0}})",
                       grad_name=name.capitalize() + "Backward0", dtype_rule="keep",
                       tf_name=tf_name, tf_differentiable=False, jvp="diagonal"))


FLOOR = _step("floor", np.floor, "Floor")
CEIL = _step("ceil", np.ceil, "Ceil")
ROUND = _step("round", np.round, "Round")
TRUNC = _step("trunc", np.trunc, "Trunc")


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (int, float))


def _remainder_vjp(g, out, x, y):
    """PyTorch's: ``-g * x.div(y, rounding_mode="floor")`` for a tensor ``y`` (its own
    gradient is ``DivBackward2``'s zero, so a second order gives zeros, as PyTorch)."""
    return g, (None if _is_scalar(y) else mul(neg(g), div_floor(x, y)))


def _floormod_vjp(g, out, x, y):
    """TF's ``_FloorModGrad``: ``-floor(x / y) * g`` for a tensor ``y``."""
    return g, (None if _is_scalar(y) else neg(mul(g, floor(div(x, y)))))


def _remainder_name(args, params) -> str:
    return "RemainderBackward0" if _is_scalar(args[1]) else "RemainderBackward1"


FLOOR_DIVIDE = register(Op(
    name="floor_divide", impl=np.floor_divide, infer=elementwise_infer("promote"),
    kind="elementwise", scalar="({0} // {1})", nin=2, tf_name="FloorDiv"))
REMAINDER = register(Op(
    name="remainder", impl=np.remainder, infer=elementwise_infer("promote"), vjp=_remainder_vjp,
    kind="elementwise", scalar="({0} % {1})", grad_name=_remainder_name, saves=(0, 1), nin=2,
    tf_name="FloorMod", jvp="diagonal"))
def _div_rounded_vjp(g, out, x, y):
    """PyTorch's ``DivBackward2`` (``div`` with a ``rounding_mode``): exact zeros to each
    tensor operand (even for a NaN cotangent), but an edge of the graph."""
    z = zeros_like(g)
    return z, (None if _is_scalar(y) else z)


def _trunc_divide(x, y):
    """C's integer division (towards zero); ``trunc(x / y)`` for floats (PyTorch's)."""
    if np.result_type(x, y).kind in "iu":
        q = np.floor_divide(x, y)
        return q + ((np.remainder(x, y) != 0) & ((np.sign(x) * np.sign(y)) < 0))
    return np.trunc(np.true_divide(x, y))


DIV_FLOOR = register(Op(
    name="div_floor", impl=np.floor_divide, infer=elementwise_infer("promote"),
    vjp=_div_rounded_vjp, kind="elementwise", scalar="({0} // {1})", grad_name="DivBackward2",
    nin=2, tf_name="FloorDiv", jvp="diagonal"))
DIV_TRUNC = register(Op(
    name="div_trunc", impl=_trunc_divide, infer=elementwise_infer("promote"),
    vjp=_div_rounded_vjp, kind="elementwise", grad_name="DivBackward2", nin=2,
    tf_name="TruncateDiv", jvp="diagonal"))
FLOOR_MOD = register(Op(
    name="floormod", impl=np.remainder, infer=elementwise_infer("promote"), vjp=_floormod_vjp,
    kind="elementwise", scalar="({0} % {1})", grad_name=_remainder_name, saves=(0, 1), nin=2,
    tf_name="FloorMod", jvp="diagonal"))

"""Eager-only op records (a leaf: it imports only the shared registry).

Ops here have no place in the static graph (``//``, ``%``, rounding, ``clone``, ``all``/``any``);
everything differentiable that the static mode also needs lives in ``staticgraph.ops``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from staticgraph.ops import Op, zeros_like
from staticgraph.ops.elementwise import elementwise_infer, exp, mul


def _nograd_op(name: str, fn: Any, dtype_rule: str = "promote") -> Op:
    """A non-differentiable elementwise op local to the eager mode (``//``, ``%``)."""
    return Op(name=name, impl=fn, infer=elementwise_infer(dtype_rule), kind="elementwise",
              nin=2, dtype_rule=dtype_rule)


def _step_op(name: str, fn: Any, grad_name: str) -> Op:
    """Rounding: piecewise constant, so a zero gradient, exactly 0 even for an inf/NaN
    cotangent (PyTorch records it all the same)."""
    return Op(name=name, impl=fn, infer=elementwise_infer("keep"), kind="elementwise",
              vjp=lambda g, out, x: (zeros_like(g),), grad_name=grad_name, dtype_rule="keep")


FLOOR_DIVIDE = _nograd_op("floor_divide", np.floor_divide)
REMAINDER = _nograd_op("remainder", np.remainder)
FLOOR = _step_op("floor", np.floor, "FloorBackward0")
CEIL = _step_op("ceil", np.ceil, "CeilBackward0")
ROUND = _step_op("round", np.round, "RoundBackward0")
TRUNC = _step_op("trunc", np.trunc, "TruncBackward0")
_erf = np.vectorize(math.erf, otypes=[np.float64])
ERF = Op(name="erf", impl=lambda x: _erf(x).astype(x.dtype), infer=elementwise_infer("float"),
         kind="elementwise", dtype_rule="float", saves=(0,), grad_name="ErfBackward0",
         vjp=lambda g, out, x: (mul(g, mul(exp(mul(mul(x, x), -1.0)), 2 / math.sqrt(math.pi))),))
CLONE = Op(name="clone", impl=lambda x: np.array(x, copy=True), infer=lambda x: (x.shape, x.dtype),
           vjp=lambda g, out, x: (g,), grad_name="CloneBackward0")

CONTIGUOUS = Op(name="contiguous", impl=lambda x: np.array(x, copy=True, order="C"),
                infer=lambda x: (x.shape, x.dtype), vjp=lambda g, out, x: (g,),
                grad_name="CloneBackward0")


def _reduce_bool(fn: Any) -> Op:
    return Op(name=fn.__name__, impl=lambda x: np.asarray(fn(x)),
              infer=lambda x: ((), np.dtype(np.bool_)), kind="reduce")


ALL = _reduce_bool(np.all)
ANY = _reduce_bool(np.any)

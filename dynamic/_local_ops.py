"""Eager-only op records and helpers shared by the Tensor method mixins.

Ops here have no place in the static graph (``//``, ``%``, rounding, ``clone``, ``all``/``any``);
everything differentiable that the static mode also needs lives in ``staticgraph.ops``.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from staticgraph.ops import Op, zeros_like
from staticgraph.ops.elementwise import elementwise_infer, exp, mul

from . import _dtypes
from .autograd.graph import node_class


def renamed(t: Any, name: str) -> Any:
    """Give ``t``'s freshly recorded node PyTorch's class name for this call."""
    fn = t._grad_fn
    if fn is not None:
        fn.__class__ = node_class(name)
    return t


def shape_arg(shape: tuple) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f(torch.Size([2, 3]))`` all mean the shape ``(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, _dtypes.Size)):
        shape = tuple(shape[0])
    return tuple(int(d) for d in shape)


def index_arg(idx: Any) -> Any:
    """Tensor indices become numpy arrays; basic indices get a trailing ``...`` so a 0-d result
    is still a view of the tensor (as in PyTorch)."""
    from ._tensor import Tensor

    items = idx if isinstance(idx, tuple) else (idx,)
    out, basic = [], True
    for i in items:
        if isinstance(i, Tensor):
            i = i._data
            if i.ndim == 0 and i.dtype.kind in "iu":
                i = int(i)
        elif isinstance(i, range):
            i = np.arange(i.start, i.stop, i.step)
        if isinstance(i, (list, np.ndarray)):
            basic = False
        out.append(i)
    if basic and Ellipsis not in out:
        out.append(Ellipsis)
    return tuple(out)


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


def _return_type(name: str) -> type:
    """``torch.return_types.max(values=..., indices=...)``: a named pair that prints like it."""
    cls = namedtuple(name, ["values", "indices"])
    cls.__repr__ = lambda self: (f"torch.return_types.{type(self).__name__}(\nvalues="
                                 f"{self.values!r},\nindices={self.indices!r})")
    return cls


ReturnMax, ReturnMin, ReturnSort, ReturnTopk = (
    _return_type(n) for n in ("max", "min", "sort", "topk"))

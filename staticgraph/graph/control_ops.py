"""``tf.shape`` of tensors with unknown dims (a run-time value) and the ``tf.zeros(tf.shape(x))``
family that it feeds (``tf.cond`` is in :mod:`.control_flow`).

staticgraph has static shapes, so these are expressed with registry ops: ``tf.shape(x)`` stacks
``size`` nodes; a shape tensor used to build a tensor is recognised as "the shape of ``x``" and
becomes a ``*_like`` op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .core import Tensor, get_default_graph
from .dtypes import as_dtype
from .frontend import as_graph_tensor, make_const, node_name
from .math_ops import _final, composite


def _registry(graph: Any) -> dict:
    if not hasattr(graph, "_shape_of"):
        graph._shape_of = {}
    return graph._shape_of


def shape_source(shape: Any) -> Tensor | None:
    """The tensor ``x`` when ``shape`` is ``tf.shape(x)``, else ``None``."""
    t = as_graph_tensor(shape)
    return None if t is None else _registry(t.graph).get(t)


def dynamic_shape(x: Tensor, name: str | None, out_type: Any) -> Tensor:
    """``tf.shape(x)`` as a run-time value: known dims are constants, unknown ones ``size``
    nodes, stacked into a vector."""
    if x.aval.shape is None:
        raise NotImplementedError(f"tf.shape of '{x.name}', whose rank is unknown (a placeholder "
                                  "declared without a shape), is not supported.")
    dt = as_dtype(out_type).np_dtype
    with composite(name, "Shape", x) as stem:
        dims = [ops.size(x, i, dt) if d is None else np.asarray(d, dt)
                for i, d in enumerate(x.aval.shape)]
        dims = [d if as_graph_tensor(d) is not None else make_const(get_default_graph(), d)
                for d in dims]  # known dims: ``tf.constant(d)`` nodes
        out = _final(stem, ops.stack, dims, 0)
    _registry(x.graph)[out] = x
    return out


def like(shape: Any, value: Any, dtype: Any, name: str) -> Tensor | None:
    """``fill(tf.shape(x), value)`` as ``ones_like(x) * value`` (``None`` when ``shape`` is not
    ``tf.shape(x)``)."""
    x = shape_source(shape)
    if x is None:
        return None
    dt = as_dtype(dtype)
    base = ops.cast(x, dt.np_dtype) if x.dtype.base_dtype != dt else x
    if value in (0, 1):
        with node_name(name):
            return ops.zeros_like(base) if value == 0 else ops.ones_like(base)
    ones = ops.ones_like(base)
    with node_name(name):
        return ops.mul(ones, np.asarray(value, dt.np_dtype))


__all__ = ["dynamic_shape", "like", "shape_source"]

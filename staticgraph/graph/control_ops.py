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


def _dim_source(d: Any) -> tuple[Tensor, int] | None:
    """``(x, k)`` when ``d`` is ``tf.shape(x)[k]``, else ``None``."""
    t = as_graph_tensor(d)
    if t is None or t.op.type != "getitem" or len(t.op.params["index"]) != 1:
        return None
    x = _registry(t.graph).get(t.op.inputs[0])
    k = t.op.params["index"][0]
    if x is None or not isinstance(k, (int, np.integer)):
        return None
    return x, int(k) % x.ndim


def _zeros_of_dims(dims: list, dt: np.dtype) -> Tensor | None:
    """Zeros shaped ``dims``: ints and ``tf.shape(x)[k]`` scalars (``[tf.shape(x)[0], 4]``, a
    zero state); ``None`` when an entry is neither. Each run-time dim is the length of ``x``
    along ``k`` (one row of ``x``), broadcast against the others."""
    parts, ref = [], None
    for i, d in enumerate(dims):
        src = _dim_source(d)
        if src is None:
            if as_graph_tensor(d) is not None:
                return None
            continue
        ref = True
        x, k = src
        row = ops.getitem(x, tuple(slice(None) if j == k else 0 for j in range(x.ndim)))
        row = ops.zeros_like(ops.cast(row, dt))
        parts.append(ops.reshape(row, tuple(-1 if j == i else 1 for j in range(len(dims)))))
    if ref is None:
        return None
    static = tuple(1 if _dim_source(d) is not None else int(d) for d in dims)
    out = ops.zeros_like(make_const(get_default_graph(), np.zeros(static, dt)))
    for p in parts:
        out = ops.add(out, p)
    return out


def like(shape: Any, value: Any, dtype: Any, name: str) -> Tensor | None:
    """``fill(tf.shape(x), value)`` as ``ones_like(x) * value``, and ``fill([tf.shape(x)[0],
    4], value)`` likewise (``None`` when ``shape`` is neither)."""
    x = shape_source(shape)
    if x is None:
        if isinstance(shape, (list, tuple)):
            zero = _zeros_of_dims(list(shape), as_dtype(dtype).np_dtype)
            if zero is not None:
                with node_name(name):
                    return ops.add(zero, np.asarray(value, as_dtype(dtype).np_dtype))
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

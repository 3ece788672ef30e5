"""``tf.unique`` and ``tf.unique_with_counts``: a host op (:mod:`staticgraph.host_ops`), as
``tf.where(cond)`` is, since the number of distinct values is known only when the graph runs.

The op's outputs are TF's, in TF's order and names (``Unique:0`` the distinct values in order
of first appearance, ``Unique:1`` each element's position among them, ``UniqueWithCounts:2``
how often each occurs). TF registers no gradient for these ops: ``tf.gradients`` through one
raises TF's ``LookupError`` (``host.tf_no_gradient``, read by :mod:`staticgraph.gradients`).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ops import AVal
from .array_ops import identity
from .core import Tensor
from .dtypes import as_dtype
from .func_graph import target_graph
from .math_ops import _t

Unique = namedtuple("Unique", ["y", "idx"])
UniqueWithCounts = namedtuple("UniqueWithCounts", ["y", "idx", "count"])


@dataclass(frozen=True)
class UniqueOp:
    """What a ``Unique``/``UniqueWithCounts`` host op computes from its 1-D input."""

    __sg_export__ = True
    tf_no_gradient = True
    out_idx: str = "int32"
    counts: bool = False

    def clone(self) -> UniqueOp:
        return self

    def run(self, inputs: Sequence[Any], prepare: Any = None, compiled: bool = False) -> list:
        x = np.asarray(inputs[0])
        _, first, inverse, count = np.unique(x, return_index=True, return_inverse=True,
                                             return_counts=True)
        order = np.argsort(first, kind="stable")  # distinct values by first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        idx_dtype = np.dtype(self.out_idx)
        out = [x[first[order]], rank[inverse.reshape(-1)].astype(idx_dtype)]
        if self.counts:
            out.append(count[order].astype(idx_dtype))
        return out


def _unique(x: Any, out_idx: Any, name: str | None, counts: bool) -> Tensor:
    t = _t(x)
    kind = "UniqueWithCounts" if counts else "Unique"
    idx_dtype = as_dtype(out_idx).np_dtype
    if idx_dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
        raise TypeError(f"Value passed to parameter 'out_idx' has DataType "
                        f"{as_dtype(out_idx).name} not in list of allowed values: int32, int64")
    if t.aval.shape is not None and len(t.aval.shape) != 1:
        raise ValueError(f"Shape must be rank 1 but is rank {len(t.aval.shape)} for "
                         f"'{name or kind}' (op: '{kind}') with input shapes: "
                         f"{t.shape.tf_list_str()}.")
    if t.op.type == "VariableV2":  # a host op reads no live variable
        t = identity(t)
    g = target_graph(t.graph)
    n = t.aval.shape[0] if t.aval.shape is not None else None
    spec = UniqueOp(idx_dtype.name, counts)
    avals = [AVal((None,), t.aval.dtype), AVal((n,), idx_dtype)]
    if counts:
        avals.append(AVal((None,), idx_dtype))
    op = g.create_op(kind, [t], {"spec": spec}, avals, name or kind)
    op.host = spec
    return (UniqueWithCounts if counts else Unique)(*op.outputs)


def unique(x: Any, out_idx: Any = np.int32, name: str | None = None) -> Unique:
    """``(y, idx)``: the distinct values of 1-D ``x`` by first appearance, and for each element
    of ``x`` its position in ``y`` (``out_idx``: int32 or int64)."""
    return _unique(x, out_idx, name, False)


def unique_with_counts(x: Any, out_idx: Any = np.int32,
                       name: str | None = None) -> UniqueWithCounts:
    """``(y, idx, count)``: :func:`unique` and how often each value of ``y`` occurs."""
    return _unique(x, out_idx, name, True)


__all__ = ["Unique", "UniqueWithCounts", "UniqueOp", "unique", "unique_with_counts"]

"""The batch size of an RNN's zero state (``cell.zero_state(batch_size, dtype)``) as something
zeros can be shaped from: a Python int, or a ``[batch, 1]`` tensor whose ``zeros_like`` is
broadcast against ``[n]`` zeros.

staticgraph's tensors have static shapes with ``None`` for unknown dims, and its ops build a
tensor of unknown size only *like* another tensor. So a ``batch_size`` tensor is traced back:
``tf.shape(x)[i]`` becomes ``x`` sliced to ``[batch, 1]`` (compiled with the rest of the graph),
a constant becomes its int, and any other scalar (a fed ``tf.placeholder(tf.int32, [])``) goes
through a small host op that makes ``[batch, 1]`` int32 zeros at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import ops
from .graph.control_ops import shape_source
from .graph.core import Tensor, get_default_graph
from .graph.errors import InvalidArgumentError
from .graph.frontend import as_graph_tensor
from .ops.core import AVal


@dataclass(frozen=True)
class RowsOf:
    """The host op's meaning: ``[n, 1]`` int32 zeros for the fed scalar ``n``."""

    __sg_export__ = True  # a meta graph holds it (staticgraph.serialize)

    def clone(self) -> RowsOf:
        return self

    def run(self, inputs: Sequence[Any], prepare: Any = None, compiled: bool = False) -> list:
        n = int(np.asarray(inputs[0]))
        if n < 0:
            raise InvalidArgumentError(None, None, f"Dimension -1 must be >= 0 (batch_size {n})")
        return [np.zeros((n, 1), np.int32)]


def _from_shape(t: Tensor) -> Any:
    """``tf.shape(x)[i]``: x's dim i (an int when static), else ``None``."""
    op = t.op
    if op.type != "getitem" or len(op.inputs) != 1:
        return None
    x = shape_source(op.inputs[0])
    index = op.params.get("index")
    if x is None or not (isinstance(index, tuple) and len(index) == 1
                         and isinstance(index[0], (int, np.integer))):
        return None
    rank = len(x.aval.shape)
    i = int(index[0]) % rank
    if x.aval.shape[i] is not None:
        return int(x.aval.shape[i])
    pick = tuple(slice(None) if k == i else slice(0, 1) for k in range(rank))
    return ops.reshape(ops.getitem(x, pick), (-1, 1))


def batch_rows(batch_size: Any) -> Any:
    """An int, or a ``[batch, 1]`` tensor, for ``batch_size`` (an int or a scalar int tensor)."""
    t = as_graph_tensor(batch_size)
    if t is None:
        return int(np.asarray(batch_size))
    if t.aval.shape not in ((), None) or t.dtype.np_dtype.kind not in "iu":
        raise ValueError(f"batch_size must be a scalar integer tensor, got {t}")
    if t.op.type == "Const":
        return int(t.op.params["value"])
    rows = _from_shape(t)
    if rows is not None:
        return rows
    g = t.graph if t.graph is not None else get_default_graph()
    spec = RowsOf()
    op = g.create_op("ZerosRows", [ops.reshape(t, ())], {"spec": spec},
                     [AVal((None, 1), np.dtype(np.int32))], "batch_rows")
    op.host = spec
    return op.outputs[0]


__all__ = ["batch_rows", "RowsOf"]

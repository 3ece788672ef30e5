"""The symbolic graph data model (Graph, Operation, Tensor), dtypes, shapes and TF1 op functions."""

from . import array_ops, composite_ops, dtypes, errors, math_ops, operators
from .core import (
    SPECIAL_KINDS,
    Graph,
    Operation,
    Tensor,
    control_dependencies,
    get_default_graph,
    name_scope,
    reset_default_graph,
)
from .dtypes import DType, as_dtype
from .frontend import FRONTEND, GraphFrontend, convert
from .tensor_shape import Dimension, TensorShape, as_shape

operators.bind(math_ops, composite_ops, array_ops)  # ``x + y``, ``x[i]``... on graph tensors


def _gather_rows(x: Tensor, idx: tuple) -> Tensor:
    """``x[i, ...]`` with an integer tensor ``i`` outside loops: a gather along axis 0 (loading
    graph/tensor_array, which control flow does, replaces it with one that also knows the rows
    a loop body reads)."""
    out = composite_ops.gather(x, idx[0])
    return array_ops.getitem(out, idx[1:]) if len(idx) > 1 else out


if array_ops.tensor_index is None:
    array_ops.tensor_index = _gather_rows

__all__ = ["SPECIAL_KINDS", "Graph", "Operation", "Tensor", "control_dependencies",
           "get_default_graph", "name_scope", "reset_default_graph", "DType", "as_dtype",
           "FRONTEND", "GraphFrontend", "convert", "Dimension", "TensorShape", "as_shape",
           "array_ops", "dtypes", "errors", "math_ops"]

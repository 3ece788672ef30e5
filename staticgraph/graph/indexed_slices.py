"""``tf.IndexedSlices``: the gradient of a ``tf.gather``/``embedding_lookup`` parameter, as TF
gives it -- one row of ``values`` per looked-up id (``indices``), duplicates *not* merged, and the
``dense_shape`` of the parameter.

Why not dense: TF's ``global_norm``/``clip_by_*norm`` read ``values`` (with duplicate ids the
norm differs from the dense gradient's), and TF's optimizers apply it sparsely (only the
looked-up rows and their slots move). Where TF code uses it as a tensor (``tf.convert_to_tensor``,
an op argument, ``g * 2``) it converts to the dense sum, as TF's conversion function does.
Fetched in ``Session.run`` it gives an :class:`IndexedSlicesValue`, as TF does.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import ops
from .core import Graph, Tensor
from .dtypes import DType
from .frontend import FRONTEND, as_graph_tensor, make_const, node_name
from .func_graph import function_graph_for
from .operators import _OperatorMixin
from .tensor_shape import TensorShape


class IndexedSlicesValue(NamedTuple):
    """A fetched :class:`IndexedSlices` (TF's namedtuple of numpy arrays)."""

    values: np.ndarray
    indices: np.ndarray
    dense_shape: np.ndarray | None


class IndexedSlices(_OperatorMixin):
    """Rows ``values[i]`` of a tensor of shape ``dense_shape`` at row ``indices[i]`` (repeated
    indices add up when made dense). ``like``: a tensor of the dense shape (the gathered
    parameter), used to make it dense without a shape tensor."""

    __sg_frontend__ = FRONTEND

    def __init__(self, values: Any, indices: Any, dense_shape: Any = None,
                 like: Tensor | None = None) -> None:
        v, i = as_graph_tensor(values), as_graph_tensor(indices)
        if v is None or i is None:
            raise TypeError(f"IndexedSlices needs graph tensors for values and indices, got "
                            f"{values!r} and {indices!r}")
        if not i.dtype.is_integer:
            raise TypeError(f"IndexedSlices indices must be int32 or int64, got {i.dtype.name}")
        self._values, self._indices = v, i
        self._dense_shape = dense_shape if dense_shape is None or as_graph_tensor(
            dense_shape) is not None else np.asarray(dense_shape, np.int64)
        self._like = like
        self._dense: dict[int, Tensor] = {}  # id(graph) -> this made dense there

    # ------------------------------------------------------------------- TF's API
    @property
    def values(self) -> Tensor:
        return self._values

    @property
    def indices(self) -> Tensor:
        return self._indices

    @property
    def dense_shape(self) -> Any:
        return self._dense_shape

    @property
    def dtype(self) -> DType:
        return self._values.dtype

    @property
    def graph(self) -> Graph:
        return self._values.graph

    @property
    def name(self) -> str:
        return self._values.name

    @property
    def op(self) -> Any:
        return self._values.op

    @property
    def device(self) -> str:
        return ""

    @property
    def shape(self) -> TensorShape:
        """The dense shape where known at build time (TF: ``constant_value_as_shape``)."""
        if self._like is not None:
            return self._like.shape
        ds = self._dense_shape
        t = as_graph_tensor(ds)
        if t is None and ds is not None:
            return TensorShape([int(d) for d in ds])
        if t is not None and t.op.type == "Const":
            return TensorShape([int(d) for d in t.op.params["value"]])
        rows = self._values.aval.shape
        return TensorShape(None if rows is None else [None] + list(rows[1:]))

    def get_shape(self) -> TensorShape:
        return self.shape

    def __neg__(self) -> IndexedSlices:
        return IndexedSlices(ops.neg(self._values), self._indices, self._dense_shape, self._like)

    def __repr__(self) -> str:
        return (f"IndexedSlices(indices={self._indices.name}, values={self._values.name}, "
                f"dense_shape={self._dense_shape})")

    # ------------------------------------------------------------------ as a tensor
    def _as_graph_tensor(self) -> Tensor:
        """The dense tensor (rows scatter-added), built once per graph it is used in."""
        target = function_graph_for((self._values,)) or self._values.graph
        key = id(target)
        if key not in self._dense:
            with node_name(None), target.control_dependencies(None):
                self._dense[key] = to_dense(self)
        return self._dense[key]


def to_dense(s: IndexedSlices) -> Tensor:
    """``s`` as a dense tensor: ``zeros(dense_shape)`` with each row of ``values`` added at its
    index (TF: ``unsorted_segment_sum``); an index out of range fails at run time."""
    v = s.values
    if v.aval.shape is None:
        raise NotImplementedError(f"IndexedSlices with values {v.name} of unknown rank cannot "
                                  f"be made dense")
    idx = s.indices if s.indices.dtype == np.int64 else ops.cast(s.indices, np.int64)
    if v.ndim > 1:  # the registry's scatter_add indexes every element: broadcast over a row
        idx = ops.add(ops.reshape(idx, (-1,) + (1,) * (v.ndim - 1)),
                      ops.cast(ops.zeros_like(v), np.int64))
    ds = as_graph_tensor(s.dense_shape)
    like = s._like
    if like is None and ds is not None:  # tf.shape(x) (control_ops.dynamic_shape): as x
        like = getattr(ds.graph, "_shape_of", {}).get(ds)
    if like is not None:
        base = ops.zeros_like(like)
        if base.dtype != v.dtype:
            base = ops.cast(base, v.dtype.np_dtype)
    elif s.dense_shape is None:
        raise ValueError(f"IndexedSlices {s.values.name} has no dense_shape: it cannot be made "
                         f"dense")
    elif ds is not None and ds.op.type != "Const":
        raise NotImplementedError(f"IndexedSlices {s.values.name} with dense_shape computed by "
                                  f"{ds.op.name}: pass a constant or tf.shape(x)")
    else:
        shape = ds.op.params["value"] if ds is not None else s.dense_shape
        base = make_const(v.graph, np.zeros([int(d) for d in shape], v.dtype.np_dtype),
                          "zeros")
    return ops.scatter_add(base, v, idx, 0)


def mark_row_gather(rows: Tensor, indices: Tensor | np.ndarray) -> Tensor:
    """Tag the node ``rows`` (``params[indices]`` along axis 0, one row per flat index) so that
    ``gradients()`` gives its parameter an :class:`IndexedSlices` (values: the cotangent of
    ``rows`` with one row per index, indices: ``indices`` flattened; constant indices are an
    array, made a ``Const`` only when differentiated), as TF's gather gradient."""
    rows.op.row_gather_indices = indices
    return rows


def unmark_row_gather(out: Tensor) -> Tensor:
    """``out`` of a ``gather`` that a composite uses inside (``boolean_mask``, ``gather_nd``,
    TensorArray): TF's gradient there is dense, so the gather node loses its tag."""
    for op in (out.op, out.op.inputs[0].op if out.op.inputs else None):
        if op is not None and "row_gather_indices" in vars(op):
            del op.row_gather_indices
    return out


def row_gather_indices(op: Any) -> Tensor | np.ndarray | None:
    """The indices :func:`mark_row_gather` tagged ``op`` with (``None``: not a row gather)."""
    return getattr(op, "row_gather_indices", None)


__all__ = ["IndexedSlices", "IndexedSlicesValue", "to_dense", "mark_row_gather",
           "unmark_row_gather", "row_gather_indices"]

"""The value side of TF1's scatter ops on a variable (``tf.scatter_update``/``add``/``sub``/
``mul``/``div``, ``tf.scatter_nd_update``, ``Variable.scatter_*``; the ops themselves: ``staticgraph/scatter_ops.py``): the range-checked
flat indices, the updates as rows, and what the ``Assign``/``AssignAdd``/``AssignSub`` node takes.
It works on the variable's graph tensor, so ``variables.py`` (above this layer) can use it.

The rows are made dense (zeros off the indexed rows, the registry's ``scatter_add``): dense work
over the variable with TF's values. Duplicate indices add up (add/sub); for ``scatter_update`` the
last update of a duplicated index wins, as TF's CPU kernel writes them in order. An index out of
``[0, rows)`` raises TF's ``indices[i] = 7 is not in [0, 5)`` at run time (``ops/index_checks.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .core import Tensor
from .frontend import convert, node_name
from .indexed_slices import IndexedSlices, to_dense
from .tensor_shape import TensorShape

ASSIGN_KIND = {"scatter_update": "Assign", "scatter_add": "AssignAdd",
               "scatter_sub": "AssignSub", "scatter_mul": "Assign", "scatter_div": "Assign"}


def _rows(kind: str, var: Tensor, indices: Any, updates: Any) -> tuple[Tensor, Tensor]:
    """The flat int64 indices (range-checked) and the updates as one row per index."""
    g = var.graph
    shape = var.shape.as_list() if var.shape.dims is not None else None
    if not shape or any(d is None for d in shape):
        raise ValueError(f"tf.{kind}: variable '{var.op.name}' needs a known shape of rank >= 1,"
                         f" got {var.shape}")
    idx = convert(indices, g, None, "indices", kind)
    if not idx.dtype.is_integer:
        raise TypeError(f"tf.{kind}: 'indices' must be int32 or int64, got {idx.dtype.name}")
    upd = convert(updates, g, var.dtype.base_dtype, "updates", kind)
    if upd.dtype != var.dtype.base_dtype:
        raise TypeError(f"tf.{kind}: 'updates' of type {upd.dtype.name} does not match type "
                        f"{var.dtype.base_dtype.name} of variable '{var.op.name}'")
    want = TensorShape(None if idx.shape.dims is None else idx.shape.as_list() + shape[1:])
    if not upd.shape.is_compatible_with(want):
        raise ValueError(f"tf.{kind}: shape of 'updates' must be indices.shape + "
                         f"ref.shape[1:] = {want}, got {upd.shape} (variable "
                         f"'{var.op.name}' of shape {var.shape})")
    flat = ops.reshape(idx if idx.dtype == np.int64 else ops.cast(idx, np.int64), (-1,))
    flat = ops.check_index_range(flat, shape[0])
    return flat, ops.reshape(upd, (-1, *shape[1:]))


def _last_wins(flat: Tensor) -> Tensor:
    """True where an index is not repeated later in ``flat`` (TF's in-order writes: the last
    update of a duplicated index stays). Constant indices: decided at build time."""
    const = _const_value(flat)
    if const is not None:
        last = np.zeros(const.shape, bool)
        _, first_rev = np.unique(const[::-1], return_index=True)
        last[len(const) - 1 - first_rev] = True
        return convert(last, flat.graph)
    pos = ops.cumsum(ops.ones_like(flat), 0)
    same = ops.eq(ops.reshape(flat, (-1, 1)), ops.reshape(flat, (1, -1)))
    later = ops.gt(ops.reshape(pos, (1, -1)), ops.reshape(pos, (-1, 1)))
    return ops.eq(ops.sum(ops.cast(ops.logical_and(same, later), np.int64), 1, False), 0)


def _const_value(t: Tensor) -> np.ndarray | None:
    """The values of ``t`` when it is a chain of reshape/cast/range check over a ``Const``."""
    op = t.op
    while op.type in ("reshape", "cast", "check_index_range") and op.inputs:
        op = op.inputs[0].op
    if op.type != "Const":
        return None
    v = np.asarray(op.params["value"]).reshape(-1).astype(np.int64)
    return v


def _dense(var: Tensor, flat: Tensor, rows: Tensor) -> Tensor:
    return to_dense(IndexedSlices(rows, flat, None, var))


def _scaled(kind: str, var: Tensor, flat: Tensor, rows: Tensor) -> Tensor:
    """TF's ``ScatterMul``/``ScatterDiv``: each row of the variable times (over) the updates
    whose index is that row. A ``[rows, 1 + N, ...]`` table holds the variable's row, then the
    updates hitting it (1 elsewhere: exact), and its in-order product is TF's in-order
    ``v * u1 * u2``. Division takes the updates' product first, ``v / (u1 * u2)`` (TF divides in
    order: the same to rounding where an index repeats; integers truncate, as C's ``/``); an
    update of 0 raises TF's ``updates must not contain 0`` at run time."""
    shape = var.shape.as_list()
    dt = var.dtype.base_dtype.np_dtype
    rest = (1,) * (len(shape) - 1)
    hit = ops.eq(ops.reshape(convert(np.arange(shape[0], dtype=np.int64), var.graph),
                             (-1, 1) + rest), ops.reshape(flat, (1, -1) + rest))
    if kind == "scatter_div":
        rows = ops.check_nonzero(rows)
    spread = ops.where(hit, ops.expand_dims(rows, (0,)), np.ones((), dt))  # [rows, N, ...]
    if kind == "scatter_mul":
        out = ops.prod(ops.cat([ops.expand_dims(var, (1,)), spread], 1), (1,))
    else:
        by = ops.prod(spread, (1,))
        by = by if by.dtype.base_dtype.np_dtype == dt else ops.cast(by, dt)
        out = ops.div(var, by) if dt.kind == "f" else ops.div_trunc(var, by)
    return out if out.dtype.base_dtype.np_dtype == dt else ops.cast(out, dt)


def scatter_value(kind: str, var: Tensor, indices: Any, updates: Any) -> Tensor:
    """What ``ASSIGN_KIND[kind]`` writes into the variable read by ``var``: the new value
    (``scatter_update``, ``scatter_mul``, ``scatter_div``) or the dense delta
    (``scatter_add``/``scatter_sub``)."""
    with node_name(None):
        flat, rows = _rows(kind, var, indices, updates)
        if kind in ("scatter_mul", "scatter_div"):
            return _scaled(kind, var, flat, rows)
        if kind != "scatter_update":
            return _dense(var, flat, rows)
        return _updated(var, flat, rows)


def _updated(var: Tensor, flat: Tensor, rows: Tensor) -> Tensor:
    """``var`` with row ``flat[i]`` replaced by ``rows[i]``; the last of a repeated index wins."""
    keep = _last_wins(flat)
    keep_rows = ops.reshape(keep, (-1,) + (1,) * (len(var.shape.as_list()) - 1))
    kept = ops.where(keep_rows, rows, ops.zeros_like(rows))
    hit_rows = ops.cast(ops.broadcast_like(keep_rows, rows), np.int64)
    hit = ops.gt(to_dense(IndexedSlices(hit_rows, flat, None, ops.cast(var, np.int64))), 0)
    return ops.where(hit, _dense(var, flat, kept), var)


def scatter_nd_value(var: Tensor, indices: Any, updates: Any) -> Tensor:
    """``tf.scatter_nd_update``'s new value: ``indices`` ``[..., K]`` address slices
    ``var[i0, .., iK-1]`` (``updates``: ``indices.shape[:-1] + var.shape[K:]``; a vector of
    indices is refused: TF's shape rule reads it as one tuple, its kernel as 1-tuples), written
    in
    order, the last of a repeated tuple winning (TF's CPU order). The variable is viewed as
    ``[prod(shape[:K]), *shape[K:]]`` rows and updated as ``scatter_update`` does; a tuple
    outside the shape raises TF's ``indices[0,1] = [7] does not index into shape [5,3]``."""
    kind, g = "scatter_nd_update", var.graph
    shape = var.shape.as_list() if var.shape.dims is not None else None
    if not shape or any(d is None for d in shape):
        raise ValueError(f"tf.{kind}: variable '{var.op.name}' needs a known shape of rank >= 1,"
                         f" got {var.shape}")
    with node_name(None):
        idx = convert(indices, g, None, "indices", kind)
        if not idx.dtype.is_integer:
            raise TypeError(f"tf.{kind}: 'indices' must be int32 or int64, got {idx.dtype.name}")
        dims = idx.shape.as_list() if idx.shape.dims is not None else None
        if dims is not None and len(dims) < 2:  # TF's shape rule and kernel disagree on these
            raise ValueError(f"tf.{kind}: 'indices' must have rank >= 2 (index tuples on the "
                             f"last axis), got shape {idx.shape}")
        if not dims or dims[-1] is None or not 1 <= dims[-1] <= len(shape):
            raise ValueError(f"tf.{kind}: the last dim of 'indices' must be known and in [1, "
                             f"{len(shape)}] (the rank of '{var.op.name}'), got {idx.shape}")
        k = dims[-1]
        upd = convert(updates, g, var.dtype.base_dtype, "updates", kind)
        if upd.dtype != var.dtype.base_dtype:
            raise TypeError(f"tf.{kind}: 'updates' of type {upd.dtype.name} does not match "
                            f"type {var.dtype.base_dtype.name} of variable '{var.op.name}'")
        want = TensorShape(dims[:-1] + shape[k:])
        if not upd.shape.is_compatible_with(want):
            raise ValueError(f"tf.{kind}: shape of 'updates' must be indices.shape[:-1] + "
                             f"ref.shape[{k}:] = {want}, got {upd.shape} (variable "
                             f"'{var.op.name}' of shape {var.shape})")
        idx64 = idx if idx.dtype == np.int64 else ops.cast(idx, np.int64)
        checked = ops.check_nd_indices(idx64, shape)
        strides = np.asarray([int(np.prod(shape[j + 1:k])) for j in range(k)], np.int64)
        flat = ops.reshape(ops.sum(ops.mul(checked, convert(strides, g)), (-1,)), (-1,))
        n = int(np.prod(shape[:k]))
        view = ops.reshape(var, (n, *shape[k:]))
        new = _updated(view, flat, ops.reshape(upd, (-1, *shape[k:])))
        return ops.reshape(new, tuple(shape))


def sparse_delta_parts(kind: str, sparse_delta: Any) -> tuple[Tensor, Tensor]:
    """``(indices, values)`` of the ``IndexedSlices`` a ``Variable.scatter_*`` method takes."""
    if not isinstance(sparse_delta, IndexedSlices):
        raise TypeError(f"Variable.{kind}: sparse_delta must be a tf.IndexedSlices, got "
                        f"{sparse_delta!r}")
    return sparse_delta.indices, sparse_delta.values

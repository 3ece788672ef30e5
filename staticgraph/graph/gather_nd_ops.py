"""``tf.gather_nd``: slices of ``params`` at the index tuples in the last dim of ``indices``,
lowered to one ``tf.gather`` along axis 0 of ``params`` with its first ``k`` dims merged (each
index tuple becomes the row ``sum(index_j * stride_j)``), so its gradient is ``gather``'s
(a scatter-add into the merged rows). Unknown (``None``) dims are fine: the strides of unknown
dims are ``size`` nodes, computed at run time, and an output with several unknown dims takes its
shape from a broadcast of zeros (``reshape_like``). Not covered: unknown dims both among the
first ``k`` dims of ``params`` and after them (the merge would need two unknown sizes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .composite_ops import gather
from .core import Tensor
from .frontend import as_graph_tensor
from .indexed_slices import unmark_row_gather
from .math_ops import _final, _t, cast, composite
from .matrix_ops import reshaped


def gather_nd(params: Any, indices: Any, name: str | None = None, batch_dims: int = 0) -> Tensor:
    """``out[i...] = params[indices[i..., 0], ..., indices[i..., k-1], ...]``."""
    if batch_dims:
        raise NotImplementedError("tf.gather_nd with batch_dims is not supported; fold the "
                                  "batch dims into the indices")
    p = _t(params)
    ti = as_graph_tensor(indices)
    idx = ti if ti is not None else _t(np.asarray(indices))
    if p.aval.shape is None or idx.aval.shape is None:
        raise NotImplementedError("tf.gather_nd needs params and indices of known rank")
    if not idx.dtype.is_integer:
        raise TypeError(f"Value passed to parameter 'indices' has DataType {idx.dtype.name} not "
                        f"in list of allowed values: int32, int64")
    k = idx.aval.shape[-1] if idx.ndim else None
    if k is None:
        raise ValueError("indices.shape[-1] must be known when the graph is built")
    if k > p.ndim:
        raise ValueError(f"indices.shape[-1] must be <= params.rank, but saw indices shape: "
                         f"{idx.shape.as_list()} and params shape: {p.shape.as_list()}")
    lead, rest = p.aval.shape[:k], list(p.aval.shape[k:])
    if None in lead and None in rest:
        raise NotImplementedError(f"tf.gather_nd of {p.name} (shape {p.shape}): unknown dims "
                                  f"both among the {k} indexed dims and after them are not "
                                  f"supported; declare the sizes of one group")
    with composite(name, "GatherNd", p, idx) as stem:
        rows = ops.sum(ops.mul(cast(idx, np.int64), _strides(p, k)), (-1,))
        flat = reshaped(p, [None if None in lead else int(np.prod(lead))] + rest, "gather_nd")
        picked = unmark_row_gather(gather(flat, reshaped(rows, [None], "gather_nd")))
        out = list(idx.aval.shape[:-1]) + rest
        if out.count(None) > 1:  # the shape of zeros broadcast to [indices' batch] + rest
            ref = ops.add(_batch_zeros(rows, len(rest), p.dtype.base_dtype.np_dtype),
                          ops.zeros_like(ops.getitem(flat, (0,))))
            return _final(stem, ops.reshape_like, picked, ref)
        return _final(stem, ops.reshape, picked, tuple(-1 if d is None else d for d in out))


def _strides(p: Tensor, k: int) -> Any:
    """The row stride of each of the first ``k`` dims of ``p`` (int64, ``[k]``): constants
    where dims ``1..k-1`` are known, else ``size`` nodes (run-time products)."""
    lead = p.aval.shape[:k]
    if None not in lead[1:]:
        return np.asarray([int(np.prod(lead[j + 1:])) for j in range(k)], np.int64)
    return ops.stack([ops.size(p, tuple(range(j + 1, k)), np.int64) if j < k - 1
                      else np.asarray(1, np.int64) for j in range(k)], 0)


def _batch_zeros(rows: Tensor, n_rest: int, dtype: np.dtype) -> Tensor:
    """Zeros (``dtype``) of ``rows``' shape with ``n_rest`` trailing dims of size 1."""
    zeros = ops.zeros_like(cast(rows, dtype))
    return ops.expand_dims(zeros, tuple(range(rows.ndim, rows.ndim + n_rest))) if n_rest else zeros

__all__ = ["gather_nd"]

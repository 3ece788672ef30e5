"""``tf.gather_nd``: slices of ``params`` at the index tuples in the last dim of ``indices``,
lowered to one ``tf.gather`` along axis 0 of ``params`` with its first ``k`` dims merged (each
index tuple becomes the row ``sum(index_j * stride_j)``), so its gradient is ``gather``'s
(a scatter-add into the merged rows). Dims 1..k-1 of ``params`` must be known when the
graph is built (the strides; dim 0 may be unknown)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .composite_ops import gather
from .core import Tensor
from .frontend import as_graph_tensor
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
    lead = p.aval.shape[:k]
    if None in lead[1:]:
        raise NotImplementedError(f"tf.gather_nd needs dims 1..{k - 1} of {p.name} when the "
                                  f"graph is built (shape {p.shape})")
    rest = list(p.aval.shape[k:])
    strides = [int(np.prod(lead[j + 1:])) for j in range(k)]
    with composite(name, "GatherNd", p, idx) as stem:
        i64 = cast(idx, np.int64)
        rows = ops.sum(ops.mul(i64, np.asarray(strides, np.int64)), (-1,)) if k else \
            ops.sum(ops.mul(i64, np.zeros((0,), np.int64)), (-1,))
        flat = reshaped(p, [None if None in lead else int(np.prod(lead))] + rest, "gather_nd")
        picked = gather(flat, reshaped(rows, [None], "gather_nd"))
        out = list(idx.aval.shape[:-1]) + rest
        want = tuple(-1 if d is None else d for d in out)
        if out.count(None) > 1:
            raise NotImplementedError("tf.gather_nd: indices with several unknown dims")
        return _final(stem, ops.reshape, picked, want)


__all__ = ["gather_nd"]

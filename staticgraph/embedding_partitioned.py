"""``tf.nn.embedding_lookup`` over a list of sharded params (``partition_strategy='mod'`` or
``'div'``), as TF's ``embedding_ops``: each id goes to one shard and a row there, each shard is
gathered with its own ids (so its gradient is an :class:`IndexedSlices` of exactly the ids it
served, and TF's sparse optimizer updates touch only those rows), and the rows are stitched back
in the ids' order.

``mod``: shard ``id % n``, row ``id // n``. ``div``: the ``N`` ids (the shards' rows summed) in
contiguous blocks, the first ``N % n`` shards one row longer. The shards' row counts must be
known at build time; an id outside ``[0, N)`` fails at run time with TF's range text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import ops
from .graph.composite_ops import gather
from .graph.core import Tensor
from .graph.frontend import node_name
from .graph.indexed_slices import IndexedSlices, to_dense
from .graph.mask_ops import where
from .graph.math_ops import _t, cast


def _assign(flat: Tensor, sizes: list[int], strategy: str) -> tuple[Tensor, Tensor]:
    """Each id's shard and its row in that shard (int64)."""
    n, total = len(sizes), sum(sizes)
    if strategy == "mod":
        return ops.remainder(flat, n), ops.floor_divide(flat, n)
    per, extras = total // n, total % n
    if per == 0:  # TF: more shards than ids; each id is its own shard's row 0
        return flat, ops.zeros_like(flat)
    big = ops.floor_divide(flat, per + 1)
    shard = ops.maximum(big, ops.floor_divide(ops.sub(flat, extras), per))
    row = ops.where(ops.lt(shard, extras), ops.remainder(flat, per + 1),
                    ops.remainder(ops.sub(flat, extras), per))
    return shard, row


def lookup_partitioned(params: Sequence[Any], ids: Any, partition_strategy: str,
                       name: str | None) -> Tensor:
    """Rows of the sharded table ``params`` at ``ids``, shaped ``ids.shape + row shape``."""
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"Unrecognized partition strategy: {partition_strategy}")
    shards = [_t(p) for p in params]
    shapes = [s.aval.shape for s in shards]
    if any(sh is None or not sh or sh[0] is None for sh in shapes):
        raise NotImplementedError(f"embedding_lookup over sharded params needs each shard's "
                                  f"row count known at build time, got shapes {shapes}")
    if any(tuple(sh[1:]) != tuple(shapes[0][1:]) for sh in shapes):
        raise ValueError(f"embedding_lookup: the shards' rows must have one shape, got shapes "
                         f"{shapes}")
    if any(s.dtype != shards[0].dtype for s in shards):
        raise TypeError(f"embedding_lookup: the shards must share one dtype, got "
                        f"{[s.dtype.name for s in shards]}")
    ti = _t(ids)
    if not ti.dtype.is_integer or ti.aval.shape is None:
        raise TypeError(f"embedding_lookup: ids must be int32/int64 of known rank, got "
                        f"{ti.dtype.name} of shape {ti.shape}")
    sizes = [int(sh[0]) for sh in shapes]
    row_shape = tuple(shapes[0][1:])
    g = shards[0].graph
    with g.name_scope(name or "embedding_lookup"), node_name(None):
        flat = ops.reshape(cast(ti, np.int64) if ti.dtype != np.int64 else ti, (-1,))
        flat = ops.check_index_range(flat, sum(sizes), "ids")
        shard, row = _assign(flat, sizes, partition_strategy)
        rows, places = [], []
        for i, s in enumerate(shards):
            pos = ops.reshape(where(ops.eq(shard, i)), (-1,))  # the ids this shard serves
            local = gather(row, pos)  # TF: the ids' dtype
            rows.append(gather(s, local if ti.dtype == np.int64 else cast(local, ti.dtype)))
            places.append(pos)
        vals = ops.cat(rows, 0)
        like = ops.zeros_like(ops.reshape(ops.cast(flat, shards[0].dtype.np_dtype),
                                          (-1,) + (1,) * len(row_shape)))
        if row_shape:
            like = ops.add(like, np.zeros(row_shape, shards[0].dtype.np_dtype))
        out = to_dense(IndexedSlices(vals, ops.cat(places, 0), None, like))
        out_shape = tuple(-1 if d is None else d for d in ti.aval.shape) + row_shape
        return ops.reshape(out, out_shape) if ti.ndim != 1 else out

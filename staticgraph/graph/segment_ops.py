"""TF1's segment reductions: ``segment_sum``, ``segment_mean``, ``unsorted_segment_sum``.

Each is one registry ``scatter_add`` of the data rows into zeros of ``[num_segments, ...]``
(repeated ids add up), so the gradient is the registry's rule: each row receives its segment's
cotangent (a ``gather``). ``unsorted_segment_sum`` knows its row count (``num_segments``) and
drops rows whose id is negative, as TF does (they land in one extra row that is cut off); an id
``>= num_segments`` raises TF's ``InvalidArgumentError`` at run time.
``segment_sum``'s row count, ``max(ids) + 1``, depends on values: a host op
(:mod:`.mask_ops`) computes it and checks TF's rules (ids sorted and non-negative), so its
shape is ``(?, ...)`` as in TF 1.x.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .core import Tensor
from .frontend import as_graph_tensor
from .mask_ops import positions
from .math_ops import _final, _t, cast, composite
from .matrix_ops import reshaped


def _check(data: Tensor, ids: Tensor, label: str) -> None:
    if data.aval.shape is None or ids.aval.shape is None:
        raise NotImplementedError(f"{label} needs data and segment_ids of known rank")
    if not ids.dtype.is_integer:
        raise TypeError(f"Value passed to parameter 'segment_ids' has DataType "
                        f"{ids.dtype.name} not in list of allowed values: int32, int64")
    if ids.ndim < 1 or ids.ndim > data.ndim:
        raise ValueError(f"Shape must be at least rank 1 and at most the rank of data for "
                         f"'{label}': data {data.shape}, segment_ids {ids.shape}")
    for a, b in zip(data.aval.shape, ids.aval.shape, strict=False):
        if a is not None and b is not None and a != b:
            raise ValueError(f"Dimensions must be equal, but are {a} and {b} for '{label}' "
                             f"with input shapes: {data.shape.tf_list_str()}, "
                             f"{ids.shape.tf_list_str()}.")


def _scatter_rows(data: Tensor, ids: Tensor, rows: Tensor, stem: str | None = None) -> Tensor:
    """``out[r] = sum of data[i] with ids[i] == r`` for ``r`` in ``rows`` (``0..S-1``);
    ``ids`` (flat int64) index rows of ``data`` (flattened to ``[N, ...]``)."""
    rest = data.ndim - 1
    zero_rows = ops.zeros_like(cast(rows, data.dtype.base_dtype.np_dtype))
    zero_rows = ops.reshape(zero_rows, (-1,) + (1,) * rest)
    zeros = ops.add(zero_rows, ops.zeros_like(ops.getitem(data, (slice(0, 1),))))
    index = ops.broadcast_like(ops.reshape(ids, (-1,) + (1,) * rest), data)
    if stem is None:
        return ops.scatter_add(zeros, data, index, 0)
    return _final(stem, ops.scatter_add, zeros, data, index, 0)


def _flatten(data: Tensor, ids: Tensor, num_segments: int) -> tuple[Tensor, Tensor]:
    """``data`` as ``[N, ...]`` rows and ``ids`` as ``[N]`` int64, the ids checked at run time
    to be below ``num_segments`` (TF's ``InvalidArgumentError`` naming the first one that is
    not; negative ids pass, to be dropped)."""
    k = ids.ndim
    ids = ops.check_segment_ids(ids, num_segments)
    ids64 = cast(ids, np.int64) if ids.dtype.np_dtype != np.int64 else ids
    if k == 1:
        return data, ids64
    lead = data.aval.shape[:k]
    n = None if None in lead else int(np.prod(lead))
    return (reshaped(data, [n] + list(data.aval.shape[k:]), "segment op"),
            reshaped(ids64, [n], "segment op"))


def unsorted_segment_sum(data: Any, segment_ids: Any, num_segments: Any,
                         name: str | None = None) -> Tensor:
    """Sums of ``data``'s rows by ``segment_ids`` (any order; negative ids dropped, ids
    ``>= num_segments`` an error at run time) into ``num_segments`` rows (an int)."""
    d, ids = _t(data), _t(segment_ids)
    _check(d, ids, name or "UnsortedSegmentSum")
    if as_graph_tensor(num_segments) is not None:
        raise NotImplementedError("unsorted_segment_sum with num_segments given as a tensor "
                                  "is not supported; pass an int")
    s = int(num_segments)
    with composite(name, "UnsortedSegmentSum", d, ids) as stem:
        rows, flat_ids = _flatten(d, ids, s)
        spare = ops.where(ops.lt(flat_ids, np.int64(0)), np.int64(s), flat_ids)
        summed = _scatter_rows(rows, spare, _t(np.arange(s + 1, dtype=np.int64)))
        return _final(stem, ops.getitem, summed, (slice(0, s),))


def segment_sum(data: Any, segment_ids: Any, name: str | None = None) -> Tensor:
    """Sums of ``data``'s rows by sorted ``segment_ids`` (1-D, one per row); the output has
    ``max(ids) + 1`` rows (empty segments 0), known when the graph runs."""
    d, ids = _t(data), _t(segment_ids)
    _check(d, ids, name or "SegmentSum")
    if ids.ndim != 1:
        raise ValueError(f"Shape must be rank 1 but is rank {ids.ndim} for segment_ids")
    with composite(name, "SegmentSum", d, ids) as stem:
        ids64 = cast(ids, np.int64) if ids.dtype.np_dtype != np.int64 else ids
        rows = positions("segments", ids64, "SegmentRange")
        return _scatter_rows(d, ids64, rows, stem)


def segment_mean(data: Any, segment_ids: Any, name: str | None = None) -> Tensor:
    """Means of ``data``'s rows by sorted ``segment_ids`` (empty segments 0)."""
    d, ids = _t(data), _t(segment_ids)
    _check(d, ids, name or "SegmentMean")
    if ids.ndim != 1:
        raise ValueError(f"Shape must be rank 1 but is rank {ids.ndim} for segment_ids")
    if not d.dtype.is_floating:
        raise NotImplementedError("segment_mean of integers is not supported; cast to float")
    with composite(name, "SegmentMean", d, ids) as stem:
        ids64 = cast(ids, np.int64) if ids.dtype.np_dtype != np.int64 else ids
        rows = positions("segments", ids64, "SegmentRange")
        total = _scatter_rows(d, ids64, rows)
        dt = d.dtype.base_dtype.np_dtype
        ones = ops.ones_like(cast(ids64, dt))
        count = _scatter_rows(ones, ids64, rows)
        count = ops.reshape(ops.maximum(count, np.ones((), dt)), (-1,) + (1,) * (d.ndim - 1))
        return _final(stem, ops.div, total, count)


__all__ = ["segment_sum", "segment_mean", "unsorted_segment_sum"]

"""TF1's segment reductions beyond sums: ``segment_max/min/prod``, their ``unsorted_*`` forms,
``unsorted_segment_mean`` and ``unsorted_segment_sqrt_n``.

Max, min and prod are one registry reduction over a dense ``[segments, rows, ...]`` table: row
``i`` of ``data`` sits in the table's row ``s`` where ``ids[i] == s`` and the reduction's
identity fills the rest (TF's ``lowest``/``highest`` value for max/min, 1 for prod), plus one
column of that fill so an empty segment reduces to it. So the values are TF's, and the
gradients are the registry's rules, which are TF's: ``amax``/``amin`` share a segment's
cotangent evenly among its tied extremes (TF's ``_SegmentMinOrMaxGrad``), ``prod`` gives each
row the product of the others, zeros included (TF's ``_SegmentProdGrad``). The table costs
``segments x rows x row size`` elements: fine for the sizes the TF1 material uses, not for
large embeddings. The sorted forms take their segment count from the host op of
:mod:`.segment_ops` (TF's run-time checks of the ids) and give an empty segment 0 for max and
min, as TF does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .core import Tensor
from .frontend import as_graph_tensor
from .mask_ops import positions
from .math_ops import _final, _t, cast, composite
from .segment_ops import _check, _flatten, unsorted_segment_sum


def _fill(dtype: np.dtype, kind: str) -> Any:
    """The value an empty max/min/prod reduces to (TF's ``lowest``, ``highest``, 1)."""
    if kind == "prod":
        return np.ones((), dtype)
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    return np.asarray(info.min if kind == "max" else info.max, dtype)


def _table(data: Tensor, ids: Tensor, rows: Tensor, kind: str) -> Tensor:
    """``out[s] = reduce(data[i] for ids[i] == s)`` for ``s`` in ``rows`` (int64, 1-D);
    ``data`` ``[N, ...]``, ``ids`` ``[N]`` int64."""
    rest = (1,) * (data.ndim - 1)
    fill = _fill(data.dtype.base_dtype.np_dtype, kind)
    hit = ops.eq(ops.reshape(rows, (-1, 1) + rest), ops.reshape(ids, (1, -1) + rest))
    spread = ops.where(hit, ops.expand_dims(data, (0,)), fill)  # [S, N, ...]
    pad = ops.add(ops.zeros_like(ops.getitem(spread, (slice(None), slice(0, 1)))), fill)
    table = ops.cat([spread, pad], 1)
    reduce = {"max": ops.amax, "min": ops.amin, "prod": ops.prod}[kind]
    return reduce(table, (1,))


_NAMES = {"max": "Max", "min": "Min", "prod": "Prod"}


def _sorted(kind: str, data: Any, segment_ids: Any, name: str | None) -> Tensor:
    d, ids = _t(data), _t(segment_ids)
    label = "Segment" + _NAMES[kind]
    _check(d, ids, name or label)
    if ids.ndim != 1:
        raise ValueError(f"Shape must be rank 1 but is rank {ids.ndim} for segment_ids")
    with composite(name, label, d, ids) as stem:
        ids64 = cast(ids, np.int64) if ids.dtype.np_dtype != np.int64 else ids
        rows = positions("segments", ids64, "SegmentRange")
        out = _table(d, ids64, rows, kind)
        if kind == "prod":
            return _final(stem, ops.add, out, np.zeros((), d.dtype.base_dtype.np_dtype))
        # an empty segment is 0 for the sorted max and min (TF's SegmentReduction kernels)
        present = ops.eq(ops.reshape(rows, (-1, 1)), ops.reshape(ids64, (1, -1)))
        present = ops.gt(ops.sum(cast(present, np.int32), (1,)), np.int32(0))
        present = ops.reshape(present, (-1,) + (1,) * (d.ndim - 1))
        return _final(stem, ops.where, present, out, np.zeros((), d.dtype.base_dtype.np_dtype))


def _unsorted(kind: str, data: Any, segment_ids: Any, num_segments: Any,
              name: str | None) -> Tensor:
    d, ids = _t(data), _t(segment_ids)
    label = "UnsortedSegment" + _NAMES[kind]
    _check(d, ids, name or label)
    if as_graph_tensor(num_segments) is not None:
        raise NotImplementedError(f"unsorted_segment_{kind} with num_segments given as a "
                                  f"tensor is not supported; pass an int")
    s = int(num_segments)
    with composite(name, label, d, ids) as stem:
        rows, flat_ids = _flatten(d, ids, s)
        out = _table(rows, flat_ids, _t(np.arange(s, dtype=np.int64)), kind)
        return _final(stem, ops.add, out, np.zeros((), d.dtype.base_dtype.np_dtype))


def segment_max(data: Any, segment_ids: Any, name: str | None = None) -> Tensor:
    """Row-wise maxima of ``data`` by sorted ``segment_ids`` (an empty segment: 0)."""
    return _sorted("max", data, segment_ids, name)


def segment_min(data: Any, segment_ids: Any, name: str | None = None) -> Tensor:
    """Row-wise minima of ``data`` by sorted ``segment_ids`` (an empty segment: 0)."""
    return _sorted("min", data, segment_ids, name)


def segment_prod(data: Any, segment_ids: Any, name: str | None = None) -> Tensor:
    """Row-wise products of ``data`` by sorted ``segment_ids`` (an empty segment: 1)."""
    return _sorted("prod", data, segment_ids, name)


def unsorted_segment_max(data: Any, segment_ids: Any, num_segments: Any,
                         name: str | None = None) -> Tensor:
    """Maxima by ``segment_ids`` in any order (negative ids dropped; an empty segment: the
    dtype's lowest value)."""
    return _unsorted("max", data, segment_ids, num_segments, name)


def unsorted_segment_min(data: Any, segment_ids: Any, num_segments: Any,
                         name: str | None = None) -> Tensor:
    """Minima by ``segment_ids`` in any order (an empty segment: the dtype's highest value)."""
    return _unsorted("min", data, segment_ids, num_segments, name)


def unsorted_segment_prod(data: Any, segment_ids: Any, num_segments: Any,
                          name: str | None = None) -> Tensor:
    """Products by ``segment_ids`` in any order (an empty segment: 1)."""
    return _unsorted("prod", data, segment_ids, num_segments, name)


def _unsorted_scaled(data: Any, segment_ids: Any, num_segments: Any, name: str | None,
                     label: str, root: bool) -> Tensor:
    """TF's ``unsorted_segment_mean``/``sqrt_n``: the sums over ``max(count, 1)`` (or its
    square root), counts from ones scattered the same way."""
    d, ids = _t(data), _t(segment_ids)
    _check(d, ids, name or label)
    if not d.dtype.is_floating:
        raise NotImplementedError(f"{label} of integers is not supported; cast to float")
    with composite(name, label, d, ids) as stem:
        dt = d.dtype.base_dtype.np_dtype
        ones = ops.ones_like(cast(ids, dt))
        count = unsorted_segment_sum(ones, ids, num_segments)
        count = ops.maximum(count, np.ones((), dt))
        if root:
            count = ops.sqrt(count)
        count = ops.reshape(count, (-1,) + (1,) * (d.ndim - ids.ndim))
        total = unsorted_segment_sum(d, ids, num_segments)
        return _final(stem + "truediv/", ops.div, total, count)


def unsorted_segment_mean(data: Any, segment_ids: Any, num_segments: Any,
                          name: str | None = None) -> Tensor:
    """Means by ``segment_ids`` in any order (an empty segment: 0)."""
    return _unsorted_scaled(data, segment_ids, num_segments, name, "UnsortedSegmentMean", False)


def unsorted_segment_sqrt_n(data: Any, segment_ids: Any, num_segments: Any,
                            name: str | None = None) -> Tensor:
    """Sums by ``segment_ids`` over the square root of each segment's row count."""
    return _unsorted_scaled(data, segment_ids, num_segments, name, "UnsortedSegmentSqrtN",
                            True)


__all__ = ["segment_max", "segment_min", "segment_prod", "unsorted_segment_max",
           "unsorted_segment_min", "unsorted_segment_prod", "unsorted_segment_mean",
           "unsorted_segment_sqrt_n"]

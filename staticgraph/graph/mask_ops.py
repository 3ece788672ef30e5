"""Ops whose output size depends on values: ``tf.where(condition)`` (one argument),
``tf.boolean_mask``, and the row count of ``tf.segment_sum``.

Their shapes are unknown when the graph is built (TF 1.x says ``(?, rank)``), so each is a
*host op* (:mod:`staticgraph.host_ops`): both executors run its numpy function between compiled
stages, and what follows it is compiled for the sizes it produced. Only integer positions come
from a host op; the values that flow on (``boolean_mask``'s rows, segment sums) are registry
``gather``/``scatter_add`` nodes, so ``gradients()`` goes through them with the registry's rules
(the positions themselves have no gradient, as in TF).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import ops
from ..ops import AVal
from .array_ops import identity
from .composite_ops import gather
from .core import Tensor
from .dtypes import as_dtype
from .errors import InvalidArgumentError
from .frontend import as_graph_tensor
from .func_graph import target_graph
from .indexed_slices import unmark_row_gather
from .math_ops import _final, _t, cast, composite
from .math_ops import where as _where3
from .matrix_ops import reshaped

_INT64 = np.dtype(np.int64)


@dataclass(frozen=True)
class PositionsOp:
    """What a positions host op computes from its one input: ``kind`` "where" (the
    coordinates of the true entries, ``[n, rank]``), "segments" (``arange(max(ids) + 1)``
    after TF's checks of sorted, non-negative ids) or "upto" (``arange(max(lengths))``)."""

    __sg_export__ = True
    kind: str
    name: str = ""

    def clone(self) -> PositionsOp:
        return self

    def run(self, inputs: Sequence[Any], prepare: Any = None, compiled: bool = False) -> list:
        v = np.asarray(inputs[0])
        if self.kind == "where":
            return [np.argwhere(v).astype(np.int64)]
        if self.kind == "upto":  # sequence_mask's positions: 0 .. max(lengths) - 1
            return [np.arange(int(v.max()) if v.size else 0, dtype=np.int64)]
        ids = v.reshape(-1)
        if ids.size and ids.min() < 0:
            k = int(np.argmax(ids < 0))
            raise InvalidArgumentError(None, None, f"segment_ids[{k}] = {ids[k]} is out of "
                                       f"range [0, {ids.max() + 1}) ({self.name})")
        if ids.size > 1 and np.any(np.diff(ids) < 0):
            raise InvalidArgumentError(None, None, f"segment ids are not increasing "
                                       f"({self.name})")
        return [np.arange(int(ids.max()) + 1 if ids.size else 0, dtype=np.int64)]


def positions(kind: str, x: Tensor, name: str) -> Tensor:
    """A :class:`PositionsOp` host node on ``x``."""
    if x.op.type == "VariableV2":  # a host op reads no live variable
        x = identity(x)
    g = target_graph(x.graph)
    rank = x.ndim if x.aval.shape is not None else None
    aval = AVal((None, rank), _INT64) if kind == "where" else AVal((None,), _INT64)
    spec = PositionsOp(kind, name)
    op = g.create_op({"where": "Where", "upto": "Range"}.get(kind, "SegmentRange"), [x],
                     {"spec": spec}, [aval], name)
    op.host = spec
    return op.outputs[0]


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    """``tf.where``: with ``x`` and ``y`` the elementwise choice; with neither, the coordinates
    of ``condition``'s true entries (int64, ``[n, rank]``, row-major order)."""
    if x is None and y is None:
        c = _t(condition)
        if c.aval.shape is None:
            raise NotImplementedError(f"tf.where({c.name}) of unknown rank is not supported; "
                                      f"declare its shape")
        if c.dtype.np_dtype != np.bool_:
            c = cast(c, np.bool_)
        return positions("where", c, name or "Where")
    return _where3(condition, x, y, name=name)


def boolean_mask(tensor: Any, mask: Any, name: str = "boolean_mask",
                 axis: Any = None) -> Tensor:
    """The entries (or slices) of ``tensor`` where ``mask`` is true: ``mask``'s dims are
    flattened into one of unknown size at ``axis`` (TF's lowering: ``where`` then
    ``gather``)."""
    t, m = _t(tensor), _t(mask)
    if t.aval.shape is None or m.aval.shape is None:
        raise NotImplementedError("tf.boolean_mask needs tensor and mask of known rank")
    if m.dtype.np_dtype != np.bool_:
        raise TypeError(f"Value passed to parameter 'mask' has DataType {m.dtype.name} not in "
                        f"list of allowed values: bool")
    axis = 0 if axis is None else int(axis) % max(t.ndim, 1)
    nd = m.ndim
    if nd == 0:
        raise ValueError("mask cannot be scalar.")
    span = tuple(t.aval.shape[axis:axis + nd])
    ms = tuple(m.aval.shape)
    if len(span) != nd or any(a is not None and b is not None and a != b
                              for a, b in zip(span, ms, strict=True)):
        raise ValueError(f"Shapes {t.shape.__class__(list(span))} and {m.shape} are "
                         f"incompatible")
    with composite(name, "boolean_mask", t, m):
        lead, rest = list(t.aval.shape[:axis]), list(t.aval.shape[axis + nd:])
        n = None if None in span else int(np.prod(span))
        flat = reshaped(t, lead + [n] + rest, "boolean_mask")
        fm = reshaped(m, [n], "boolean_mask")
        idx = reshaped(positions("where", fm, "Where"), [None], "boolean_mask")
        if axis == 0:  # TF gathers from a Reshape, whose gradient is dense
            return unmark_row_gather(gather(flat, idx, axis=axis, name="GatherV2"))
        return _gather_along(flat, idx, axis)


def sequence_mask(lengths: Any, maxlen: Any = None, dtype: Any = np.bool_,
                  name: str | None = None) -> Tensor:
    """``mask[..., j] = j < lengths[...]`` for ``j < maxlen`` (``None``: ``max(lengths)``, known
    when the graph runs, from a positions host op), as ``dtype``."""
    n = _t(lengths)
    if n.aval.shape is None:
        raise NotImplementedError("tf.sequence_mask needs lengths of known rank")
    if not n.dtype.is_integer:
        raise TypeError(f"Value passed to parameter 'lengths' has DataType {n.dtype.name} not "
                        f"in list of allowed values: int32, int64")
    m = as_graph_tensor(maxlen)
    if m is not None and m.op.type != "Const":
        raise NotImplementedError("tf.sequence_mask with maxlen given as a computed tensor is "
                                  "not supported; pass an int or leave it None")
    with composite(name, "SequenceMask", n) as stem:
        n64 = cast(n, np.int64)
        if maxlen is None:
            row = positions("upto", n64, "Range")
        else:
            top = int(np.asarray(m.op.params["value"] if m is not None else maxlen))
            row = _t(np.arange(top, dtype=np.int64))
        mask = _final(stem + "Less/", ops.lt, row, ops.expand_dims(n64, (n.ndim,)))
        want = as_dtype(dtype).np_dtype
        if want == np.bool_:
            return mask
        return _final(stem + "Cast_1/", ops.cast, mask, want)


def _gather_along(x: Tensor, idx: Tensor, axis: int) -> Tensor:
    """``gather`` along ``axis`` > 0: moved to the front, gathered, moved back."""
    perm = (axis,) + tuple(k for k in range(x.ndim) if k != axis)
    back = tuple(int(np.argsort(perm)[k]) for k in range(x.ndim))
    rows = gather(ops.permute(x, perm), idx, axis=0)
    return ops.permute(rows, back)


__all__ = ["PositionsOp", "positions", "where", "boolean_mask", "sequence_mask"]

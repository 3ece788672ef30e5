"""``Tensor.as_strided``/``torch.as_strided`` and ``Tensor.unfold(dim, size, step)`` as true views
(the records of ``staticgraph/ops/strided.py``): writing the result writes the input, the
gradient scatters back (``AsStridedBackward0``, ``UnfoldBackward0``), as PyTorch's.

PyTorch's ``as_strided`` indexes the tensor's *storage*. Here a tensor's storage is its base
tensor (the tensor its views were taken from) read in row-major order, so ``as_strided`` of a
view is taken on the base (sizes, strides and ``storage_offset`` in the base's elements, the
default offset the view's own ``storage_offset()``), and the gradient reaches the base as
PyTorch's does. A base whose array is not C-contiguous (a fresh non-contiguous result) is read as
its row-major copy: the result is then not a view of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from staticgraph import ops
from staticgraph.ops import Op, bind
from staticgraph.ops.strided import view_index

__all__ = ["STRIDED_VIEWS", "StridedMethods", "write_through"]

#: the view records whose in-place writes go through :func:`write_through`
STRIDED_VIEWS = frozenset({"as_strided", "unfold"})


def _ints(v: Any, what: str) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,)
    try:
        return tuple(int(s) for s in v)
    except TypeError:
        raise TypeError(f"as_strided(): argument '{what}' must be tuple of ints, but got "
                        f"{type(v).__name__}") from None


class StridedMethods:
    """``as_strided`` and ``unfold`` (attached to ``Tensor``)."""

    def as_strided(self, size, stride, storage_offset=None):
        """A view of this tensor's storage with ``size``/``stride`` (elements)."""
        base = self._base if self._base is not None else self
        start = base.storage_offset()
        offset = self.storage_offset() if storage_offset is None else int(storage_offset)
        if offset < start:
            raise RuntimeError(f"as_strided: storage_offset {offset} lies before the start "
                               f"({start}) of the tensor's storage")
        return ops.as_strided(base, _ints(size, "size"), _ints(stride, "stride"),
                              offset - start)

    def unfold(self, dimension, size, step):
        """The windows of ``size`` along ``dimension`` every ``step`` as a new last dim: a view
        (writing it writes ``self``; overlapping windows share elements)."""
        return ops.unfold(self, int(dimension), int(size), int(step))



def write_through(base: Any, op: Op, params: dict, rest: list, value: Any,
                  scatter: Callable[..., Any]) -> Any:
    """``base`` after ``value`` was written through the view ``op(base, **params)`` and the
    rest of the chain (``dynamic/_inplace._scatter``), differentiably: only the view positions
    written (``rest`` starting with an index: those it selects) go into ``base``, and where
    several of them share one element of ``base`` (overlapping windows) the last one, numpy's
    order of the data write, is the one kept, so the gradient reaches only the value stored."""
    index = view_index(op.name, tuple(base.shape), params)
    inner = bind(op, base, **params)
    view_shape = tuple(inner.shape)
    targets = [np.broadcast_to(ix, view_shape) for ix in index]
    if rest and rest[0][0].name == "getitem":  # ``w[1, 0] = 5``: only those positions
        sub = rest[0][1]["index"]
        positions = np.arange(math.prod(view_shape)).reshape(view_shape)[sub]
        new = scatter(bind(rest[0][0], inner, **rest[0][1]), rest[1:], value)
        targets = [t.reshape(-1)[positions.reshape(-1)] for t in targets]
    else:
        new = scatter(inner, rest, value)
        targets = [t.reshape(-1) for t in targets]
    flat = np.ravel_multi_index(tuple(targets), tuple(base.shape)) if targets else np.zeros(1)
    _, last_rev = np.unique(flat[::-1], return_index=True)
    keep = np.sort(len(flat) - 1 - last_rev)
    vals = ops.getitem(ops.reshape(new, (-1,)), (keep,))
    return ops.setitem(base, vals, tuple(t[keep] for t in targets))

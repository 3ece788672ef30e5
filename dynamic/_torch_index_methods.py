"""PyTorch's index writes: ``index_add``, ``index_copy``, ``index_fill``, ``index_put``,
``put_`` and ``masked_scatter``, out of place and in place.

Built from registry ops: ``index_grad`` (a scatter-add of values into zeros, what ``getitem``'s
VJP uses) for the adding writes, ``setitem`` for the overwriting ones, so both ``self`` and the
written values get gradients and ``dynamic.compile`` records them. The result carries PyTorch's
``grad_fn`` name (``IndexAddBackward0``...); the in-place forms bump the version counter and
rebase a view's base as every in-place op does (``_inplace.inplace``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph import ops
from staticgraph.ops.shapes import INDEX_GRAD

from ._inplace import inplace
from ._tensor import Tensor, to_tensor
from .autograd.graph import renamed

__all__ = ["IndexMethods"]


def _index_of(self: Tensor, dim: int, index: Any, name: str) -> tuple[tuple, int, np.ndarray]:
    """The numpy index selecting ``index`` along ``dim``, the normalized dim, the positions."""
    nd = max(self.dim(), 1)
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}]"
                         f", but got {dim})")
    dim %= nd
    idx = to_tensor(index)._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    idx = idx.reshape(-1).astype(np.int64)
    size = self._data.shape[dim] if self.dim() else 1
    bad = idx[(idx < -size) | (idx >= size)]
    if bad.size:
        raise IndexError(f"index out of range in self: index {int(bad[0])} is out of bounds "
                         f"for dimension {dim} with size {size}")
    return (slice(None),) * dim + (idx % max(size, 1), Ellipsis), dim, idx


def _check_source(self: Tensor, dim: int, idx: np.ndarray, source: Tensor, name: str) -> None:
    want = list(self._data.shape)
    if self.dim():
        want[dim] = idx.size
    if source.dim() and list(source._data.shape) != want:
        raise RuntimeError(f"{name}(): Source/destination tensor must have same slice shapes. "
                           f"Destination slice shape: {want} at dimension {dim} and source "
                           f"slice shape: {list(source._data.shape)} at dimension {dim}.")


class IndexMethods:
    """``index_add``/``index_copy``/``index_fill``/``index_put``/``put_``/``masked_scatter``
    (attached to ``Tensor``)."""

    def index_add(self, dim, index, source, *, alpha=1):
        ix, d, idx = _index_of(self, dim, index, "index_add")
        source = to_tensor(source)
        _check_source(self, d, idx, source, "index_add")
        src = source if alpha == 1 else ops.mul(source, alpha)
        if source._data.dtype != self._data.dtype:
            src = ops.cast(src, self._data.dtype)
        x = self if self.dim() else self.reshape(1)
        s = src if source.dim() == x.dim() else ops.reshape(src, (idx.size,) + x.shape[1:])
        out = ops.add(x, ops.bind(INDEX_GRAD, s, x, index=ix))
        return renamed(out if self.dim() else out.reshape(()), "IndexAddBackward0")

    def index_add_(self, dim, index, source, *, alpha=1):
        return inplace(self, lambda: self.index_add(dim, index, source, alpha=alpha),
                       "IndexAddBackward0")

    def index_copy(self, dim, index, source):
        ix, d, idx = _index_of(self, dim, index, "index_copy")
        source = to_tensor(source)
        _check_source(self, d, idx, source, "index_copy")
        if source._data.dtype != self._data.dtype:
            raise RuntimeError(f"index_copy_(): self and source expected to have the same "
                               f"dtype, but got (self) {self.dtype._legacy[:-6]} and (source) "
                               f"{source.dtype._legacy[:-6]}")
        return renamed(ops.setitem(self, source, ix), "IndexCopyBackward0")

    def index_copy_(self, dim, index, source):
        return inplace(self, lambda: self.index_copy(dim, index, source), "IndexCopyBackward0")

    def index_fill(self, dim, index, value):
        ix, _, _ = _index_of(self, dim, index, "index_fill")
        if isinstance(value, Tensor):
            if value.dim():
                raise RuntimeError("index_fill_ only supports a 0-dimensional value tensor, "
                                   f"but got tensor with {value.dim()} dimension(s).")
            v = ops.cast(value, self._data.dtype) if value._data.dtype != self._data.dtype \
                else value
            name = "IndexFillBackward1"
        else:
            v, name = np.asarray(value, self._data.dtype), "IndexFillBackward0"
        return renamed(ops.setitem(self, v, ix), name)

    def index_fill_(self, dim, index, value):
        name = "IndexFillBackward1" if isinstance(value, Tensor) else "IndexFillBackward0"
        return inplace(self, lambda: self.index_fill(dim, index, value), name)

    def index_put(self, indices, values, accumulate=False):
        ix = tuple(to_tensor(i)._data for i in indices)
        for i in ix:
            if i.dtype.kind not in "iub":
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 "tensors")
        values = to_tensor(values)
        if values._data.dtype != self._data.dtype:
            raise RuntimeError(f"Index put requires the source and destination dtypes match, "
                               f"got {self.dtype._legacy[:-6]} for the destination and "
                               f"{values.dtype._legacy[:-6]} for the source.")
        if not accumulate:
            return renamed(ops.setitem(self, values, ix), "IndexPutBackward0")
        sel_shape = np.zeros(self._data.shape, bool)[ix].shape
        v = values if tuple(values._data.shape) == sel_shape else values.expand(*sel_shape)
        return renamed(ops.add(self, ops.bind(INDEX_GRAD, v, self, index=ix)),
                       "IndexPutBackward0")

    def index_put_(self, indices, values, accumulate=False):
        return inplace(self, lambda: self.index_put(indices, values, accumulate),
                       "IndexPutBackward0")

    def put_(self, index, source, accumulate=False):
        """Writes ``source`` at the flat positions ``index`` (``PutBackward0``)."""
        idx = to_tensor(index)._data.reshape(-1).astype(np.int64)
        n = self._data.size
        bad = idx[(idx < -n) | (idx >= n)]
        if bad.size:
            raise IndexError(f"put_(): Expected a valid index in the range [{-n}, {n - 1}], "
                             f"but got {int(bad[0])}")
        src = to_tensor(source).reshape(-1)

        def compute():
            flat = self.reshape(-1)
            new = flat.index_put((idx % max(n, 1),), src, accumulate)
            return ops.reshape(new, tuple(self._data.shape))
        return inplace(self, compute, "PutBackward0")

    def masked_scatter(self, mask, source):
        """``source``'s first elements, in order, written where ``mask`` is True."""
        mask = to_tensor(mask)
        if mask._data.dtype != np.bool_:
            raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask "
                               f"with dtype {mask.dtype}")
        m = np.broadcast_to(mask._data, self._data.shape)
        k = int(m.sum())
        if source.numel() < k:
            raise RuntimeError("masked_scatter: expected source to have at least as many "
                               "elements as ones in mask")
        vals = ops.getitem(source.reshape(-1), (slice(0, k),))
        return renamed(ops.setitem(self, vals, (m,)), "MaskedScatterBackward0")

    def masked_scatter_(self, mask, source):
        return inplace(self, lambda: self.masked_scatter(mask, source),
                       "MaskedScatterBackward0")

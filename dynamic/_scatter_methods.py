"""``Tensor.scatter`` / ``scatter_`` / ``scatter_add_``: PyTorch's writes along one dim.

"Learn the basics" builds its one-hot target transform with
``torch.zeros(10).scatter_(0, torch.tensor(y), value=1)``. Built from registry ops: the written
positions are a constant mask, the written values a ``scatter_add`` of ``src`` into zeros, and the
result ``where(mask, written, self)``, so both ``self`` (outside the mask) and ``src`` get
gradients. Where indices repeat, the last entry in C order wins, as in PyTorch's CPU kernel
(PyTorch documents the case as nondeterministic); every entry's gradient is still the
gathered one, as PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph import ops

from ._inplace import inplace
from ._tensor import Tensor, make, to_tensor
from .autograd.graph import renamed

__all__ = ["ScatterMethods"]


def _checked_index(self: Tensor, dim: int, index: Any) -> tuple[Tensor, int]:
    """``index`` as a tensor of ``self``'s rank (a 0-d index of a 0/1-d tensor is one entry),
    with ``dim`` normalized; PyTorch's errors for a float index, a rank mismatch, a bad entry."""
    index = to_tensor(index)
    if index._data.dtype.kind not in "iu":
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    if index.dim() == 0 and self.dim() <= 1:
        index = index.reshape(1)
    if index.dim() != max(self.dim(), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    ndim = max(self.dim(), 1)
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {dim})")
    dim %= ndim
    size = self.shape[dim] if self.dim() else 1
    bad = index._data[(index._data < 0) | (index._data >= size)]
    if bad.size:
        raise RuntimeError(f"index {int(bad.flat[0])} is out of bounds for dimension {dim} "
                           f"with size {size}")
    return index, dim


def _scatter(self: Tensor, dim: int, index: Any, src: Any, reduce: str | None) -> Tensor:
    """The out-of-place result (``ScatterBackward0`` for a tensor ``src``, ``1`` for a number)."""
    index, dim = _checked_index(self, dim, index)
    flat = self.reshape(-1) if self.dim() == 0 else self
    if reduce is not None:
        if reduce != "add":
            raise NotImplementedError(f"scatter(reduce={reduce!r}) is not supported by this "
                                      "project; use reduce='add' or scatter_add")
        if not isinstance(src, Tensor):
            src = make(np.full(index.shape, src, dtype=self._data.dtype))
        return ops.scatter_add(flat, src, index, dim).reshape(self.shape)
    mask = np.zeros(flat._data.shape, dtype=bool)
    grid = list(np.indices(index._data.shape, sparse=True))
    grid[dim] = index._data
    mask[tuple(grid)] = True
    if isinstance(src, Tensor):
        keep = _last_writers(grid, index._data.shape, mask.shape)
        if keep is not None:  # repeated targets: the last write wins, as PyTorch's CPU loop
            src = src[tuple(slice(0, n) for n in index.shape)]  # and PyTorch's gradient:
            src = src - src.detach() * make((~keep).astype(src._data.dtype))  # all gathered
        written = ops.scatter_add(ops.zeros_like(flat), src, index, dim)
        out = ops.where(make(mask), written, flat)
        name = "ScatterBackward0"
    else:
        value = np.asarray(src).astype(self._data.dtype)
        out = ops.where(make(mask), make(np.broadcast_to(value, mask.shape).copy()), flat)
        name = "ScatterBackward1"
    return renamed(out.reshape(self.shape) if self.dim() == 0 else out, name)


def _last_writers(grid: list, ishape: tuple, shape: tuple) -> np.ndarray | None:
    """Where several index entries name one position: a mask of the entries that write last in
    C order (PyTorch's CPU kernel writes them in that order, so the last one stays), else None."""
    lin = np.ravel_multi_index(tuple(np.broadcast_to(g, ishape) for g in grid), shape).ravel()
    targets, first = np.unique(lin[::-1], return_index=True)
    if targets.size == lin.size:
        return None
    keep = np.zeros(lin.size, dtype=bool)
    keep[lin.size - 1 - first] = True
    return keep.reshape(ishape)


class ScatterMethods:
    """The scatter group of ``Tensor``'s methods (attached by ``_tensor_methods``)."""

    def scatter(self, dim: int, index: Any, src: Any = None, value: Any = None, *,
                reduce: str | None = None) -> Tensor:
        """``out[index[i][j]][j] = src[i][j]`` for ``dim=0`` (``src`` may be a number, or
        ``value=``)."""
        return _scatter(self, dim, index, value if src is None else src, reduce)

    def scatter_(self, dim: int, index: Any, src: Any = None, value: Any = None, *,
                 reduce: str | None = None) -> Tensor:
        """In-place ``scatter``."""
        return inplace(self, lambda: _scatter(self, dim, index, value if src is None else src,
                                              reduce))

    def scatter_add_(self, dim: int, index: Any, src: Tensor) -> Tensor:
        """In-place ``scatter_add`` (``ScatterAddBackward0``)."""
        return inplace(self, lambda: self.scatter_add(dim, index, src))

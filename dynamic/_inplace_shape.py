"""In-place shape methods of ``Tensor``: ``t_``, ``transpose_``, ``swapdims_``/``swapaxes_``,
``squeeze_``, ``unsqueeze_`` and ``resize_``/``resize_as_``.

They change a tensor's shape, not its values: the tensor takes the layout of the out-of-place view
(a new ndarray over the same memory) and that view's node as its ``grad_fn``, under PyTorch's
in-place node names (``TBackward1``, ``TransposeBackward1``, ``SqueezeBackward3/4/5``,
``UnsqueezeBackward1``). As in PyTorch the version counter is bumped (so a node that saved the
tensor refuses to run backward), a leaf that requires grad (or a view of one) is refused while
grad mode is on, and a view stays a view of its base (its chain of view ops grows by one).
``resize_`` reinterprets the storage as PyTorch does and refuses tensors that require grad.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from staticgraph import ops

from ._inplace import LEAF_MSG, VIEW_LEAF_MSG
from ._tensor import Tensor
from ._unsupported import UnsupportedError, message
from .autograd.forward_ad_engine import LEVELS, after_inplace
from .autograd.grad_mode import GRAD_ENABLED, check_not_inference
from .autograd.graph import node_class

__all__ = ["InplaceShapeMethods"]


def _dim_error(dim: int, nd: int) -> IndexError:
    lo, hi = -builtins.max(nd, 1), builtins.max(nd, 1) - 1
    return IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got "
                      f"{dim})")


def _check_dim(dim: int, nd: int) -> int:
    n = builtins.max(nd, 1)
    if not -n <= dim < n:
        raise _dim_error(dim, nd)
    return dim % n


def _restride(t: Tensor, view: Callable[[], Any], name: str) -> Tensor:
    """Give ``t`` the layout (and, recording, the node) of ``view()``, a view of ``t``."""
    check_not_inference(t)
    if GRAD_ENABLED[0]:
        if t._requires_grad and t._grad_fn is None:
            raise RuntimeError(LEAF_MSG)
        base = t._base
        if base is not None and base._requires_grad and base._grad_fn is None:
            raise RuntimeError(VIEW_LEAF_MSG)
    r = view()
    t._data = r._data
    t._aval = None
    t._vc[0] += 1
    if LEVELS:  # forward AD: the tangent takes the new layout too
        after_inplace(r, t)
    node = r._grad_fn if r._requires_grad else None
    if node is not None:
        node.__class__ = node_class(name)
        t._grad_fn, t._output_nr, t._requires_grad = node, r._output_nr, True
    if t._base is not None and t._view:  # still a view of the same base, one view op further
        t._view = r._view
    return t


def _storage(d: np.ndarray) -> tuple[np.ndarray, int]:
    """The contiguous 1-d array ``d`` lives in, and ``d``'s first element's offset in it."""
    root = d
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.c_contiguous or root.dtype != d.dtype:
        return np.ascontiguousarray(d).reshape(-1), 0
    flat = root.reshape(-1)
    start = d.__array_interface__["data"][0] - flat.__array_interface__["data"][0] if d.size else 0
    return flat, start // d.itemsize


def _unsupported(name: str, hint: str) -> property:
    """An attribute whose lookup raises the not-supported error (``hasattr`` answers no)."""

    def get(self: Tensor) -> Any:
        raise UnsupportedError(message(f"torch.Tensor.{name}", hint))

    return property(get)


class InplaceShapeMethods:
    """In-place shape methods (attached to ``Tensor``)."""

    def t_(self):
        nd = self.dim()
        if nd > 2:
            raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {nd}D")
        if nd < 2:
            return _restride(self, lambda: ops.reshape(self, tuple(self._data.shape)), "TBackward1")
        return _restride(self, lambda: ops.transpose(self, 0, 1), "TBackward1")

    def transpose_(self, dim0, dim1):
        nd = self.dim()
        d0, d1 = _check_dim(dim0, nd), _check_dim(dim1, nd)
        if nd < 2 or d0 == d1:
            return _restride(self, lambda: ops.reshape(self, tuple(self._data.shape)),
                             "TransposeBackward1")
        return _restride(self, lambda: ops.transpose(self, d0, d1), "TransposeBackward1")

    swapdims_ = transpose_
    swapaxes_ = transpose_

    def swapdims(self, dim0, dim1):
        return self.transpose(dim0, dim1)

    swapaxes = swapdims

    def squeeze_(self, dim=None):
        nd = self.dim()
        if dim is None:
            name, dims = "SqueezeBackward3", None
        elif isinstance(dim, (tuple, list)):
            name, dims = "SqueezeBackward5", tuple(_check_dim(d, nd) for d in dim)
        else:
            name, dims = "SqueezeBackward4", _check_dim(dim, nd)
        if nd == 0:
            return _restride(self, lambda: ops.reshape(self, ()), name)
        return _restride(self, lambda: ops.squeeze(self, dims), name)

    def unsqueeze_(self, dim):
        d = _check_dim(dim, self.dim() + 1)
        return _restride(self, lambda: ops.unsqueeze(self, d), "UnsqueezeBackward1")

    def resize_(self, *sizes, memory_format=None):
        """New shape over the same storage (row-major from the tensor's first element), grown
        with zeros when it needs more elements than the storage holds (PyTorch leaves those
        uninitialised); the same shape changes nothing. Not for tensors that require grad, as
        in PyTorch."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        shape = tuple(int(s) for s in sizes)
        if builtins.any(s < 0 for s in shape):
            raise RuntimeError("numel: integer multiplication overflow")
        if self._requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        check_not_inference(self)
        if shape == self._data.shape:  # PyTorch keeps the strides and the version
            return self
        n = int(np.prod(shape, dtype=np.int64))
        flat, start = _storage(self._data)
        if start + n <= flat.size:
            data = flat[start:start + n].reshape(shape)
        else:
            data = np.zeros(n, self._data.dtype)
            have = builtins.max(flat.size - start, 0)
            data[:have] = flat[start:start + have]
            data = data.reshape(shape)
        self._data = data
        self._aval = None
        self._vc[0] += 1
        return self

    def resize_as_(self, other, memory_format=None):
        return self.resize_(tuple(other._data.shape))

    # numpy strides are not PyTorch's storage strides
    as_strided_ = _unsupported("as_strided_", "use view/reshape, transpose or indexing")
    set_ = _unsupported("set_", "use copy_ or assign .data")

"""In-place ops: write a result into a tensor's storage and rebase its history.

An in-place op is computed out of place (so the usual node is recorded), then written into the
tensor's storage; the version counter (shared by views) is bumped, and the tensor takes the new
node as its ``grad_fn``. For a view, the base's history becomes a ``CopySlices`` node that
scatters the new view value into the old base, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from staticgraph import ops
from staticgraph.ops import bind

from . import _dtypes
from ._creation import ones, tensor, zeros
from ._random import generator_of
from ._tensor import Tensor, make
from ._torch_strided import STRIDED_VIEWS, write_through
from .autograd.forward_ad_engine import LEVELS, after_inplace
from .autograd.grad_mode import GRAD_ENABLED, check_not_inference
from .autograd.graph import node_class

__all__ = ["InplaceMethods", "check_inplace", "inplace", "layout_changed"]

LEAF_MSG = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_LEAF_MSG = ("a view of a leaf Variable that requires grad is being used in an in-place "
                 "operation.")


def check_inplace(t: Any) -> None:
    """PyTorch's checks before any in-place write (the leaf ones only while grad mode is on)."""
    check_not_inference(t)
    if not GRAD_ENABLED[0]:
        return
    if t._requires_grad and t._grad_fn is None:
        raise RuntimeError(LEAF_MSG)
    base = t._base
    if base is not None and base._requires_grad and base._grad_fn is None:
        raise RuntimeError(VIEW_LEAF_MSG)


def _type_name(dt: np.dtype) -> str:
    return _dtypes.from_numpy_dtype(dt)._legacy[:-len("Tensor")]


def inplace(t: Any, compute: Callable[[], Any], grad_name: str | None = None) -> Any:
    """Run ``compute()`` (the out-of-place result) and make it ``t``'s new value and history."""
    check_inplace(t)
    r = compute()
    data = r._data
    if data.shape != t._data.shape:
        raise RuntimeError(f"output with shape {list(t._data.shape)} doesn't match the broadcast "
                           f"shape {list(data.shape)}")
    if data.dtype != t._data.dtype:
        if not np.can_cast(data.dtype, t._data.dtype, "same_kind"):
            raise RuntimeError(f"result type {_type_name(data.dtype)} can't be cast to the "
                               f"desired output type {_type_name(t._data.dtype)}")
        r = ops.cast(r, t._data.dtype) if r._requires_grad else make(data.astype(t._data.dtype))
        data = r._data
    node = r._grad_fn if r._requires_grad else None
    if node is not None:
        if grad_name is not None:
            node.__class__ = node_class(grad_name)
        _protect_saved(node, t)
        if t._base is not None and t._view and layout_changed(t):
            raise RuntimeError(
                "in-place write to a view whose base changed shape in place (t_, transpose_, "
                "squeeze_, unsqueeze_, resize_) after the view was taken is not supported by "
                "this project; take the view again after the shape change, or clone() it")
    try:
        np.copyto(t._data, data, casting="unsafe")
    except ValueError as e:  # read-only storage (an expanded tensor)
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            f"single memory location. Please clone() the tensor before performing the operation. "
            f"({e})") from None
    t._vc[0] += 1
    if LEVELS:  # forward AD: the written tensor takes the result's tangents
        after_inplace(r, t)
    if node is None:
        return t
    if getattr(node, "_out", None) is not None:  # the saved output now lives in t's storage
        node._out, node._out_ver, node._out_saved = t._data, t._vc, t._vc[0]
    if t._base is not None and t._view:
        _rebase_view(t, r)
    else:
        _set_history(t, node, r._output_nr)
    return t


def _protect_saved(node: Any, t: Any) -> None:
    """The new node saved ``t`` itself: keep a snapshot of its old value (PyTorch saves the
    original ``self``) so the write below does not invalidate it."""
    stored = getattr(node, "_stored", None)
    if not stored or not node._saved_ver:
        return
    alias = None
    for i, a in enumerate(stored):
        if a is t:
            if alias is None:
                alias = make(t._data.copy(), t._requires_grad, t._grad_fn, t._output_nr,
                             [t._vc[0]])
            stored[i] = alias


def _set_history(t: Any, node: Any, nr: int) -> None:
    old = t._grad_fn
    if t._retains_grad and old is not None and old._retain:
        ref = old._retain.pop(t._output_nr, None)
        if ref is not None:
            if node._retain is None:
                node._retain = {}
            node._retain[nr] = ref
    t._grad_fn = node
    t._output_nr = nr
    t._requires_grad = True


def _rebase_view(view: Any, new_value: Any) -> None:
    """``view`` (of ``base``) now holds ``new_value``: give ``base`` a CopySlices history and
    ``view`` the view of that new history."""
    base = view._base
    new_base = _scatter(base, list(view._view), new_value)
    _set_history(base, new_base._grad_fn, new_base._output_nr)
    base._grad_fn.__class__ = node_class("CopySlices")
    v = base
    for op, params in view._view:
        v = bind(op, v, **params)
    _set_history(view, v._grad_fn, v._output_nr)


def layout_changed(view: Any) -> bool:
    """Whether ``view``'s chain of view ops, replayed on its base, no longer lands on ``view``'s
    memory (the base changed shape in place, ``t_()``..., after the view was taken)."""
    d = view._base._data
    for op, params in view._view:
        d = op.impl(d, **params)
    got, want = np.asarray(d), view._data
    return got.shape != want.shape or got.strides != want.strides or bool(
        got.size and got.__array_interface__["data"][0] != want.__array_interface__["data"][0])


def _scatter(base: Any, chain: list, value: Any) -> Any:
    """The base tensor after writing ``value`` through the chain of view ops (differentiable)."""
    if not chain:
        return value
    (op, params), rest = chain[0], chain[1:]
    if op.name in STRIDED_VIEWS:  # as_strided, unfold: overlapping views (_torch_strided)
        return write_through(base, op, params, rest, value, _scatter)
    inner = bind(op, base, **params)
    inner_new = _scatter(inner, rest, value)
    name = op.name
    if name == "getitem":
        return ops.setitem(base, inner_new, params["index"])
    if name == "permute":
        return bind(op, inner_new, perm=tuple(int(i) for i in np.argsort(params["perm"])))
    if op.reshaping:
        return ops.reshape_like(inner_new, base)
    if name == "diagonal":  # ``x.diagonal().add_(1)`` (``ops/diagonal.py``)
        return ops.diagonal_scatter(base, inner_new, **params)
    raise RuntimeError(f"in-place write through a {name} view is not supported")


class InplaceMethods:
    """``add_``, ``zero_``, ``copy_``, ``+=``... and the ``new_*`` constructors (attached to
    ``Tensor``)."""

    def __iadd__(self, o): return self.add_(o)
    def __isub__(self, o): return self.sub_(o)
    def __imul__(self, o): return self.mul_(o)
    def __itruediv__(self, o): return self.div_(o)

    # --------------------------------------------------------------------------- in-place
    def add_(self, other, alpha=1): return inplace(self, lambda: self.add(other, alpha))
    def sub_(self, other, alpha=1): return inplace(self, lambda: self.sub(other, alpha))
    def mul_(self, other): return inplace(self, lambda: ops.mul(self, other))
    def div_(self, other, *, rounding_mode=None):
        return inplace(self, lambda: self.div(other, rounding_mode=rounding_mode))
    def pow_(self, other): return inplace(self, lambda: ops.pow(self, other))
    def neg_(self): return inplace(self, lambda: ops.neg(self))
    def exp_(self): return inplace(self, lambda: ops.exp(self))
    def sqrt_(self): return inplace(self, lambda: ops.sqrt(self))
    def relu_(self): return inplace(self, lambda: ops.relu(self))

    def clamp_(self, min=None, max=None):  # noqa: A002
        return inplace(self, lambda: ops.clamp(self, min, max))

    def sigmoid_(self): return inplace(self, lambda: ops.sigmoid(self))
    def tanh_(self): return inplace(self, lambda: ops.tanh(self))
    def abs_(self): return inplace(self, lambda: ops.abs(self))

    def masked_fill_(self, mask, value):
        return inplace(self, lambda: self.masked_fill(mask, value), "MaskedFillBackward0")

    def zero_(self): return self._overwrite(0, "ZeroBackward0")
    def fill_(self, value): return self._overwrite(value, "FillBackward0")

    def copy_(self, src, non_blocking=False):
        return self._overwrite(src, "CopyBackwards")

    def _overwrite(self, value, name):
        """Replace every element (gradient: zero for the old value, through to ``value``)."""
        if isinstance(value, Tensor):
            if value._data.dtype != self._data.dtype:
                value = ops.cast(value, self._data.dtype)
        else:
            value = make(np.asarray(value).astype(self._data.dtype))
        if not (GRAD_ENABLED[0] and (self._requires_grad or value._requires_grad)) \
                and not LEVELS:
            check_inplace(self)
            np.copyto(self._data, np.broadcast_to(value._data, self._data.shape))
            self._vc[0] += 1
            return self
        keep = np.zeros((), bool)
        return inplace(self, lambda: ops.where(keep, self, value), name)

    def uniform_(self, a=0.0, b=1.0, generator=None):
        vals = generator_of(generator).uniform(a, b, self._data.shape)
        return self._overwrite_data(vals)

    def normal_(self, mean=0.0, std=1.0, generator=None):
        vals = generator_of(generator).normal(mean, std, self._data.shape)
        return self._overwrite_data(vals)

    def _overwrite_data(self, vals):
        return self._overwrite(make(np.asarray(vals, self._data.dtype)), "FillBackward0")

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

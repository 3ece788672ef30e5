"""Tensor methods and operators: thin calls into the shared op registry (``staticgraph.ops``).

Only names PyTorch gives a different ``grad_fn`` (``t()`` is ``TBackward0``, ``max(dim)`` is
``MaxBackward0``...) are renamed here after the op ran; everything else comes from the registry.
"""

from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

import numpy as np

from staticgraph import ops
from staticgraph.ops import Op

from . import _dtypes
from ._inplace import check_inplace, inplace
from .autograd.grad_mode import GRAD_ENABLED
from .autograd.graph import node_class

_pymax, _pymin, _pysum = builtins.max, builtins.min, builtins.sum


def renamed(t: Any, name: str) -> Any:
    """Give ``t``'s freshly recorded node PyTorch's class name for this call."""
    fn = t._grad_fn
    if fn is not None:
        fn.__class__ = node_class(name)
    return t


def _shape_arg(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, _dtypes.Size)):
        shape = tuple(shape[0])
    return tuple(int(d) for d in shape)


def _nograd_op(name: str, fn: Any, dtype_rule: str = "promote") -> Op:
    """A non-differentiable elementwise op local to the eager mode (``//``, ``%``)."""
    from staticgraph.ops.elementwise import elementwise_infer

    return Op(name=name, impl=fn, infer=elementwise_infer(dtype_rule), kind="elementwise",
              nin=2, dtype_rule=dtype_rule)


FLOOR_DIVIDE = _nograd_op("floor_divide", np.floor_divide)
REMAINDER = _nograd_op("remainder", np.remainder)
CLONE = Op(name="clone", impl=lambda x: np.array(x, copy=True), infer=lambda x: (x.shape, x.dtype),
           vjp=lambda g, out, x: (g,), grad_name="CloneBackward0")

ReturnMax = namedtuple("max", ["values", "indices"])
ReturnMin = namedtuple("min", ["values", "indices"])
for _cls in (ReturnMax, ReturnMin):
    _cls.__repr__ = lambda self: (f"torch.return_types.{type(self).__name__}(\nvalues="
                                  f"{self.values!r},\nindices={self.indices!r})")


def _index(idx: Any) -> Any:
    """Tensor indices become numpy arrays; basic indices get a trailing ``...`` so a 0-d result
    is still a view of the tensor (as in PyTorch)."""
    from ._tensor import Tensor

    items = idx if isinstance(idx, tuple) else (idx,)
    out, basic = [], True
    for i in items:
        if isinstance(i, Tensor):
            i = i._data
            if i.ndim == 0 and i.dtype.kind in "iu":
                i = int(i)
        if isinstance(i, (list, np.ndarray)):
            basic = False
        out.append(i)
    if basic and Ellipsis not in out:
        out.append(Ellipsis)
    return tuple(out)


class TensorMethods:
    """Operators and methods (mixed into ``Tensor``)."""

    __slots__ = ()

    # ------------------------------------------------------------------------ arithmetic
    def __add__(self, o): return ops.add(self, o)
    def __radd__(self, o): return ops.add(o, self)
    def __sub__(self, o): return ops.sub(self, o)
    def __rsub__(self, o): return ops.sub(o, self)
    def __mul__(self, o): return ops.mul(self, o)
    def __rmul__(self, o): return ops.mul(o, self)
    def __truediv__(self, o): return ops.div(self, o)
    def __rtruediv__(self, o): return ops.div(o, self)
    def __pow__(self, o): return ops.pow(self, o)
    def __rpow__(self, o): return ops.pow(o, self)
    def __matmul__(self, o): return ops.matmul(self, o)
    def __rmatmul__(self, o): return ops.matmul(o, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __floordiv__(self, o): return ops.bind(FLOOR_DIVIDE, self, o)
    def __rfloordiv__(self, o): return ops.bind(FLOOR_DIVIDE, o, self)
    def __mod__(self, o): return ops.bind(REMAINDER, self, o)
    def __lt__(self, o): return ops.lt(self, o)
    def __le__(self, o): return ops.le(self, o)
    def __gt__(self, o): return ops.gt(self, o)
    def __ge__(self, o): return ops.ge(self, o)
    def __and__(self, o): return ops.logical_and(self, o)
    def __or__(self, o): return ops.logical_or(self, o)
    def __invert__(self): return ops.logical_not(self)

    def __eq__(self, o):  # type: ignore[override]
        return False if o is None else ops.eq(self, o)

    def __ne__(self, o):  # type: ignore[override]
        return True if o is None else ops.ne(self, o)

    def __iadd__(self, o): return self.add_(o)
    def __isub__(self, o): return self.sub_(o)
    def __imul__(self, o): return self.mul_(o)
    def __itruediv__(self, o): return self.div_(o)

    def add(self, other, alpha=1):
        return ops.add(self, other if alpha == 1 else ops.mul(other, alpha))

    def sub(self, other, alpha=1):
        return ops.sub(self, other if alpha == 1 else ops.mul(other, alpha))

    def mul(self, o): return ops.mul(self, o)
    def div(self, o): return ops.div(self, o)
    def pow(self, o): return ops.pow(self, o)
    def matmul(self, o): return ops.matmul(self, o)
    multiply, divide, true_divide, subtract = mul, div, div, sub

    def mm(self, o):
        if self.dim() != 2 or o.dim() != 2:
            raise RuntimeError("self must be a matrix")
        return ops.matmul(self, o)

    def dot(self, o):
        if self.dim() != 1 or o.dim() != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.dim()}D and {o.dim()}D tensors")
        return ops.matmul(self, o)

    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def abs(self): return ops.abs(self)
    def neg(self): return ops.neg(self)
    def sign(self): return ops.sign(self)
    def square(self): return ops.square(self)
    def reciprocal(self): return ops.reciprocal(self)
    def maximum(self, o): return ops.maximum(self, o)
    def minimum(self, o): return ops.minimum(self, o)
    def eq(self, o): return ops.eq(self, o)
    def ne(self, o): return ops.ne(self, o)
    def lt(self, o): return ops.lt(self, o)
    def le(self, o): return ops.le(self, o)
    def gt(self, o): return ops.gt(self, o)
    def ge(self, o): return ops.ge(self, o)
    def logical_not(self): return ops.logical_not(self)

    def clamp(self, min=None, max=None):  # noqa: A002
        return ops.clamp(self, min, max)

    clip = clamp

    def clamp_min(self, m): return ops.clamp(self, m, None)
    def clamp_max(self, m): return ops.clamp(self, None, m)

    def where(self, condition, other):
        return ops.where(condition, self, other)

    def softmax(self, dim): return ops.softmax(self, dim)
    def log_softmax(self, dim): return ops.log_softmax(self, dim)

    # ------------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return ops.sum(x, dim, keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return ops.mean(x, dim, keepdim)

    def _extreme(self, dim, keepdim, fn, arg, pair, cls, full_name):
        from ._tensor import Tensor

        if dim is None:
            return fn(self)
        if isinstance(dim, Tensor):
            return pair(self, dim)
        values = renamed(fn(self, dim, keepdim), full_name)
        return cls(values, arg(self, dim, keepdim))

    def max(self, dim=None, keepdim=False):
        return self._extreme(dim, keepdim, ops.amax, ops.argmax, ops.maximum, ReturnMax,
                             "MaxBackward0")

    def min(self, dim=None, keepdim=False):
        return self._extreme(dim, keepdim, ops.amin, ops.argmin, ops.minimum, ReturnMin,
                             "MinBackward0")

    def amax(self, dim=(), keepdim=False):
        return ops.amax(self, None if dim == () else dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        return ops.amin(self, None if dim == () else dim, keepdim)

    def argmax(self, dim=None, keepdim=False): return ops.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return ops.argmin(self, dim, keepdim)
    def logsumexp(self, dim, keepdim=False): return ops.logsumexp(self, dim, keepdim)

    def var(self, dim=None, unbiased=True, keepdim=False, correction=None):
        corr = (1 if unbiased else 0) if correction is None else correction
        d = ops.sub(self, ops.mean(self, dim, keepdim=True))
        n = self.numel() if dim is None else int(np.prod(
            [self.shape[i] for i in np.atleast_1d(dim)]))
        return ops.div(ops.sum(ops.mul(d, d), dim, keepdim), _pymax(n - corr, 0))

    def std(self, dim=None, unbiased=True, keepdim=False, correction=None):
        return ops.sqrt(self.var(dim, unbiased, keepdim, correction))

    def all(self): return ops.bind(_ALL, self)
    def any(self): return ops.bind(_ANY, self)

    # ---------------------------------------------------------------------------- shapes
    def reshape(self, *shape): return ops.reshape(self, _shape_arg(shape))
    def view(self, *shape): return ops.reshape(self, _shape_arg(shape))
    def view_as(self, other): return ops.reshape(self, tuple(other.shape))
    def reshape_as(self, other): return ops.reshape(self, tuple(other.shape))

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        cur = (1,) * (len(sizes) - self.dim()) + tuple(self._data.shape)
        new = tuple(c if s == -1 else s for s, c in zip(sizes, cur, strict=False))
        return ops.broadcast_to(self, new)

    def expand_as(self, other): return ops.broadcast_to(self, tuple(other.shape))
    def broadcast_to(self, shape): return ops.broadcast_to(self, _shape_arg((shape,)))

    def t(self):
        if self.dim() > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.dim()}D")
        return renamed(ops.transpose(self, 0, 1), "TBackward0") if self.dim() == 2 else self

    @property
    def T(self):  # noqa: N802
        return self.permute(*range(self.dim() - 1, -1, -1)) if self.dim() >= 2 else self

    @property
    def mT(self):  # noqa: N802
        return ops.transpose(self, -2, -1)

    def transpose(self, dim0, dim1):
        return renamed(ops.transpose(self, dim0, dim1), "TransposeBackward0") \
            if self.dim() >= 2 else self

    def permute(self, *dims): return renamed(ops.permute(self, _shape_arg(dims)),
                                             "PermuteBackward0")
    def unsqueeze(self, dim): return ops.unsqueeze(self, dim)
    def squeeze(self, dim=None): return ops.squeeze(self, dim)

    def flatten(self, start_dim=0, end_dim=-1):
        nd = self.dim()
        if nd == 0:
            return ops.reshape(self, (1,))
        s, e = start_dim % nd, end_dim % nd
        shape = tuple(self._data.shape)
        return ops.reshape(self, shape[:s] + (-1,) + shape[e + 1:])

    def contiguous(self, *a, **k): return self
    def cpu(self): return self
    def is_contiguous(self, *a, **k): return True

    # ----------------------------------------------------------------------------- casts
    def to(self, *args, **kwargs):
        from ._tensor import Tensor

        dt = kwargs.get("dtype")
        for a in args:
            if isinstance(a, _dtypes.dtype):
                dt = a
            elif isinstance(a, Tensor):
                dt = a.dtype
        if dt is None or _dtypes.to_numpy_dtype(dt) == self._data.dtype:
            return self.clone() if kwargs.get("copy") else self
        return ops.cast(self, _dtypes.to_numpy_dtype(dt))

    def type(self, dtype=None):
        if dtype is None:
            return f"torch.{self.dtype._legacy}"
        return self.to(dtype)

    def float(self): return self.to(_dtypes.float32)
    def double(self): return self.to(_dtypes.float64)
    def half(self): return self.to(_dtypes.float16)
    def long(self): return self.to(_dtypes.int64)
    def int(self): return self.to(_dtypes.int32)
    def bool(self): return self.to(_dtypes.bool)
    def clone(self, *a, **k): return ops.bind(CLONE, self)
    def type_as(self, other): return self.to(other.dtype)

    # -------------------------------------------------------------------------- indexing
    def __getitem__(self, idx): return ops.getitem(self, _index(idx))

    def __setitem__(self, idx, value):
        from ._tensor import Tensor

        idx = _index(idx)
        base = self._base
        needs = GRAD_ENABLED[0] and (self._requires_grad or (
            isinstance(value, Tensor) and value._requires_grad) or (
            base is not None and base._requires_grad))
        if not needs:
            v = value._data if isinstance(value, Tensor) else value
            self._data[idx] = v
            self._vc[0] += 1
            return
        inplace(self, lambda: ops.setitem(self, value, idx))

    def __len__(self):
        if self.dim() == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self.dim() == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return builtins.bool(self._data.reshape(()))

    def __float__(self): return builtins.float(self.item())
    def __int__(self): return builtins.int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    # --------------------------------------------------------------------------- in-place
    def add_(self, other, alpha=1): return inplace(self, lambda: self.add(other, alpha))
    def sub_(self, other, alpha=1): return inplace(self, lambda: self.sub(other, alpha))
    def mul_(self, other): return inplace(self, lambda: ops.mul(self, other))
    def div_(self, other): return inplace(self, lambda: ops.div(self, other))
    def pow_(self, other): return inplace(self, lambda: ops.pow(self, other))
    def neg_(self): return inplace(self, lambda: ops.neg(self))
    def exp_(self): return inplace(self, lambda: ops.exp(self))
    def sqrt_(self): return inplace(self, lambda: ops.sqrt(self))
    def relu_(self): return inplace(self, lambda: ops.relu(self))

    def clamp_(self, min=None, max=None):  # noqa: A002
        return inplace(self, lambda: ops.clamp(self, min, max))

    def zero_(self): return self._overwrite(0, "ZeroBackward0")
    def fill_(self, value): return self._overwrite(value, "FillBackward0")

    def copy_(self, src, non_blocking=False):
        return self._overwrite(src, "CopyBackwards")

    def _overwrite(self, value, name):
        """Replace every element (gradient: zero for the old value, through to ``value``)."""
        from ._tensor import Tensor, make

        if isinstance(value, Tensor):
            if value._data.dtype != self._data.dtype:
                value = ops.cast(value, self._data.dtype)
        else:
            value = make(np.asarray(value).astype(self._data.dtype))
        if not (GRAD_ENABLED[0] and (self._requires_grad or value._requires_grad)):
            check_inplace(self)
            np.copyto(self._data, np.broadcast_to(value._data, self._data.shape))
            self._vc[0] += 1
            return self
        keep = np.zeros((), bool)
        return inplace(self, lambda: ops.where(keep, self, value), name)

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from ._random import generator_of

        vals = generator_of(generator).uniform(a, b, self._data.shape)
        return self._overwrite_data(vals)

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from ._random import generator_of

        vals = generator_of(generator).normal(mean, std, self._data.shape)
        return self._overwrite_data(vals)

    def _overwrite_data(self, vals):
        from ._tensor import make

        return self._overwrite(make(np.asarray(vals, self._data.dtype)), "FillBackward0")

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        from ._creation import zeros

        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        from ._creation import ones

        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False):
        from ._creation import tensor

        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return builtins.bool(np.allclose(self._data, np.asarray(other), rtol, atol, equal_nan))

    def equal(self, other):
        return self._data.shape == other._data.shape and builtins.bool(
            np.array_equal(self._data, other._data))


def _reduce_bool(fn):
    return Op(name=fn.__name__, impl=lambda x: np.asarray(fn(x)),
              infer=lambda x: ((), np.dtype(np.bool_)), kind="reduce")


_ALL = _reduce_bool(np.all)
_ANY = _reduce_bool(np.any)

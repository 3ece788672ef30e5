"""Shapes, views, indexing, sorting and dtype casts of ``Tensor`` (over the op registry).

Ops PyTorch implements as one primitive but the registry builds from several (``repeat``,
``flip``, ``index_select``...) are renamed to PyTorch's ``grad_fn`` after they ran.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from staticgraph import ops

from . import _dtypes
from ._creation import zeros
from ._device import check_device
from ._inplace import VIEW_LEAF_MSG, inplace
from ._local_ops import CLONE, CONTIGUOUS
from ._return_types import ReturnSort, ReturnTopk
from ._tensor import Tensor, make
from .autograd import composite
from .autograd.forward_ad_engine import LEVELS
from .autograd.grad_mode import GRAD_ENABLED, check_not_inference
from .autograd.graph import renamed


def shape_arg(shape: tuple) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f(torch.Size([2, 3]))`` all mean the shape ``(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, _dtypes.Size)):
        shape = tuple(shape[0])
    return tuple(int(d) for d in shape)


def index_arg(idx: Any) -> Any:
    """Tensor indices become numpy arrays; basic indices get a trailing ``...`` so a 0-d result
    is still a view of the tensor (as in PyTorch)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    out, basic = [], True
    for i in items:
        if isinstance(i, Tensor):
            i = i._data
            if i.ndim == 0 and i.dtype.kind in "iu":
                i = int(i)
        elif isinstance(i, range):
            i = np.arange(i.start, i.stop, i.step)
        if isinstance(i, (list, np.ndarray)):
            basic = False
        out.append(i)
    if basic and Ellipsis not in out:
        out.append(Ellipsis)
    return tuple(out)


class ShapeMethods:
    """Shape, indexing and cast methods (attached to ``Tensor``)."""

    # ---------------------------------------------------------------------------- shapes
    def reshape(self, *shape): return ops.reshape(self, shape_arg(shape))
    def view(self, *shape):
        """Like ``reshape`` but, as in PyTorch, refuses when the strides do not allow a view."""
        shape = shape_arg(shape)
        d = self._data
        if not d.flags.c_contiguous and d.size:
            try:
                np.reshape(d, shape, copy=False)
            except ValueError:
                if _valid_size(d, shape):  # a valid size, but not as a view
                    raise RuntimeError(
                        "view size is not compatible with input tensor's size and stride (at "
                        "least one dimension spans across two contiguous subspaces). Use "
                        ".reshape(...) instead.") from None
        return ops.reshape(self, shape)
    def view_as(self, other): return ops.reshape(self, tuple(other.shape))
    def reshape_as(self, other): return ops.reshape(self, tuple(other.shape))

    def expand(self, *sizes):
        sizes = shape_arg(sizes)
        cur = (1,) * (len(sizes) - self.dim()) + tuple(self._data.shape)
        new = tuple(c if s == -1 else s for s, c in zip(sizes, cur, strict=False))
        for i in reversed(range(len(new))):  # PyTorch reports the last mismatch first
            n, c = new[i], cur[i]
            if c != 1 and n != c:
                raise RuntimeError(
                    f"The expanded size of the tensor ({n}) must match the existing size ({c}) "
                    f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor "
                    f"sizes: {list(self._data.shape)}")
        return ops.broadcast_to(self, new)

    def expand_as(self, other): return ops.broadcast_to(self, tuple(other.shape))
    def broadcast_to(self, shape): return ops.broadcast_to(self, shape_arg((shape,)))

    def t(self):
        if self.dim() > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.dim()}D")
        if self.dim() == 2:
            return renamed(ops.transpose(self, 0, 1), "TBackward0")
        return renamed(ops.reshape(self, tuple(self._data.shape)), "TBackward0")  # an alias

    @property
    def T(self):  # noqa: N802
        return self.permute(*range(self.dim() - 1, -1, -1)) if self.dim() >= 2 else self

    @property
    def mT(self):  # noqa: N802
        return ops.transpose(self, -2, -1)

    def transpose(self, dim0, dim1):
        return renamed(ops.transpose(self, dim0, dim1), "TransposeBackward0") \
            if self.dim() >= 2 else self

    def permute(self, *dims):
        dims = shape_arg(dims)
        if len(dims) != self.dim():
            raise RuntimeError(
                "permute(sparse_coo): number of dimensions in the tensor input does not match "
                "the length of the desired ordering of dimensions i.e. input.dim() = "
                f"{self.dim()} is not equal to len(dims) = {len(dims)}")
        return renamed(ops.permute(self, dims),
                                             "PermuteBackward0")
    def unsqueeze(self, dim): return ops.unsqueeze(self, dim)
    def squeeze(self, dim=None):
        if isinstance(dim, (tuple, list)):  # PyTorch's node for a tuple of dims
            return renamed(ops.squeeze(self, tuple(dim)), "SqueezeBackward2")
        return ops.squeeze(self, dim)

    def flatten(self, start_dim=0, end_dim=-1):
        nd = self.dim()
        if nd == 0:
            return ops.reshape(self, (1,))
        s, e = start_dim % nd, end_dim % nd
        if s == e:
            return self  # PyTorch returns the tensor itself (no new node)
        shape = tuple(self._data.shape)
        return ops.reshape(self, shape[:s] + (-1,) + shape[e + 1:])

    def contiguous(self, *a, **k):
        return self if self._data.flags.c_contiguous else ops.bind(CONTIGUOUS, self)
    def cpu(self): return self

    def cuda(self, *a, **k):
        check_device("cuda")
    def is_contiguous(self, *a, **k): return builtins.bool(self._data.flags.c_contiguous)


    def repeat(self, *sizes):
        """Tile: ``x.repeat(2, 1)`` stacks two copies along dim 0. Recorded as registry ops
        (reshape, broadcast, reshape) cut behind ONE ``RepeatBackward0`` node over ``x``, as
        PyTorch's (``autograd/composite.py``)."""
        reps = shape_arg(sizes)
        if len(reps) < self.dim():
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        seq0 = composite.start()
        out = renamed(_tile(self, reps), "RepeatBackward0")
        return composite.wrap(out, "RepeatBackward0", (self,), seq0,
                              replay=lambda x: _tile(x, reps), saves=())

    def gather(self, dim, index):
        return ops.gather(self, index, dim)

    def scatter_add(self, dim, index, src):
        return ops.scatter_add(self, src, index, dim)

    def index_select(self, dim, index):
        idx = (slice(None),) * (dim % builtins.max(self.dim(), 1)) + (index._data,)
        return renamed(ops.getitem(self, idx), "IndexSelectBackward0")

    def narrow(self, dim, start, length):
        """``length`` entries of ``dim`` from ``start`` (a view; ``SliceBackward0`` even when
        it keeps the whole dim, as PyTorch's ``narrow``, where indexing records ``Alias``)."""
        nd = builtins.max(self.dim(), 1)
        if not -nd <= dim < nd:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, "
                             f"{nd - 1}], but got {dim})")
        dim %= nd
        size = self.shape[dim]
        start, length = builtins.int(start), builtins.int(length)
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, "
                             f"{size}], but got {start})")
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if start < 0:
            start += size
        if start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                               f"({size}).")
        return renamed(self[(slice(None),) * dim + (slice(start, start + length),)],
                       "SliceBackward0")

    def flip(self, *dims):
        dims = {d % self.dim() for d in shape_arg(dims)}
        idx = tuple(slice(None, None, -1) if i in dims else slice(None) for i in range(self.dim()))
        return renamed(ops.getitem(self, idx + (Ellipsis,)), "FlipBackward0")

    def roll(self, shifts, dims=None):
        if dims is None:
            return renamed(self.flatten().roll(shifts, 0).view(self.shape), "RollBackward0")
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        out = self
        for s, d in zip(shifts, dims, strict=True):
            n = self._data.shape[d]
            perm = np.roll(np.arange(n), s)
            out = ops.getitem(out, (slice(None),) * (d % self.dim()) + (perm,))
        return renamed(out, "RollBackward0")

    def split(self, split_size, dim=0):
        n = self._data.shape[dim]
        sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
            if isinstance(split_size, int) else list(split_size)
        out, start, pre = [], 0, (slice(None),) * (dim % self.dim())
        for s in sizes:
            out.append(renamed(ops.getitem(self, pre + (slice(start, start + s), Ellipsis)),
                               "SplitBackward0"))
            start += s
        return tuple(out)

    def chunk(self, chunks, dim=0):
        n = self._data.shape[dim]
        return self.split(-(-n // chunks), dim)

    def tril(self, diagonal=0):
        keep = np.tril(np.ones(self._data.shape[-2:], bool), diagonal)
        return renamed(ops.where(keep, self, 0), "TrilBackward0")

    def triu(self, diagonal=0):
        keep = np.triu(np.ones(self._data.shape[-2:], bool), diagonal)
        return renamed(ops.where(keep, self, 0), "TriuBackward0")

    def diag(self, diagonal=0):
        if self.dim() == 1:
            n = self._data.shape[0] + builtins.abs(diagonal)
            rows = np.arange(self._data.shape[0]) + builtins.max(-diagonal, 0)
            cols = np.arange(self._data.shape[0]) + builtins.max(diagonal, 0)
            base = zeros(n, n, dtype=self.dtype)
            return renamed(ops.setitem(base, self, (rows, cols)), "DiagEmbedBackward0")
        # sic: PyTorch names diag()'s node "DiagonalBackward0_copy"
        return renamed(ops.getitem(self, self._diag_index(diagonal)), "DiagonalBackward0_copy")

    def _diag_index(self, k):
        r, c = self._data.shape
        n = builtins.max(0, builtins.min(r - builtins.max(-k, 0), c - builtins.max(k, 0)))
        return (np.arange(n) + builtins.max(-k, 0), np.arange(n) + builtins.max(k, 0))

    def trace(self):
        return renamed(ops.sum(ops.getitem(self, self._diag_index(0))), "TraceBackward0")

    def sort(self, dim=-1, descending=False, stable=False):
        """PyTorch's order (NaN the largest: last ascending, first descending; equal entries by
        position), from the registry's ``topk_indices``; a 0-d tensor is its own sort."""
        d = self._sort_dim(dim)
        if self.dim() == 0:
            i = make(np.zeros((), np.int64))
            return ReturnSort(renamed(ops.reshape(self, ()), "SortBackward0"), i)
        i = ops.topk_indices(self, -1, "int64", largest=descending, nan_order="largest", axis=d)
        return ReturnSort(renamed(ops.gather(self, i, d), "SortBackward0"), i)

    def _sort_dim(self, dim) -> int:
        n = builtins.max(self.dim(), 1)
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, "
                             f"{n - 1}], but got {dim})")
        return dim % n

    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending).indices

    def msort(self):
        return self.sort(0).values

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002
        d = self._sort_dim(dim)
        size = self._data.shape[d] if self.dim() else 1
        if not 0 <= k <= size:
            raise RuntimeError("selected index k out of range")
        if self.dim() == 0:  # PyTorch: the tensor itself for k 0 or 1
            i = make(np.zeros((), np.int64))
            return ReturnTopk(renamed(ops.reshape(self, ()), "TopkBackward0"), i)
        i = ops.topk_indices(self, k, "int64", largest=largest, nan_order="largest", axis=d)
        return ReturnTopk(renamed(ops.gather(self, i, d), "TopkBackward0"), i)

    def unique(self, sorted=True, return_counts=False):  # noqa: A002
        vals, counts = np.unique(self._data, return_counts=True)
        return (make(vals), make(counts.astype(np.int64))) if return_counts else make(vals)

    def nonzero(self, as_tuple=False):
        nz = np.nonzero(self._data)
        if as_tuple:
            return tuple(make(a.astype(np.int64)) for a in nz)
        return make(np.stack(nz, axis=1).astype(np.int64).reshape(-1, self.dim()))

    # ----------------------------------------------------------------------------- casts
    def to(self, *args, **kwargs):
        dt = kwargs.get("dtype")
        check_device(kwargs.get("device"))
        for a in args:
            if isinstance(a, _dtypes.dtype):
                dt = a
            elif isinstance(a, Tensor):
                dt = a.dtype
            elif isinstance(a, str):
                check_device(a)
            elif isinstance(a, np.dtype) or a in (float, int, builtins.bool) or (
                    isinstance(a, type) and issubclass(a, np.generic)):
                dt = a  # numpy dtypes and types (``np.float64``; it was ignored)
            elif not isinstance(a, builtins.bool):  # (``non_blocking`` / ``copy``)
                raise TypeError(f"to() received an invalid argument {a!r}: expected a dtype, "
                                "a device or a tensor")
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
    def __getitem__(self, idx): return ops.getitem(self, index_arg(idx))

    def __setitem__(self, idx, value):
        idx = index_arg(idx)
        base = self._base
        needs = GRAD_ENABLED[0] and (self._requires_grad or (
            isinstance(value, Tensor) and value._requires_grad) or (
            base is not None and base._requires_grad))
        if not needs and not LEVELS:  # (forward AD: the tangent is written too)
            check_not_inference(self)
            v = value._data if isinstance(value, Tensor) else value
            self._data[idx] = v
            self._vc[0] += 1
            return
        if self._requires_grad and self._grad_fn is None and Ellipsis in idx:
            raise RuntimeError(VIEW_LEAF_MSG)  # PyTorch writes through a view of the leaf
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


def _tile(x: Tensor, reps: tuple) -> Tensor:
    """``x`` repeated ``reps`` times along each dim (leading dims added as needed)."""
    shape = (1,) * (len(reps) - x.dim()) + tuple(x._data.shape)
    inter = tuple(v for s in shape for v in (1, s))
    big = tuple(v for r, s in zip(reps, shape, strict=True) for v in (r, s))
    return ops.reshape(ops.broadcast_to(ops.reshape(x, inter), big),
                       tuple(r * s for r, s in zip(reps, shape, strict=True)))


def _valid_size(d: np.ndarray, shape: tuple) -> bool:
    try:
        np.reshape(np.broadcast_to(np.zeros((), d.dtype), d.shape), shape)
    except ValueError:
        return False
    return True

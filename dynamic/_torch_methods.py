"""More of PyTorch's ``Tensor`` methods: elementwise math on the new registry records
(``atan2``, ``fmod``, ``lgamma``...), composites with PyTorch's single ``grad_fn`` (``lerp``,
``addmm``, ``addcmul``, ``nan_to_num``...), ``diagonal`` as a view, ``unbind``, ``movedim``,
``repeat_interleave`` and the layout queries (``stride``, ``storage_offset``, ``data_ptr``).

The index writes (``index_add_``...) live in ``_torch_index_methods``. A composite built from
several registry ops records one node of PyTorch's name through ``autograd/composite.py``, whose
``replay`` runs the same body under ``create_graph``.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from staticgraph import ops

from ._creation import full
from ._inplace import inplace
from ._inplace_shape import _storage
from ._random import generator_of
from ._tensor import Tensor, make, to_tensor
from .autograd import composite
from .autograd.graph import renamed

__all__ = ["TorchApiMethods", "one_node"]


def one_node(name: str, body: Callable[..., Tensor], inputs: Sequence[Any],
             saves: Sequence[int] | None = None) -> Tensor:
    """``body(*inputs)`` recorded as ONE node called ``name`` with an edge per tensor input."""
    seq0 = composite.start()
    out = body(*inputs)
    tensors = tuple(t if isinstance(t, Tensor) else None for t in inputs)
    return composite.wrap(out, name, tensors, seq0, replay=body, saves=saves)


def _dim(dim: int, nd: int) -> int:
    n = builtins.max(nd, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _lerp_body(weight: Any) -> Callable[..., Tensor]:
    """PyTorch's two-sided lerp: ``start + w * (end - start)`` for ``|w| < 0.5``, else
    ``end - (end - start) * (1 - w)`` (exact at ``w = 1``)."""
    if isinstance(weight, Tensor):
        def body(s, e, w):
            d = ops.sub(e, s)
            return ops.where(ops.lt(ops.abs(w), 0.5), ops.add(s, ops.mul(w, d)),
                             ops.sub(e, ops.mul(d, ops.sub(1.0, w))))
        return body
    w = float(weight)
    if builtins.abs(w) < 0.5:
        return lambda s, e: ops.add(s, ops.mul(ops.sub(e, s), w))
    return lambda s, e: ops.sub(e, ops.mul(ops.sub(e, s), 1.0 - w))


def _float_result(name: str, t: Tensor) -> None:
    if t._data.dtype.kind != "f":
        raise RuntimeError(f"\"{name}\" not implemented for '{t.dtype._legacy[:-6]}'")


class TorchApiMethods:
    """Tensor methods PyTorch programs use often (attached to ``Tensor``)."""

    # ----------------------------------------------------------------- elementwise math
    def atan2(self, other): return ops.atan2(self, other)
    arctan2 = atan2
    def hypot(self, other): return ops.hypot(self, other)
    def fmod(self, other): return ops.fmod(self, other)
    def remainder(self, other): return ops.remainder(self, other)
    def floor_divide(self, other): return ops.floor_divide(self, other)
    def sinh(self): return ops.sinh(self)
    def cosh(self): return ops.cosh(self)
    def asinh(self): return ops.asinh(self)
    arcsinh = asinh
    def exp2(self): return ops.exp2(self)
    def lgamma(self): return ops.lgamma(self)
    def digamma(self): return ops.digamma(self)
    def erfinv(self): return ops.erfinv(self)

    def polygamma(self, n):
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        return ops.digamma(self) if n == 0 else ops.polygamma(self, n)

    def frac(self):
        """``x - trunc(x)`` (gradient 1, ``FracBackward0``)."""
        return one_node("FracBackward0", lambda x: ops.sub(x, ops.trunc(x)), (self,), ())

    def logit(self, eps=None):
        """``log(x / (1 - x))``, ``x`` first clamped to ``[eps, 1 - eps]`` when ``eps`` is
        given (gradient 0 outside that range, as PyTorch's ``LogitBackward0``)."""
        def body(x):
            z = x if eps is None else ops.clamp(x, eps, 1.0 - eps)
            return ops.log(ops.div(z, ops.sub(1.0, z)))
        return one_node("LogitBackward0", body, (self,))

    def xlogy(self, other):
        """``x * log(y)``, 0 where ``x == 0`` unless ``y`` is NaN (``XlogyBackward0``)."""
        def body(x, y):
            xl = ops.mul(x, ops.log(y))
            keep = ops.logical_or(ops.ne(x, 0), ops.ne(y, y))
            return ops.where(keep, xl, 0.0)
        return one_node("XlogyBackward0", body, (self, other))

    def lerp(self, end, weight):
        name = "LerpBackward1" if isinstance(weight, Tensor) else "LerpBackward0"
        inputs = (self, end, weight) if isinstance(weight, Tensor) else (self, end)
        return one_node(name, _lerp_body(weight), inputs)

    def addcmul(self, tensor1, tensor2, value=1):
        return one_node("AddcmulBackward0",
                        lambda s, a, b: ops.add(s, ops.mul(ops.mul(a, b), value)),
                        (self, tensor1, tensor2))

    def addcdiv(self, tensor1, tensor2, value=1):
        if tensor1._data.dtype.kind in "iub" and tensor2._data.dtype.kind in "iub":
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a "
                               "future release addcdiv will perform a true division of tensor1 "
                               "and tensor2. The historic addcdiv behavior can be implemented "
                               "as (input + value * torch.trunc(tensor1 / tensor2)).to(input."
                               "dtype) for integer inputs and as (input + value * tensor1 / "
                               "tensor2) for float inputs. The future addcdiv behavior is just "
                               "the latter implementation: (input + value * tensor1 / tensor2), "
                               "for all dtypes.")
        return one_node("AddcdivBackward0",
                        lambda s, a, b: ops.add(s, ops.mul(ops.div(a, b), value)),
                        (self, tensor1, tensor2))

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        if mat1.dim() != 2 or mat2.dim() != 2:
            raise RuntimeError(f"{'mat1' if mat1.dim() != 2 else 'mat2'} must be a matrix, got "
                               f"{(mat1 if mat1.dim() != 2 else mat2).dim()}-D tensor")
        if mat1.shape[1] != mat2.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x"
                               f"{mat1.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")

        def body(s, a, b):
            p = ops.matmul(a, b)
            p = p if alpha == 1 else ops.mul(p, alpha)
            if beta == 0:  # PyTorch ignores ``self`` (NaN included) when beta is 0
                return ops.add(p, ops.mul(ops.zeros_like(s), 0.0))
            return ops.add(s if beta == 1 else ops.mul(s, beta), p)
        return one_node("AddmmBackward0", body, (self, mat1, mat2))

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN, +inf, -inf replaced (by default 0 and the dtype's largest/smallest finite
        values); the gradient is 0 at the replaced entries (``NanToNumBackward0``)."""
        d = self._data
        if d.dtype.kind != "f":
            return self.clone()
        fi = np.finfo(d.dtype)
        hi = fi.max if posinf is None else posinf
        lo = fi.min if neginf is None else neginf
        repl = np.where(np.isnan(d), d.dtype.type(nan),
                        np.where(d > 0, d.dtype.type(hi), d.dtype.type(lo))).astype(d.dtype)
        finite = np.isfinite(d)
        return one_node("NanToNumBackward0", lambda x: ops.where(finite, x, repl), (self,), ())

    def isnan(self): return make(np.isnan(self._data))
    def isinf(self): return make(np.isinf(self._data))
    def isfinite(self): return make(np.isfinite(self._data))
    def isposinf(self): return make(np.isposinf(self._data))
    def isneginf(self): return make(np.isneginf(self._data))

    def sign_(self): return inplace(self, lambda: ops.sign(self))
    def clamp_min_(self, m): return inplace(self, lambda: ops.clamp(self, m, None))
    def clamp_max_(self, m): return inplace(self, lambda: ops.clamp(self, None, m))
    def fmod_(self, other): return inplace(self, lambda: ops.fmod(self, other))
    def remainder_(self, other): return inplace(self, lambda: ops.remainder(self, other))
    def atan2_(self, other): return inplace(self, lambda: ops.atan2(self, other))
    def lerp_(self, end, weight): return inplace(self, lambda: self.lerp(end, weight))

    def addcmul_(self, tensor1, tensor2, value=1):
        return inplace(self, lambda: self.addcmul(tensor1, tensor2, value))

    def addcdiv_(self, tensor1, tensor2, value=1):
        return inplace(self, lambda: self.addcdiv(tensor1, tensor2, value))

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        return inplace(self, lambda: self.addmm(mat1, mat2, beta=beta, alpha=alpha))

    # ---------------------------------------------------------------------- shapes/views
    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The diagonal as the last dim, a view: writing it writes ``self``."""
        try:
            return ops.diagonal(self, offset, dim1, dim2)
        except ValueError as e:
            raise RuntimeError(str(e)) from None

    def unbind(self, dim=0):
        d = _dim(dim, self.dim())
        pre = (slice(None),) * d
        return tuple(renamed(ops.getitem(self, pre + (i, Ellipsis)), "UnbindBackward0")
                     for i in range(self._data.shape[d]))

    def movedim(self, source, destination):
        nd = self.dim()
        src = [source] if isinstance(source, int) else list(source)
        dst = [destination] if isinstance(destination, int) else list(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} "
                               f"dims) should contain the same number of dims as destination "
                               f"({dst} dims)")
        src = [_dim(s, nd) for s in src]
        dst = [_dim(s, nd) for s in dst]
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError("movedim: repeated dim in `source` or `destination`")
        order = [i for i in range(nd) if i not in src]
        perm = [0] * nd
        for s, t in zip(src, dst, strict=True):
            perm[t] = s
        rest = iter(order)
        perm = [perm[i] if i in dst else next(rest) for i in range(nd)]
        return renamed(ops.permute(self, tuple(perm)), "PermuteBackward0")

    moveaxis = movedim

    def unflatten(self, dim, sizes):
        d = _dim(dim, self.dim())
        sizes = tuple(int(s) for s in sizes)
        shape = tuple(self._data.shape)
        known = math.prod(s for s in sizes if s != -1)
        if (-1 not in sizes and known != shape[d]) or (known and shape[d] % known):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to "
                               f"the size of dim {dim} ({shape[d]}) in the input tensor")
        return ops.reshape(self, shape[:d] + sizes + shape[d + 1:])

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _dim(dim, self.dim())
        n = x._data.shape[d] if x.dim() else 1
        if isinstance(repeats, Tensor) and repeats.numel() != 1:
            reps = repeats._data.astype(np.int64).reshape(-1)
            if reps.size != n:
                raise RuntimeError("repeats must have the same size as input along dim")
            if (reps < 0).any():
                raise RuntimeError("repeats can not be negative")
            idx = np.repeat(np.arange(n), reps)
            return renamed(ops.getitem(x, (slice(None),) * d + (idx, Ellipsis)),
                           "IndexSelectBackward0")
        r = int(repeats.item() if isinstance(repeats, Tensor) else repeats)
        if r < 0:
            raise RuntimeError("repeats can not be negative")
        shape = tuple(x._data.shape)
        big = shape[:d + 1] + (r,) + shape[d + 1:]
        y = ops.broadcast_to(ops.unsqueeze(x, d + 1), big)
        return ops.reshape(y, shape[:d] + (shape[d] * r,) + shape[d + 1:])

    def new_full(self, size, fill_value, *, dtype=None, requires_grad=False, device=None):
        return full(tuple(size), fill_value, dtype=dtype or self.dtype,
                    requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False, device=None):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        return full(tuple(int(s) for s in size), 0, dtype=dtype or self.dtype,
                    requires_grad=requires_grad)

    def take(self, index):
        idx = to_tensor(index)._data
        n = self._data.size
        bad = idx[(idx < -n) | (idx >= n)]
        if bad.size:
            raise IndexError(f"out of range: tried to access index {int(bad.flat[0])} on a "
                             f"tensor of {n} elements.")
        return renamed(ops.getitem(self.reshape(-1), (idx % builtins.max(n, 1),)),
                       "TakeBackward0")

    def masked_select(self, mask):
        mask = to_tensor(mask)
        if mask._data.dtype != np.bool_:
            raise RuntimeError(f"masked_select: expected BoolTensor for mask, got "
                               f"{mask.dtype._legacy}")
        shape = np.broadcast_shapes(self._data.shape, mask._data.shape)
        x = self if tuple(self._data.shape) == shape else self.expand(*shape)
        m = np.broadcast_to(mask._data, shape)
        return renamed(ops.getitem(x, (m,)), "MaskedSelectBackward0")

    # ----------------------------------------------------------------- reductions/queries
    def count_nonzero(self, dim=None):
        return make(np.asarray(np.count_nonzero(self._data, axis=dim), np.int64))

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        d = _dim(dim, self.dim())

        def edge(t):  # a number or 0-d tensor fills a slice of size 1 along ``dim``
            t = to_tensor(t)
            if t.dim():
                return t
            shape = list(self._data.shape)
            shape[d] = 1
            return t.expand(*shape)
        parts = ([edge(prepend)] if prepend is not None else []) + [self] + (
            [edge(append)] if append is not None else [])
        x = ops.cat(parts, d) if len(parts) > 1 else self
        d = _dim(dim, x.dim())
        pre = (slice(None),) * d
        for _ in range(n):
            hi, lo = x[pre + (slice(1, None),)], x[pre + (slice(None, -1),)]
            x = ops.ne(hi, lo) if x._data.dtype == np.bool_ else ops.sub(hi, lo)
        return x

    def stride(self, dim=None):
        """Strides in elements (0 along an expanded dim), as PyTorch's."""
        d = self._data
        st = tuple(s // d.itemsize for s in d.strides)
        return st if dim is None else st[_dim(dim, d.ndim)]

    def storage_offset(self):
        """Elements from the storage's start (a view's, counted in its base tensor's storage)."""
        root = self._base._data if self._base is not None else self._data
        d = self._data
        if not d.size or not root.size:
            return _storage(root)[1]
        ptr = d.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return _storage(root)[1] + ptr // d.itemsize
    def element_size(self): return self._data.itemsize
    def data_ptr(self): return int(self._data.__array_interface__["data"][0])

    # ------------------------------------------------------------------------- sampling
    def bernoulli_(self, p=0.5, *, generator=None):
        prob = p._data if isinstance(p, Tensor) else p
        vals = generator_of(generator).random(self._data.shape) < prob
        return self._overwrite(make(vals.astype(self._data.dtype)), "FillBackward0")

    def exponential_(self, lambd=1.0, *, generator=None):
        _float_result("exponential_", self)
        vals = generator_of(generator).exponential(1.0 / lambd, self._data.shape)
        return self._overwrite(make(vals.astype(self._data.dtype)), "FillBackward0")

    def random_(self, from_=0, to=None, *, generator=None):
        if to is None:
            from_, to = 0, from_ if from_ else (2 ** 24 if self._data.dtype == np.float32
                                               else 2 ** 53 if self._data.dtype == np.float64
                                               else np.iinfo(self._data.dtype).max)
        vals = generator_of(generator).integers(from_, to, self._data.shape)
        return self._overwrite(make(vals.astype(self._data.dtype)), "FillBackward0")

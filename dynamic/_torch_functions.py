"""More ``torch.*`` functions PyTorch programs use: comparisons (``isclose``), grids
(``meshgrid``, ``broadcast_tensors``, ``cartesian_prod``), products (``tensordot``, ``baddbmm``,
``kron``, ``cross``, ``cdist``), selections (``take_along_dim``, ``block_diag``, ``diag_embed``),
statistics (``std_mean``, ``aminmax``, ``median``, ``kthvalue``...), ``searchsorted``/
``bucketize``/``bincount`` and ``finfo``/``iinfo``.

Each is written with public op functions or the Tensor methods, so gradients, ``grad_fn`` and
``dynamic.compile`` capture come from the registry. ``_NAMES`` lists the functions that are
just ``input.<name>(...)``; ``dynamic/__init__`` exports both kinds.
"""

from __future__ import annotations

import builtins
import itertools
from collections import namedtuple
from typing import Any

import numpy as np

from staticgraph import ops

from . import _dtypes
from ._creation import zeros
from ._einsum import einsum  # noqa: F401 - exported (EXPORTS)
from ._functional import _method
from ._tensor import Tensor, make, to_tensor
from ._torch_methods import one_node
from .autograd.graph import renamed

# torch.f(input, ...) is input.f(...) for these
_NAMES = tuple(
    ("atan2 arctan2 hypot fmod remainder floor_divide sinh cosh asinh arcsinh exp2 lgamma "
          "digamma erfinv frac logit xlogy lerp addcmul addcdiv addmm nan_to_num diagonal "
          "unbind movedim moveaxis unflatten repeat_interleave take masked_select count_nonzero "
          "diff index_add index_copy index_fill index_put masked_scatter isinf isposinf "
     "isneginf cummax cummin logcumsumexp kthvalue median nanmedian as_strided").split())
globals().update({n: _method(n) for n in _NAMES})
# the functions of this module ``dynamic/__init__`` exports under the same name
EXPORTS = _NAMES + tuple("isclose allclose broadcast_shapes broadcast_tensors meshgrid "
                    "cartesian_prod combinations tensordot baddbmm kron cross dist cdist "
                    "take_along_dim block_diag diag_embed diagonal_scatter nansum nanmean "
                    "aminmax std_mean var_mean searchsorted bucketize bincount histc finfo "
                    "iinfo einsum polygamma".split())


def polygamma(n: int, input: Any) -> Tensor:  # noqa: A002 - PyTorch's order: n first
    return to_tensor(input).polygamma(n)


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
            equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (bool, no gradient)."""
    a, b = to_tensor(input), to_tensor(other)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{a.dtype} did not match {b.dtype}")
    x, y = a._data, b._data
    with np.errstate(invalid="ignore", over="ignore"):
        out = x == y
        if x.dtype.kind in "fc":
            out = out | (np.isfinite(x) & np.isfinite(y) & (
                np.abs(x - y) <= atol + rtol * np.abs(y)))
            if equal_nan:
                out = out | (np.isnan(x) & np.isnan(y))
        elif x.dtype.kind in "iu":
            out = np.abs(x.astype(np.float64) - y) <= atol + rtol * np.abs(y.astype(np.float64))
    return make(np.asarray(out, bool))


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
             equal_nan: bool = False) -> bool:
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def broadcast_shapes(*shapes: Any) -> _dtypes.Size:
    try:
        return _dtypes.Size(np.broadcast_shapes(*(tuple(s) if not isinstance(s, int) else (s,)
                                                  for s in shapes)))
    except ValueError:
        raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single shape: "
                           f"{[list(s) for s in shapes]}") from None


def broadcast_tensors(*tensors: Any) -> tuple:
    ts = [to_tensor(t) for t in tensors]
    shape = broadcast_shapes(*(t.shape for t in ts))
    return tuple(t if t.shape == shape else t.expand(*shape) for t in ts)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Grids of 1-d tensors; ``indexing="ij"`` (the default, PyTorch's) or ``"xy"``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = [to_tensor(t) for t in tensors]
    for t in ts:
        if t.dim() > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t}")
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    shape = tuple(t.numel() for t in ts)
    out = []
    for k, t in enumerate(ts):
        view = [1] * len(ts)
        view[k] = -1
        out.append(t.reshape(*view).expand(*shape))
    if indexing == "xy" and len(ts) >= 2:  # the first two dims swapped
        out = [o.transpose(0, 1) for o in out]
    return tuple(out)


def cartesian_prod(*tensors: Any) -> Tensor:
    if len(tensors) == 1:
        return to_tensor(tensors[0])
    grids = meshgrid(*tensors, indexing="ij")
    return ops.stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:  # noqa: A002
    n = input.shape[0]
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(pick(range(n), r)), np.int64).reshape(-1, r)
    if not idx.size:
        return make(np.zeros((0, r) if r else (0,), input._data.dtype))
    return ops.stack([ops.getitem(input, (idx[:, k],)) for k in range(r)], 1)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Any = None) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b`` (or the given lists)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da, db = [d % a.dim() for d in da], [d % b.dim() for d in db]
    for i, j in zip(da, db, strict=True):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[i]} in dim {i} and second has size {b.shape[j]} in "
                               f"dim {j}")
    ka = [i for i in range(a.dim()) if i not in da]
    kb = [j for j in range(b.dim()) if j not in db]
    k = int(np.prod([a.shape[i] for i in da]))
    am = ops.reshape(ops.permute(a, tuple(ka + da)), (-1, k))
    bm = ops.reshape(ops.permute(b, tuple(db + kb)), (k, -1))
    return ops.reshape(ops.matmul(am, bm), tuple(a.shape[i] for i in ka) +
                       tuple(b.shape[j] for j in kb))


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1,  # noqa: A002
            alpha: float = 1) -> Tensor:
    if batch1.dim() != 3 or batch2.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if batch1.dim() != 3 else
                           "batch2 must be a 3D tensor")

    def body(s, a, b):
        p = ops.matmul(a, b)
        p = p if alpha == 1 else ops.mul(p, alpha)
        return p if beta == 0 else ops.add(s if beta == 1 else ops.mul(s, beta), p)
    return one_node("BaddbmmBackward0", body, (to_tensor(input), batch1, batch2))


def kron(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    a, b = to_tensor(input), to_tensor(other)
    nd = max(a.dim(), b.dim())
    a = a.reshape(*(1,) * (nd - a.dim()), *a.shape)
    b = b.reshape(*(1,) * (nd - b.dim()), *b.shape)
    ai = [v for s in a.shape for v in (s, 1)]
    bi = [v for s in b.shape for v in (1, s)]
    prod = ops.mul(a.reshape(*ai), b.reshape(*bi))
    return prod.reshape(*(x * y for x, y in zip(a.shape, b.shape, strict=True)))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:  # noqa: A002
    a, b = broadcast_tensors(input, other)
    if dim is None:
        dim = next((i for i, s in enumerate(a.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = dim % a.dim()
    if a.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[d]} and {b.shape[d]}")
    pre = (slice(None),) * d

    def c(t, i):
        return ops.getitem(t, pre + (i, Ellipsis))
    parts = [ops.sub(ops.mul(c(a, (i + 1) % 3), c(b, (i + 2) % 3)),
                     ops.mul(c(a, (i + 2) % 3), c(b, (i + 1) % 3))) for i in range(3)]
    return renamed(ops.stack(parts, d), "LinalgCrossBackward0")


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:  # noqa: A002
    return renamed((to_tensor(input) - other).norm(p), "DistBackward0")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: Any = None) -> Tensor:
    """Pairwise ``p``-norm distances between the rows of ``x1`` and ``x2`` (``..., P, M`` and
    ``..., R, M`` give ``..., P, R``)."""
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    diff = ops.sub(ops.unsqueeze(x1, -2), ops.unsqueeze(x2, -3))
    return renamed(diff.norm(p, dim=-1), "CdistBackward0")


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:  # noqa: A002
    if dim is None:
        return renamed(ops.gather(input.reshape(-1), indices.reshape(-1), 0),
                       "GatherBackward0")
    d = dim % input.dim()
    shape = list(np.broadcast_shapes(
        tuple(s for i, s in enumerate(input.shape) if i != d),
        tuple(s for i, s in enumerate(indices.shape) if i != d)))
    xs = shape[:d] + [input.shape[d]] + shape[d:]
    ix = shape[:d] + [indices.shape[d]] + shape[d:]
    x = input if list(input.shape) == xs else input.expand(*xs)
    i = indices if list(indices.shape) == ix else indices.expand(*ix)
    return renamed(ops.gather(x, make(np.ascontiguousarray(i._data)), d),
                   "GatherBackward0")


def block_diag(*tensors: Any) -> Tensor:
    ts = [to_tensor(t) for t in tensors]
    ts = [t.reshape(1, -1) if t.dim() < 2 else t for t in ts]
    rows, cols = sum(t.shape[0] for t in ts), sum(t.shape[1] for t in ts)
    dt = np.result_type(*(t._data.dtype for t in ts)) if ts else np.float32
    out = zeros(rows, cols, dtype=_dtypes.from_numpy_dtype(np.dtype(dt)))
    r = c = 0
    for t in ts:
        out = ops.setitem(out, t, (slice(r, r + t.shape[0]), slice(c, c + t.shape[1])))
        r, c = r + t.shape[0], c + t.shape[1]
    return renamed(out, "BlockDiagBackward0")


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: A002
    n = input.shape[-1] + builtins.abs(offset)
    nd = input.dim() + 1
    d1, d2 = dim1 % nd, dim2 % nd
    shape = list(input.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, n)
    base = zeros(*shape, dtype=input.dtype)
    return renamed(ops.diagonal_scatter(base, input, offset, d1, d2), "DiagEmbedBackward0")


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,  # noqa: A002
                     dim2: int = 1) -> Tensor:
    return ops.diagonal_scatter(input, src, offset, dim1, dim2)


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    z = ops.where(input.isnan(), 0.0, input)
    return renamed(z.sum() if dim is None else z.sum(dim, keepdim), "NansumBackward0")


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    n = (~input.isnan()).sum() if dim is None else (~input.isnan()).sum(dim, keepdim)
    return nansum(input, dim, keepdim) / n


_Pair = namedtuple("aminmax", ["min", "max"])


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    if dim is None:
        return _Pair(input.amin(), input.amax())
    return _Pair(input.amin(dim, keepdim), input.amax(dim, keepdim))


def std_mean(input: Tensor, dim: Any = None, unbiased: bool = True, keepdim: bool = False,  # noqa: A002
             *, correction: Any = None) -> tuple:
    return _pair_named("StdMeanBackward0", input.std(dim, unbiased, keepdim, correction),
                       input.mean() if dim is None else input.mean(dim, keepdim))


def var_mean(input: Tensor, dim: Any = None, unbiased: bool = True, keepdim: bool = False,  # noqa: A002
             *, correction: Any = None) -> tuple:
    return _pair_named("VarMeanBackward0", input.var(dim, unbiased, keepdim, correction),
                       input.mean() if dim is None else input.mean(dim, keepdim))


def _pair_named(name: str, a: Tensor, b: Tensor) -> tuple:
    """PyTorch's one ``VarMeanBackward0``/``StdMeanBackward0`` for both outputs: here two
    nodes (the same gradients, summed by the engine) under that class name."""
    return renamed(a, name), renamed(b, name)


def searchsorted(sorted_sequence: Tensor, values: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Any = None) -> Tensor:
    s = to_tensor(sorted_sequence)._data
    v = to_tensor(values)._data
    how = "right" if right or side == "right" else "left"
    if s.ndim <= 1:
        out = np.searchsorted(s, v, how)
    else:
        if s.shape[:-1] != v.shape[:-1]:
            raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension "
                               "or the first N-1 dimensions of boundaries tensor and input "
                               "value tensor must match")
        out = np.stack([np.searchsorted(a, b, how) for a, b in
                        zip(s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1]),
                            strict=True)]).reshape(v.shape)
    return make(np.asarray(out, np.int32 if out_int32 else np.int64))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False,  # noqa: A002
              right: bool = False) -> Tensor:
    if to_tensor(boundaries).dim() != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{to_tensor(boundaries).dim()})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:  # noqa: A002
    x = to_tensor(input)._data
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if x.size and x.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    w = None if weights is None else to_tensor(weights)._data
    out = np.bincount(x, w, minlength)
    return make(out.astype(np.int64 if w is None else
                           (w.dtype if w.dtype.kind == "f" else np.float64)))


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    x = to_tensor(input)._data
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    counts, _ = np.histogram(x[(x >= lo) & (x <= hi)], bins, (lo, hi))
    return make(counts.astype(x.dtype))


class finfo:  # noqa: N801 - PyTorch's name
    """``torch.finfo(torch.float32)``: ``eps``, ``max``, ``min``, ``tiny``, ``bits``..."""

    def __init__(self, type: Any = None) -> None:  # noqa: A002
        fi = np.finfo(_dtypes.to_numpy_dtype(type or _dtypes.float32))
        self.bits, self.eps, self.max, self.min = fi.bits, float(fi.eps), float(fi.max), \
            float(fi.min)
        self.tiny = self.smallest_normal = float(fi.tiny)
        self.resolution, self.dtype = 10.0 ** -fi.precision, str(fi.dtype)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:  # noqa: N801
    """``torch.iinfo(torch.int64)``: ``bits``, ``max``, ``min``."""

    def __init__(self, type: Any) -> None:  # noqa: A002
        ii = np.iinfo(_dtypes.to_numpy_dtype(type))
        self.bits, self.max, self.min, self.dtype = ii.bits, int(ii.max), int(ii.min), \
            str(ii.dtype)

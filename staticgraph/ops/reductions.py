"""Reductions: sum, mean (PyTorch's gradient) and reduce_mean (TF's), max, min, logsumexp, var
(PyTorch's), argmax, argmin, ``all``/``any`` of a whole tensor, and ``size`` (element count).

Parameters are normalised before binding (``dim`` a sorted tuple of non-negative axes) so equal
calls produce equal records, which CSE and the compile cache rely on.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from .core import INT64, AVal, Op, aval_of, bind, normalize_dims, reduced_shape, register, to_float
from .elementwise import cast, div, eq, exp, gt, mul, sub, where
from .shapes import broadcast_like, expand_dims
from .unknown_rank import dims_at_rank, known_rank, raw_dims


def _dims(x, dim) -> tuple[int, ...] | None:
    """``dim`` normalized for ``x``'s rank; kept raw when the rank is unknown (``at_rank``)."""
    return normalize_dims(dim, aval_of(x).ndim) if known_rank(x) else raw_dims(dim)


def _dim(x, dim) -> int:
    """One axis: normalized for ``x``'s rank, or kept raw when the rank is unknown."""
    return normalize_dims(dim, aval_of(x).ndim)[0] if known_rank(x) else int(dim)


def sum(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return bind(SUM, x, dim=_dims(x, dim), keepdim=bool(keepdim), full=dim is None)


def mean(x, dim=None, keepdim=False):
    """PyTorch's ``mean`` (the eager mode): its gradient divides a float16 ``g`` in float32
    by the exact count."""
    return bind(MEAN, x, dim=_dims(x, dim), keepdim=bool(keepdim), full=dim is None)


def reduce_mean(x, dim=None, keepdim=False):
    """TF's ``reduce_mean`` (the static frontend): ``mean``'s kernel, TF's gradient (``g``
    divided by the count in ``x``'s dtype: a float16 count rounds past 2048, is inf past
    65504)."""
    return bind(REDUCE_MEAN, x, dim=_dims(x, dim), keepdim=bool(keepdim), full=dim is None)


def amax(x, dim=None, keepdim=False):
    return bind(MAX, x, dim=_dims(x, dim), keepdim=bool(keepdim), full=dim is None)


def amin(x, dim=None, keepdim=False):
    return bind(MIN, x, dim=_dims(x, dim), keepdim=bool(keepdim), full=dim is None)


def logsumexp(x, dim=None, keepdim=False):
    return bind(LOGSUMEXP, x, dim=_dims(x, dim), keepdim=bool(keepdim), full=dim is None)


def var(x, dim=None, keepdim=False, correction=1):
    """PyTorch's ``var`` (``std`` is its root): ``sum((x - mean)^2) / max(N - correction, 0)``
    over ``dim`` (all dims by default), with PyTorch's closed-form gradient. The static
    frontend's ``reduce_variance``/``reduce_std`` stay TF's composed graph."""
    return bind(VAR, x, dim=_dims(x, dim), keepdim=bool(keepdim), full=dim is None,
                correction=correction)


def argmax(x, dim=None, keepdim=False):
    return bind(ARGMAX, x, dim=None if dim is None else _dim(x, dim), keepdim=bool(keepdim))


def argmin(x, dim=None, keepdim=False):
    return bind(ARGMIN, x, dim=None if dim is None else _dim(x, dim), keepdim=bool(keepdim))


def all(x): return bind(ALL, x)  # noqa: A001 - PyTorch's name (whole tensor)
def any(x): return bind(ANY, x)  # noqa: A001


def size(x, dim=None, dtype=None):
    """Number of elements of ``x`` over ``dim`` as a 0-d array (of ``x``'s float type by default).
    A node, not a Python int, so it stays symbolic for unknown static dims."""
    dt = np.dtype(dtype) if dtype is not None else to_float(aval_of(x).dtype)
    return bind(SIZE, x, dim=_dims(x, dim), dtype=dt)


def _unreduce(g, x, dim, keepdim):
    """Broadcast a reduced cotangent back to ``x``'s shape."""
    if not keepdim and dim:  # raw axes of an input of unknown rank count in x's rank too
        g = expand_dims(g, dim)
    return broadcast_like(g, x)


_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                "uint8": "Byte", "bool": "Bool"}


def _reduce_infer(kind: str):
    def infer(x: AVal, dim, keepdim, full) -> tuple:
        shape = reduced_shape(x.shape, dim, keepdim)
        dt = x.dtype
        if kind == "sum" and dt.kind in "biu":
            dt = INT64
        if kind == "mean" and dt.kind != "f":
            raise ValueError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_TORCH_NAMES.get(dt.name, dt.name)}")
        if kind == "lse":
            dt = to_float(dt)
        return shape, dt

    return infer


def _sum_vjp(g, out, x, dim, keepdim, full):
    return (_unreduce(g, x, dim, keepdim),)


def _mean_vjp(g, out, x, dim, keepdim, full):
    """PyTorch's ``mean_backward``: ``g / N``; a float16 ``g`` is divided in float32 (its
    opmath) by the exact count and rounded once, as the eager ``np_vjp`` does."""
    gu = _unreduce(g, x, dim, keepdim)
    if aval_of(x).dtype == np.float16:
        f32 = np.dtype(np.float32)
        return (cast(div(cast(gu, f32), size(x, dim, dtype=f32)), np.dtype(np.float16)),)
    return (div(gu, size(x, dim)),)


def _reduce_mean_vjp(g, out, x, dim, keepdim, full):
    """TF's ``_MeanGrad``: ``g`` over the count cast to ``x``'s dtype."""
    return (div(_unreduce(g, x, dim, keepdim), size(x, dim)),)


def _extreme_vjp(g, out, x, dim, keepdim, full):
    """PyTorch's rules. ``amax(dim)``: ties share the gradient evenly, ``mask * g / count``.
    ``max()`` (``full``): ``evenly_distribute_backward``, a masked fill (others get exactly 0)
    where a NaN result counts the NaN inputs as its winners."""
    o, gu = _unreduce(out, x, dim, keepdim), _unreduce(g, x, dim, keepdim)
    hit = eq(x, o)
    if full:
        from .elementwise import logical_and, logical_or, ne, where

        hit = logical_or(hit, logical_and(ne(x, x), ne(o, o)))
    mask = cast(hit, aval_of(g).dtype)
    count = broadcast_like(sum(mask, dim, keepdim=True), x)
    if full:
        return (where(hit, div(gu, count), 0.0),)
    return (div(mul(mask, gu), count),)


def _lse_impl(x, dim, keepdim, full):
    if x.dtype == np.float16:  # computed in float32, rounded once (PyTorch's opmath)
        return np.asarray(_lse_impl(x.astype(np.float32), dim, keepdim, full)).astype(x.dtype)
    m = np.max(x, axis=dim, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=dim)


def _lse_vjp(g, out, x, dim, keepdim, full):
    return (mul(_unreduce(g, x, dim, keepdim), exp(sub(x, _unreduce(out, x, dim, keepdim)))),)


def _var_impl(x, dim, keepdim, full, correction):
    """The deviations from the mean, squared, summed and divided by ``max(N - correction, 0)``:
    the registry's own kernels on the arrays, so the values are those of the composition."""
    d = sub(x, mean(x, dim, keepdim=True))
    dof = builtins.max(_count(x, dim) - correction, 0)
    return np.asarray(div(sum(mul(d, d), dim, keepdim), dof))


def _count(x, dim) -> int | None:
    """The number of elements reduced over ``dim``; ``None`` while a dim is unknown."""
    shape = aval_of(x).shape
    if shape is None or builtins.any(shape[d] is None for d in dim):
        return None
    return math.prod(shape[d] for d in dim)


def _var_vjp(g, out, x, dim, keepdim, full, correction):
    """PyTorch's ``var_backward``: ``(2 / (N - correction)) * g * (x - mean(x))``, without the
    mean's own term (0 in exact arithmetic), so an infinite element gives inf at the finite
    ones (``finite - inf``) and NaN at itself, where the composed graph's mean term made every
    element NaN. A full reduction with ``N <= correction`` gives ``g * (NaN where x == mean,
    else inf)``; along ``dim``, ``2 / 0`` is inf and a negative ``N - correction`` is kept."""
    gu = _unreduce(g, x, dim, keepdim)
    dev = sub(x, mean(x, dim, keepdim=True))
    n = _count(x, dim)
    if n is None:  # a static graph's unknown dim: the same numbers as nodes
        dof = sub(size(x, dim), correction)
        scaled = mul(mul(gu, div(2.0, dof)), dev)
        if not full:
            return (scaled,)
        at_mean = eq(x, mean(x, dim, keepdim=True))
        return (where(gt(dof, 0), scaled, mul(gu, where(at_mean, math.nan, math.inf))),)
    dof = n - correction
    if (full or not known_rank(x) or aval_of(x).ndim == 0) and dof <= 0:
        return (mul(gu, where(eq(x, mean(x, dim, keepdim=True)), math.nan, math.inf)),)
    return (mul(mul(gu, math.inf if dof == 0 else 2.0 / dof), dev),)


def _red(name, impl, kind, vjp, grad_name, tf_name, saves=(), reduce="", np_vjp=None,
         jvp="reduction"):
    """A reduction record; its JVP sums ``vjp(ones) * tangent`` over the reduced dims."""
    return register(Op(name=name, impl=impl, infer=_reduce_infer(kind), vjp=vjp, kind="reduce",
                       grad_name=grad_name, saves=saves, tf_name=tf_name, reduce=reduce,
                       np_vjp=np_vjp, at_rank=dims_at_rank(), jvp=jvp))


_FILL_MAX = 4096  # up to this many elements a filled array is cheaper than a broadcast view


def _np_unreduce(g, x, dim, keepdim):
    """``_unreduce`` on ndarrays: ``g`` in ``x``'s shape, a read-only broadcast view (or, for
    a small ``x``, a fresh filled array: ``np.broadcast_to`` and ``expand_dims`` are Python)."""
    shape = x.shape
    if g.ndim == 0 and math.prod(shape) <= _FILL_MAX:
        r = np.empty(shape, g.dtype)
        r.fill(g)
        return r
    if not keepdim and dim:
        nd = len(shape)
        kept = {d % nd for d in dim}
        g = g.reshape(tuple(1 if i in kept else n for i, n in enumerate(shape)))
    return np.broadcast_to(g, shape)


def _np_sum_vjp(g, out, needs, x, dim, keepdim, full):
    return (_np_unreduce(g, x, dim, keepdim),)


def _np_mean_vjp(g, out, needs, x, dim, keepdim, full):
    n = 1
    for d in dim:
        n *= x.shape[d]
    # each element is g / n: dividing before broadcasting gives the same bits (a 0-d ``g``
    # as a numpy scalar: scalar division, the same quotient without a ufunc call)
    if x.dtype == np.float16:  # PyTorch divides in float32 by the exact n (float16(n) is
        q = np.true_divide(g, np.float32(n), dtype=np.float32).astype(np.float16)  # inf > 65504)
    elif g.ndim == 0:
        q = g[()] / x.dtype.type(n)
    else:
        q = np.true_divide(g, np.asarray(n, x.dtype))
    return (_np_unreduce(q, x, dim, keepdim),)


def _name(full_name: str, dim_name: str):
    return lambda args, p: full_name if p["full"] else dim_name


def _sum_impl(x, dim, keepdim, full):
    """``np.sum``; for floats ``np.add.reduce`` directly (the same reduction, without the
    Python wrapper: ~1.5 us of every small eager sum)."""
    if type(x) is np.ndarray and x.dtype.kind == "f":
        if x.dtype == np.float16:  # in float32, as PyTorch: numpy adds the rows of a non-inner
            return np.add.reduce(x, axis=dim, keepdims=keepdim,  # axis in float16 (3000
                                 dtype=np.float32).astype(np.float16)  # ones summed to 2048)
        return np.add.reduce(x, axis=dim, keepdims=keepdim)
    return np.sum(x, axis=dim, keepdims=keepdim)


def _mean_impl(x, dim, keepdim, full):
    """``np.mean``; for float32/float64 the sum divided by the count in the input's dtype (the
    same bits: numpy divides by an integer in float64 and rounds once more, which for one
    division gives the correctly rounded quotient again), without ~3 us of Python."""
    if type(x) is np.ndarray and x.dtype.kind == "f" and x.dtype.itemsize >= 4 and x.size \
            and x.size < 1 << 24:
        n = 1
        for d in dim:
            n *= x.shape[d]
        # ``/``: for a full reduction's numpy scalar, numpy's scalar division (the same
        # correctly rounded quotient in the input's dtype, without a ufunc call's ~0.5 us)
        return np.add.reduce(x, axis=dim, keepdims=keepdim) / x.dtype.type(n)
    return np.mean(x, axis=dim, keepdims=keepdim)


SUM = _red("sum", _sum_impl, "sum",
           _sum_vjp, _name("SumBackward0", "SumBackward1"), "Sum", reduce="sum",
           np_vjp=_np_sum_vjp, jvp="linear")
MEAN = _red("mean", _mean_impl, "mean", _mean_vjp, _name("MeanBackward0", "MeanBackward1"),
            "Mean", reduce="mean", np_vjp=_np_mean_vjp, jvp="linear")
# one kernel, two gradients (as remainder/floormod): TF's float16 count for the static frontend
REDUCE_MEAN = _red("reduce_mean", _mean_impl, "mean", _reduce_mean_vjp,
                   _name("MeanBackward0", "MeanBackward1"), "Mean", reduce="mean", jvp="linear")
MAX = _red("max", lambda x, dim, keepdim, full: np.max(x, axis=dim, keepdims=keepdim), "max",
           _extreme_vjp, _name("MaxBackward1", "AmaxBackward0"), "Max", saves=(0, "out"),
           reduce="max")
MIN = _red("min", lambda x, dim, keepdim, full: np.min(x, axis=dim, keepdims=keepdim), "min",
           _extreme_vjp, _name("MinBackward1", "AminBackward0"), "Min", saves=(0, "out"),
           reduce="min")
VAR = register(Op(name="var", impl=_var_impl, infer=lambda x, dim, keepdim, full, correction:
                   _reduce_infer("mean")(x, dim, keepdim, full), vjp=_var_vjp, kind="reduce",
                   grad_name="VarBackward0", saves=(0,), tf_name="Variance",
                   at_rank=dims_at_rank(), jvp="reduction"))
LOGSUMEXP = _red("logsumexp", _lse_impl, "lse", _lse_vjp, "LogsumexpBackward0", "LogSumExp",
                 saves=(0, "out"))


def _arg_infer(x: AVal, dim, keepdim) -> tuple:
    if dim is None:
        return ((1,) * x.ndim if keepdim else ()), INT64
    return reduced_shape(x.shape, (dim,), keepdim), INT64


def _arg_impl(fn):
    def impl(x, dim, keepdim):
        if dim is None:
            r = np.asarray(fn(x.reshape(-1)))
            return r.reshape((1,) * x.ndim) if keepdim else r
        return fn(x, axis=dim, keepdims=keepdim)

    return impl


ARGMAX = register(Op(name="argmax", impl=_arg_impl(np.argmax), infer=_arg_infer, kind="reduce",
                     tf_name="ArgMax", at_rank=dims_at_rank(single=True)))
ARGMIN = register(Op(name="argmin", impl=_arg_impl(np.argmin), infer=_arg_infer, kind="reduce",
                     tf_name="ArgMin", at_rank=dims_at_rank(single=True)))


def _size_impl(x, dim, dtype):
    n = 1
    for d in dim:
        n *= x.shape[d]
    return np.asarray(n, dtype=dtype)


SIZE = register(Op(name="size", impl=_size_impl,
                   infer=lambda x, dim, dtype: ((), np.dtype(dtype)), kind="shape",
                   tf_name="Size", fresh_output=True, shape_only=(0,),
                   at_rank=dims_at_rank()))


def _whole(fn, tf_name: str) -> Op:
    """``all``/``any`` of the whole tensor: bool, no gradient."""
    return register(Op(name=fn.__name__, impl=lambda x: np.asarray(fn(x)),
                       infer=lambda x: ((), np.dtype(np.bool_)), kind="reduce", tf_name=tf_name))


ALL = _whole(np.all, "All")
ANY = _whole(np.any, "Any")

__all__ = ["sum", "mean", "reduce_mean", "var", "amax", "amin", "logsumexp", "argmax", "argmin",
           "size", "all", "any"]

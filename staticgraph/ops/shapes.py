"""Shape ops: reshape, permute, expand/squeeze, broadcasting, concatenation, indexing.

The ``*_like`` ops take a reference tensor whose *shape* (never its values) gives the target. VJP
rules use them so one rule works for concrete shapes (eager) and unknown ``None`` dims (static
graphs): ``sum_to_like(g, x)`` is the walker's un-broadcast step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import (
    AVal,
    Op,
    aval_of,
    bind,
    broadcast_shapes,
    normalize_dims,
    numel,
    register,
    result_type,
    sum_to_shape,
)
from .unknown_rank import UnknownSizes, dims_at_rank, known_rank, raw_dims


def _ndim(x) -> int:
    return aval_of(x).ndim


# --------------------------------------------------------------------------- public functions
def reshape(x, shape):
    shape = tuple(int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    return bind(RESHAPE, x, shape=shape)


def reshape_like(x, ref): return bind(RESHAPE_LIKE, x, ref)
def broadcast_like(x, ref): return bind(BROADCAST_LIKE, x, ref)
def sum_to_like(x, ref): return bind(SUM_TO_LIKE, x, ref)
def zeros_like(x): return bind(ZEROS_LIKE, x)
def ones_like(x): return bind(ONES_LIKE, x)


def broadcast_to(x, shape):
    return bind(BROADCAST_TO, x, shape=tuple(int(d) for d in shape))


def permute(x, perm):
    """``x``'s dims in the order ``perm``; ``perm=None``: reversed (TF's default transpose),
    the one spelling that needs no known rank besides :func:`transpose`'s swap."""
    if perm is None and not known_rank(x):
        return bind(PERMUTE, x, perm=None)
    nd = _ndim(x) if known_rank(x) or perm is None else len(perm)  # a perm gives the rank
    perm = tuple(reversed(range(nd))) if perm is None else perm
    perm = tuple(int(p) % nd for p in perm) if nd else ()
    if sorted(perm) != list(range(nd)):
        raise ValueError(f"permute(): dims {perm} are not a permutation of {nd} dims")
    return bind(PERMUTE, x, perm=perm)


def transpose(x, dim0=-2, dim1=-1):
    """Swap two dims (PyTorch's ``transpose``); ``t`` of a 2-D tensor is ``transpose(x, 0, 1)``.
    Of a tensor of unknown rank: the swap is resolved when the rank is (``perm=("swap", a,
    b)``), and the tensor must have at least two dims then."""
    if not known_rank(x):
        return bind(PERMUTE, x, perm=("swap", int(dim0), int(dim1)))
    nd = _ndim(x)
    if nd < 2:
        return x
    perm = list(range(nd))
    a, b = normalize_dims(dim0, nd)[0], normalize_dims(dim1, nd)[0]
    perm[a], perm[b] = perm[b], perm[a]
    return bind(PERMUTE, x, perm=tuple(perm))


def expand_dims(x, dims):
    """Insert size-1 axes at ``dims`` (positions in the output)."""
    if not known_rank(x):
        return bind(EXPAND_DIMS, x, dims=raw_dims(dims))
    nd = _ndim(x) + (len(dims) if isinstance(dims, (tuple, list)) else 1)
    return bind(EXPAND_DIMS, x, dims=normalize_dims(dims, nd))


def unsqueeze(x, dim): return expand_dims(x, (dim,))


def squeeze(x, dim=None):
    """Drop size-1 axes (all of them, or those in ``dim`` that have size 1)."""
    av = aval_of(x)
    if av.shape is None:  # which dims to drop is known once the rank and sizes are
        return bind(SQUEEZE, x, dims=raw_dims(dim), all=dim is None)
    dims = tuple(i for i, d in enumerate(av.shape) if d == 1) if dim is None else tuple(
        i for i in normalize_dims(dim, av.ndim) if av.shape[i] in (1, None))
    return bind(SQUEEZE, x, dims=dims, all=dim is None)


def cat(xs, dim=0):
    xs = list(xs)
    if not xs:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    ref = next((x for x in xs if known_rank(x)), None)
    return bind(CAT, *xs, dim=int(dim) if ref is None else normalize_dims(dim, _ndim(ref))[0])


def stack(xs, dim=0):
    xs = list(xs)
    if not xs:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = next((x for x in xs if known_rank(x)), None)
    return bind(STACK, *xs,
                dim=int(dim) if ref is None else normalize_dims(dim, _ndim(ref) + 1)[0])


def getitem(x, index):
    """``x[index]`` with ints, slices, None, Ellipsis, bool masks and integer arrays (as numpy
    arrays: frontends convert tensor indices before binding)."""
    return bind(GETITEM, x, index=_norm_index(index))


def setitem(x, value, index):
    """Functional ``x[index] = value``: a new array."""
    return bind(SETITEM, x, value, index=_norm_index(index))


def _norm_index(index: Any) -> tuple:
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, (list, np.ndarray)) or (hasattr(i, "__array__") and not np.isscalar(i)):
            i = np.asarray(i)
            if i.dtype.kind not in "biu":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif isinstance(i, (np.integer,)):
            i = int(i)
        out.append(i)
    return tuple(out)


# ----------------------------------------------------------------------------------- records
def _reshape_infer(x: AVal, shape) -> tuple:
    if sum(1 for d in shape if d == -1) > 1:
        raise ValueError("only one dimension can be inferred")
    n = numel(x.shape)
    known = numel(tuple(d for d in shape if d != -1))
    if -1 in shape:
        fill = None if n is None else (n // known if known else 0)
        if n is not None and known and n % known:
            raise ValueError(f"shape '{list(shape)}' is invalid for input of size {n}")
        return tuple(fill if d == -1 else d for d in shape), x.dtype
    if n is not None and n != known:
        raise ValueError(f"shape '{list(shape)}' is invalid for input of size {n}")
    return tuple(shape), x.dtype


def _like_infer(x: AVal, ref: AVal) -> tuple:
    return ref.shape, x.dtype


def _broadcast_to_infer(x: AVal, shape) -> tuple:
    out = broadcast_shapes(x.shape, shape)
    if len(shape) < x.ndim or tuple(out) != tuple(shape) and None not in out:
        raise ValueError(f"cannot broadcast shape {x.shape} to {tuple(shape)}")
    return tuple(shape), x.dtype


def _op(name, impl, infer, vjp=None, *, grad_name="", saves=(), nin=1, kind="shape", tf="",
        **facts):
    facts.setdefault("jvp", "linear" if vjp is not None else None)  # forward mode: op(tangents)
    return register(Op(name=name, impl=impl, infer=infer, vjp=vjp, kind=kind,
                       grad_name=grad_name, saves=saves, nin=nin, tf_name=tf, **facts))


RESHAPE = _op("reshape", lambda x, shape: np.reshape(x, shape), _reshape_infer,
              lambda g, out, x, shape: (reshape_like(g, x),), grad_name="ViewBackward0",
              tf="Reshape", reshaping=True)
RESHAPE_LIKE = _op("reshape_like", lambda x, ref: np.reshape(x, ref.shape), _like_infer,
                   lambda g, out, x, ref: (reshape_like(g, x), None), nin=2,
                   grad_name="ViewBackward0", tf="Reshape", reshaping=True, shape_ref=1,
                   shape_only=(1,), vjp_exact=True)
BROADCAST_TO = _op("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
                   _broadcast_to_infer, lambda g, out, x, shape: (sum_to_like(g, x),),
                   grad_name="ExpandBackward0", tf="BroadcastTo", broadcasting=True)
BROADCAST_LIKE = _op("broadcast_like", lambda x, ref: np.broadcast_to(x, ref.shape),
                     lambda x, ref: (broadcast_shapes(x.shape, ref.shape), x.dtype),
                     lambda g, out, x, ref: (sum_to_like(g, x), None), nin=2,
                     grad_name="ExpandBackward0", tf="BroadcastTo", shape_ref=1, shape_only=(1,),
                     vjp_exact=True, broadcasting=True)
SUM_TO_LIKE = _op("sum_to_like", lambda x, ref: sum_to_shape(x, ref.shape), _like_infer,
                  lambda g, out, x, ref: (broadcast_like(g, x), None), nin=2,
                  grad_name="SumBackward1", tf="Sum", shape_ref=1, shape_only=(1,), vjp_exact=True,
                  reduce="sum")
ZEROS_LIKE = _op("zeros_like", lambda x: np.zeros(x.shape, x.dtype), lambda x: (x.shape, x.dtype),
                 kind="creation", tf="ZerosLike", shape_ref=0, shape_only=(0,), fill=0)
ONES_LIKE = _op("ones_like", lambda x: np.ones(x.shape, x.dtype), lambda x: (x.shape, x.dtype),
                kind="creation", tf="OnesLike", shape_ref=0, shape_only=(0,), fill=1)


def _inverse(perm):
    return tuple(int(i) for i in np.argsort(perm))


def _permute_at_rank(params: dict, x: AVal) -> dict:
    """``perm=None`` (reversed), ``("swap", a, b)``, ``("move", a, b)`` (axis ``a`` moved to
    position ``b``: TF's ``one_hot(axis=b)`` of unknown rank) or a raw perm, for ``x``'s rank."""
    perm, nd = params["perm"], x.ndim
    if perm is None:
        perm = tuple(reversed(range(nd)))
    elif perm and perm[0] == "move":
        a, b = normalize_dims(perm[1], nd)[0], normalize_dims(perm[2], nd)[0]
        p = [i for i in range(nd) if i != a]
        p.insert(b, a)
        perm = tuple(p)
    elif perm and perm[0] == "swap":
        if nd < 2:
            raise ValueError(f"transpose of the last two dims needs rank >= 2, got rank {nd}")
        a, b = normalize_dims(perm[1], nd)[0], normalize_dims(perm[2], nd)[0]
        p = list(range(nd))
        p[a], p[b] = p[b], p[a]
        perm = tuple(p)
    if len(perm) != nd:
        raise ValueError(f"Dimension must be {nd} but is {len(perm)} for 'transpose'")
    return {**params, "perm": tuple(int(p) % nd for p in perm) if nd else ()}


def _permute_vjp(g, out, x, perm):
    inv = perm if perm is None or perm[0] == "swap" else ("move", perm[2], perm[1]) if \
        perm[0] == "move" else _inverse(perm)  # self-inverse forms, a move moved back
    return (bind(PERMUTE, g, perm=inv),)


PERMUTE = _op("permute", lambda x, perm: np.transpose(x, perm),
              lambda x, perm: (tuple(x.shape[p] for p in perm), x.dtype), _permute_vjp,
              grad_name=lambda a, p: "TransposeBackward0" if sum(
                  i != j for i, j in enumerate(p["perm"])) == 2 else "PermuteBackward0",
              tf="Transpose", at_rank=_permute_at_rank)


def _expand_dims_infer(x: AVal, dims) -> tuple:
    shape = list(x.shape)
    for d in dims:
        shape.insert(d, 1)
    return tuple(shape), x.dtype


EXPAND_DIMS = _op("expand_dims", lambda x, dims: np.expand_dims(x, dims), _expand_dims_infer,
                  lambda g, out, x, dims: (reshape_like(g, x),), grad_name="UnsqueezeBackward0",
                  tf="ExpandDims", reshaping=True,
                  at_rank=lambda p, x: {**p, "dims": normalize_dims(
                      p["dims"], x.ndim + len(p["dims"]))})


def _squeeze_infer(x: AVal, dims, all) -> tuple:  # noqa: A002
    return tuple(d for i, d in enumerate(x.shape) if i not in dims), x.dtype


def _squeeze_at_rank(params: dict, x: AVal) -> dict:
    """Raw dims normalized; ``squeeze()`` of unknown rank: the dims of size 1."""
    if params["dims"] is not None:
        return {**params, "dims": normalize_dims(params["dims"], x.ndim)}
    if None in x.shape:
        raise UnknownSizes("squeeze() of a tensor of unknown rank drops the dims of size 1, "
                           "unknown until it is fed", {**params, "dims": ()})
    return {**params, "dims": tuple(i for i, d in enumerate(x.shape) if d == 1)}


SQUEEZE = _op("squeeze", lambda x, dims, all: np.reshape(
    x, tuple(d for i, d in enumerate(x.shape) if i not in dims)), _squeeze_infer,
    lambda g, out, x, dims, all: (reshape_like(g, x),),
    grad_name=lambda a, p: "SqueezeBackward0" if p["all"] else "SqueezeBackward1", tf="Squeeze",
    reshaping=True, at_rank=_squeeze_at_rank)


def _cat_infer(*xs: AVal, dim) -> tuple:
    first = xs[0]
    total: int | None = 0
    for k, x in enumerate(xs):
        if x.ndim != first.ndim:
            raise ValueError(f"Tensors must have same number of dimensions: got {first.ndim} "
                             f"and {x.ndim}")
        for i, (a, b) in enumerate(zip(first.shape, x.shape, strict=True)):
            if i != dim and a is not None and b is not None and a != b:
                raise ValueError(f"Sizes of tensors must match except in dimension {dim}. "
                                 f"Expected size {a} but got size {b} for tensor number {k} in "
                                 "the list.")
        d = x.shape[dim]  # None or a compiler symbol: the total is unknown
        total = total + d if isinstance(total, (int, np.integer)) and \
            isinstance(d, (int, np.integer)) else None
    merged = [next((x.shape[i] for x in xs if x.shape[i] is not None), None)  # TF: known wins
              for i in range(first.ndim)]
    shape = tuple(total if i == dim else d for i, d in enumerate(merged))
    return shape, result_type(*xs)


def _cat_vjp(g, out, *xs, dim):
    return tuple(bind(CAT_SLICE, g, *xs, index=i, dim=dim) for i in range(len(xs)))


def _cat_slice_impl(g, *refs, index, dim):
    start = int(np.sum([r.shape[dim] for r in refs[:index]], dtype=np.int64))
    sl = [slice(None)] * g.ndim
    sl[dim] = slice(start, start + refs[index].shape[dim])
    return g[tuple(sl)]


def _cat_slice_vjp(gg, out, g, *refs, index, dim):
    parts = [gg if i == index else zeros_like(r) for i, r in enumerate(refs)]
    return (cat(parts, dim),) + (None,) * len(refs)


def _cat_equal_dims(out, *xs, dim) -> list:
    """Every dim but the concatenated one agrees with the output's."""
    return [(out[ax], x[ax]) for ax in range(len(out)) if ax != dim % len(out) for x in xs]


CAT = _op("cat", lambda *xs, dim: np.concatenate(xs, axis=dim), _cat_infer, _cat_vjp, nin=None,
          grad_name="CatBackward0", tf="ConcatV2", vjp_exact=True, same_dtype="all",
          equal_dims=_cat_equal_dims, at_rank=dims_at_rank(single=True))
CAT_SLICE = _op("cat_slice", _cat_slice_impl,
                lambda g, *refs, index, dim: (refs[index].shape, g.dtype), _cat_slice_vjp,
                nin=None, grad_name="SliceBackward0", tf="Slice", vjp_exact=True,
                shape_only="rest", at_rank=dims_at_rank(single=True))


def _stack_infer(*xs: AVal, dim) -> tuple:
    for k, x in enumerate(xs):
        if x.shape != xs[0].shape and None not in x.shape + xs[0].shape:
            raise ValueError(f"stack expects each tensor to be equal size, but got "
                             f"{list(xs[0].shape)} at entry 0 and {list(x.shape)} at entry {k}")
    shape = list(xs[0].shape)
    shape.insert(dim, len(xs))
    return tuple(shape), result_type(*xs)


def _at_axis(dim: int, i: int) -> tuple:
    """The index of entry ``i`` along axis ``dim`` (a raw negative axis counts from the end)."""
    return (slice(None),) * dim + (i,) if dim >= 0 else \
        (Ellipsis, i) + (slice(None),) * (-dim - 1)


STACK = _op("stack", lambda *xs, dim: np.stack(xs, axis=dim), _stack_infer,
            lambda g, out, *xs, dim: tuple(getitem(g, _at_axis(dim, i)) for i in range(len(xs))),
            nin=None, grad_name="StackBackward0", tf="Pack", vjp_exact=True, same_dtype="all",
            at_rank=dims_at_rank(single=True, extra=1))


# ---------------------------------------------------------------------------------- indexing
def _index_infer(x: AVal, index) -> tuple:
    """Shape of ``x[index]``: computed by numpy on a zero-stride stand-in when ``x`` is known."""
    if not all(isinstance(d, (int, np.integer)) for d in x.shape):  # None or a compiler symbol
        return _symbolic_index_shape(x.shape, index), x.dtype
    probe = np.broadcast_to(np.zeros((), x.dtype), x.shape)
    try:
        return probe[index].shape, x.dtype
    except IndexError as e:  # PyTorch's wording: "dimension", not "axis"
        raise IndexError(str(e).replace(" axis ", " dimension ")) from None


def _symbolic_index_shape(shape, index) -> tuple:
    out, i = [], 0
    n_real = sum(1 for k in index if k is not None and k is not Ellipsis)
    for k in index:
        if k is None:
            out.append(1)
        elif k is Ellipsis:
            for _ in range(len(shape) - n_real):
                out.append(shape[i])
                i += 1
        elif isinstance(k, int):
            i += 1
        elif isinstance(k, slice):
            d = shape[i]
            out.append(len(range(*k.indices(d))) if isinstance(d, (int, np.integer)) else
                       d if _full(k) else None)  # a full slice keeps an unknown dim as it is
            i += 1
        else:
            out.append(None)
            i += np.asarray(k).ndim if np.asarray(k).dtype == bool else 1
    return tuple(out) + tuple(shape[i:])


def _full(k: slice) -> bool:
    """Whether slice ``k`` keeps every element of any dim (``:``, ``::-1``, ``0::1``...)."""
    step = 1 if k.step is None else k.step
    return k.stop is None and abs(step) == 1 and (k.start is None or (k.start == 0 and step > 0))


def _index_name(args, params) -> str:
    """PyTorch's node for ``x[index]``: the last view its indexing applies (``Select`` for an
    int, ``Unsqueeze`` for None, ``Slice`` for a slice). In a tuple, a slice that keeps a whole
    dim is skipped, and an index that applies nothing is ``Alias`` (``w[:, :4]`` of a 4-column
    ``w``, ``b[...]``); a lone slice is always applied (``b[:]`` is ``Slice``, and so is the
    rare ``b[:, ...]``, which PyTorch calls ``Alias``)."""
    idx = params["index"]
    if any(isinstance(k, np.ndarray) for k in idx):
        return "IndexBackward0"
    if isinstance(idx[0], slice) and (len(idx) == 1 or idx[1:] == (Ellipsis,)):
        return "SliceBackward0"  # (the eager frontend appends the ``...`` to ``b[:3]``)
    shape = aval_of(args[0]).shape if known_rank(args[0]) else None
    consumed = sum(k is not None and k is not Ellipsis for k in idx)
    name, dim = "AliasBackward0", 0
    for k in idx:
        if k is Ellipsis:
            dim += len(shape) - consumed if shape is not None else 0
        elif k is None:
            name = "UnsqueezeBackward0"
        elif isinstance(k, slice):
            size = shape[dim] if shape is not None and dim < len(shape) else None
            if not isinstance(size, (int, np.integer)) or k.indices(size) != (0, size, 1):
                name = "SliceBackward0"
            dim += 1
        else:
            name, dim = "SelectBackward0", dim + 1
    return name


def _scatter_impl(g, ref, index):
    if g.dtype == np.float16:  # added in float32, rounded once (a gathered row's gradient)
        return _scatter_impl(g.astype(np.float32), ref, index).astype(np.float16)
    out = np.zeros(ref.shape, g.dtype)
    np.add.at(out, index, g)
    return out


def _setitem_impl(x, value, index):
    out = np.array(x, copy=True)
    out[index] = value
    return out


GETITEM = _op("getitem", lambda x, index: x[index], _index_infer,
              lambda g, out, x, index: (bind(INDEX_GRAD, g, x, index=index),),
              grad_name=_index_name, tf="StridedSlice", kind="index")
INDEX_GRAD = _op("index_grad", _scatter_impl, lambda g, ref, index: (ref.shape, g.dtype),
                 lambda gg, out, g, ref, index: (getitem(gg, index), None), nin=2,
                 grad_name="IndexPutBackward0", tf="ScatterNd", kind="index", vjp_exact=True,
                 shape_only=(1,))
SETITEM = _op("setitem", _setitem_impl, lambda x, v, index: (x.shape, x.dtype),
              lambda g, out, x, v, index: (setitem(g, 0.0, index), getitem(g, index)), nin=2,
              grad_name="CopySlices", tf="TensorScatterUpdate", kind="index",
              same_dtype=(0, 1))

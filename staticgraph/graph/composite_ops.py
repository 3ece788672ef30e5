"""TF1 functions that need more than one registry op or TF's conventions around one: rounding
(``floor``/``ceil``/``round``, ``//``, ``%``: the registry's rounding ops with TF's dtype checks,
and TF's float ``FloorDiv``, ``floor(x / y)``), ``reduce_prod``, ``cumsum``/``cumprod`` (TF's
dtype), ``tile``/``slice``/``gather``/``unstack``, and the clipping helpers (``clip_by_norm``,
``global_norm``, ``clip_by_global_norm``).

Each composite's helper nodes live under ``<name>/`` and its result node is named ``<name>``
exactly as TF names its single op, so the names of later nodes match TF's too. Because they are
ordinary registry nodes, gradients and the compiler need nothing new.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ops
from .array_ops import index_at as _index_at
from .core import Tensor
from .frontend import as_graph_tensor, node_name
from .indexed_slices import IndexedSlices, mark_row_gather
from .math_ops import _final, _require, _t, cast, composite

_slice = builtins.slice


def with_rank(x: Tensor, n: int) -> Tensor:
    """``x`` when its rank is known; of unknown rank (a placeholder declared without a shape),
    ``x`` as a tensor of rank ``n`` with unknown dims, as TF infers from an argument's length
    (``tile``'s multiples, ``slice``'s begin): an identity transpose, which checks the fed rank
    when the graph runs."""
    if x.aval.shape is not None:
        return x
    return ops.permute(x, tuple(range(n)))


def floor(x: Any, name: str | None = None) -> Tensor:
    _require("f", x)
    with node_name(name or "Floor"):
        return ops.floor(_t(x))


def ceil(x: Any, name: str | None = None) -> Tensor:
    _require("f", x)
    with node_name(name or "Ceil"):
        return ops.ceil(_t(x))


def round(x: Any, name: str | None = None) -> Tensor:  # noqa: A001 - TF's name
    """Round half to even, as TF (and numpy) do; integers are returned as they are."""
    x = _t(x)
    if not x.dtype.is_floating:
        return x
    with node_name(name or "Round"):
        return ops.round(x)


def _both(x: Any, y: Any) -> tuple[Tensor, Tensor]:
    """Two tensors of one dtype (a Python scalar takes the tensor's dtype)."""
    from .array_ops import constant

    tx, ty = as_graph_tensor(x), as_graph_tensor(y)
    if tx is None and ty is None:
        tx = constant(x, name="x")
    dt = (tx if tx is not None else ty).dtype.base_dtype
    tx = tx if tx is not None else constant(x, dt, name="x")  # TF: "<op>/x", "<op>/y"
    ty = ty if ty is not None else constant(y, dt, name="y")
    if tx.dtype != ty.dtype:
        raise TypeError(f"Input 'y' has type {ty.dtype.base_dtype.name} that does not match "
                        f"type {tx.dtype.base_dtype.name} of argument 'x'.")
    return tx, ty


def floordiv(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x // y`` rounding towards -inf: TF's ``FloorDiv``, ``floor(x / y)`` for floats, the
    registry's exact ``floor_divide`` for integers."""
    with composite(name, "floordiv", x, y) as stem:
        x, y = _both(x, y)
        if x.dtype.is_floating:
            return _final(stem, ops.floor, ops.div(x, y))
        return _final(stem, ops.floor_divide, x, y)


def floormod(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x % y`` with the sign of ``y`` (Python's and TF's ``FloorMod``: the registry's
    ``floormod``: ``remainder``'s kernel with TF's gradient, ``-floor(x / y)``)."""
    with composite(name, "FloorMod", x, y) as stem:
        x, y = _both(x, y)
        return _final(stem, ops.floormod, x, y)


def reduce_prod(input_tensor: Any, axis: Any = None, keepdims: Any = None,
                name: str | None = None, reduction_indices: Any = None,
                keep_dims: Any = None) -> Tensor:
    from .math_ops import _axis, _keep

    x = _t(input_tensor)
    ax, kd = _axis(axis, reduction_indices), _keep(keepdims, keep_dims)
    with composite(name, "Prod", x) as stem:
        if x.aval.shape is None:
            return _prod_unknown_rank(stem, x, ax, kd)
        if isinstance(ax, tuple) and len(ax) != 1:  # the registry's prod takes one dim
            out = x
            for a in sorted((a % x.ndim for a in ax), reverse=True):
                out = ops.prod(out, a, kd)
        else:
            out = ops.prod(x, ax[0] if isinstance(ax, tuple) else ax, kd)
        if out.dtype != x.dtype:
            out = cast(out, x.dtype)
        return _final(stem, ops.reshape, out, tuple(-1 if d is None else d
                                                    for d in out.aval.shape))


def _prod_unknown_rank(stem: str, x: Tensor, ax: Any, kd: bool) -> Tensor:
    """``reduce_prod`` of a tensor of unknown rank: over all of it (its flat view, shape ``()``
    as TF infers), or over raw axes, each kept (so the others stay valid), then squeezed."""
    from .math_ops import _flat_if_unknown

    x, ax = _flat_if_unknown(x, ax, kd)
    axes = ax if isinstance(ax, tuple) else (ax,)
    if len(axes) == 1 or kd:
        steps = [(ops.prod, a, True) for a in axes[:-1]] + [(ops.prod, axes[-1], kd)]
    else:
        steps = [(ops.prod, a, True) for a in axes] + [(ops.squeeze, axes)]
    out = x
    cast_to = None if x.dtype.is_floating or x.dtype == np.int64 else x.dtype
    for i, (fn, *args) in enumerate(steps):
        if i == len(steps) - 1 and cast_to is None:
            return _final(stem, fn, out, *args)
        out = fn(out, *args)
    return _final(stem, ops.cast, out, cast_to.base_dtype.np_dtype)


def _scan(reg_fn: Any, default: str, x: Any, axis: int, exclusive: bool, reverse: bool,
          name: str | None) -> Tensor:
    """``tf.cumsum``/``tf.cumprod``: the registry scans compute integers in int64; TF keeps the
    input's dtype."""
    x = _t(x)
    _require("fiu", x)
    args = (int(axis), bool(reverse), bool(exclusive))
    with composite(name, default, x) as stem:
        if x.dtype.is_floating or x.dtype == np.int64:
            return _final(stem, reg_fn, x, *args)
        return _final(stem, ops.cast, reg_fn(x, *args), x.dtype.base_dtype.np_dtype)


def cumsum(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
           name: str | None = None) -> Tensor:
    """Running sum along ``axis`` (``exclusive``: without the element itself, from 0)."""
    return _scan(ops.cumsum, "Cumsum", x, axis, exclusive, reverse, name)


def cumprod(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
            name: str | None = None) -> Tensor:
    """Running product along ``axis`` (``exclusive``: without the element itself, from 1)."""
    return _scan(ops.cumprod, "Cumprod", x, axis, exclusive, reverse, name)


def reverse(tensor: Any, axis: Any, name: str | None = None) -> Tensor:
    """``tensor`` with the order of the given axes reversed."""
    x = _t(tensor)
    if x.aval.shape is None:  # unknown rank: one reversing index per axis
        with composite(name, "ReverseV2", x) as stem:
            axes = [int(a) for a in np.atleast_1d(axis)]
            for a in axes[:-1]:
                x = ops.getitem(x, _index_at(a, _slice(None, None, -1)))
            return _final(stem, ops.getitem, x, _index_at(axes[-1], _slice(None, None, -1)))
    axes = {int(a) % x.ndim for a in np.atleast_1d(axis)}
    idx = tuple(_slice(None, None, -1) if i in axes else _slice(None) for i in range(x.ndim))
    with node_name(name or "ReverseV2"):
        return ops.getitem(x, idx)


# ------------------------------------------------------------------------------ array ops
def tile(input: Any, multiples: Sequence[int], name: str | None = None) -> Tensor:  # noqa: A002
    """``input`` repeated ``multiples[i]`` times along dim ``i`` (static ``multiples``)."""
    x = _t(input)
    mult = [int(m) for m in (multiples.as_list() if hasattr(multiples, "as_list")
                             else multiples)]
    if x.aval.shape is not None and len(mult) != x.ndim:  # before any zip of the two
        raise ValueError(f"Shape must be rank {x.ndim} but is rank {len(mult)} for 'Tile' "
                         f"with input shapes: {x.shape.tf_list_str()}, [{len(mult)}].")
    if x.aval.shape is None or [d for d, m in zip(x.aval.shape, mult, strict=True)
                                if d is None and m != 1][1:]:
        return _tile_by_concat(x, mult, name)
    with composite(name, "Tile", x) as stem:
        idx = tuple(i for _ in range(x.ndim) for i in (None, _slice(None)))
        ones = np.ones([d for m in mult for d in (m, 1)], x.dtype.np_dtype)
        wide = ops.mul(ops.getitem(x, idx), ones) if x.ndim else x
        dims = [None if d is None else d * m for d, m in zip(x.aval.shape, mult, strict=True)]
        return _final(stem, ops.reshape, wide, tuple(-1 if d is None else d for d in dims))


def _tile_by_concat(x: Tensor, mult: list[int], name: str | None) -> Tensor:
    """``tile`` where sizes are unknown (unknown rank, or several unknown dims a reshape cannot
    resolve): ``x`` concatenated ``mult[i]`` times along each axis ``i``."""
    if x.aval.shape is not None and len(mult) != x.ndim:
        raise ValueError(f"Shape must be rank {x.ndim} but is rank {len(mult)} for 'Tile' "
                         f"with input shapes: {x.shape.tf_list_str()}, [{len(mult)}].")
    with composite(name, "Tile", x) as stem:
        out = with_rank(x, len(mult))
        todo = [(i, m) for i, m in enumerate(mult) if m != 1] or [(0, 1)]
        for k, (i, m) in enumerate(todo):
            fn, args = (ops.cat, ([out] * m, i)) if m else (ops.getitem, (out, _index_at(
                i, _slice(0, 0))))
            out = _final(stem, fn, *args) if k == len(todo) - 1 else fn(*args)
        return out


def slice(input_: Any, begin: Sequence[int], size: Sequence[int],  # noqa: A001
          name: str | None = None) -> Tensor:
    """``input_[begin[i] : begin[i] + size[i]]`` per dim (``size[i] == -1``: to the end)."""
    x = _t(input_)
    begin, size = [int(b) for b in begin], [int(s) for s in size]
    if x.aval.shape is None and len(begin) == len(size):  # unknown rank: that of ``begin``
        idx = tuple(_slice(b, None if s == -1 else b + s) for b, s in zip(begin, size,
                                                                           strict=True))
        with composite(name, "Slice", x) as stem:
            out = _final(stem, ops.getitem, with_rank(x, len(begin)), idx)
        out.set_shape([None if s == -1 else s for s in size])
        return out
    if len(begin) != x.ndim or len(size) != x.ndim:
        raise ValueError(f"Expected begin and size arguments to be 1-D tensors of size "
                         f"{x.ndim}, but got shapes [{len(begin)}] and [{len(size)}] instead.")
    idx = tuple(_slice(b, None if s == -1 else b + s)
                for b, s in zip(begin, size, strict=True))
    with node_name(name or "Slice"):
        return ops.getitem(x, idx)


def gather(params: Any, indices: Any, validate_indices: Any = None, name: str | None = None,
           axis: int = 0) -> Tensor:
    """Slices of ``params`` along ``axis`` at ``indices``. Constant indices index directly;
    fed (tensor) indices, along axis 0, become a one-hot matmul (exact, differentiable)."""
    p = _t(params)
    axis = int(axis) % p.ndim if p.aval.shape is not None else int(axis)
    ti = as_graph_tensor(indices)
    if ti is None:
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Value passed to parameter 'indices' has DataType "
                            f"{idx.dtype.name} not in list of allowed values: int32, int64")
        n = p.aval.shape[axis] if p.aval.shape is not None else None
        if n is not None and idx.size and (idx.min() < -n or idx.max() >= n):
            raise ValueError(f"indices {idx.tolist()} out of range [0, {n}) for axis {axis} of "
                             f"{p.name}")
        with node_name(name or "GatherV2"):
            out = ops.getitem(p, _index_at(axis, idx))
        if axis == 0 and n is not None:  # TF: the gradient is IndexedSlices of these ids
            wide = idx.dtype == np.int64 and (isinstance(indices, (np.ndarray, np.generic))
                                              or idx.size and idx.max() > np.iinfo(np.int32).max)
            mark_row_gather(out, (idx.reshape(-1) % max(n, 1)).astype(
                np.int64 if wide else np.int32))  # TF: Python ints are int32
        return out
    if axis != 0:
        raise NotImplementedError("gather with tensor indices is supported along axis 0 only")
    if not ti.dtype.is_integer:
        raise TypeError(f"Value passed to parameter 'indices' has DataType {ti.dtype.name} "
                        f"not in list of allowed values: int32, int64")
    if ti.aval.shape is None or p.aval.shape is None:
        return _gather_unknown_rank(p, ti, name)
    with composite(name, "GatherV2", p, ti) as stem:
        # the registry's gather (PyTorch's): out[k, j...] = p[index[k, j...], j...], so the
        # indices are broadcast over p's trailing dims; an index out of range fails at run time
        flat = cast(ti, np.int64) if ti.dtype != np.int64 else ti
        if ti.ndim != 1:
            flat = ops.reshape(flat, (-1,))
        if p.ndim > 1:
            trail = cast(ops.zeros_like(ops.getitem(p, (_slice(0, 1),))), np.int64)
            flat = ops.add(ops.reshape(flat, (-1,) + (1,) * (p.ndim - 1)), trail)
        if ti.ndim == 1:
            return mark_row_gather(_final(stem, ops.gather, p, flat, 0), ti)
        out_shape = tuple(-1 if d is None else d for d in ti.aval.shape) + p.aval.shape[1:]
        rows = mark_row_gather(ops.gather(p, flat, 0), ti)
        return _final(stem, ops.reshape, rows, out_shape)


def _gather_unknown_rank(p: Tensor, ti: Tensor, name: str | None) -> Tensor:
    """Rows of ``p`` at tensor indices ``ti``, one of them of unknown rank: the flat indices
    gathered as rows (``p`` of known rank), then shaped as ``ti`` followed by a row's shape
    (the reference: a zero of ``ti``'s shape broadcast against one row)."""
    if p.aval.shape is None:
        raise NotImplementedError(f"gather from {p.name}, whose rank is unknown (a placeholder "
                                  f"declared without a shape), with tensor indices; declare "
                                  f"its shape, e.g. shape=[None, None]")
    with composite(name, "GatherV2", p, ti) as stem:
        flat = ops.reshape(cast(ti, np.int64) if ti.dtype != np.int64 else ti, (-1,))
        if p.ndim > 1:
            trail = cast(ops.zeros_like(ops.getitem(p, (_slice(0, 1),))), np.int64)
            flat = ops.add(ops.reshape(flat, (-1,) + (1,) * (p.ndim - 1)), trail)
        rows = mark_row_gather(ops.gather(p, flat, 0), ti)
        zero = ops.zeros_like(cast(ti, p.dtype.base_dtype.np_dtype))
        for _ in range(p.ndim - 1):
            zero = ops.expand_dims(zero, (-1,))
        ref = ops.add(zero, ops.zeros_like(ops.getitem(p, (0,))))
        return _final(stem, ops.reshape_like, rows, ref)


def _reshaped(t: Tensor, shape: tuple) -> Tensor:
    """``t`` reshaped, or ``t`` itself when it already has that shape (no needless node)."""
    have = tuple(-1 if d is None else d for d in t.aval.shape)
    if have == tuple(shape) or (have.count(-1) == 0 and -1 in shape and len(have) == len(shape)
                                and all(a == b or b == -1 for a, b in zip(have, shape,
                                                                         strict=True))):
        return t
    return ops.reshape(t, shape)


def unstack(value: Any, num: int | None = None, axis: int = 0,
            name: str = "unstack") -> list[Tensor]:
    """The slices of ``value`` along ``axis`` (its size must be known)."""
    x = _t(value)
    axis = int(axis) % x.ndim if x.aval.shape is not None or num is None else int(axis)
    n = x.aval.shape[axis] if num is None else int(num)
    if n is None:
        raise ValueError(f"Cannot infer num from shape {x.shape}")
    with composite(name, "unstack", x) as stem:
        out = [_final(stem, ops.getitem, x, _index_at(axis, 0))]
        out += [ops.getitem(x, _index_at(axis, i)) for i in range(1, n)]
    return out


def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None,  # noqa: A002
         keepdims: Any = None, name: str | None = None, keep_dims: Any = None) -> Tensor:
    """The Euclidean (or ``ord=1``) norm over ``axis`` (default: all elements)."""
    x = _t(tensor)
    ax = None if axis is None else tuple(int(a) for a in np.atleast_1d(axis))
    kd = bool(keepdims or keep_dims)
    with composite(name, "norm", x) as stem:
        final = stem if kd else stem + "Squeeze/"  # TF's last node is norm/Squeeze
        if ord in ("euclidean", "fro", 2, 2.0) and not (ord in (2, 2.0) and ax and len(ax) > 1):
            return _final(final, ops.sqrt, ops.sum(ops.square(x), ax, kd))
        if ord in (1, 1.0) and (ax is None or len(ax) == 1):
            return _final(final, ops.sum, ops.abs(x), ax, kd)
        raise NotImplementedError(f"norm with ord={ord!r} over axis={axis!r}")


# ------------------------------------------------------------------------------- clipping
def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: str | None = None) -> Any:
    """``t * clip_norm / max(||t||, clip_norm)`` (TF's formula, safe at ``t == 0``); of an
    :class:`IndexedSlices`, its values are clipped (TF: the norm of the values)."""
    if isinstance(t, IndexedSlices):
        v = clip_by_norm(t.values, clip_norm, axes, name)
        return IndexedSlices(v, t.indices, t.dense_shape, t._like)
    t = _t(t)
    with composite(name, "clip_by_norm", t) as stem:
        l2sum = ops.sum(ops.mul(t, t), None if axes is None else tuple(np.atleast_1d(axes)),
                        True)
        pred = ops.gt(l2sum, 0.0)
        l2norm = ops.where(pred, ops.sqrt(ops.where(pred, l2sum, ops.ones_like(l2sum))), l2sum)
        return _final(stem, ops.div, ops.mul(t, clip_norm), ops.maximum(l2norm, clip_norm))


def _values(t: Any) -> Tensor:
    """What TF's norms read: an :class:`IndexedSlices`'s values (duplicates counted), else
    the tensor."""
    return t.values if isinstance(t, IndexedSlices) else _t(t)


def global_norm(t_list: Sequence[Any], name: str | None = None) -> Tensor:
    """``sqrt(sum(||t||^2 for t in t_list))`` (``None`` entries are skipped; of an
    :class:`IndexedSlices`, the norm of its values, as TF)."""
    ts = [_values(t) for t in t_list if t is not None]
    if not ts:
        raise ValueError("global_norm needs at least one tensor")
    with composite(name, "global_norm", *ts) as stem:
        half = [ops.mul(ops.sum(ops.square(t), None, False), 0.5) for t in ts]
        total = ops.sum(ops.stack(half, 0), None, False)
        return _final(stem + "global_norm/", ops.sqrt, ops.mul(total, 2.0))


def clip_by_global_norm(t_list: Sequence[Any], clip_norm: Any, use_norm: Any = None,
                        name: str | None = None) -> tuple[list, Tensor]:
    """``([t * clip_norm / max(global_norm, clip_norm) ...], global_norm)``; ``None`` kept, an
    :class:`IndexedSlices` stays one with its values scaled (TF)."""
    t_list = list(t_list)
    if use_norm is None:
        use_norm = global_norm(t_list)
    ts = [_values(t) for t in t_list if t is not None]
    with composite(name, "clip_by_global_norm", *ts):
        inv_clip = ops.div(1.0, clip_norm) if as_graph_tensor(clip_norm) is not None \
            else 1.0 / float(clip_norm)
        scale = ops.mul(clip_norm, ops.minimum(ops.div(1.0, use_norm), inv_clip))
        out = [None if t is None else _scaled(t, scale) for t in t_list]
    return out, use_norm


def _scaled(t: Any, scale: Tensor) -> Any:
    if isinstance(t, IndexedSlices):
        return IndexedSlices(ops.mul(t.values, scale), t.indices, t.dense_shape, t._like)
    return ops.mul(_t(t), scale)


__all__ = ["floor", "ceil", "round", "floordiv", "floormod", "reduce_prod", "cumprod",
           "tile", "slice", "gather", "unstack", "norm", "cumsum", "reverse", "clip_by_norm",
           "global_norm", "clip_by_global_norm"]

"""TF1 array ops (creation, shapes, identity) mapped onto the shared registry: ``tf.constant``,
``tf.placeholder``, ``tf.reshape``, ``tf.transpose`` with TF's ``perm``, ``tf.concat``..."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import ops
from ..ops.core import AVal, bind
from ..ops.shapes import CAT_SLICE, PERMUTE
from .control_ops import dynamic_shape, like, shape_source
from .core import Tensor, get_default_graph
from .dtypes import as_dtype
from .frontend import as_graph_tensor, constant_array, convert, graph_of, make_const
from .func_graph import target_graph  # in a loop body or cond branch, ops go there
from .math_ops import _named, _t, composite, equal, where
from .tensor_shape import as_shape


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str = "Const") -> Tensor:
    """A ``Const`` node; ``shape`` broadcasts/reshapes a scalar or flat value as TF does.
    Text (numpy ``str`` or object arrays of ``str``/``bytes``) becomes a ``tf.string`` tensor of
    UTF-8 bytes, as in TF."""
    arr = constant_array(_text_as_bytes(value), dtype)
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        arr = np.broadcast_to(arr, shape) if arr.size == 1 else arr.reshape(shape)
    return make_const(get_default_graph(), arr, name)


def _text_as_bytes(value: Any) -> Any:
    """A numpy array of ``str`` (or an object array of ``str``/``bytes``) as UTF-8 bytes."""
    if isinstance(value, np.ndarray) and (value.dtype.kind == "U" or (
            value.dtype == object and value.size and all(
                isinstance(v, (str, bytes)) for v in value.flat))):
        flat = [v.encode() if isinstance(v, str) else v for v in value.flat]
        return np.array(flat, dtype=np.bytes_).reshape(value.shape)
    if isinstance(value, np.str_):
        return np.bytes_(value.encode())
    return value


def placeholder(dtype: Any, shape: Any = None, name: str | None = None) -> Tensor:
    """An input fed at run time; ``None`` dims are unknown until fed. Without ``shape`` the rank
    is unknown too: only elementwise ops and full reductions accept such a tensor."""

    dt = as_dtype(dtype)
    dims = None if shape is None else as_shape(shape).as_tuple()  # None: unknown rank
    op = get_default_graph().create_op(
        "Placeholder", (), {"dtype": dt.np_dtype, "shape": dims},
        (AVal(dims, dt.np_dtype),), name or "Placeholder")
    return op.outputs[0]


def placeholder_with_default(input: Any, shape: Any,  # noqa: A002
                             name: str | None = None) -> Tensor:
    """``input`` unless fed; a feed must match ``shape`` (which may have ``None`` dims)."""
    x = _t(input)
    dims = as_shape(shape)
    if not dims.is_compatible_with(x.shape):
        raise ValueError(f"Shapes {x.shape} and {dims} are incompatible (the default value "
                         f"of placeholder_with_default {name or 'PlaceholderWithDefault'!r})")
    op = target_graph(x.graph).create_op(
        "Identity", (x,), {}, (AVal(dims.as_tuple(), x.aval.dtype),),
        name or "PlaceholderWithDefault")
    return op.outputs[0]


def zeros(shape: Any, dtype: Any = "float32", name: str = "zeros") -> Tensor:
    dyn = like(shape, 0, dtype, name)  # tf.zeros(tf.shape(x))
    if dyn is not None:
        return dyn
    return constant(np.zeros(tuple(int(d) for d in _as_list(shape)), as_dtype(dtype).np_dtype),
                    name=name)


def ones(shape: Any, dtype: Any = "float32", name: str = "ones") -> Tensor:
    dyn = like(shape, 1, dtype, name)
    if dyn is not None:
        return dyn
    return constant(np.ones(tuple(int(d) for d in _as_list(shape)), as_dtype(dtype).np_dtype),
                    name=name)


def fill(dims: Any, value: Any, name: str = "Fill") -> Tensor:
    """``dims``-shaped, every element ``value`` (a scalar tensor is broadcast at run time)."""
    tv = as_graph_tensor(value)
    if tv is not None:
        if tv.aval.shape != ():
            raise ValueError(f"Shape must be rank 0 but is rank {tv.shape.ndims} for "
                             f"'{{{{node {name}}}}} = Fill' (value {tv.name})")
        with composite(name, "Fill", tv) as stem:
            zero = zeros(dims, tv.dtype, name="zeros")
            return _named(stem, "Fill", ops.add, zero, tv)
    arr = constant_array(value)
    dyn = like(dims, arr[()], arr.dtype, name) if arr.ndim == 0 else None
    if dyn is not None:
        return dyn
    return constant(np.full(tuple(int(d) for d in _as_list(dims)), arr, arr.dtype), name=name)


def _as_list(shape: Any) -> list:
    if isinstance(shape, (int, np.integer)):
        return [int(shape)]
    return list(getattr(shape, "as_list", lambda: shape)())


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None,  # noqa: A001
          name: str = "range") -> Tensor:
    if limit is None:
        start, limit = 0, start
    if any(as_graph_tensor(v) is not None for v in (start, limit, delta)):
        raise NotImplementedError("tf.range with a graph tensor as start, limit or delta is not "
                                  "supported by staticgraph (its length would be known only "
                                  "when the graph runs); pass Python numbers")
    arr = np.arange(start, limit, delta)
    dt = as_dtype(dtype) if dtype is not None else (
        as_dtype(np.float32) if arr.dtype.kind == "f" else as_dtype(np.int32))
    return constant(arr.astype(dt.np_dtype), name=name)


def linspace(start: float, stop: float, num: int, name: str = "linspace") -> Tensor:
    return constant(np.linspace(start, stop, num, dtype=np.float32), name=name)


def eye(num_rows: int, num_columns: int | None = None, dtype: Any = "float32",
        name: str = "eye") -> Tensor:
    return constant(np.eye(num_rows, num_columns, dtype=as_dtype(dtype).np_dtype), name=name)


def reshape(tensor: Any, shape: Any, name: str | None = None) -> Tensor:
    if as_graph_tensor(shape) is not None:
        src = shape_source(shape)
        if src is not None:  # tf.reshape(t, tf.shape(x))
            return _named(name, "Reshape", ops.reshape_like, _t(tensor), src)
        raise NotImplementedError("reshape to a shape given as a graph tensor is not supported; "
                                  "pass a list of ints (with at most one -1) or tf.shape(x).")
    return _named(name, "Reshape", ops.reshape, _t(tensor), [int(d) for d in _as_list(shape)])


def transpose(a: Any, perm: Sequence[int] | None = None, name: str | None = None) -> Tensor:
    """TF semantics: output dim ``i`` is input dim ``perm[i]`` (default: reversed)."""
    a = _t(a)
    if a.aval.shape is None:  # unknown rank: reversed or ``perm`` once it is known (at_rank)
        return _named(name, "transpose", ops.permute, a,
                      None if perm is None else tuple(int(p) for p in perm))
    perm = tuple(reversed(builtins.range(a.ndim))) if perm is None else tuple(
        int(p) for p in perm)
    if len(perm) != a.ndim:
        raise ValueError(f"Dimension must be {a.ndim} but is {len(perm)} for 'transpose' "
                         f"with input shapes: {a.shape.tf_list_str()}, [{len(perm)}].")
    return _named(name, "transpose", ops.permute, a, perm)


def concat(values: Sequence[Any], axis: int, name: str = "concat") -> Tensor:
    vals = list(values)
    g = graph_of(vals)
    ts = [convert(v, g) for v in vals]
    if len(ts) == 1:
        return identity(ts[0], name=name)
    return _named(name, "concat", ops.cat, ts, axis)


def split(value: Any, num_or_size_splits: Any, axis: int = 0, num: int | None = None,
          name: str = "split") -> list[Tensor]:
    """Pieces of ``value`` along ``axis``: ``n`` equal ones, or of the given sizes (one -1)."""
    x = _t(value)
    axis = int(axis) % x.ndim if x.aval.shape is not None else int(axis)
    n = x.aval.shape[axis] if x.aval.shape is not None else None
    if n is None:  # the size is known when the graph is fed
        return _split_unknown_size(x, num_or_size_splits, axis, name)
    if isinstance(num_or_size_splits, (int, np.integer)):
        k = int(num_or_size_splits)
        if n is None or n % k:
            raise ValueError(f"Dimension {axis} of {x.name} (size {n}) cannot be split evenly "
                             f"into {k} pieces")
        sizes = [n // k] * k
    else:
        sizes = [int(s) for s in num_or_size_splits]
        if -1 in sizes and n is not None:
            sizes[sizes.index(-1)] = n - (sum(sizes) + 1)
        if n is None or sum(sizes) != n or min(sizes) < 0:
            raise ValueError(f"Determined shape must either match input shape along split_dim "
                             f"exactly if fully specified, or be less than the size of the "
                             f"input along split_dim if not fully specified. Got: {sizes} for "
                             f"dimension {axis} of size {n}.")
    out, start = [], 0
    pre = (builtins.slice(None),) * axis
    for i, sz in enumerate(sizes):
        out.append(_named(name if i == 0 else None, "split", ops.getitem, x,
                          pre + (builtins.slice(start, start + sz),)))
        start += sz
    return out


def index_at(axis: int, index: Any) -> tuple:
    """An index tuple putting ``index`` at ``axis``: counted from the front, or, for a negative
    axis (of a tensor of unknown rank), from the back after an ellipsis."""
    if axis >= 0:
        return (builtins.slice(None),) * axis + (index,)
    return (Ellipsis, index) + (builtins.slice(None),) * (-axis - 1)


def _split_unknown_size(x: Tensor, num_or_size_splits: Any, axis: int,
                        name: str) -> list[Tensor]:
    """``split`` along an axis whose size is unknown until fed (unknown rank, or an unknown
    dim): ``k`` equal pieces are slices sized by a ``k``-strided view (``cat_slice``, as
    concat's gradient slices), given sizes are slices from the front up to a ``-1`` and from
    the back after it."""
    if isinstance(num_or_size_splits, (int, np.integer)):
        k = int(num_or_size_splits)
        with composite(name, "split", x) as stem:
            ref = ops.getitem(x, index_at(axis, builtins.slice(None, None, k)))
            return [_named(stem if i == 0 else None, "split", bind, CAT_SLICE, x, *[ref] * k,
                           index=i, dim=axis) for i in builtins.range(k)]
    sizes = [int(s) for s in num_or_size_splits]
    if sizes.count(-1) > 1 or min(sizes) < -1:
        raise ValueError(f"Determined shape must either match input shape along split_dim "
                         f"exactly if fully specified, or be less than the size of the input "
                         f"along split_dim if not fully specified. Got: {sizes}")
    cut = sizes.index(-1) if -1 in sizes else len(sizes)
    bounds, start = [], 0
    for s in sizes[:cut]:
        bounds.append((start, start + s))
        start += s
    tail = [(-sum(sizes[i:]), -sum(sizes[i + 1:]) or None) for i in builtins.range(cut + 1,
                                                                               len(sizes))]
    if cut < len(sizes):
        bounds.append((start, (tail[0][0] if tail else None)))
    out = []
    for i, (b, e) in enumerate(bounds + tail):
        out.append(_named(name if i == 0 else None, "split", ops.getitem, x,
                          index_at(axis, builtins.slice(b, e))))
    return out


def stack(values: Sequence[Any], axis: int = 0, name: str = "stack") -> Tensor:
    vals = list(values)
    if not any(as_graph_tensor(v) is not None for v in vals):  # TF packs a Python list at once
        return constant(np.moveaxis(constant_array(vals), 0, axis), name=name)
    g = graph_of(vals)
    return _named(name, "stack", ops.stack, [convert(v, g) for v in vals], axis)


def squeeze(input: Any, axis: Any = None, name: str | None = None,  # noqa: A002
            squeeze_dims: Any = None) -> Tensor:
    x = _t(input)
    axis = squeeze_dims if axis is None else axis
    if axis is not None:
        axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
        for a in axes if x.aval.shape is not None else ():  # unknown rank: checked at run
            d = x.aval.shape[int(a)]
            if d is not None and d != 1:
                raise ValueError(f"Can not squeeze dim[{int(a) % x.ndim}], expected a dimension "
                                 f"of 1, got {d} for 'Squeeze' with input shapes: "
                                 f"{x.shape.tf_list_str()}.")
        axis = tuple(int(a) for a in axes)
    return _named(name, "Squeeze", ops.squeeze, x, axis)


def expand_dims(input: Any, axis: int, name: str | None = None) -> Tensor:  # noqa: A002
    return _named(name, "ExpandDims", ops.expand_dims, _t(input), int(axis))


def identity(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """A pass-through node (reads a variable at this point when given one)."""
    x = _t(input)
    op = target_graph(x.graph).create_op("Identity", (x,), {}, (x.aval,), name or "Identity")
    return op.outputs[0]


def stop_gradient(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    x = _t(input)
    op = target_graph(x.graph).create_op("StopGradient", (x,), {}, (x.aval,),
                                         name or "StopGradient")
    return op.outputs[0]


def one_hot(indices: Any, depth: int, on_value: Any = None, off_value: Any = None,
            axis: int | None = None, dtype: Any = None, name: str | None = None) -> Tensor:
    """``on_value`` where ``indices == k`` along a new ``axis`` (default last), else
    ``off_value`` (default 1 and 0 of ``dtype``, float32 by default)."""
    idx = _t(indices)
    axis = -1 if axis is None else int(axis)
    if dtype is None and (on_value is not None or off_value is not None):  # TF: their dtype
        dtype = constant_array(on_value if on_value is not None else off_value).dtype
    dt = as_dtype(dtype if dtype is not None else "float32")
    with composite(name, "one_hot", idx) as stem:
        classes = constant(np.arange(depth, dtype=idx.dtype.np_dtype), name="depth")
        if idx.aval.shape is None and axis != -1:  # unknown rank: the new last axis moved
            hit = bind(PERMUTE, equal(expand_dims(idx, -1), classes), perm=("move", -1, axis))
            return where(hit, constant(1 if on_value is None else on_value, dt),
                         constant(0 if off_value is None else off_value, dt), name=stem)
        hit = equal(expand_dims(idx, axis), classes if axis == -1 else reshape(
            classes, [depth] + [1] * (idx.ndim - axis)))
        on = constant(1 if on_value is None else on_value, dt)
        off = constant(0 if off_value is None else off_value, dt)
        return where(hit, on, off, name=stem)


#: ``x[i, ...]`` with an integer tensor ``i``, set by graph/tensor_array.py when it loads: a
#: gather, or in a loop body a row the loop driver feeds
tensor_index: Callable[[Any, tuple], Tensor] | None = None


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]`` with ints, slices, ``None``, ``...`` and numpy index arrays; a leading
    integer tensor (``x[i]`` in a loop body) is a gather along axis 0."""
    idx = index if isinstance(index, tuple) else (index,)
    if idx and tensor_index is not None and as_graph_tensor(idx[0]) is not None:
        return tensor_index(x, idx)
    return _named(None, "strided_slice", ops.getitem, _t(x), index)


def shape(input: Any, name: str = "Shape", out_type: Any = "int32") -> Tensor:  # noqa: A002
    """The shape: a constant when fully known at build time, else computed at run time."""
    x = _t(input)
    if not x.shape.is_fully_defined():
        return dynamic_shape(x, name, out_type)
    return constant(np.array(x.shape.as_list(), as_dtype(out_type).np_dtype), name=name)


def size(input: Any, name: str = "Size", out_type: Any = "int32") -> Tensor:  # noqa: A002
    return _named(name, "Size", ops.size, _t(input), None, as_dtype(out_type).np_dtype)


def rank(input: Any, name: str = "Rank") -> Tensor:  # noqa: A002
    x = _t(input)
    if x.aval.shape is None:  # TF computes it when fed; here shapes are static
        raise NotImplementedError(f"tf.rank of {x.name!r}, whose rank is unknown (a placeholder "
                                  f"declared without a shape), is not supported by staticgraph; "
                                  f"declare the shape, e.g. shape=[None, None]")
    return constant(np.int32(x.ndim), name=name)

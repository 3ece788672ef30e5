"""TF1 op functions (``tf.add``, ``tf.reduce_sum`` ...) mapped onto the shared registry.

Every function adds registry nodes through :mod:`.frontend`; only TF1 conventions live here
(argument names, integer division to float64, integer ``reduce_sum``/``reduce_mean``, ``argmax``
defaulting to axis 0). Creation and shape ops are in :mod:`.array_ops`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .. import ops
from .core import Tensor
from .dtypes import as_dtype
from .frontend import as_graph_tensor, convert, graph_of, node_name


def _t(x: Any, dtype: Any = None) -> Tensor:
    """A graph tensor for ``x`` in the default graph (or ``x``'s graph)."""
    return convert(x, graph_of([x]), None if dtype is None else as_dtype(dtype))


def _named(name: str | None, default: str, fn: Any, *args: Any, **kw: Any) -> Tensor:
    with node_name(name or default):
        try:
            return fn(*args, **kw)
        except IndexError as e:  # e.g. an axis out of range: TF raises ValueError at build time
            raise ValueError(f"{e} (building '{name or default}')") from None


@contextlib.contextmanager
def composite(name: str | None, default: str, *inputs: Any) -> Iterator[str]:
    """For a TF op built from several registry nodes: reserve the unique name ``<name>``, put
    the helper nodes under ``<name>/`` and give the block the absolute stem for the result node
    (see :func:`_final`), so the result and every later node are named as in TF."""
    g = graph_of(list(inputs))
    full = g.unique_name(name or default)
    with g.name_scope(full + "/"):
        yield full + "/"


def _final(stem: str, fn: Any, *args: Any, **kw: Any) -> Tensor:
    """``fn(*args)``'s node, named by ``stem`` (from :func:`composite`)."""
    with node_name(stem):
        return fn(*args, **kw)


_FLOATS = "bfloat16, half, float32, float64, complex64, complex128"
_NUMBERS = ("bfloat16, half, float32, float64, uint8, int8, uint16, int16, int32, int64, "
            "complex64, complex128")


def _require(kinds: str, *args: Any, param: str = "x") -> None:
    """TF's kernel dtype check at build time: ``kinds`` ``"f"`` (float ops such as ``Exp``)
    or ``"fiu"`` (arithmetic: no bool, no string)."""
    for a in args:
        t = as_graph_tensor(a)
        if t is not None and t.aval.dtype.kind not in kinds:
            allowed = _FLOATS if kinds == "f" else _NUMBERS
            raise TypeError(f"Value passed to parameter '{param}' has DataType "
                            f"{t.dtype.base_dtype.name} not in list of allowed values: {allowed}")


def _pair(x: Any, y: Any) -> tuple[Any, Any]:
    """Make at least one operand a graph tensor (TF builds consts for ``tf.add(1, 2)``)."""
    if as_graph_tensor(x) is None and as_graph_tensor(y) is None:
        x = _t(x)
    return x, y


def zeros_like(tensor: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    out = _named(name, "zeros_like", ops.zeros_like, _t(tensor))
    return out if dtype is None else cast(out, dtype)


def ones_like(tensor: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    out = _named(name, "ones_like", ops.ones_like, _t(tensor))
    return out if dtype is None else cast(out, dtype)


# -------------------------------------------------------------------------------- arithmetic
def add(x: Any, y: Any, name: str | None = None) -> Tensor:
    _require("fiu", x, y)
    return _named(name, "Add", ops.add, *_pair(x, y))


def subtract(x: Any, y: Any, name: str | None = None) -> Tensor:
    _require("fiu", x, y)
    return _named(name, "Sub", ops.sub, *_pair(x, y))


def multiply(x: Any, y: Any, name: str | None = None) -> Tensor:
    _require("fiu", x, y)
    return _named(name, "Mul", ops.mul, *_pair(x, y))


def divide(x: Any, y: Any, name: str | None = None) -> Tensor:
    """True division; integer inputs divide in float64 as in TF (``truediv``)."""
    _require("fiu", x, y)
    x, y = _pair(x, y)
    tx = as_graph_tensor(x) if as_graph_tensor(x) is not None else as_graph_tensor(y)
    if tx.dtype.is_integer:
        for v in (x, y):  # TF: a Python float does not convert to the integer tensor's dtype
            if as_graph_tensor(v) is None:
                convert(v, tx.graph, tx.dtype.base_dtype, "y", "truediv")
        fdt = np.float32 if tx.dtype.size <= 2 else np.float64
        with composite(name, "truediv", x, y) as stem:
            x = cast(x, fdt) if as_graph_tensor(x) is not None else x
            y = cast(y, fdt) if as_graph_tensor(y) is not None else y
            return _final(stem, ops.div, x, y)
    return _named(name, "truediv", ops.div, x, y)


truediv = divide
realdiv = divide


def negative(x: Any, name: str | None = None) -> Tensor:
    _require("fiu", x)
    return _named(name, "Neg", ops.neg, _t(x))


def pow(x: Any, y: Any, name: str | None = None) -> Tensor:  # noqa: A001
    _require("fiu", x, y)
    return _named(name, "Pow", ops.pow, *_pair(x, y))


def _unary(reg_fn: Any, default: str, kinds: str = "") -> Any:
    def f(x: Any, name: str | None = None) -> Tensor:
        if kinds:
            _require(kinds, x)
        return _named(name, default, reg_fn, _t(x))

    f.__name__ = default.lower()
    f.__doc__ = f"TF1 ``{default}`` (registry op ``{reg_fn.__name__}``)."
    return f


square = _unary(ops.square, "Square", "fiu")
sqrt = _unary(ops.sqrt, "Sqrt", "f")
exp = _unary(ops.exp, "Exp", "f")
log = _unary(ops.log, "Log", "f")
log1p = _unary(ops.log1p, "Log1p", "f")
expm1 = _unary(ops.expm1, "Expm1", "f")
abs = _unary(ops.abs, "Abs", "fiu")  # noqa: A001
sign = _unary(ops.sign, "Sign", "fiu")
sin = _unary(ops.sin, "Sin", "f")
cos = _unary(ops.cos, "Cos", "f")
tanh = _unary(ops.tanh, "Tanh", "f")
sigmoid = _unary(ops.sigmoid, "Sigmoid", "f")
reciprocal = _unary(ops.reciprocal, "Reciprocal", "fiu")
logical_not = _unary(ops.logical_not, "LogicalNot")


def rsqrt(x: Any, name: str | None = None) -> Tensor:
    with composite(name, "Rsqrt", x) as stem:
        return _final(stem, ops.reciprocal, sqrt(x))


def _binary(reg_fn: Any, default: str, kinds: str = "") -> Any:
    def f(x: Any, y: Any, name: str | None = None) -> Tensor:
        if kinds:
            _require(kinds, x, y)
        return _named(name, default, reg_fn, *_pair(x, y))

    f.__name__ = default
    f.__doc__ = f"TF1 ``{default}`` (registry op ``{reg_fn.__name__}``)."
    return f


maximum = _binary(ops.maximum, "Maximum", "fiu")
minimum = _binary(ops.minimum, "Minimum", "fiu")
equal = _binary(ops.eq, "Equal")
not_equal = _binary(ops.ne, "NotEqual")
less = _binary(ops.lt, "Less")
less_equal = _binary(ops.le, "LessEqual")
greater = _binary(ops.gt, "Greater")
greater_equal = _binary(ops.ge, "GreaterEqual")
logical_and = _binary(ops.logical_and, "LogicalAnd")
logical_or = _binary(ops.logical_or, "LogicalOr")


def squared_difference(x: Any, y: Any, name: str | None = None) -> Tensor:
    with composite(name, "SquaredDifference", x, y) as stem:
        return _final(stem, ops.square, subtract(x, y))


def add_n(inputs: Sequence[Any], name: str | None = None) -> Tensor:
    """Sum of a list of same-shape tensors (a chain of ``add`` nodes named like TF's AddN)."""
    inputs = list(inputs)
    if not inputs:
        raise ValueError("inputs must be a list of at least one Tensor with the same dtype and "
                         "shape")
    if len(inputs) == 1:  # tf.identity's node (array_ops, which imports this module)
        x = _t(inputs[0])
        return x.graph.create_op("Identity", (x,), {}, (x.aval,), name or "Identity").outputs[0]
    if len(inputs) == 2:
        return _named(name, "AddN", ops.add, _t(inputs[0]), inputs[1])
    with composite(name, "AddN", *inputs) as stem:
        out = _t(inputs[0])
        for x in inputs[1:-1]:
            out = ops.add(out, x)
        return _final(stem, ops.add, out, inputs[-1])


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    if x is None or y is None:
        raise NotImplementedError("tf.where(condition) without x and y returns data-dependent "
                                  "shapes, which staticgraph does not support; pass x and y.")
    return _named(name, "Select", ops.where, _t(condition), x, y)


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any,
                  name: str | None = None) -> Any:
    """``min(max(t, lo), hi)``; of an ``IndexedSlices``, its values clipped (TF)."""
    from .indexed_slices import IndexedSlices

    if isinstance(t, IndexedSlices):
        v = clip_by_value(t.values, clip_value_min, clip_value_max, name)
        return IndexedSlices(v, t.indices, t.dense_shape, t._like)
    t = _t(t)
    for v in (clip_value_min, clip_value_max):  # TF: bounds convert to t's dtype (no 0.5 -> int)
        if as_graph_tensor(v) is None:
            convert(v, t.graph, t.dtype.base_dtype, "clip_value", "clip_by_value")
    if as_graph_tensor(clip_value_min) is None and as_graph_tensor(clip_value_max) is None:
        return _named(name, "clip_by_value", ops.clamp, t, float(clip_value_min),
                      float(clip_value_max))
    return minimum(maximum(t, clip_value_min), clip_value_max, name=name or "clip_by_value")


def cast(x: Any, dtype: Any, name: str | None = None) -> Any:
    """``x`` as ``dtype``; of an ``IndexedSlices``, its values cast (TF)."""
    from .indexed_slices import IndexedSlices

    dt = as_dtype(dtype)
    if isinstance(x, IndexedSlices):
        return IndexedSlices(cast(x.values, dt, name), x.indices, x.dense_shape, x._like)
    x = _t(x)
    if x.dtype == dt:
        return x
    return _named(name, "Cast", ops.cast, x, dt.np_dtype)


def to_float(x: Any, name: str = "ToFloat") -> Tensor:
    return cast(x, np.float32, name)


def to_int32(x: Any, name: str = "ToInt32") -> Tensor:
    return cast(x, np.int32, name)


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False,
           name: str | None = None) -> Tensor:
    a, b = _t(a), _t(b)
    for t in (a, b):
        if t.aval.shape is not None and len(t.aval.shape) < 2:
            raise ValueError(f"Shape must be rank 2 but is rank {len(t.aval.shape)} for "
                             f"'{name or 'MatMul'}' (op: 'MatMul') with input shapes: "
                             f"{a.shape.tf_list_str()}, {b.shape.tf_list_str()}.")
    if not (transpose_a or transpose_b):
        return _named(name, "MatMul", ops.matmul, a, b)
    with composite(name, "MatMul", a, b) as stem:
        a = ops.transpose(a) if transpose_a else a
        b = ops.transpose(b) if transpose_b else b
        return _final(stem, ops.matmul, a, b)


# -------------------------------------------------------------------------------- reductions
def _static(t: Tensor) -> tuple:
    return tuple(-1 if d is None else d for d in t.aval.shape)


def _axis(axis: Any, reduction_indices: Any) -> Any:
    axis = reduction_indices if axis is None else axis
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return None if axis is None else int(axis)


def _flat_if_unknown(x: Tensor, ax: Any, kd: bool) -> tuple[Tensor, Any]:
    """A tensor of unknown rank reduced over all of it: reduce its flat view (shape ``()``, as
    TF infers). Over axes, or keeping dims, the registry op takes the raw axes and checks them
    when the rank is known (``Op.at_rank``). (A full reduction also takes the names TF's
    reduction-indices nodes take.)"""
    if ax is None:  # TF: np.arange(rank) as a Const, or range(0, Rank(x)) for rank 0/unknown
        for used in (("Const",) if x.aval.shape else ("Rank", "range")):
            x.graph.unique_name(used)
    if x.aval.shape is None and ax is None and not kd:  # a full reduction: shape ()
        with node_name("flatten_unknown_rank"):
            return ops.reshape(x, (-1,)), 0
    return x, ax


def _every_axis(x: Tensor, ax: Any) -> Any:
    """``axis=None`` of ``reduce_max``/``reduce_min`` as every axis: TF's gradient splits ``g``
    over the inputs equal to the result (none, at a NaN result: NaN everywhere), the registry's
    ``amax(x)`` with no dims is PyTorch's ``max()`` (the NaN inputs take it)."""
    if ax is None and x.aval.shape is not None:
        return tuple(range(len(x.aval.shape)))
    return ax


def _keep(keepdims: Any, keep_dims: Any) -> bool:
    return bool(keep_dims if keepdims is None and keep_dims is not None else keepdims)


def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
               reduction_indices: Any = None, keep_dims: Any = None) -> Tensor:
    x = _t(input_tensor)
    _require("fiu", x, param="input")
    ax, kd = _axis(axis, reduction_indices), _keep(keepdims, keep_dims)
    x, ax = _flat_if_unknown(x, ax, kd)
    if x.dtype.is_floating:
        return _named(name, "Sum", ops.sum, x, ax, kd)
    with composite(name, "Sum", x) as stem:  # integer sums keep the dtype (bool: int64)
        out = ops.sum(x, ax, kd)
        if out.dtype != x.dtype and not x.dtype.is_bool:
            return cast(out, x.dtype, name=stem)
        return _final(stem, ops.reshape_like, out, out) if out.aval.shape is None else \
            _final(stem, ops.reshape, out, _static(out))


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: Any = None,
                name: str | None = None, reduction_indices: Any = None,
                keep_dims: Any = None) -> Tensor:
    """Mean; integer tensors give TF's integer mean (truncated), via float64."""
    x = _t(input_tensor)
    _require("fiu", x, param="input")
    ax, kd = _axis(axis, reduction_indices), _keep(keepdims, keep_dims)
    x, ax = _flat_if_unknown(x, ax, kd)
    if x.dtype.is_floating:
        return _named(name, "Mean", ops.reduce_mean, x, ax, kd)
    with composite(name, "Mean", x) as stem:
        m = ops.reduce_mean(cast(x, np.float64), ax, kd)
        return cast(m, x.dtype, name=stem)


def reduce_max(input_tensor: Any, axis: Any = None, keepdims: Any = None,
               name: str | None = None, reduction_indices: Any = None,
               keep_dims: Any = None) -> Tensor:
    kd = _keep(keepdims, keep_dims)
    x, ax = _flat_if_unknown(_t(input_tensor), _axis(axis, reduction_indices), kd)
    return _named(name, "Max", ops.amax, x, _every_axis(x, ax), kd)


def reduce_min(input_tensor: Any, axis: Any = None, keepdims: Any = None,
               name: str | None = None, reduction_indices: Any = None,
               keep_dims: Any = None) -> Tensor:
    kd = _keep(keepdims, keep_dims)
    x, ax = _flat_if_unknown(_t(input_tensor), _axis(axis, reduction_indices), kd)
    return _named(name, "Min", ops.amin, x, _every_axis(x, ax), kd)


def reduce_logsumexp(input_tensor: Any, axis: Any = None, keepdims: Any = None,
                     name: str | None = None, reduction_indices: Any = None,
                     keep_dims: Any = None) -> Tensor:
    _require("f", input_tensor, param="input")
    return _named(name, "ReduceLogSumExp", ops.logsumexp, _t(input_tensor),
                  _axis(axis, reduction_indices), _keep(keepdims, keep_dims))


def reduce_any(input_tensor: Any, axis: Any = None, keepdims: Any = None,
               name: str | None = None) -> Tensor:
    with composite(name, "Any", input_tensor) as stem:
        m = ops.amax(cast(input_tensor, np.int32), _axis(axis, None), _keep(keepdims, None))
        return cast(m, np.bool_, name=stem)


def reduce_all(input_tensor: Any, axis: Any = None, keepdims: Any = None,
               name: str | None = None) -> Tensor:
    with composite(name, "All", input_tensor) as stem:
        m = ops.amin(cast(input_tensor, np.int32), _axis(axis, None), _keep(keepdims, None))
        return cast(m, np.bool_, name=stem)


def _arg(fn: Any, default: str) -> Any:
    def f(input: Any, axis: Any = None, name: str | None = None, dimension: Any = None,  # noqa: A002
          output_type: Any = "int64") -> Tensor:
        axis = 0 if axis is None and dimension is None else int(
            dimension if axis is None else axis)
        x = _t(input)
        if as_dtype(output_type) == np.int64:
            return _named(name, default, fn, x, axis)
        with composite(name, default, x) as stem:
            return cast(fn(x, axis), output_type, name=stem)

    f.__name__ = default.lower()
    f.__doc__ = f"TF1 ``{default}``: index along ``axis`` (default 0), as ``output_type``."
    return f


argmax = _arg(ops.argmax, "ArgMax")
argmin = _arg(ops.argmin, "ArgMin")


def arg_max(input: Any, dimension: Any, output_type: Any = "int64",  # noqa: A002
            name: str | None = None) -> Tensor:
    """TF1's deprecated ``tf.arg_max``: ``argmax`` with a required ``dimension``."""
    return argmax(input, dimension, name=name, output_type=output_type)


def arg_min(input: Any, dimension: Any, output_type: Any = "int64",  # noqa: A002
            name: str | None = None) -> Tensor:
    """TF1's deprecated ``tf.arg_min``: ``argmin`` with a required ``dimension``."""
    return argmin(input, dimension, name=name, output_type=output_type)

"""The graph frontend: registry ops applied to graph tensors add nodes (with build-time shape and
dtype inference), and Python/numpy values become ``Const`` nodes with TF1's typing rules."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..ops.core import AVal, Op, with_numpys_dtype
from ..ops.unknown_rank import infer_unknown_rank
from .core import Graph, Tensor, get_default_graph
from .dtypes import DType, as_dtype
from .func_graph import function_graph_for

_PY_DEFAULTS = {"f": np.float32, "i": np.int32, "u": np.int32, "b": np.bool_}


class _Pending(threading.local):
    def __init__(self) -> None:
        self.names: list[str | None] = []


_PENDING = _Pending()


@contextlib.contextmanager
def node_name(name: str | None) -> Iterator[None]:
    """The next registry-op node created in this block gets the stem ``name``."""
    _PENDING.names.append(name)
    try:
        yield
    finally:
        _PENDING.names.pop()


def _take_pending() -> str | None:
    if _PENDING.names and _PENDING.names[-1] is not None:
        name, _PENDING.names[-1] = _PENDING.names[-1], None
        return name
    return None


def graph_of(args: Sequence[Any]) -> Graph:
    """The one graph all graph values in ``args`` belong to (the default graph if none)."""
    inner = function_graph_for(args)  # built in a loop body or cond branch: it goes there
    if inner is not None:
        return inner
    g = None
    for a in args:
        t = as_graph_tensor(a)
        if t is None:
            continue
        if g is None:
            g = t.graph
        elif t.graph is not g:
            raise ValueError(f"Tensor {t.name} must be from the same graph as the other inputs "
                             "of the op being created.")
    return g if g is not None else get_default_graph()


def as_graph_tensor(x: Any) -> Tensor | None:
    if isinstance(x, Tensor):
        return x
    f = getattr(x, "_as_graph_tensor", None)
    return f() if f is not None else None


def _python_array(value: Any, dtype: DType | None, param: str, op_type: str) -> np.ndarray:
    """A Python scalar/list as an array of ``dtype`` (TF: no float -> int conversion)."""
    arr = np.asarray(value)
    if arr.dtype.kind in "SU" and (dtype is None or dtype.name == "string"):
        return np.char.encode(arr, "utf-8") if arr.dtype.kind == "U" else arr  # TF: bytes
    if arr.dtype.kind == "i" and dtype is None and arr.size and (
            arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min):
        return arr.astype(np.int64)  # TF: Python ints that do not fit int32 make int64
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Failed to convert object of type {type(value).__name__} to Tensor. "
                        f"Contents: {value!r}.")
    if dtype is None:
        return arr.astype(_PY_DEFAULTS[arr.dtype.kind])
    if dtype.is_integer and arr.dtype.kind == "f":
        raise TypeError(f"Expected {dtype.name} passed to parameter '{param}' of op '{op_type}'"
                        f", got {value!r} of type '{type(value).__name__}' instead.")
    return arr.astype(dtype.np_dtype)


def constant_array(value: Any, dtype: Any = None, param: str = "value",
                   op_type: str = "Const") -> np.ndarray:
    """``value`` converted like ``tf.constant(value, dtype)``."""
    dt = None if dtype is None else as_dtype(dtype)
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if dt is not None:
            return arr.astype(dt.np_dtype)
        as_dtype(arr.dtype)  # raises for unsupported dtypes
        return arr
    return _python_array(value, dt, param, op_type)


def make_const(graph: Graph, arr: np.ndarray, name: str | None = None) -> Tensor:
    arr = with_numpys_dtype(np.array(arr, copy=True))
    arr.setflags(write=False)
    op = graph.create_op("Const", (), {"value": arr}, (AVal(arr.shape, arr.dtype),),
                         name or "Const")
    return op.outputs[0]


def convert(x: Any, graph: Graph, dtype: DType | None = None, param: str = "x",
            op_type: str = "Const", name: str | None = None) -> Tensor:
    """A graph tensor for ``x``: graph values pass through, others become ``Const`` nodes
    (named ``name``: TF names an op's converted inputs ``<op name>/<param>``)."""
    t = as_graph_tensor(x)
    if t is not None:
        return t
    return make_const(graph, constant_array(x, dtype, param, op_type), name)


def dtype_group(op: Op, n: int) -> tuple[int, ...]:
    """Inputs that TF requires to share one dtype (``Op.same_dtype``; the rest are free, e.g.
    shape references)."""
    rule = op.same_dtype
    if rule == "all" or (rule == "auto" and op.kind == "elementwise" and n >= 2):
        return tuple(range(n))
    return () if rule == "auto" else tuple(i for i in rule if i < n)


def _fmt_shape(shape: tuple) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _dims_message(op: Op, avals: Sequence[AVal], fallback: str) -> str:
    """TF's "Dimensions must be equal, but are 3 and 4" where the two clashing dims are known."""
    if op.name == "matmul" and all(a.ndim >= 1 for a in avals):
        k1 = avals[0].shape[-1]
        k2 = avals[1].shape[-2] if avals[1].ndim >= 2 else avals[1].shape[0]
        if k1 is not None and k2 is not None and k1 != k2:
            return f"Dimensions must be equal, but are {k1} and {k2}"
    if op.kind == "elementwise" and len(avals) >= 2:
        nd = max(a.ndim for a in avals)
        for i in range(-nd, 0):
            dims = {a.shape[i] for a in avals if -i <= a.ndim} - {1, None}
            if len(dims) > 1:
                a, b = sorted(dims)
                return f"Dimensions must be equal, but are {a} and {b}"
    return fallback


def _infer_unknown_rank(op: Op, inputs: Sequence[Tensor], params: dict, op_type: str,
                        node: str) -> tuple[Any, Any]:
    """Shape (``None``: unknown rank) and dtype of ``op`` on inputs of which some have unknown
    rank (placeholders declared without a shape), as TF infers them: elementwise ops keep the
    rank unknown, ``*_like`` ops take the reference's shape, a reshape its target's, and any
    other op the shape its rule gives at every rank that fits (:func:`infer_unknown_rank`:
    ``transpose(x, [1, 0])`` is ``(?, ?)``, ``reduce_sum(x, 1)`` unknown). The node checks its
    inputs' ranks when it runs (``Op.at_rank``)."""
    avals = [t.aval for t in inputs]
    if op.kind == "elementwise" or op.shape_ref == 0:
        known = [AVal(() if a.shape is None else a.shape, a.dtype, a.weak) for a in avals]
        return None, op.infer(*known, **params)[1]
    if op.shape_ref is not None:  # ``*_like(x, ref)``: ref's shape, x's dtype
        return avals[op.shape_ref].shape, avals[0].dtype
    if op.name == "reshape" and list(params["shape"]).count(-1) <= 1:
        return tuple(None if d == -1 else d for d in params["shape"]), avals[0].dtype
    try:
        return infer_unknown_rank(op, avals, params)
    except ValueError as e:
        shapes = ", ".join("<unknown>" if a.shape is None else _fmt_shape(a.shape)
                           for a in avals)
        raise ValueError(f"{e} for '{node}' (op: '{op_type}') with input shapes: {shapes}.") \
            from None


class GraphFrontend:
    """Adds a node for each registry op applied to graph tensors (``__sg_frontend__``)."""

    priority = 20

    def apply(self, op: Op, args: Sequence[Any], params: dict) -> Tensor:
        graph = graph_of(args)
        stem = _take_pending() or op.tf_name or op.name
        names = op.input_names
        group = dtype_group(op, len(args))
        op_type = op.tf_name or op.name
        gdt = self._group_dtype(op, args, group, names, op_type)
        inputs = [as_graph_tensor(a) for a in args]
        if any(t is None for t in inputs):  # consts go under the op's name
            full = stem[:-1] if stem.endswith("/") else graph.unique_name(stem)
            stem = full + "/"
            for i, a in enumerate(args):
                if inputs[i] is None:
                    param = names[i] if i < len(names) else f"input_{i}"
                    inputs[i] = convert(a, graph, gdt if i in group else None, param,
                                        op_type, name=f"{stem}{param}/")
        if op.name == "where" and inputs[0].dtype != np.bool_:
            raise TypeError(f"Input 'condition' of 'Select' Op has type {inputs[0].dtype.name} "
                            "that does not match expected type of bool.")
        avals = [t.aval for t in inputs]
        if any(a.shape is None for a in avals):
            node = stem[:-1] if stem.endswith("/") else stem
            shape, dtype = _infer_unknown_rank(op, inputs, params, op_type, node)
            return graph.create_op(op.name, inputs, params, (AVal(shape, np.dtype(dtype)),),
                                   stem, op_def=op).outputs[0]
        try:
            shape, dtype = op.infer(*avals, **params)
        except (ValueError, IndexError) as e:  # TF reserves the failed node's name too
            node = stem[:-1] if stem.endswith("/") else graph.unique_name(stem)
            shapes = ", ".join(_fmt_shape(a.shape) for a in avals)
            named = ", ".join(f"'{t.name}' {_fmt_shape(t.aval.shape)}" for t in inputs)
            msg = _dims_message(op, avals, str(e))
            raise ValueError(f"{msg} for '{node}' (op: '{op_type}') with input shapes: {shapes}"
                             f" (inputs: {named}). {e}") from None
        out = AVal(tuple(shape), np.dtype(dtype))
        return graph.create_op(op.name, inputs, params, (out,), stem, op_def=op).outputs[0]

    @staticmethod
    def _group_dtype(op: Op, args: Sequence[Any], group: tuple, names: Sequence[str],
                     op_type: str) -> DType | None:
        first: tuple[int, DType] | None = None
        for i in group:
            t = as_graph_tensor(args[i])
            if t is None:
                continue
            if first is None:
                first = (i, t.dtype)
            elif t.dtype != first[1]:
                pi = names[i] if i < len(names) else f"input_{i}"
                p0 = names[first[0]] if first[0] < len(names) else f"input_{first[0]}"
                if op.same_dtype == "all":  # TF: one list input, ``values``
                    raise TypeError(f"Tensors in list passed to 'values' of '{op_type}' Op have "
                                    f"types that don't all match: {first[1].name} and "
                                    f"{t.dtype.name}.")
                got, want = t.dtype.base_dtype.name, first[1].base_dtype.name
                raise TypeError(f"Input '{pi}' of '{op_type}' Op has type {got} that does not "
                                f"match type {want} of argument '{p0}'.")
        if first is not None:
            return first[1].base_dtype
        for i in group:  # no graph tensor in the group: the first numpy array decides
            if isinstance(args[i], (np.ndarray, np.generic)):
                return as_dtype(np.asarray(args[i]).dtype)
        return None


FRONTEND = GraphFrontend()
Tensor.__sg_frontend__ = FRONTEND  # type: ignore[attr-defined]

"""Symbolic reverse mode: ``gradients(ys, xs)`` adds gradient nodes to the graph.

The walker visits the ops between ``xs`` and ``ys`` in reverse creation order and calls each
registry op's own VJP rule (``op.op_def.vjp``) on graph tensors, so the rules build ordinary
graph nodes: one rule set for the eager and the static mode. Only the walker's duties live here:
un-broadcasting (``sum_to_like`` where the registry's ``unbroadcast_needed`` policy, shared with
the eager engine, says so), accumulation, and the special kinds (Identity passes through,
StopGradient/Const/Placeholder/Variable/Assign stop, integer tensors get no gradient, nor ops TF
registers no gradient for: ``Op.tf_differentiable``).

Sparse gradients, as TF: the parameter of a row gather (``tf.gather`` along axis 0,
``embedding_lookup``: nodes tagged by ``mark_row_gather``) gets an :class:`IndexedSlices`
(``graph/indexed_slices.py``). Identity passes it on, a float cast casts its values; several
of them for one tensor are concatenated (duplicates kept); with a dense cotangent among them,
or at any other op, they become dense first (TF's ``add_n`` of converted slices).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import ops
from .graph.core import Graph, Operation, Tensor
from .graph.frontend import as_graph_tensor, convert, graph_of, make_const, node_name
from .graph.func_graph import is_opaque
from .graph.indexed_slices import IndexedSlices, row_gather_indices
from .graph.tensor_array_ops import add_opaque
from .ops.core import unbroadcast_needed

_PASS_THROUGH = ("Identity",)
#: op type -> ``fn(op, grads, between, stops, wanted)`` for multi-output host ops (While, If,
#: TensorArray ops), registered by the modules defining them; it adds to ``grads`` itself
CUSTOM_GRADIENTS: dict[str, Any] = {}
_READY = threading.local()  # the hook of on_gradient_ready, taken by the next gradients() call


@contextmanager
def on_gradient_ready(fn: Callable[[int, Tensor], None]) -> Iterator[None]:
    """Within the block, the next :func:`gradients` call (that one only, not the calls nested in
    it) calls ``fn(i, g)`` the moment ``xs[i]``'s gradient ``g`` is final, during the walk: what
    ``fn`` adds to the graph is created between the backward's ops, so it runs there (the
    executors run ops in creation order). ``DistributedOptimizer`` starts allreduces there."""
    _READY.fn = fn
    try:
        yield
    finally:
        _READY.fn = None


def _as_list(x: Any) -> tuple[list, bool]:
    if isinstance(x, (list, tuple)):
        return list(x), True
    return [x], False


def _is_float(t: Tensor) -> bool:
    return t.dtype.is_floating


def _between(ys: list[Tensor], xs: list[Tensor], stops: set[Tensor]) -> set[Operation]:
    """Ops on a path from some x to some y (data edges only)."""
    graph = ys[0].graph
    order = graph._ops
    reach: set[Tensor] = set(xs)
    fwd: set[Operation] = set()
    lo = min((t.op._id for t in xs), default=len(order))
    for op in order[lo:]:
        if any(t in reach for t in op.inputs):
            fwd.add(op)
            reach.update(op.outputs)
    back: set[Operation] = set()
    stack = [y.op for y in ys]
    while stack:
        op = stack.pop()
        if op in back:
            continue
        back.add(op)
        stack.extend(t.op for t in op.inputs if t not in stops)
    return fwd & back


def _accumulate(parts: list[Any]) -> Any:
    """The sum of a tensor's cotangents; the last node is named ``AddN`` as in TF. All of them
    :class:`IndexedSlices`: one, their values and indices concatenated (TF keeps duplicates)."""
    if is_opaque(parts[0]):  # a TensorArray's cotangents (graph/tensor_array_ops.py)
        return add_opaque(parts)
    if all(isinstance(p, IndexedSlices) for p in parts):
        first = parts[0]
        idx = [p.indices for p in parts]
        if any(i.dtype != idx[0].dtype for i in idx):
            idx = [i if i.dtype == np.int64 else ops.cast(i, np.int64) for i in idx]
        return IndexedSlices(ops.cat([p.values for p in parts], 0), ops.cat(idx, 0),
                             first.dense_shape, first._like)
    parts = [_dense(p) for p in parts]
    out = parts[0]
    for i, p in enumerate(parts[1:], 2):
        with node_name("AddN" if i == len(parts) else None):
            out = ops.add(out, p)
    return out


def _dense(g: Any) -> Any:
    """``g`` as a dense tensor (an :class:`IndexedSlices` converted; others unchanged)."""
    return g._as_graph_tensor() if isinstance(g, IndexedSlices) else g


def _row_gather_grad(graph: Graph, op: Operation, g: Tensor) -> IndexedSlices | None:
    """TF's gather gradient for the parameter of a tagged row gather: the cotangent's rows,
    the flat indices, the parameter's shape (``None``: the rows' shape is unknown)."""
    idx = row_gather_indices(op)
    p = op.inputs[0]
    if p.aval.shape is None or any(d is None for d in p.aval.shape[1:]) or g.aval.shape is None:
        return None
    from .graph.array_ops import shape

    if len(g.aval.shape) != p.ndim:
        g = ops.reshape(g, (-1,) + tuple(p.aval.shape[1:]))
    if isinstance(idx, np.ndarray):
        idx = make_const(graph, idx, "indices")
    elif idx.aval.shape is None or idx.ndim != 1:
        idx = ops.reshape(idx, (-1,))
    return IndexedSlices(g, idx, shape(p, out_type=np.int32), like=p)


def _vjp_args(op: Operation) -> list[Any]:
    """Inputs for the rule: a 0-d float/int ``Const`` of an elementwise op is passed as a Python
    scalar, so rules such as ``pow``'s pick their constant-exponent form. A float64 one is
    passed as ``np.float64`` (a ``float`` that numpy reads as float64 data): a plain Python
    float is weak, so a rule's arithmetic on two of them (``atan2``'s ``x * x`` of a constant
    ``x``) ran in float32 and was folded into the float64 gradient."""
    out = []
    for t in op.inputs:
        if (op.op_def is not None and op.op_def.kind == "elementwise" and t.op.type == "Const"
                and t.aval.shape == () and t.dtype.np_dtype.kind in "if"):
            v = t.op.params["value"][()]
            if not t.dtype.is_floating:
                out.append(int(v))
            else:
                out.append(np.float64(v) if t.dtype.np_dtype == np.float64 else float(v))
        else:
            out.append(t)
    return out


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients",
              stop_gradients: Any = None, colocate_gradients_with_ops: bool = False,
              gate_gradients: bool = False, aggregation_method: Any = None) -> list:
    """Symbolic d(sum ys)/d(xs) as new graph nodes; ``None`` where an x does not reach ys."""
    ys_l, _ = _as_list(ys)
    xs_l, _ = _as_list(xs)
    ys_t = [_tensor(y, "ys") for y in ys_l]
    xs_t = [_tensor(x, "xs") for x in xs_l]
    graph = ys_t[0].graph
    for t in ys_t + xs_t:
        if t.graph is not graph:
            raise ValueError(f"{t.name} is not from the same graph as {ys_t[0].name}")
    stops = {_tensor(s, "stop_gradients") for s in _as_list(stop_gradients)[0]} \
        if stop_gradients is not None else set()
    gys = _as_list(grad_ys)[0] if grad_ys is not None else [None] * len(ys_t)
    if len(gys) != len(ys_t):
        raise ValueError(f"Passed {len(gys)} grad_ys for {len(ys_t)} ys")
    between = _between(ys_t, xs_t, stops)
    grads: dict[Tensor, list[Tensor]] = {}
    ready, _READY.fn = getattr(_READY, "fn", None), None
    last: dict[Operation, list[int]] = {}  # op -> the xs it is the last (lowest) consumer of
    if ready is not None:
        for i, x in enumerate(xs_t):
            users = [op for op in between if any(t is x for t in op.inputs)]
            if users:
                last.setdefault(min(users, key=lambda o: o._id), []).append(i)
    done: dict[int, Tensor | None] = {}
    counted: dict[int, int] = {}  # the number of cotangents each early gradient summed
    with graph.name_scope(name) as scope:
        for y, gy in zip(ys_t, gys, strict=False):
            if not _is_float(y):
                continue
            if gy is None:
                gy = ops.ones_like(y)
            else:
                gy = convert(gy, graph, y.dtype, "grad_ys")
            grads.setdefault(y, []).append(gy)
        for op in sorted(between, key=lambda o: o._id, reverse=True):
            _backprop_op(graph, op, grads, between, stops, set(xs_t))
            for i in last.get(op, ()):
                done[i] = _dense(_final(graph, scope, grads.get(xs_t[i]), xs_t[i]))
                counted[i] = len(grads.get(xs_t[i], ()))
                if done[i] is not None:
                    ready(i, done[i])
    for i, n in counted.items():  # every cotangent of x comes from an op with x as an input
        if len(grads.get(xs_t[i], ())) != n:
            raise AssertionError(f"a cotangent of {xs_t[i].name} arrived after on_ready")
    out = []
    for i, x in enumerate(xs_t):
        if i not in done:
            done[i] = _final(graph, scope, grads.get(x), x)
            if ready is not None and done[i] is not None:  # allreduce: dense (sparse_as_dense)
                done[i] = _dense(done[i])
                ready(i, done[i])
        out.append(done[i])
    return out


def dense_gradients(ys: Any, xs: Any, **kwargs: Any) -> list:
    """:func:`gradients` with every :class:`IndexedSlices` made dense (for the VJPs of loop
    bodies and cond branches, which pass tensors on)."""
    return [_dense(g) for g in gradients(ys, xs, **kwargs)]


def _final(graph: Graph, scope: str, parts: list[Any] | None, x: Tensor) -> Any:
    """The gradient of ``x`` from its cotangents (their sum), ``None`` when it has none."""
    if not parts or not _is_float(x):
        return None
    if len(parts) == 1:
        return parts[0]
    with graph.name_scope(scope):
        return _accumulate(parts)


def _backprop_op(graph: Graph, op: Operation, grads: dict[Tensor, list[Tensor]],
                 between: set[Operation], stops: set[Tensor], wanted: set[Tensor]) -> None:
    custom = CUSTOM_GRADIENTS.get(op.type)
    if custom is not None:  # control flow and TensorArrays (control_flow_grad.py)
        for t in op.outputs:
            if any(isinstance(p, IndexedSlices) for p in grads.get(t, ())):
                with graph.name_scope(f"{op.name}_grad"):
                    grads[t] = [_dense(_accumulate(grads[t]))]
        return custom(op, grads, between, stops, wanted)
    if not op.outputs:
        return
    out = op.outputs[0]
    parts = grads.get(out)
    if not parts or out in stops or not _is_float(out):
        return
    if len(parts) > 1:
        grads[out] = [_accumulate(parts)]
    g = grads[out][0]
    with graph.name_scope(f"{op.name}_grad"):
        if isinstance(g, IndexedSlices) and op.type == "cast" and _is_float(op.inputs[0]):
            x = op.inputs[0]  # TF's _CastGrad: the slices' values cast back
            if x.op in between or x in wanted:
                grads.setdefault(x, []).append(IndexedSlices(
                    ops.cast(g.values, x.dtype.np_dtype), g.indices, g.dense_shape, x))
            return
        if op.type not in _PASS_THROUGH and isinstance(g, IndexedSlices):
            g = grads[out][0] = _dense(g)
        sparse = None
        if row_gather_indices(op) is not None and _is_float(op.inputs[0]) and (
                op.inputs[0].op in between or op.inputs[0] in wanted):
            sparse = _row_gather_grad(graph, op, g)
        if sparse is not None:
            grads.setdefault(op.inputs[0], []).append(sparse)
            return
        # the inputs that take a cotangent (float, and on a path from xs or one of them)
        needs = [_is_float(x) and (x.op in between or x in wanted) for x in op.inputs]
        if op.type in _PASS_THROUGH:
            in_grads: Sequence[Any] = (g,)
        elif getattr(getattr(op, "host", None), "tf_no_gradient", False):
            raise LookupError(f"No gradient defined for operation'{op.name}' (op type: "
                              f"{op.tf_type}). In general every operation must have an "
                              f"associated `@tf.RegisterGradient` for correct autodiff, which "
                              f"this op is lacking. If you want to pretend this operation is a "
                              f"constant in your program, you may insert `tf.stop_gradient`.")
        elif op.op_def is None or op.op_def.vjp is None or not op.op_def.tf_differentiable:
            return  # StopGradient, Const, Placeholder, VariableV2, Assign*, argmax, Floor...
        elif op.op_def.vjp_needs:  # the rule builds only the cotangents read below
            in_grads = op.op_def.vjp(g, out, *_vjp_args(op), needs=needs, **op.params)
        else:
            in_grads = op.op_def.vjp(g, out, *_vjp_args(op), **op.params)
        for x, gx, need in zip(op.inputs, in_grads, needs, strict=False):
            if gx is None or not need:
                continue
            if isinstance(gx, IndexedSlices):  # Identity passes the slices on
                grads.setdefault(x, []).append(gx)
                continue
            gx = as_graph_tensor(gx) if as_graph_tensor(gx) is not None else convert(
                gx, graph, x.dtype)
            if op.op_def is not None and unbroadcast_needed(  # Identity: g itself
                    op.op_def, gx.aval.shape, x.aval.shape, len(op.inputs)):
                gx = ops.sum_to_like(gx, x)
            if gx.dtype != x.dtype:
                gx = ops.cast(gx, x.dtype.np_dtype)
            grads.setdefault(x, []).append(gx)


def _tensor(x: Any, what: str) -> Tensor:
    t = as_graph_tensor(x)
    if t is None:
        raise TypeError(f"{what} must be graph Tensors or Variables, got {x!r}")
    return t


def hessians(ys: Any, xs: Any, name: str = "hessians", gate_gradients: bool = False,
             colocate_gradients_with_ops: bool = False, aggregation_method: Any = None) -> list:
    """Hessian of ``sum(ys)`` w.r.t. each x, shape ``x.shape + x.shape`` (x fully defined)."""
    ys_l, _ = _as_list(ys)
    total = ys_l[0] if len(ys_l) == 1 else ops.add(*ys_l[:2])
    for y in ys_l[2:]:
        total = ops.add(total, y)
    from .graph.math_ops import reduce_sum

    total = reduce_sum(total)
    out = []
    for x in _as_list(xs)[0]:
        xt = _tensor(x, "xs")
        if not xt.shape.is_fully_defined():
            raise ValueError(f"hessians needs a fully defined shape for {xt.name}, got "
                             f"{xt.shape}")
        (g,) = gradients(total, [xt], name=name)
        if g is None:
            out.append(None)
            continue
        n = int(np.prod(xt.shape.as_list(), dtype=np.int64))
        flat = ops.reshape(g, (-1,))
        rows = []
        for j in range(n):
            (r,) = gradients(ops.getitem(flat, j), [xt], name=name)
            rows.append(ops.reshape(r, (-1,)) if r is not None else ops.zeros_like(flat))
        h = ops.stack(rows, 0)
        out.append(ops.reshape(h, tuple(xt.shape.as_list()) * 2))
    return out


__all__ = ["gradients", "dense_gradients", "hessians", "graph_of"]

"""TF1's higher-order functions on the loop op: ``tf.scan``, ``tf.map_fn``, ``tf.foldl``,
``tf.foldr``.

Each is one ``While`` (:mod:`.while_op`) that slices its ``elems`` along dimension 0 (one element
per iteration, back to front when ``reverse``), carries the accumulator, and stacks the
per-iteration results, so the gradient is the loop's gradient (it slices the results'
cotangents and stacks the elements' gradients) and a compiled executor compiles ``fn`` once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import ops
from ..ops.core import AVal
from . import nest
from .control_flow import _as_inner, _leaf_tensor, _shape_leq
from .core import Tensor, _user_site
from .frontend import graph_of, make_const
from .func_graph import FuncGraph, function_graph_for
from .while_op import make_while, stacked_output


def _elems(elems: Any, where: str) -> tuple[list[Tensor], Any]:
    leaves = nest.flatten(elems)
    if not leaves:
        raise ValueError(f"{where}: elems must be a Tensor or a (nested) sequence of Tensors")
    outer = function_graph_for(leaves) or graph_of(leaves)
    ts = [_leaf_tensor(x, outer, f"{where}: elems") for x in leaves]
    for t in ts:
        if t.aval.shape is not None and len(t.aval.shape) == 0:
            raise ValueError(f"{where}: elements in elems must be 1+ dimensional Tensors, not "
                             f"scalars: {t}")
    return ts, outer


def _loop(name: str, site: str, outer: Any, init: Sequence[Tensor], elems: Sequence[Tensor],
          step: Callable[[list, list], tuple[list, list]], reverse: bool,
          back_prop: bool) -> tuple[list[Tensor], list[Tensor]]:
    """One ``While`` over the rows of ``elems``: ``step(acc, rows) -> (new acc, outputs)``.
    Returns the final accumulator and the stacked outputs."""
    full = outer.unique_name(name)
    where = f"{name} '{full}' (defined at {site})"
    e0 = elems[0]
    n0 = e0.aval.shape[0] if e0.aval.shape is not None else None
    with outer.as_default():
        n = make_const(outer, np.asarray(n0, np.int32), full + "/n/") if n0 is not None else \
            ops.size(e0, 0, np.int32)
        start = make_const(outer, np.asarray(0, np.int32), full + "/iteration_start/")
    avals = [AVal((), np.dtype(np.int32))] + [AVal(t.aval.shape, t.aval.dtype) for t in init]
    cond_g = FuncGraph(outer, full)
    with cond_g.as_default():
        c_args = [cond_g.add_arg(a, "loop_var") for a in avals]
        c_out = ops.lt(c_args[0], cond_g.capture(n))
    body_g = FuncGraph(outer, full)
    with body_g.as_default():
        b_args = [body_g.add_arg(a, "loop_var") for a in avals]
        rows = [body_g.add_arg(AVal(None if e.aval.shape is None else e.aval.shape[1:],
                                    e.aval.dtype), "elem") for e in elems]
        acc, outs = step(b_args[1:], rows)
        acc = [_as_inner(a, body_g, f"{where}: fn's result") for a in acc]
        outs = [_as_inner(o, body_g, f"{where}: fn's result") for o in outs]
        nxt = ops.add(b_args[0], np.asarray(1, np.int32))
    for a, t in zip(acc, init, strict=True):
        if a.dtype.base_dtype != t.dtype.base_dtype or not _shape_leq(a.shape, t.shape):
            raise ValueError(f"{where}: fn returned {a.dtype.base_dtype.name} {a.shape} for an "
                             f"accumulator that is {t.dtype.base_dtype.name} {t.shape} "
                             "(fn must keep the accumulator's dtype and shape)")
    op = make_while(outer, full, site, [start] + list(init), avals, cond_g, c_args, c_out,
                    body_g, b_args, [nxt] + acc, list(zip(elems, rows, strict=True)),
                    [(o, "array") for o in outs], reverse=reverse, back_prop=back_prop)
    return list(op.outputs[1:1 + len(init)]), [stacked_output(op, k) for k in range(len(outs))]


def _start(elems: Any, initializer: Any, ts: list, outer: Any, where: str,
           reverse: bool) -> tuple[list, list, Any]:
    """The rows to loop over, the initial accumulator (flat) and its structure: the
    ``initializer``, or without one the first row (last when ``reverse``), which is then not
    looped over."""
    if initializer is None:
        with outer.as_default():
            init = [ops.getitem(t, -1 if reverse else 0) for t in ts]
            ts = [ops.getitem(t, slice(None, -1) if reverse else slice(1, None)) for t in ts]
        return ts, init, elems
    return ts, [_leaf_tensor(x, outer, f"{where}: initializer")
                for x in nest.flatten(initializer)], initializer


def _accumulate(fn: Callable, struct: Any, elems: Any, acc: list, rows: list,
                where: str) -> list:
    """``fn(acc, x)`` on the structured accumulator and row, checked to keep the accumulator's
    structure; flat."""
    r = fn(nest.pack_sequence_as(struct, acc), nest.pack_sequence_as(elems, rows))
    if not nest.same_structure(struct, r):
        raise ValueError(f"{where}: fn must return the structure of the accumulator. "
                         + nest.structure_message(struct, r))
    return nest.flatten(r)


def scan(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10,
         back_prop: bool = True, swap_memory: bool = False, infer_shape: bool = True,
         reverse: bool = False, name: str | None = None) -> Any:
    """``fn(acc, x)`` over the rows of ``elems``; every intermediate accumulator, stacked.
    Without ``initializer`` the first row (last when ``reverse``) is the initial value and
    the first (last) output row."""
    site = _user_site()
    where = f"scan (defined at {site})"
    ts, outer = _elems(elems, where)
    ts, init, init_struct = _start(elems, initializer, ts, outer, where, reverse)
    first = init if initializer is None else None

    def step(acc: list, rows: list) -> tuple[list, list]:
        flat = _accumulate(fn, init_struct, elems, acc, rows, where)
        return flat, flat

    _, stacked = _loop(name or "scan", site, outer, init, ts, step, reverse, back_prop)
    if first is not None:
        with outer.as_default():
            parts = [(ops.unsqueeze(f, 0), s) for f, s in zip(first, stacked, strict=True)]
            stacked = [ops.cat([s, f] if reverse else [f, s], 0) for f, s in parts]
    return nest.pack_sequence_as(init_struct, stacked)


def map_fn(fn: Callable, elems: Any, dtype: Any = None, parallel_iterations: int | None = None,
           back_prop: bool = True, swap_memory: bool = False, infer_shape: bool = True,
           name: str | None = None) -> Any:
    """``fn`` applied to each row of ``elems`` (a tensor or a nested structure of them, sliced
    together); the results stacked (``dtype`` is accepted: the result's structure and dtypes
    come from ``fn``)."""
    site = _user_site()
    where = f"map_fn (defined at {site})"
    ts, outer = _elems(elems, where)
    holder: list = []

    def step(acc: list, rows: list) -> tuple[list, list]:
        r = fn(nest.pack_sequence_as(elems, rows))
        holder.append(r)
        return [], nest.flatten(r)

    _, stacked = _loop(name or "map", site, outer, [], ts, step, False, back_prop)
    return nest.pack_sequence_as(holder[0], stacked)


def _fold(kind: str, fn: Callable, elems: Any, initializer: Any, back_prop: bool,
          name: str | None, reverse: bool) -> Any:
    site = _user_site()
    where = f"{kind} (defined at {site})"
    ts, outer = _elems(elems, where)
    ts, init, struct = _start(elems, initializer, ts, outer, where, reverse)

    def step(acc: list, rows: list) -> tuple[list, list]:
        return _accumulate(fn, struct, elems, acc, rows, where), []

    final, _ = _loop(name or kind, site, outer, init, ts, step, reverse, back_prop)
    return nest.pack_sequence_as(struct, final)


def foldl(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10,
          back_prop: bool = True, swap_memory: bool = False, name: str | None = None) -> Any:
    """``fn(acc, x)`` over the rows of ``elems``, first to last; the final accumulator."""
    return _fold("foldl", fn, elems, initializer, back_prop, name, False)


def foldr(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10,
          back_prop: bool = True, swap_memory: bool = False, name: str | None = None) -> Any:
    """``fn(acc, x)`` over the rows of ``elems``, last to first; the final accumulator."""
    return _fold("foldr", fn, elems, initializer, back_prop, name, True)


__all__ = ["scan", "map_fn", "foldl", "foldr"]

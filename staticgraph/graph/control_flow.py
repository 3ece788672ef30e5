"""TF1's control flow: ``tf.while_loop``, ``tf.cond`` and ``tf.case`` with real sub-graphs.

The user's functions are called once, at build time, on placeholders of function graphs
(:mod:`.func_graph`); the result is one ``While`` (:mod:`.while_op`) or ``If`` (:mod:`.cond_op`)
node holding them. Build-time checks follow TF1 (structure, dtype, shape invariants, a scalar
bool condition); each error names the loop, the variable and the user's line.
Gradients: :mod:`staticgraph.control_flow_grad` and :mod:`staticgraph.cond_grad` (registered
on import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import cond_grad, control_flow_grad  # noqa: F401 - register the If/While gradients
from ..ops.core import AVal
from . import nest, tensor_array  # noqa: F401 - tensor_array: x[i] with a tensor i
from .core import Graph, Tensor, _user_site
from .frontend import as_graph_tensor, constant_array, graph_of, make_const
from .func_graph import FuncGraph, function_graph_for, is_opaque, mark_opaque
from .tensor_shape import TensorShape, as_shape
from .while_op import make_while

_LEAF_HELP = "loop variables must be Tensors, Variables, TensorArrays, or Python/numpy values"


def _leaf_tensor(x: Any, graph: Graph, what: str) -> Tensor:
    """A graph tensor for one loop variable / branch output (TensorArray: its flow)."""
    flow = getattr(x, "flow", None)
    if flow is not None and hasattr(x, "_with_flow"):
        return flow
    t = as_graph_tensor(x)
    if t is not None:
        if t.op.type == "VariableV2":  # a Variable as a loop variable: its current value
            from .array_ops import identity

            with graph.as_default():
                return identity(t)
        return t
    if x is None or callable(x):
        raise TypeError(f"{what}: {_LEAF_HELP}, got {x!r}")
    return make_const(graph, constant_array(x))


def _rewrap(template: Any, t: Tensor) -> Any:
    return template._with_flow(t) if hasattr(template, "_with_flow") else t


def _shape_leq(shape: TensorShape, inv: TensorShape) -> bool:
    """Every shape ``shape`` can take is allowed by invariant ``inv`` (TF's rule)."""
    if inv.ndims is None:
        return True
    if shape.ndims != inv.ndims:
        return False
    return all(b is None or a == b for a, b in zip(shape.as_list(), inv.as_list(), strict=True))


def _call(fn: Callable, args: Any, unpack: bool) -> Any:
    return fn(*args) if unpack else fn(args)


def while_loop(cond: Callable, body: Callable, loop_vars: Any, shape_invariants: Any = None,
               parallel_iterations: int = 10, back_prop: bool = True, swap_memory: bool = False,
               maximum_iterations: Any = None, name: str | None = None,
               return_same_structure: bool = False) -> Any:
    """Repeat ``body`` while ``cond`` is true (TF1's ``tf.while_loop``).

    ``loop_vars``: a (nested) tuple/list/dict of tensors, TensorArrays or Python values;
    ``cond(*loop_vars)`` returns a scalar bool tensor, ``body(*loop_vars)`` the new values in
    the same structure. Each variable keeps its shape unless ``shape_invariants`` relaxes it
    (``None`` dims). ``maximum_iterations`` bounds the trip count. Only the taken iterations
    run; ``parallel_iterations`` and ``swap_memory`` are accepted and ignored."""
    site = _user_site()
    if not callable(cond):
        raise TypeError("cond must be callable.")
    if not callable(body):
        raise TypeError("body must be callable.")
    single = not nest.is_sequence(loop_vars)
    if single:
        loop_vars = [loop_vars]
    if isinstance(loop_vars, (list, tuple)) and not loop_vars:
        raise ValueError("No loop variables provided")
    unpack = isinstance(loop_vars, (list, tuple))
    leaves = nest.flatten(loop_vars)
    paths = nest.paths(loop_vars, "loop_vars")
    outer = function_graph_for(leaves) or graph_of(leaves)
    full = outer.unique_name(name or "while")
    where = f"while_loop '{full}' (defined at {site})"
    init = [_leaf_tensor(x, outer, f"{where}: {p}") for x, p in zip(leaves, paths, strict=True)]
    invs = [t.shape for t in init]
    if shape_invariants is not None:
        given = [shape_invariants] if single else shape_invariants
        try:
            flat_invs = nest.flatten_up_to(loop_vars, given)
        except ValueError as e:
            raise ValueError(f"{where}: shape_invariants must have the structure of loop_vars. "
                             f"{e}") from None
        invs = []
        for t, s, p in zip(init, flat_invs, paths, strict=True):
            inv = as_shape(s)
            if not _shape_leq(t.shape, inv):
                raise ValueError(f"The shape invariant specified for {t.name} is not compatible "
                                 f"with the initial shape of the loop variable. It enters the "
                                 f"loop with shape {t.shape}, but the specified shape invariant "
                                 f"is {inv}. ({p} of {where})")
            invs.append(inv)
    dtypes = [t.aval.dtype for t in init]
    n_extra = 0
    if maximum_iterations is not None:  # TF1: a counter in front, and i < max in the condition
        counter = make_const(outer, np.asarray(0, np.int32), full + "/iteration_counter/")
        limit = as_graph_tensor(maximum_iterations)
        if limit is None:
            limit = make_const(outer, np.asarray(maximum_iterations, np.int32),
                               full + "/maximum_iterations/")
        init, invs, dtypes = [counter] + init, [TensorShape([])] + invs, \
            [np.dtype(np.int32)] + dtypes
        n_extra = 1
    avals = [AVal(s.as_tuple(), d) for s, d in zip(invs, dtypes, strict=True)]

    def args_for(fg: FuncGraph) -> tuple[list[Tensor], Any]:
        args = [fg.add_arg(a, f"loop_var_{i}" if i >= n_extra else "iteration", is_opaque(t))
                for i, (a, t) in enumerate(zip(avals, init, strict=True))]
        user = [_rewrap(x, a) for x, a in zip(leaves, args[n_extra:], strict=True)]
        return args, nest.pack_sequence_as(loop_vars, user)

    cond_g = FuncGraph(outer, full)
    with cond_g.as_default():
        cargs, packed = args_for(cond_g)
        c = _call(cond, packed, unpack)
        ct = _as_inner(c, cond_g, f"{where}: cond")
        if not ct.dtype.is_bool:
            raise TypeError(f"{where}: cond must return a scalar bool tensor, but returned "
                            f"{ct} of dtype {ct.dtype.name}")
        if ct.aval.shape != ():
            r = "unknown" if ct.aval.shape is None else len(ct.aval.shape)
            raise ValueError(f"Shape must be rank 0 but is rank {r} for '{full}/LoopCond' (op: "
                             f"'LoopCond') with input shapes: {ct.shape}. ({where}: cond must "
                             "return a scalar bool tensor)")
        if n_extra:
            from .math_ops import less, logical_and

            ct = logical_and(less(cargs[0], cond_g.capture(limit)), ct)
    body_g = FuncGraph(outer, full)
    with body_g.as_default():
        bargs, packed = args_for(body_g)
        res = _call(body, packed, unpack)
        top = list(loop_vars) if unpack else loop_vars
        if unpack and len(top) == 1 and not (isinstance(res, (list, tuple)) and len(res) == 1):
            res = [res]
        if not nest.same_structure(top, list(res) if unpack and isinstance(res, (list, tuple))
                                   else res):
            raise ValueError(f"{where}: body must return the structure of loop_vars. "
                             + nest.structure_message(top, res))
        outs = [_as_inner(x, body_g, f"{where}: body's {p}")
                for x, p in zip(nest.flatten(res), paths, strict=True)]
        if n_extra:
            from .math_ops import add

            outs = [add(bargs[0], 1)] + outs
    for k, (o, t0, inv) in enumerate(zip(outs, init, invs, strict=True)):
        if k < n_extra:
            continue
        p = paths[k - n_extra]
        if o.dtype.base_dtype != t0.dtype.base_dtype:
            raise TypeError(f"{where}: body returns {o.dtype.base_dtype.name} for loop variable "
                            f"{p} ('{t0.name}'), which enters the loop as "
                            f"{t0.dtype.base_dtype.name} (the body must keep each dtype)")
        if not _shape_leq(o.shape, inv):
            raise ValueError(f"Input tensor '{t0.name}' enters the loop with shape {inv}, but "
                             f"has shape {o.shape} after one iteration. To allow the shape to "
                             "vary across iterations, use the `shape_invariants` argument of "
                             f"tf.while_loop to specify a less-specific shape. ({p} of {where})")
    op = make_while(outer, full, site, init, avals, cond_g, cargs, ct, body_g, bargs, outs,
                    back_prop=back_prop)
    exits = []
    for k in range(n_extra, len(init)):
        e = outer.create_op("Identity", [op.outputs[k]], {}, [op.outputs[k].aval],
                            f"{full}/Exit" + (f"_{k}" if k else "") + "/").outputs[0]
        if is_opaque(op.outputs[k]):
            mark_opaque(e)
        exits.append(e)
    result = nest.pack_sequence_as(loop_vars, [_rewrap(x, e) for x, e in
                                               zip(leaves, exits, strict=True)])
    if single or (not return_same_structure and len(exits) == 1 and unpack):
        return result[0]
    return result


def _as_inner(x: Any, fg: FuncGraph, what: str) -> Tensor:
    """``x`` (a branch or body result) as a tensor of ``fg`` (outer tensors are captured)."""
    t = _leaf_tensor(x, fg, what)
    return fg.capture(t) if t.graph is not fg else t


def cond(pred: Any, true_fn: Callable[[], Any] | None = None,
         false_fn: Callable[[], Any] | None = None, strict: bool = False,
         name: str | None = None, fn1: Any = None, fn2: Any = None) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()``: only the taken branch runs (its side
    effects included), and gradients flow through the taken branch only."""
    site = _user_site()
    true_fn, false_fn = true_fn or fn1, false_fn or fn2
    if true_fn is None or false_fn is None or not callable(true_fn) or not callable(false_fn):
        raise TypeError("cond(): true_fn and false_fn arguments must be callables")
    p = as_graph_tensor(pred)
    outer = function_graph_for([p] if p is not None else []) or graph_of([p])
    if p is None:
        p = make_const(outer, constant_array(pred))
    if not p.dtype.is_bool or (p.aval.shape is not None and len(p.aval.shape) != 0):
        raise TypeError(f"pred must be a scalar bool tensor, got {p.dtype.name} {p.shape} "
                        f"(cond defined at {site})")
    full = outer.unique_name(name or "cond")
    where = f"cond '{full}' (defined at {site})"
    graphs, results = [], []
    for fn in (true_fn, false_fn):
        g = FuncGraph(outer, full)
        with g.as_default():
            results.append(fn())
        graphs.append(g)
    rt, rf = results
    if not nest.same_structure(rt, rf):
        raise ValueError("Incompatible return values of `true_fn` and `false_fn`: true_fn and "
                         f"false_fn must have the same type of outputs ({where}). "
                         + nest.structure_message(rt, rf))
    leaves = nest.flatten(rt)
    outs = []
    for g, r, which in zip(graphs, results, ("true_fn", "false_fn"), strict=True):
        with g.as_default():
            outs.append([_as_inner(x, g, f"{where}: {which}") for x in nest.flatten(r)])
    avals = []
    for a, b in zip(*outs, strict=True):
        if a.dtype.base_dtype != b.dtype.base_dtype:
            raise ValueError(f"Outputs of true_fn and false_fn must have the same type: "
                             f"{a.dtype.base_dtype.name}, {b.dtype.base_dtype.name} ({where})")
        sa, sb = a.aval.shape, b.aval.shape
        if sa is None or sb is None or len(sa) != len(sb):
            shape = None
        else:
            shape = tuple(x if x == y else None for x, y in zip(sa, sb, strict=True))
        avals.append(AVal(shape, a.aval.dtype))
    from .cond_op import make_if

    op = make_if(outer, full, site, p, graphs, outs, avals)
    merged = []
    for i, o in enumerate(op.outputs[:len(avals)]):
        m = outer.create_op("Identity", [o], {}, [o.aval],
                            f"{full}/Merge" + (f"_{i}" if i else "") + "/").outputs[0]
        if is_opaque(o):
            mark_opaque(m)
        merged.append(m)
    result = nest.pack_sequence_as(rt, [_rewrap(x, m) for x, m in zip(leaves, merged,
                                                                      strict=True)])
    if not strict and isinstance(result, (list, tuple)) and len(result) == 1 \
            and not hasattr(result, "_fields"):
        return result[0]
    return result


def case(pred_fn_pairs: Any, default: Callable | None = None, exclusive: bool = False,
         strict: bool = False, name: str = "case") -> Any:
    """The ``fn`` of the first true ``pred`` (else ``default()``), as nested ``cond``s
    (TF1's ``tf.case``; without ``default`` the last pair's ``fn`` is the default).
    ``exclusive`` is accepted; the first true predicate wins either way."""
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) \
        else list(pred_fn_pairs)
    if not pairs:
        if default is None:
            raise ValueError("pred_fn_pairs is empty and no default is given")
        return default()
    for pf in pairs:
        if not isinstance(pf, tuple) or len(pf) != 2 or not callable(pf[1]):
            raise TypeError(f"Each entry in pred_fn_pairs must be a 2-tuple (pred, fn) with a "
                            f"callable fn, got {pf!r}")
    if default is None:
        *pairs, (_, default) = pairs
        if not pairs:
            return default()

    def chain(k: int) -> Any:
        if k == len(pairs):
            return default()
        pred, fn = pairs[k]
        return cond(pred, fn, lambda: chain(k + 1), strict=strict,
                    name=name if k == 0 else "cond")

    return chain(0)


__all__ = ["while_loop", "cond", "case"]

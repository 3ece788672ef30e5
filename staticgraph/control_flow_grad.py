"""Gradients of ``While`` ops, as graph (registered in ``gradients.CUSTOM_GRADIENTS``), and the
function-graph VJP that the ``If`` gradient shares.

**The body's VJP.** :func:`build_vjp` runs the ordinary symbolic ``gradients`` over a function
graph (so the registry's VJP rules build the nodes, inside that graph), then copies the gradient
nodes into a new function graph. Every forward value those nodes read becomes an input of it:
a captured tensor stays a capture of the same outer tensor (a Variable stays a live read), a
constant is copied, anything else is *saved*: the forward op outputs it (``add_saved``).

**Loops** (TF1's scheme, as a functional loop): the forward ``While`` stacks every saved value,
one entry per iteration; the gradient is a second ``While`` that runs the iterations in reverse
(it slices those stacks back to front), carries the cotangents of the loop variables, and
accumulates the cotangents of the captured tensors and Variables over the iterations (carried
sums). Its trip count is the forward one. Its body is an ordinary function graph, so the
gradient of the gradient is the same construction again.

Conds: :mod:`staticgraph.cond_grad`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import ops
from .gradients import CUSTOM_GRADIENTS, _accumulate
from .gradients import dense_gradients as gradients
from .graph.core import Operation, Tensor
from .graph.frontend import make_const
from .graph.func_graph import FuncGraph, copy_ops, is_opaque, mark_opaque
from .graph.tensor_array_ops import scatter_rows
from .graph.while_op import add_saved as loop_save
from .graph.while_op import make_while, trip_count
from .ops.core import AVal


@dataclass
class Vjp:
    """A function graph computing the VJP of another one (see :func:`build_vjp`)."""

    graph: FuncGraph
    cots: list[Tensor | None]  # per forward output: its cotangent's placeholder (or None)
    saved: list[tuple[Tensor, Tensor]]  # (forward tensor, placeholder): values to save
    grads: list[Tensor | None]  # per ``wrt``: its gradient (None: no path)


def _floating(t: Tensor) -> bool:
    return t.dtype.is_floating


def build_vjp(fg: FuncGraph, ys: Sequence[Tensor], mask: Sequence[bool],
              wrt: Sequence[Tensor], op: Operation, src_of: dict[Tensor, Tensor],
              name: str) -> Vjp:
    """The VJP of ``fg`` (held by ``op``): the cotangents of ``ys`` (where ``mask``) ->
    gradients w.r.t. ``wrt`` (tensors of ``fg``), as a new function graph in ``op``'s graph.
    ``src_of``: the inner tensors standing for ``op``'s captured inputs -> those inputs."""
    n0 = len(fg._ops)
    with fg.as_default():
        cot = [fg._placeholder(y.aval, f"cot_{i}") if m else None
               for i, (y, m) in enumerate(zip(ys, mask, strict=True))]
        for c, y in zip(cot, ys, strict=True):
            if c is not None and is_opaque(y):
                mark_opaque(c)
        sel = [i for i, m in enumerate(mask) if m]
        if sel and wrt:
            gs = gradients([ys[i] for i in sel], list(wrt),
                                      grad_ys=[cot[i] for i in sel])
        else:
            gs = [None] * len(wrt)
    new = set(fg._ops[n0:])
    bwd = FuncGraph(op.graph, name)
    tmap: dict[Tensor, Tensor] = {}
    cots: list[Tensor | None] = []
    for i, c in enumerate(cot):
        cots.append(None if c is None else bwd.add_arg(c.aval, f"cot_{i}", is_opaque(c)))
        if c is not None:
            tmap[c] = cots[-1]
    need: set[Operation] = set()
    stack = [g.op for g in gs if g is not None]
    while stack:
        op = stack.pop()
        if op in need or op not in new or (op.outputs and op.outputs[0] in tmap):
            continue
        need.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    saved: list[tuple[Tensor, Tensor]] = []

    def boundary(t: Tensor) -> None:
        if t in tmap:
            return
        if t in src_of:
            tmap[t] = bwd.capture(src_of[t])
        elif t.op.type == "Const":
            tmap[t] = make_const(bwd, t.op.params["value"], t.op.name.rsplit("/", 1)[-1])
        else:
            ph = bwd.add_arg(t.aval, "saved", is_opaque(t))
            tmap[t] = ph
            saved.append((t, ph))

    for op in sorted(need, key=lambda o: o._id):
        for t in op.inputs:
            if t.op not in need:
                boundary(t)
    for g in gs:
        if g is not None and g.op not in need:
            boundary(g)
    copy_ops(list(need), bwd, tmap)
    return Vjp(bwd, cots, saved, [None if g is None else tmap[g] for g in gs])


def bind_arg(fg: FuncGraph, ph: Tensor, src: Tensor) -> None:
    """Make argument ``ph`` of ``fg`` a capture of outer tensor ``src`` (fed from the op's
    input for ``src``)."""
    fg.args.remove(ph)
    fg.captures.append((src, ph))


# ----------------------------------------------------------------------------- helpers
def zeros_for(t: Tensor) -> Tensor:
    """A zero cotangent for ``t`` (in the default graph, which must hold or enclose ``t``)."""
    if is_opaque(t):
        from .graph.tensor_array_ops import empty_like

        return empty_like(t)
    return ops.zeros_like(t)


def accumulate(parts: list[Tensor]) -> Tensor:
    return parts[0] if len(parts) == 1 else _accumulate(parts)


def _cot(t: Tensor, grads: dict, stops: set) -> Tensor | None:
    parts = grads.get(t)
    if not parts or t in stops or not _floating(t):
        return None
    if len(parts) > 1:
        grads[t] = [accumulate(parts)]
    return grads[t][0]


def _give(x: Tensor, g: Tensor | None, grads: dict, between: set, wanted: set) -> None:
    if g is None or not _floating(x) or (x.op not in between and x not in wanted):
        return
    grads.setdefault(x, []).append(g)


def _wanted(x: Tensor, between: set, wanted: set) -> bool:
    return _floating(x) and (x.op in between or x in wanted)


# -------------------------------------------------------------------------------- While
def while_grad(op: Operation, grads: dict, between: set, stops: set, wanted: set) -> None:
    """Add the gradient loop of ``While`` op ``op`` (see the module docstring)."""
    spec = op.host
    if not spec.back_prop:
        return
    nc, nk = spec.n_carried, spec.n_captured
    outs = op.outputs
    g_car = [_cot(outs[i], grads, stops) for i in range(nc)]
    g_stk = [_cot(outs[nc + 1 + k], grads, stops) for k in range(len(spec.stacked))]
    if all(g is None for g in g_car + g_stk):
        return
    graph = op.graph
    body = spec.body
    inner = dict(spec.body_feeds + spec.body_vars)  # input index -> body tensor
    car = [i for i in range(nc) if _floating(op.inputs[i])]
    caps = [j for j in range(nc, nc + nk) if _wanted(op.inputs[j], between, wanted)
            and j in inner]
    sl = [j for j in range(nc + nk, len(op.inputs)) if _wanted(op.inputs[j], between, wanted)
          and j in inner]
    rows = [(j, c, ph) for j, c, ph, _ in spec.gathered if _wanted(op.inputs[j], between, wanted)]
    wrt = [inner[j] for j in car + caps + sl] + [ph for _, _, ph in rows]
    ys = list(spec.body_outs) + list(spec.stacked)
    mask = [i in car for i in range(nc)] + [g is not None for g in g_stk]
    name = graph.unique_name(spec.name.rsplit("/", 1)[-1] + "_grad")
    src_of = {t: op.inputs[j] for j, t in inner.items() if nc <= j < nc + nk}
    vjp = build_vjp(body, ys, mask, wrt, op, src_of, name)
    bg = vjp.graph
    nca = len(car)
    with bg.as_default():
        j_arg = bg.add_arg(AVal((), np.dtype(np.int32)), "iteration")
        acc_args = [bg.add_arg(op.inputs[j].aval, "acc", is_opaque(op.inputs[j])) for j in caps]
        g_wrt = vjp.grads
        new_car = [g if g is not None else zeros_for(vjp.cots[i])
                   for i, g in zip(car, g_wrt[:nca], strict=True)]
        new_acc = [a if g is None else accumulate([a, g])
                   for a, g in zip(acc_args, g_wrt[nca:nca + len(caps)], strict=True)]
        j_next = ops.add(j_arg, np.asarray(1, np.int32))
    car_args = [vjp.cots[i] for i in car]
    # sliced inputs of the gradient loop: the saved stacks, then the output cotangent stacks
    sliced = [(loop_save(op, t), ph) for t, ph in vjp.saved]
    sliced += [(g, vjp.cots[nc + k]) for k, g in enumerate(g_stk) if g is not None]
    g_sl = dict(zip(sl, g_wrt[nca + len(caps):nca + len(caps) + len(sl)], strict=True))
    sl = [j for j in sl if g_sl[j] is not None]  # the others get no gradient (zero)
    stacked = [(g_sl[j], "list" if is_opaque(op.inputs[j]) else "array") for j in sl]
    g_rows = [(r, g) for r, g in zip(rows, g_wrt[nca + len(caps) + len(g_sl):], strict=True)
              if g is not None]
    stacked += [(g, "list") for _, g in g_rows]  # a gathered row's cotangent per iteration
    with graph.name_scope(name + "/"):
        init = [make_const(graph, np.asarray(0, np.int32), "iteration_start")]
        init += [g if g is not None else zeros_for(outs[i]) for i, g in
                 ((i, g_car[i]) for i in car)]
        init += [zeros_for(op.inputs[j]) for j in caps]
    cond_g = FuncGraph(graph, name)
    with cond_g.as_default():
        c_args = [cond_g.add_arg(t.aval, "loop_var", is_opaque(t)) for t in [j_arg] + car_args
                  + acc_args]
        c_out = ops.lt(c_args[0], cond_g.capture(trip_count(op)))
    avals = [t.aval for t in [j_arg] + car_args + acc_args]
    bwd = make_while(graph, name, spec.site, init, avals, cond_g, c_args, c_out, bg,
                     [j_arg] + car_args + acc_args, [j_next] + new_car + new_acc, sliced,
                     stacked, reverse=not spec.reverse)
    res = bwd.outputs
    for k, i in enumerate(car):
        _give(op.inputs[i], res[1 + k], grads, between, wanted)
    for k, j in enumerate(caps):
        _give(op.inputs[j], res[1 + nca + k], grads, between, wanted)
    n_out = 1 + nca + len(caps)
    for k, j in enumerate(sl):
        _give(op.inputs[j], res[n_out + 1 + k], grads, between, wanted)
    for k, ((j, c, _), _) in enumerate(g_rows):  # rows back to the list they were read from
        with graph.name_scope(name + "/"):
            cot = scatter_rows(loop_save(op, inner[c]), res[n_out + 1 + len(sl) + k])
        _give(op.inputs[j], cot, grads, between, wanted)


CUSTOM_GRADIENTS["While"] = while_grad

__all__ = ["Vjp", "build_vjp", "bind_arg", "while_grad", "zeros_for", "accumulate"]

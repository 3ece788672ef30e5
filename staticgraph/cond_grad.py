"""The gradient of an ``If`` op, as graph (registered in ``gradients.CUSTOM_GRADIENTS``).

The gradient is an ``If`` on the same predicate whose branches are the two branches' VJPs
(:func:`staticgraph.control_flow_grad.build_vjp`), so only the taken branch's derivative runs.

TF1 semantics with the eager mode's edge behaviour: gradients flow through the taken branch
*only*. A branch's input computed outside the cond only for it (``tf.cond(p, lambda:
tf.sin(1 / x), ...)``: ``1 / x`` feeds nothing else that is differentiated but Ifs on the same
predicate, such as the cond's own gradient) gets no gradient when its branch is not taken, not
a zero gradient: a zero pushed through the VJP of ``1 / x`` at ``x = 0`` would be
``0 * inf = NaN``, where the eager mode (which never ran that branch) gives the taken branch's
finite gradient. So such an *exclusive chain* of pure ops is differentiated inside the gradient
``If``'s branches (recomputed there from the values it reads), and the other branch gives zeros
for those values instead.
"""

from __future__ import annotations

import heapq

from .control_flow_grad import _cot, _give, _wanted, accumulate, bind_arg, build_vjp, zeros_for
from .gradients import CUSTOM_GRADIENTS
from .gradients import dense_gradients as gradients
from .graph.cond_op import add_saved as cond_save
from .graph.cond_op import make_if
from .graph.core import Operation, Tensor
from .graph.func_graph import FuncGraph, copy_ops


def if_grad(op: Operation, grads: dict, between: set, stops: set, wanted: set) -> None:
    """Add the gradient ``If`` of ``If`` op ``op``."""
    spec = op.host
    n = len(spec.outs[0])
    g_out = [_cot(t, grads, stops) for t in op.outputs]
    if all(g is None for g in g_out):
        return
    graph = op.graph
    idx = [j for j in range(1, len(op.inputs)) if _wanted(op.inputs[j], between, wanted)]
    if not idx:
        return
    chains = _exclusive_chains(op, idx, between, stops, wanted)
    plain = [j for j in idx if j not in chains]
    extra: list[Tensor] = []  # the values the exclusive chains read: they get the gradient
    for _, frontier in chains.values():
        extra += [f for f in frontier if f not in extra and _wanted(f, between, wanted)]
    name = graph.unique_name(spec.name.rsplit("/", 1)[-1] + "_grad")
    branches, outs = [], []
    for b, fg in enumerate(spec.branches):
        inner = dict(spec.feeds[b] + spec.vars[b])
        use = {j: inner.get(j) for j in idx}
        wrt = [use[j] for j in idx if use[j] is not None]
        mine = [k for k, (bb, _) in enumerate(spec.saved) if bb == b]  # its saved values
        ys = spec.outs[b] + [spec.saved[k][1] for k in mine]
        gs = g_out[:n] + [g_out[n + k] for k in mine]
        vjp = build_vjp(fg, ys, [g is not None for g in gs], wrt, op,
                        {t: op.inputs[j] for j, t in inner.items()}, name)
        bg = vjp.graph
        for ph, g in zip(vjp.cots, gs, strict=True):
            if ph is not None:
                bind_arg(bg, ph, g)
        for t, ph in vjp.saved:
            bind_arg(bg, ph, cond_save(op, b, t))
        it = iter(vjp.grads)
        g_in = {j: next(it) if use[j] is not None else None for j in idx}
        with bg.as_default():
            res = [_plain_grad(op, bg, j, b, g_in[j]) for j in plain]
            res += _chain_grads(op, bg, chains, g_in, extra)
        branches.append(bg)
        outs.append(res)
    targets = [op.inputs[j] for j in plain] + extra
    back = make_if(graph, name, spec.site, op.inputs[0], branches, outs,
                   [t.aval for t in targets])
    for x, g in zip(targets, back.outputs, strict=True):
        _give(x, g, grads, between, wanted)


def _plain_grad(op: Operation, bg: FuncGraph, j: int, b: int, g: Tensor | None) -> Tensor:
    if g is not None:
        return g
    x = bg.capture(op.inputs[j])  # this branch does not use input j: zeros (or nothing, where
    return x if _unset_in_branch(op, j, b) else zeros_for(x)  # j has no value when b runs)


def _chain_grads(op: Operation, bg: FuncGraph, chains: dict, g_in: dict,
                 extra: list[Tensor]) -> list[Tensor]:
    """Inside gradient branch ``bg``: the exclusive chains recomputed from their frontier and
    differentiated, giving the gradient of each ``extra`` value (zeros where none)."""
    parts: dict[Tensor, list[Tensor]] = {f: [] for f in extra}
    for j, (chain, frontier) in chains.items():
        g = g_in[j]
        if g is None:
            continue
        tmap = {f: bg.capture(f) for f in frontier}
        copy_ops(chain, bg, tmap)
        wrt = [f for f in frontier if f in parts]
        if not wrt:
            continue
        gs = gradients([tmap[op.inputs[j]]], [tmap[f] for f in wrt], grad_ys=[g])
        for f, gf in zip(wrt, gs, strict=True):
            if gf is not None:
                parts[f].append(gf)
    return [accumulate(parts[f]) if parts[f] else zeros_for(bg.capture(f)) for f in extra]


def _exclusive_chains(op: Operation, idx: list[int], between: set, stops: set,
                      wanted: set) -> dict[int, tuple[list[Operation], list[Tensor]]]:
    """Input index -> (the pure ops computing that input only for ``op``, the values they
    read): an op joins while every differentiated consumer of its output is already in the
    chain or an ``If`` on ``op``'s predicate (so its gradient only comes through such Ifs)."""
    consumers: dict[Tensor, set[Operation]] = {}
    for q in between:
        for t in q.inputs:
            consumers.setdefault(t, set()).add(q)
    # Ifs on the same predicate (the cond's gradient Ifs among them) each differentiate the
    # chain inside their own branches, for their own share of its cotangent
    peers = {q for q in between if q.type == "If" and q.inputs[0] is op.inputs[0]} | {op}
    out = {}
    for j in idx:
        x = op.inputs[j]
        if x in wanted or x in stops:
            continue
        chain: set[Operation] = set()
        heap = [(-x.op._id, x.op)]
        seen = {x.op}
        while heap:
            _, q = heapq.heappop(heap)
            ok = (q.op_def is not None and len(q.outputs) == 1 and q in between
                  and getattr(q, "host", None) is None and q.outputs[0] not in wanted
                  and q.outputs[0] not in stops
                  and consumers.get(q.outputs[0], set()) <= chain | peers)
            if not ok:
                continue
            chain.add(q)
            for t in q.inputs:
                if t.op not in seen:
                    seen.add(t.op)
                    heapq.heappush(heap, (-t.op._id, t.op))
        if chain:
            frontier = list(dict.fromkeys(t for q in sorted(chain, key=lambda o: o._id)
                                          for t in q.inputs if t.op not in chain))
            out[j] = (sorted(chain, key=lambda o: o._id), frontier)
    return out


def _unset_in_branch(op: Operation, j: int, b: int) -> bool:
    """Whether input ``j`` of ``If`` op ``op`` is a value another ``If`` on the same predicate
    saved for its other branch: it is ``None`` whenever branch ``b`` runs."""
    src = op.inputs[j]
    prod = src.op
    if prod.type != "If" or prod.inputs[0] is not op.inputs[0]:
        return False
    k = src.value_index - len(prod.host.outs[0])
    return k >= 0 and prod.host.saved[k][0] != b


CUSTOM_GRADIENTS["If"] = if_grad

__all__ = ["if_grad"]

"""Numerically stable rewrites (always on: stability must not depend on an optimization level).

* ``log(softmax(x, d))`` -> ``log_softmax(x, d)``;
* ``log(sum(exp(x), d))`` -> ``logsumexp(x, d)`` (the max is subtracted inside);
* the softmax-cross-entropy gradient: the pattern the VJP rules build for
  ``nll_loss(log_softmax(x), t)``, ``sub(G, mul(exp(LP), sum(G, d, keepdim)))`` with
  ``G = nll_loss_grad(g, LP, t)``, becomes ``softmax_ce_grad(g, LP, t)``, i.e.
  ``scale * g * (exp(LP) - onehot(t))``, one row-wise kernel with no (N, C) temporaries.

before: G = nll_loss_grad(g, lp, t); dx = sub(G, mul(exp(lp), sum(G, (1,), keepdim)))
=>  after: dx = softmax_ce_grad(g, lp, t) {reduction}
"""

from __future__ import annotations

from ..ir import Node, Program, make


def _ce_grad(n: Node) -> Node | None:
    if n.op != "sub":
        return None
    G, m = n.inputs
    if G.op != "nll_loss_grad" or m.op != "mul" or G.params["reduction"] == "none":
        return None
    g, lp, t = G.inputs
    if lp.op != "log_softmax" or lp.ndim != 2 or lp.params["dim"] != 1:
        return None
    a, b = m.inputs
    e, s = (a, b) if a.op == "exp" else (b, a)
    if e.op != "exp" or e.inputs[0] is not lp or s.op != "sum" or s.inputs[0] is not G:
        return None
    if tuple(s.params["dim"]) != (1,) or not s.params["keepdim"]:
        return None
    return Node("softmax_ce_grad", [g, lp, t], {"reduction": G.params["reduction"]},
                n.shape, n.dtype, n.name)


def rewrite(n: Node) -> Node | None:
    if n.op == "log" and n.inputs[0].op == "softmax":
        return make("log_softmax", [n.inputs[0].inputs[0]], n.inputs[0].params, name=n.name)
    if n.op == "log" and n.inputs[0].op == "sum" and n.inputs[0].inputs[0].op == "exp":
        s = n.inputs[0]
        return make("logsumexp", [s.inputs[0].inputs[0]], s.params, name=n.name)
    return _ce_grad(n)


def run(prog: Program, ctx: object) -> int:
    mapping: dict[int, Node] = {}
    for n in prog.nodes:
        n.inputs = [mapping.get(i.id, i) for i in n.inputs]
        r = rewrite(n)
        if r is not None:
            mapping[n.id] = r
    prog.replace(mapping)
    return len(mapping)

"""Numerically stable rewrites (always on: stability must not depend on an optimization level).

* ``log(softmax(x, d))`` -> ``log_softmax(x, d)``;
* ``log(sum(exp(x), d))`` -> ``logsumexp(x, d)`` (the max is subtracted inside);
* the softmax-cross-entropy gradient: the pattern the VJP rules build for
  ``nll_loss(log_softmax(x), t)``, ``sub(G, mul(exp(LP), sum(G, d, keepdim)))`` with
  ``G = nll_loss_grad(g, LP, t)``, becomes ``softmax_ce_grad(g, LP, t)``, i.e.
  ``scale * g * (exp(LP) - onehot(t))``, one row-wise kernel with no (N, C) temporaries.

before: G = nll_loss_grad(g, lp, t); dx = sub(G, mul(exp(lp), sum(G, (1,), keepdim)))
=>  after: dx = softmax_ce_grad(g, lp, t) {reduction}

  With ``reduction="none"`` (TF1's ``sparse_softmax_cross_entropy_with_logits`` then
  ``reduce_mean``) ``g`` is the per-row cotangent vector: the same one row kernel.
* ``mean(nll_loss(lp, t, reduction="none"))`` over its one axis -> ``nll_loss(lp, t, "mean")``
  (fused with its ``log_softmax`` into one row kernel), and shape-only uses of the per-row loss
  (``Op.shape_only``: ``size``, ``broadcast_like``... built by the gradient of the mean) read
  the target instead, which has the same shape, so the per-row loss is not computed at all.
  Not where the op's dtype follows that input (``nll_loss_grad``), but a fill's does not here:
  the node keeps its dtype, and the compiler renders a fill (``Op.fill``) from its node alone.

before: l = nll_loss(lp, t) {none}; m = mean(l); n = size(l)
=>  after: m = nll_loss(lp, t) {mean}; n = size(t)
"""

from __future__ import annotations

from ..ir import Node, Program, make
from .shape_refs import dtype_matters, shape_only_inputs


def _ce_grad(n: Node) -> Node | None:
    if n.op != "sub":
        return None
    G, m = n.inputs
    if G.op != "nll_loss_grad" or m.op != "mul":
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
    od = n.opdef  # ``mean`` or ``reduce_mean`` (one kernel, PyTorch's or TF's gradient)
    if od is not None and od.reduce == "mean" and _rows_loss(n.inputs[0]) and \
            tuple(n.params["dim"]) == (0,) and not n.params["keepdim"]:
        lp, t = n.inputs[0].inputs
        return Node("nll_loss", [lp, t], {"reduction": "mean"}, (), n.dtype, n.name)
    ins = list(n.inputs)
    for j in shape_only_inputs(n):
        x = ins[j]
        if _rows_loss(x) and x.inputs[1].shape == x.shape and \
                (n.opdef.fill is not None or not dtype_matters(n, j)):
            ins[j] = x.inputs[1]  # the target: the same shape, already available
    if any(a is not b for a, b in zip(ins, n.inputs, strict=True)):
        return Node(n.op, ins, n.params, n.shape, n.dtype, n.name)
    return _ce_grad(n)


def _rows_loss(x: Node) -> bool:
    return x.op == "nll_loss" and x.params["reduction"] == "none" and x.ndim == 1 and \
        x.inputs[0].ndim == 2


def run(prog: Program, ctx: object) -> int:
    mapping: dict[int, Node] = {}
    for n in prog.nodes:
        n.inputs = [mapping.get(i.id, i) for i in n.inputs]
        r = rewrite(n)
        if r is not None:
            mapping[n.id] = r
    prog.replace(mapping)
    return len(mapping)

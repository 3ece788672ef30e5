"""Algebraic simplification, only where exact for NaN/Inf (numpy semantics):

* ``x*1``, ``1*x``, ``x/1``, ``x+0``, ``0+x``, ``x-0`` -> ``x`` (when shape and dtype match);
  ``x*0`` and ``x-x`` -> zeros only for integer/bool ``x`` (``inf*0`` and ``inf-inf`` are NaN);
* ``neg(neg x)`` -> ``x``; ``log(exp x)`` -> ``x``; ``pow(x, 1)`` -> ``x``; ``pow(x, 2)`` ->
  ``square(x)`` (numpy's own fast path); ``pow(x, 3)``, ``pow(x, 4)``, ``pow(x, -1)``,
  ``pow(x, -2)`` -> products and reciprocals (a libm ``pow`` per element is ~10x slower, and these
  keep NaN/Inf/-0 semantics; ``pow(x, 0.5)`` is *not* ``sqrt`` at ``-inf`` and ``-0``);
* ``permute(permute(x))`` -> one permute, or ``x`` if the composition is the identity;
* the transpose of a matrix product read only there, ``permute(matmul(a, b), (1, 0))`` ->
  ``matmul(permute(b), permute(a))`` (the same products, summed in the same order): the
  gradient of ``nn.Linear``'s weight, ``(x^T dy)^T``, becomes ``dy^T x``, whose transposed
  operand is a flag of the product instead of a copy of the result (a fallback step that kept
  such plans off the single driver);
  ``reshape(reshape(x))`` -> one reshape; reshape/reshape_like to the same shape -> ``x``;
* reshapes, broadcasts and ``sum_to_like`` (``Op.reshaping``, ``Op.broadcasting``, a reduction
  to a reference's shape) that are identities once shapes are known (``shape_specialization``
  makes equal batch dims provably equal); ``ones_like``/``zeros_like`` (``Op.fill``) count as the
  constants 1 and 0.

before: g1 = sum_to_like(mul(g, 1), x)  (g, x: (N0, 10))   =>   after: g1 = g
"""

from __future__ import annotations

import numpy as np

from ..ir import Node, Program, const_node, make


def _is_const(n: Node, v: float) -> bool:
    od = n.opdef
    if od is not None and od.fill is not None:  # ones_like, zeros_like
        return v == od.fill
    c = n.const_value()
    return c is not None and c.size >= 1 and bool(np.all(c == v))


def _same(n: Node, x: Node) -> bool:
    return tuple(n.shape) == tuple(x.shape) and n.dtype == x.dtype and \
        all(d is not None for d in n.shape)


def simplify(n: Node) -> Node | None:
    op, ins = n.op, n.inputs
    if op in ("mul", "add", "sub", "div") and len(ins) == 2:
        a, b = ins
        unit = {"mul": 1, "div": 1, "add": 0, "sub": 0}[op]
        if _is_const(b, unit) and _same(n, a):
            return a
        if op in ("mul", "add") and _is_const(a, unit) and _same(n, b):
            return b
        if n.dtype.kind in "biu" and is_static(n.shape):
            if op == "mul" and (_is_const(a, 0) or _is_const(b, 0)):
                return const_node(np.zeros(n.shape, n.dtype), n.dtype)
            if op == "sub" and a is b:
                return const_node(np.zeros(n.shape, n.dtype), n.dtype)
    if op == "neg" and ins[0].op == "neg":
        return ins[0].inputs[0] if _same(n, ins[0].inputs[0]) else None
    if op == "log" and ins[0].op == "exp" and _same(n, ins[0].inputs[0]):
        return ins[0].inputs[0]
    if op == "pow" and _same(n, ins[0]):
        if _is_const(ins[1], 1) and ins[1].const_value().size == 1:
            return ins[0]
        if _is_const(ins[1], 2) and ins[1].const_value().size == 1:
            return make("square", [ins[0]], name=n.name)
        if n.dtype.kind == "f" and ins[1].const_value() is not None and \
                ins[1].const_value().size == 1:
            return _small_power(ins[0], float(ins[1].const_value().reshape(-1)[0]), n.name)
    if op == "permute":
        perm = n.params["perm"]
        if list(perm) == list(range(len(perm))):
            return ins[0]
        if ins[0].op == "permute":
            inner = ins[0].params["perm"]
            comp = tuple(inner[p] for p in perm)
            if list(comp) == list(range(len(comp))):
                return ins[0].inputs[0]
            return make("permute", [ins[0].inputs[0]], {"perm": comp}, name=n.name)
    if op == "reshape":
        src = ins[0]
        tgt = tuple(n.params["shape"])
        if len(tgt) == src.ndim and tgt.count(-1) <= 1 and n.dtype == src.dtype and \
                all(t == -1 or t == d for t, d in zip(tgt, src.shape, strict=True)):
            return src
        if src.op == "reshape":
            return Node("reshape", [src.inputs[0]], dict(n.params), n.shape, n.dtype, n.name)
    if _only_reshapes(n) and _same(n, ins[0]):
        return ins[0]
    return None


def _only_reshapes(n: Node) -> bool:
    """Whether ``n`` only gives input 0 another shape (``Op.reshaping``, ``Op.broadcasting``, a
    reduction to a reference's shape: ``sum_to_like``): the identity where the shapes agree."""
    od = n.opdef
    return od is not None and (od.reshaping or od.broadcasting or
                               bool(od.reduce) and od.shape_ref is not None)


def _small_power(x: Node, e: float, name: str) -> Node | None:
    """x**e as products for e in {3, 4, -1, -2} (exact in NaN/Inf/-0 semantics)."""
    if e == 3:
        return make("mul", [make("square", [x]), x], name=name)
    if e == 4:
        return make("square", [make("square", [x])], name=name)
    if e == -1:
        return make("reciprocal", [x], name=name)
    if e == -2:  # square of the reciprocal: no overflow for large |x| (pow gives subnormals)
        return make("square", [make("reciprocal", [x])], name=name)
    return None


def is_static(shape: tuple) -> bool:
    return all(isinstance(d, int) for d in shape)


def _t(x: Node) -> Node:
    """``x`` transposed (a matrix): the input of a transposing permute, else a new one."""
    if x.op == "permute" and tuple(x.params["perm"]) == (1, 0):
        return x.inputs[0]
    return make("permute", [x], {"perm": (1, 0)})


def transposed_product(n: Node, uses: dict[int, int]) -> Node | None:
    """``matmul(b^T, a^T)`` for ``n = permute(matmul(a, b), (1, 0))`` when the product is a
    float matrix product that nothing else reads (``uses``: node id -> readers, roots
    included): the product is then computed once, already transposed."""
    if n.op != "permute" or tuple(n.params["perm"]) != (1, 0):
        return None
    m = n.inputs[0]
    if m.op != "matmul" or uses.get(m.id, 0) != 1 or m.dtype.kind != "f" or \
            any(i.ndim != 2 for i in m.inputs):
        return None
    a, b = m.inputs
    out = make("matmul", [_t(b), _t(a)], name=n.name)
    return out if out.shape == n.shape and out.dtype == n.dtype else None


def _uses(prog: Program) -> dict[int, int]:
    uses: dict[int, int] = {}
    for n in prog.nodes:
        for i in n.inputs:
            uses[i.id] = uses.get(i.id, 0) + 1
    for r in prog.roots():
        uses[r.id] = uses.get(r.id, 0) + 1
    return uses


def run(prog: Program, ctx: object) -> int:
    count = 0
    for _ in range(4):  # to a fixed point (rewrites expose rewrites)
        mapping: dict[int, Node] = {}
        uses = _uses(prog)
        for n in prog.nodes:
            n.inputs = [mapping.get(i.id, i) for i in n.inputs]
            r = simplify(n) or transposed_product(n, uses)
            if r is not None and r is not n:
                mapping[n.id] = r
        if not mapping:
            break
        count += len(mapping)
        prog.replace(mapping)
    return count

"""Shape specialization: feed dims become symbols (or 1 where the feed signature says size 1) and
every shape is re-inferred, so later passes can prove shapes equal.

before: x:(?, 10) feed, s = sum_to_like(g:(?, 10), x)   =>   after: x:(N0, 10), g:(N0, 10), and
``sum_to_like`` is recognisably an identity. Symbols compare by identity; an inference rule that
cannot handle a symbol falls back to ``None`` dims.
"""

from __future__ import annotations

from ...ops.core import AVal
from ..ir import Node, Program


class Sym:
    """An unknown but fixed dimension (a feed's dim): equal only to itself."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


def run(prog: Program, ctx) -> int:
    changed = _assign_symbols(prog, ctx)
    for _ in range(3):  # unify symbols that broadcasting/matmul prove equal, then re-infer
        subst = _unify(prog)
        if not subst:
            break
        changed += _apply(prog, subst)
    return changed


def _unify(prog: Program) -> dict:
    """Sym -> int or Sym, from elementwise broadcasting (a symbol is never 1: the feed
    signature says which dims are 1), matmul inner dims and nll_loss rows = targets. Binding
    checks that the fed sizes agree (:class:`~..instance.Instance`)."""
    subst: dict[int, object] = {}

    def find(d):
        while isinstance(d, Sym) and id(d) in subst:
            d = subst[id(d)]
        return d

    def eq(a, b) -> None:
        a, b = find(a), find(b)
        if a is b or a is None or b is None or a == 1 or b == 1:
            return
        if isinstance(a, Sym):
            subst[id(a)] = b
        elif isinstance(b, Sym):
            subst[id(b)] = a

    for n in prog.nodes:
        od = n.opdef
        if od is None:
            continue
        if od.kind == "elementwise" or n.op in ("broadcast_like", "sum_to_like"):
            shapes = [i.shape for i in n.inputs] + [n.shape]
            nd = max(len(s) for s in shapes)
            for k in range(1, nd + 1):
                dims = [s[-k] for s in shapes if len(s) >= k]
                for d in dims[1:]:
                    eq(dims[0], d)
        elif n.op == "matmul" and n.inputs[0].ndim >= 1 and n.inputs[1].ndim >= 2:
            eq(n.inputs[0].shape[-1], n.inputs[1].shape[-2])
        elif n.op in ("nll_loss", "nll_loss_grad"):  # one target per row of the log-probs
            lp, t = n.inputs[-2], n.inputs[-1]
            if lp.ndim == 2 and t.ndim == 1:
                eq(lp.shape[0], t.shape[0])
    return {k: find(v) for k, v in subst.items()}


def _apply(prog: Program, subst: dict) -> int:
    changed = 0
    for n in prog.nodes:
        shape = tuple(subst.get(id(d), d) if isinstance(d, Sym) else d for d in n.shape)
        if shape != n.shape:
            n.shape = shape
            changed += 1
    for n in prog.nodes:
        od = n.opdef
        if od is None or n.op in ("feed", "var", "const"):
            continue
        shape = infer_shape(n)
        if shape is not None and shape != n.shape:
            n.shape = shape
            changed += 1
    return changed


def _assign_symbols(prog: Program, ctx) -> int:
    changed = 0
    for f in prog.feeds:
        pat = ctx.feed_patterns[f.params["index"]]
        shape = tuple(1 if p == 1 else (d if d is not None else Sym(f"N{f.params['index']}_{a}"))
                      for a, (d, p) in enumerate(zip(f.shape, pat, strict=True)))
        if shape != f.shape:
            f.shape = shape
            changed += 1
    return changed + _apply(prog, {})


def infer_shape(n: Node) -> tuple | None:
    od = n.opdef
    avals = [AVal(i.shape, i.dtype) for i in n.inputs]
    try:
        shape, _ = od.infer(*avals, **n.params)
        return tuple(shape)
    except Exception:
        plain = [AVal(tuple(None if isinstance(d, Sym) else d for d in a.shape), a.dtype)
                 for a in avals]
        try:
            shape, _ = od.infer(*plain, **n.params)
            return tuple(shape)
        except Exception:
            return None


def is_static(shape: tuple) -> bool:
    return all(isinstance(d, int) for d in shape)

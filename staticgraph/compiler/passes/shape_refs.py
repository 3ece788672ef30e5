"""Shape-only references point at the cheapest tensor of the same shape.

Some inputs are read only for their shape (``Op.shape_only``: the reference of
``broadcast_like(g, ref)``, ``sum_to_like``, ``reshape_like``, ``zeros_like``/``ones_like``,
``size``, ``index_grad``, ``cat_slice``, ``nll_loss_grad``), and for their dtype only where the
op's rule takes its dtype from them. Gradient graphs reference forward values there, which keeps
a forward computation alive just for its shape. Once shapes are specialized, any tensor of the
same (symbolic) shape will do, of the same dtype where the dtype matters: a feed, variable or
constant when one exists, else the earliest node of that shape. Forward values nobody else reads
then become dead code (``prune``).

before: y = pow(x, 3); s = sum(y); g = broadcast_like(1, y)     (only g is fetched)
after:  g = broadcast_like(1, x)                                 (pow, sum: unused, removed)
"""

from __future__ import annotations

import numpy as np

from ...ops.core import AVal
from ..ir import Node, Program
from .shapes import Sym

_LEAVES = ("feed", "var", "const")


def shape_only_inputs(n: Node) -> tuple[int, ...]:
    """The positions of ``n``'s inputs read only for their shape (none for non-registry
    nodes)."""
    od = n.opdef
    return od.shape_inputs(len(n.inputs)) if od is not None else ()


def dtype_matters(n: Node, p: int) -> bool:
    """Whether ``n``'s dtype follows input ``p``'s: its ``infer`` rule gives another dtype when
    that input has another one (``zeros_like``, ``nll_loss_grad``). True when unsure."""
    avals = [AVal(tuple(None if isinstance(d, Sym) else d for d in i.shape), i.dtype)
             for i in n.inputs]
    other = np.dtype(np.float32 if avals[p].dtype == np.float64 else np.float64)
    probe = list(avals)
    probe[p] = AVal(avals[p].shape, other)
    try:
        return n.opdef.infer(*avals, **n.params)[1] != n.opdef.infer(*probe, **n.params)[1]
    except Exception:
        return True


def _known(shape: tuple) -> bool:
    return all(d is not None for d in shape)


def run(prog: Program, ctx: object) -> int:
    leaves: dict[tuple, Node] = {}
    for n in prog.nodes:
        if n.op in _LEAVES and _known(n.shape):
            leaves.setdefault((n.shape, None), n)
            leaves.setdefault((n.shape, n.dtype), n)
    earliest: dict[tuple, Node] = {}
    count = 0
    for n in prog.nodes:
        for p in shape_only_inputs(n):
            ref = n.inputs[p]
            if ref.op in _LEAVES or not _known(ref.shape):
                continue
            key = (ref.shape, ref.dtype if dtype_matters(n, p) else None)
            best = leaves.get(key) or earliest.get(key)
            if best is not None and best is not ref:
                n.inputs[p] = best
                count += 1
        if _known(n.shape):
            earliest.setdefault((n.shape, None), n)
            earliest.setdefault((n.shape, n.dtype), n)
    if count:
        prog.toposort()
    return count

"""Shape-only references point at the cheapest tensor of the same shape.

``broadcast_like(g, ref)``, ``sum_to_like``, ``reshape_like``, ``zeros_like``/``ones_like``,
``size``, ``index_grad``, ``cat_slice`` and ``nll_loss_grad`` read only the shape (some also the
dtype) of a reference input. Gradient graphs reference forward values there, which keeps a forward
computation alive just for its shape. Once shapes are specialized, any tensor of the same
(symbolic) shape will do: a feed, variable or constant when one exists, else the earliest node of
that shape. Forward values nobody else reads then become dead code (``prune``).

before: y = pow(x, 3); s = sum(y); g = broadcast_like(1, y)     (only g is fetched)
after:  g = broadcast_like(1, x)                                 (pow, sum: unused, removed)
"""

from __future__ import annotations

from ..ir import Node, Program

# op -> (input positions read only for their shape, whether the dtype matters too)
SHAPE_ONLY: dict[str, tuple[tuple[int, ...] | None, bool]] = {
    "broadcast_like": ((1,), False),
    "sum_to_like": ((1,), False),
    "reshape_like": ((1,), False),
    "zeros_like": ((0,), True),
    "ones_like": ((0,), True),
    "size": ((0,), False),
    "index_grad": ((1,), False),
    "nll_loss_grad": ((1,), True),
    "cat_slice": (None, False),  # every input after the first
}
_LEAVES = ("feed", "var", "const")


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
        rule = SHAPE_ONLY.get(n.op)
        if rule is not None:
            positions, with_dtype = rule
            if positions is None:
                positions = tuple(range(1, len(n.inputs)))
            for p in positions:
                ref = n.inputs[p]
                if ref.op in _LEAVES or not _known(ref.shape):
                    continue
                key = (ref.shape, ref.dtype if with_dtype else None)
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

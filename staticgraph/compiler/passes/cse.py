"""Common-subexpression elimination: equal op, equal inputs, equal params (and dtype: a fill
the stable rewrites re-pointed keeps its own) -> one node; small equal constants merge too.

before: a = exp(x); b = exp(x); y = a + b   =>   after: a = exp(x); y = a + a
"""

from __future__ import annotations

from ...ops.core import params_key
from ..ir import Node, Program


def run(prog: Program, ctx: object) -> int:
    seen: dict[tuple, Node] = {}
    mapping: dict[int, Node] = {}
    for n in prog.nodes:
        if n.op in ("feed", "var"):
            continue
        ins = tuple(mapping.get(i.id, i).id for i in n.inputs)
        if n.op == "const":
            v = n.params["value"]
            if v.size > 64:
                continue
            key = ("const", v.dtype.str, v.shape, v.tobytes())
        else:
            try:
                key = (n.op, ins, params_key(n.params), n.dtype.str)
                hash(key)
            except TypeError:
                continue
        if key in seen:
            mapping[n.id] = seen[key]
        else:
            seen[key] = n
    prog.replace(mapping)
    return len(mapping)

"""Dead-code elimination: after rewrites, drop every node no root (fetch/update) reaches.

before: y = neg(neg(x)) rewritten to y = x leaves neg(x), neg(neg(x)) unused   =>   after: gone
"""

from __future__ import annotations

from ..ir import Program


def run(prog: Program, ctx: object) -> int:
    before = len(prog.nodes)
    prog.toposort()
    return max(before - len(prog.nodes), 0)

"""Prune: keep only the nodes the fetched values and variable updates reach, in topological
order (the last pass: a rewrite that bypasses a node leaves it behind; ``Program.replace``
re-sorts after every rewrite, so this usually reports 0).

before: y = neg(neg(x)) rewritten to y = x leaves neg(x), neg(neg(x)) unused   =>   after: gone
"""

from __future__ import annotations

from ..ir import Program


def run(prog: Program, ctx: object) -> int:
    before = len(prog.nodes)
    prog.toposort()
    return max(before - len(prog.nodes), 0)

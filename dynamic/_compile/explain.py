"""``explain(fn)(*args)``: what ``dynamic.compile`` does with a call, like
``torch._dynamo.explain``: the captured graph (as text), its guards, the graph breaks with their
reasons, and the compiler's account of the plan (``Session.explain``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..nn.modules import Module
from .compiled import CompiledFunction


@dataclass
class ExplainOutput:
    """The result of :func:`explain` (``str()`` prints all of it)."""

    graph_count: int
    graph_break_count: int
    break_reasons: list[str]
    graphs: list[str]
    guards: list[str]
    plan: str = ""
    ops_per_graph: list[list[str]] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"Graph Count: {self.graph_count}",
                 f"Graph Break Count: {self.graph_break_count}"]
        if self.break_reasons:
            lines.append("Break Reasons:")
            lines += [f"  {r}" for r in self.break_reasons]
        for i, g in enumerate(self.graphs):
            lines += [f"Graph {i}:", g]
        if self.guards:
            lines.append("Guards:")
            lines += [f"  {g}" for g in self.guards]
        if self.plan:
            lines += ["Plan:", self.plan]
        return "\n".join(lines)


def explain(fn: Any, **compile_kwargs: Any) -> Any:
    """``explain(fn)(*args, **kwargs)`` -> :class:`ExplainOutput` (the call runs once)."""

    def run(*args: Any, **kwargs: Any) -> ExplainOutput:
        cf = CompiledFunction(fn, module=fn if isinstance(fn, Module) else None,
                              **compile_kwargs)
        cf(*args, **kwargs)
        calls = [c for e in cf.cache.values() for c in e.calls]
        graphs = [c.plan.graph.as_text() for c in calls]
        guards = [f"input {i}: shape {s}" for c in calls for i, s in enumerate(c.spec)]
        guards += [f"value of {w}" for c in calls for w in c.guard_text]
        guards += [f"{'closure' if k is None else k} == {v!r}"
                   for c in calls for _, k, v in c.py_guards]
        ops = [[op.type for op in c.plan.graph.get_operations()] for c in calls]
        plan = calls[0].plan.explain() if calls else ""
        return ExplainOutput(len(calls), len(cf.break_reasons), list(cf.break_reasons), graphs,
                             guards, plan, ops)

    return run

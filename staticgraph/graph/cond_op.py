"""The ``If`` op: ``tf.cond`` with real branches, each a function graph; only the taken one runs.

Inputs: the predicate, then every outer tensor either branch captured. Outputs: the branch
outputs, then the *saved* values the gradient needs (``add_saved``): each belongs to one branch
and is ``None`` when the other branch ran (only the gradient's ``If``, which takes the same
branch, reads it). :meth:`CondSpec.run` is the op's meaning for every executor.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..ops.core import AVal
from .core import Graph, Operation, Tensor
from .func_graph import FuncGraph, is_opaque, mark_opaque
from .loop_driver import Prepare


@dataclass
class CondSpec:
    """What an ``If`` op runs; ``op.host`` and ``op.params["spec"]``."""

    __sg_export__ = True  # a meta graph holds it (staticgraph.serialize)

    name: str
    site: str
    branches: list[FuncGraph]  # [taken when true, taken when false]
    feeds: list[list[tuple[int, Tensor]]]  # per branch: (op input index, placeholder)
    outs: list[list[Tensor]]  # per branch: its outputs
    vars: list[list[tuple[int, Tensor]]]  # per branch: (op input index, live Variable read)
    saved: list[tuple[int, Tensor]] = field(default_factory=list)  # (branch, tensor)

    def clone(self) -> CondSpec:
        c = copy.copy(self)
        c.saved = list(self.saved)
        return c

    def __repr__(self) -> str:
        return f"<cond {self.name!r}: {len(self.outs[0])} outputs, {len(self.saved)} saved>"

    def run(self, inputs: Sequence[Any], prepare: Prepare, compiled: bool = False) -> list:
        b = 0 if bool(inputs[0]) else 1
        extra = [t for bb, t in self.saved if bb == b]
        fn = prepare(self.branches[b], self.outs[b] + extra, [ph for _, ph in self.feeds[b]])
        vals = fn([inputs[i] for i, _ in self.feeds[b]])
        n = len(self.outs[b])
        out = list(vals[:n])
        it = iter(vals[n:])
        out += [next(it) if bb == b else None for bb, _ in self.saved]
        return out


def make_if(outer: Graph, name: str, site: str, pred: Tensor, branches: Sequence[FuncGraph],
            outs: Sequence[Sequence[Tensor]], avals: Sequence[AVal]) -> Operation:
    """Add an ``If`` op named ``name`` (already unique in ``outer``)."""
    caps: list[Tensor] = []
    index: dict[Tensor, int] = {}
    for fg in branches:
        for src, _ in fg.captures:
            if src not in index:
                index[src] = len(caps)
                caps.append(src)
    feeds = [[(1 + index[src], inner) for src, inner in fg.captures
              if inner.op.type != "VariableV2"] for fg in branches]
    var_reads = [[(1 + index[src], inner) for src, inner in fg.captures
                  if inner.op.type == "VariableV2"] for fg in branches]
    spec = CondSpec(name, site, list(branches), feeds, [list(o) for o in outs], var_reads)
    op = outer.create_op("If", [pred] + caps, {"spec": spec}, list(avals), name + "/")
    op.host = spec
    for i in range(len(avals)):
        if any(is_opaque(o[i]) for o in outs):
            mark_opaque(op.outputs[i])
    return op


def add_saved(op: Operation, branch: int, t: Tensor) -> Tensor:
    """The op's output giving branch ``branch``'s tensor ``t`` (for the gradient)."""
    spec: CondSpec = op.host
    n = len(spec.outs[0])
    for k, (b, s) in enumerate(spec.saved):
        if b == branch and s is t:
            return op.outputs[n + k]
    spec.saved.append((branch, t))
    out = Tensor(op, len(op.outputs), t.aval)
    op.outputs = op.outputs + (out,)
    if is_opaque(t):
        mark_opaque(out)
    op.graph.version += 1
    return out


__all__ = ["CondSpec", "make_if", "add_saved"]

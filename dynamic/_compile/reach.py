"""Which inputs of a captured graph the eager engine would reach from its outputs.

``gradients()`` returns ``None`` for an input whose every path to the outputs crosses an op
with no TF gradient (``floor``, ``round``, ``sign``, ``ceil``...), the TF1 rule; the eager
engine, like PyTorch, records those ops and gives such an input a zero gradient. An input that
no differentiable path connects at all (not used, or reached only through integer/bool values or
``StopGradient``: ``detach``, ``no_grad``) keeps ``None`` in both. :func:`reached` tells the two
apart, so a compiled call gives zeros exactly where eager does.
"""

from __future__ import annotations

from collections.abc import Sequence

from staticgraph.graph.core import Tensor as GTensor
from staticgraph.graph.core import needed_ops


def _floating(t: GTensor) -> bool:
    return t.dtype.np_dtype.kind in "fc"


def reached(sources: Sequence[GTensor], outputs: Sequence[GTensor]) -> list[bool]:
    """For each source: does a path of floating values, through no ``StopGradient``, lead from
    it to one of ``outputs`` (the ops between them, in creation order)?"""
    outs = [o for o in outputs if _floating(o)]
    if not outs:
        return [False] * len(sources)
    src_at = {s: k for k, s in enumerate(sources)}
    mask: dict[GTensor, int] = {s: 1 << k for s, k in src_at.items() if _floating(s)}
    for op in needed_ops(outs, [], set(sources)):
        if op.type == "StopGradient":
            continue
        m = 0
        for t in op.inputs:
            m |= mask.get(t, 0)
        if m:
            for t in op.outputs:
                if _floating(t):
                    mask[t] = mask.get(t, 0) | m
    hit = 0
    for o in outs:
        hit |= mask.get(o, 0)
    return [bool(hit >> k & 1) for k in range(len(sources))]

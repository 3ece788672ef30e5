"""The ``While`` op: a loop holding its condition and body as function graphs.

Inputs, in three segments: the *carried* values (the loop variables' initial values), the
*captured* outer tensors (loop invariants, including Variables, read live), and the *sliced*
inputs (stacks the body reads one element per iteration, front to back, or back to front when
``reverse``). Outputs: the carried values after the last iteration, the trip count (int32), and
one stack per *stacked* body output (its value at every iteration, in slice order).

``tf.while_loop`` uses only carried and captured values; ``tf.scan``/``map_fn`` slice and stack;
the gradient's loop slices the stacks the forward loop saved (``add_saved``) and runs backwards.
:meth:`LoopSpec.run` is the op's meaning, shared by every executor: they differ only in how they
run a function graph once (``call``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ops.core import AVal
from .core import Graph, Operation, Tensor
from .func_graph import FuncGraph, is_opaque, mark_opaque
from .loop_driver import Prepare, Stack, element, length, run_loop


@dataclass
class LoopSpec:
    """What a ``While`` op runs; ``op.host`` and ``op.params["spec"]``."""

    __sg_export__ = True  # a meta graph holds it (staticgraph.serialize)

    name: str
    site: str
    cond: FuncGraph
    cond_out: Tensor
    cond_feeds: list[tuple[int, Tensor]]  # (op input index, cond placeholder)
    body: FuncGraph
    body_feeds: list[tuple[int, Tensor]]  # (op input index, body placeholder)
    body_outs: list[Tensor]  # the carried values after one iteration
    body_vars: list[tuple[int, Tensor]]  # (op input index, live Variable read in the body)
    n_carried: int
    n_captured: int
    n_sliced: int
    reverse: bool = False
    stacked: list[Tensor] = field(default_factory=list)  # per-iteration body outputs
    stacked_kind: list[str] = field(default_factory=list)  # "array" | "list" (a Stack)
    saved: dict[Tensor, int] = field(default_factory=dict)  # body tensor -> stacked index
    back_prop: bool = True
    #: rows read at a carried index: (op input index, carried index, body placeholder, reader)
    gathered: list[tuple[int, int, Tensor, Any]] = field(default_factory=list)

    def clone(self) -> LoopSpec:
        c = copy.copy(self)
        c.stacked, c.stacked_kind, c.saved = list(self.stacked), list(self.stacked_kind), \
            dict(self.saved)
        c.__dict__.pop("_step", None)
        c.__dict__.pop("_njit_loop", None)
        return c

    def __repr__(self) -> str:
        return f"<while {self.name!r}: {self.n_carried} carried, {self.n_captured} captured, " \
               f"{self.n_sliced} sliced, {len(self.stacked)} stacked>"

    def run(self, inputs: Sequence[Any], prepare: Prepare, compiled: bool = False) -> list:
        """The loop (:func:`.loop_driver.run_loop`); ``compiled``: one call per iteration."""
        return run_loop(self, inputs, prepare, fused=compiled)


def stacked_aval(t: Tensor) -> AVal:
    shape = None if t.aval.shape is None else (None,) + tuple(t.aval.shape)
    return AVal(shape, t.aval.dtype)


def make_while(outer: Graph, name: str, site: str, carried: Sequence[Tensor],
               carried_avals: Sequence[AVal], cond: FuncGraph, cond_args: Sequence[Tensor],
               cond_out: Tensor, body: FuncGraph, body_args: Sequence[Tensor],
               body_outs: Sequence[Tensor], sliced: Sequence[tuple[Tensor, Tensor]] = (),
               stacked: Sequence[tuple[Tensor, str]] = (), reverse: bool = False,
               back_prop: bool = True) -> Operation:
    """Add a ``While`` op named ``name`` (already unique in ``outer``) to ``outer``.

    ``cond_args``/``body_args``: the placeholders standing for the carried values in each
    graph; ``sliced``: (outer stack, body placeholder for one element); ``stacked``: (body
    tensor, kind) per-iteration outputs. Captures come from the two graphs."""
    nc = len(carried)
    caps: list[Tensor] = []
    index: dict[Tensor, int] = {}
    for fg in (cond, body):
        for src, _ in fg.captures:
            if src not in index:
                index[src] = len(caps)
                caps.append(src)

    def feeds(fg: FuncGraph, args: Sequence[Tensor]) -> list[tuple[int, Tensor]]:
        f = list(enumerate(args))
        f += [(nc + index[src], inner) for src, inner in fg.captures
              if inner.op.type != "VariableV2"]
        return f

    body_vars = [(nc + index[src], inner) for src, inner in body.captures
                 if inner.op.type == "VariableV2"]

    body_feeds = feeds(body, body_args) + [
        (nc + len(caps) + j, ph) for j, (_, ph) in enumerate(sliced)]
    gathered = _gather_rows(body, body_feeds, nc, len(caps))
    spec = LoopSpec(name, site, cond, cond_out, feeds(cond, cond_args), body, body_feeds,
                    list(body_outs), body_vars, nc, len(caps), len(sliced), reverse,
                    [t for t, _ in stacked], [k for _, k in stacked], back_prop=back_prop,
                    gathered=gathered)
    inputs = list(carried) + caps + [s for s, _ in sliced]
    avals = list(carried_avals) + [AVal((), np.dtype(np.int32))] + [
        stacked_aval(t) for t, _ in stacked]
    op = outer.create_op("While", inputs, {"spec": spec}, avals, name + "/")
    op.host = spec
    for i, t in enumerate(carried):
        if is_opaque(t) or is_opaque(body_outs[i]):
            mark_opaque(op.outputs[i])
    for k, (_, kind) in enumerate(stacked):
        if kind == "list":
            mark_opaque(op.outputs[nc + 1 + k])
    return op


def _gather_rows(body: FuncGraph, feeds: list[tuple[int, Tensor]], nc: int,
                 nk: int) -> list[tuple[int, int, Tensor, Any]]:
    """Rows the body reads from a loop invariant at a carried index (``ta.read(i)``, and
    ``x[i]``, which reads a TensorArray of ``x``'s rows): each reading op becomes a placeholder
    the driver feeds with that row (no per-iteration op); its reader is kept for the driver."""
    index = {ph: i for i, ph in feeds}
    out = []
    for op in list(body._ops):
        if op.type != "TensorArrayRead":
            continue
        src, idx = (index.get(t) for t in op.inputs)
        if src is None or idx is None or not nc <= src < nc + nk or idx >= nc:
            continue
        reader, ph = op.host, op.outputs[0]
        op.type, op.inputs, op.host = "Placeholder", (), None  # fed with the row from now on
        op.params = {"dtype": ph.aval.dtype, "shape": ph.aval.shape}
        out.append((src, idx, ph, reader))
    return out


def add_saved(op: Operation, t: Tensor) -> Tensor:
    """The op's output stacking body tensor ``t`` at every iteration (for the gradient: added
    once, then reused)."""
    spec: LoopSpec = op.host
    k = spec.saved.get(t)
    if k is None:
        k = spec.saved[t] = len(spec.stacked)
        spec.stacked.append(t)
        spec.stacked_kind.append("list")
        out = Tensor(op, len(op.outputs), stacked_aval(t))
        op.outputs = op.outputs + (out,)
        mark_opaque(out)
        op.graph.version += 1
    return op.outputs[spec.n_carried + 1 + k]


def trip_count(op: Operation) -> Tensor:
    return op.outputs[op.host.n_carried]


def stacked_output(op: Operation, k: int) -> Tensor:
    return op.outputs[op.host.n_carried + 1 + k]


__all__ = ["LoopSpec", "Stack", "make_while", "add_saved", "trip_count", "stacked_output",
           "element", "length"]

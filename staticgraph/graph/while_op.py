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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..graph.errors import InvalidArgumentError
from ..ops.core import AVal
from .core import Graph, Operation, Tensor
from .func_graph import FuncGraph, is_opaque, mark_opaque

#: run a function graph once: ``call(graph, fetches, feeds) -> values``
Call = Callable[[Graph, list, dict], list]


class Stack:
    """A loop's saved per-iteration values (an opaque host value, never an array)."""

    __slots__ = ("items",)

    def __init__(self, items: list) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"<Stack of {len(self.items)}>"


def element(s: Any, k: int) -> Any:
    """Element ``k`` of a sliced input (an array or a :class:`Stack`)."""
    return s.items[k] if isinstance(s, Stack) else s[k]


def length(s: Any) -> int:
    return len(s.items) if isinstance(s, Stack) else len(s)


@dataclass
class LoopSpec:
    """What a ``While`` op runs; ``op.host`` and ``op.params["spec"]``."""

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

    def clone(self) -> LoopSpec:
        c = copy.copy(self)
        c.stacked, c.stacked_kind, c.saved = list(self.stacked), list(self.stacked_kind), \
            dict(self.saved)
        return c

    def __repr__(self) -> str:
        return f"<while {self.name!r}: {self.n_carried} carried, {self.n_captured} captured, " \
               f"{self.n_sliced} sliced, {len(self.stacked)} stacked>"

    # ------------------------------------------------------------------------------ run
    def run(self, inputs: Sequence[Any], call: Call) -> list:
        """The loop: run ``cond``; while it is true, run ``body`` on the carried values."""
        nc, nk = self.n_carried, self.n_captured
        carried = list(inputs[:nc])
        sliced = inputs[nc + nk:]
        for i, s in enumerate(sliced):
            if s is None:
                raise InvalidArgumentError(None, None, f"while_loop '{self.name}' (defined at "
                                           f"{self.site}): sliced input {i} has no value")
        cond_fixed = {ph: inputs[i] for i, ph in self.cond_feeds if i >= nc}
        cond_var = [(i, ph) for i, ph in self.cond_feeds if i < nc]
        body_fixed = {ph: inputs[i] for i, ph in self.body_feeds if nc <= i < nc + nk}
        body_var = [(i, ph) for i, ph in self.body_feeds if i < nc]
        body_sl = [(i - nc - nk, ph) for i, ph in self.body_feeds if i >= nc + nk]
        fetches = self.body_outs + self.stacked
        stacks: list[list] = [[] for _ in self.stacked]
        t = 0
        while True:
            feeds = dict(cond_fixed)
            for i, ph in cond_var:
                feeds[ph] = carried[i]
            (c,) = call(self.cond, [self.cond_out], feeds)
            if not bool(c):
                break
            feeds = dict(body_fixed)
            for i, ph in body_var:
                feeds[ph] = carried[i]
            for j, ph in body_sl:
                n = length(sliced[j])
                k = n - 1 - t if self.reverse else t
                if not 0 <= k < n:
                    raise InvalidArgumentError(None, None, f"while_loop '{self.name}' (defined "
                                               f"at {self.site}): iteration {t} reads element {k}"
                                               f" of a sliced input of length {n}")
                feeds[ph] = element(sliced[j], k)
            outs = call(self.body, fetches, feeds)
            carried = list(outs[:nc])
            for s, v in zip(stacks, outs[nc:], strict=True):
                s.append(v)
            t += 1
        return carried + [np.asarray(t, np.int32)] + [
            self._finish(s, k) for k, s in enumerate(stacks)]

    def _finish(self, items: list, k: int) -> Any:
        if self.reverse:
            items.reverse()
        if self.stacked_kind[k] == "list":
            return Stack(items)
        if items:
            return np.stack(items)
        t = self.stacked[k]
        shape = (0,) + tuple(0 if d is None else d for d in (t.aval.shape or ()))
        return np.zeros(shape, t.aval.dtype)


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
    spec = LoopSpec(name, site, cond, cond_out, feeds(cond, cond_args), body, body_feeds,
                    list(body_outs), body_vars, nc, len(caps), len(sliced), reverse,
                    [t for t, _ in stacked], [k for _, k in stacked], back_prop=back_prop)
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

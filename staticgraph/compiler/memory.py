"""Memory planning by liveness: every intermediate produced by a kernel, row kernel or matmul
gets a *slot*; a slot is reused by a later value of the same symbolic shape and dtype once its
last reader has run. Elementwise and row kernels may write in place over an input that dies at
that step (same index read before write), so a matmul's bias+activation epilogue overwrites the
product. Values that leave the run (fetches, variable updates) get *escape* slots: pools of
buffers reused across runs only when the caller no longer holds them (reference count check).
Views and numpy fallbacks may alias their inputs, so they extend their inputs' lifetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fusion import Step
from .ir import Program
from .passes.shapes import Sym


def shape_key(shape: tuple) -> tuple:
    return tuple(("s", id(d)) if isinstance(d, Sym) else d for d in shape)


@dataclass
class MemoryPlan:
    slot_of: dict[int, int] = field(default_factory=dict)  # node id -> slot
    slots: list[tuple[tuple, np.dtype]] = field(default_factory=list)  # (symbolic shape, dtype)
    escape: set[int] = field(default_factory=set)  # slots that are escape pools
    inplace: list[tuple[int, int]] = field(default_factory=list)  # (step index, slot) reuses


BUFFERED = ("kernel", "dot", "row")


def plan_memory(prog: Program, steps: list[Step]) -> MemoryPlan:
    escapes = {n.id for n in prog.outputs} | {n.id for _, n in prog.updates}
    step_of: dict[int, int] = {}
    for i, s in enumerate(steps):
        for n in s.outputs:
            step_of[n.id] = i
    alias: dict[int, int] = {}  # view/fallback output -> the node id whose buffer it may share
    last: dict[int, int] = {}

    def root(nid: int) -> int:
        while nid in alias:
            nid = alias[nid]
        return nid

    for i, s in enumerate(steps):
        for n in s.inputs:
            r = root(n.id)
            last[r] = max(last.get(r, -1), i)
        if s.kind in ("view", "fallback"):
            for n in s.inputs:
                if n.id in step_of:
                    alias[s.outputs[0].id] = root(n.id)  # pessimistic: the first input
                    break
            for n in s.inputs:  # a fallback may alias any input: keep them all alive
                r = root(n.id)
                last[r] = max(last.get(r, -1), last.get(root(s.outputs[0].id), i))
    for e in escapes:  # a view of a buffer that escapes keeps it until the end
        last[root(e)] = len(steps)
    plan = MemoryPlan()
    free: dict[tuple, list[int]] = {}
    for i, s in enumerate(steps):
        dying = [root(n.id) for n in s.inputs if last.get(root(n.id)) == i]
        dying_slots = [plan.slot_of[r] for r in dict.fromkeys(dying) if r in plan.slot_of and
                       plan.slot_of[r] not in plan.escape]
        inplace_ok = s.kind == "row" or (s.kind == "kernel" and not s.kernel.reductions)
        if inplace_ok:
            for sl in dying_slots:
                free.setdefault((shape_key(plan.slots[sl][0]), plan.slots[sl][1].str),
                                []).append(sl)
        if s.kind in BUFFERED:
            for n in s.outputs:
                if n.id in escapes:
                    plan.slot_of[n.id] = len(plan.slots)
                    plan.escape.add(len(plan.slots))
                    plan.slots.append((n.shape, n.dtype))
                    continue
                key = (shape_key(n.shape), n.dtype.str)
                if free.get(key):
                    sl = free[key].pop()
                    if sl in dying_slots:
                        plan.inplace.append((i, sl))
                else:
                    sl = len(plan.slots)
                    plan.slots.append((n.shape, n.dtype))
                plan.slot_of[n.id] = sl
        if not inplace_ok:
            for sl in dying_slots:
                free.setdefault((shape_key(plan.slots[sl][0]), plan.slots[sl][1].str),
                                []).append(sl)
        for n in s.outputs:  # produced but never read (e.g. an unused ce_fwd output)
            r = root(n.id)
            if r in plan.slot_of and last.get(r, -1) < i and n.id not in escapes and \
                    plan.slot_of[r] not in plan.escape:
                sl = plan.slot_of[r]
                free.setdefault((shape_key(plan.slots[sl][0]), plan.slots[sl][1].str),
                                []).append(sl)
    return plan

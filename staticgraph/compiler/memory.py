"""Memory planning by liveness, with alias analysis.

Every intermediate produced by a kernel, row kernel or matmul (a *buffered* step) gets a *slot*;
a slot is reused by a later value of the same symbolic shape and dtype once nothing can read its
memory any more. Values that leave the run (fetches, variable updates) get *escape* slots: pools
of buffers reused across runs only when the caller no longer holds them (reference count check).

Alias rules (each step kind declares them, :meth:`.fusion.Step.aliases`):

* a ``view`` (reshape, expand_dims, squeeze, a transposed matmul operand) shares its input's
  memory; a numpy ``fallback`` may return a view of *any* of its inputs (``transpose``, slicing,
  ``broadcast_to``...) unless its op is known to allocate (``Op.fresh_output``);
* so every value has a set of *roots*: the buffered values whose memory it may be (transitively,
  through chains of views and fallbacks);
* a root's buffer stays live until the last step that reads the root or any value aliasing it;
  a value that escapes keeps its roots live to the end (it is copied out after the last step);
* in-place reuse: an elementwise kernel (no reduction) or a row kernel may write an output over
  an input buffer only when it reads that input *directly* (same element index as it writes),
  the buffer dies at this step, and no other input of the step is a view of it. A matmul never
  writes over its operands.

before (a rank-3 transpose runs as a numpy fallback returning a view of %1's buffer):
    [0] kernel exp -> %1 (slot 0); [1] fallback permute(%1) -> %2; [2] kernel mul(%2) -> %4
    old plan: %4 in place over slot 0 while %2 (a view of slot 0) is read -> wrong values
after: %2's root is %1, so %1 is read (through %2) at step 2, where it is not read directly:
    %4 gets slot 1 and slot 0 is free from step 3 on.
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
    roots: dict[int, frozenset] = field(default_factory=dict)  # view/fallback id -> root ids


BUFFERED = ("kernel", "dot", "row")


def alias_roots(steps: list[Step]) -> dict[int, frozenset]:
    """For each output of a view or fallback step: the ids of the values whose memory it may
    share (transitively; feeds, variables and constants included, they own memory too)."""
    roots: dict[int, frozenset] = {}
    for s in steps:
        shared = s.aliases()
        if shared:
            r = frozenset().union(*(roots.get(n.id, frozenset((n.id,))) for n in shared))
            for o in s.outputs:
                roots[o.id] = r
    return roots


def last_uses(prog: Program, steps: list[Step], roots: dict[int, frozenset]) -> dict[int, int]:
    """Root id -> index of the last step that may read its memory (directly or through an
    alias); ``len(steps)`` for values copied out at the end (fetches, updates)."""
    last: dict[int, int] = {}
    for i, s in enumerate(steps):
        for n in s.inputs:
            for r in roots.get(n.id, (n.id,)):
                last[r] = max(last.get(r, -1), i)
    for n in prog.roots():
        for r in roots.get(n.id, (n.id,)):
            last[r] = len(steps)
    return last


def _inplace_candidates(s: Step, dying: set[int], roots: dict[int, frozenset]) -> set[int]:
    """Ids of inputs whose buffer ``s`` may overwrite: read directly (same index as the
    output), dying here, and not also read through a view by another input of ``s``."""
    if not (s.kind == "row" or (s.kind == "kernel" and not s.kernel.reductions)):
        return set()
    out = set()
    for n in s.inputs:
        if n.id not in dying or n.id in roots:
            continue
        if any(m is not n and n.id in roots.get(m.id, ()) for m in s.inputs):
            continue
        out.add(n.id)
    return out


def plan_memory(prog: Program, steps: list[Step]) -> MemoryPlan:
    escapes = {n.id for n in prog.roots()}
    roots = alias_roots(steps)
    last = last_uses(prog, steps, roots)
    plan = MemoryPlan(roots=roots)
    free: dict[tuple, list[int]] = {}

    def key(sl: int) -> tuple:
        shape, dt = plan.slots[sl]
        return shape_key(shape), np.dtype(dt).str

    def release(sl: int) -> None:
        free.setdefault(key(sl), []).append(sl)

    def owned(r: int) -> int | None:  # the reusable slot holding root ``r``'s buffer
        sl = plan.slot_of.get(r)
        return None if sl is None or sl in plan.escape else sl

    for i, s in enumerate(steps):
        dying = {r for n in s.inputs for r in roots.get(n.id, (n.id,))
                 if last.get(r) == i and owned(r) is not None}
        early = _inplace_candidates(s, dying, roots)
        for r in early:
            release(plan.slot_of[r])
        if s.kind in BUFFERED:
            for n in s.outputs:
                if n.id in escapes:
                    plan.slot_of[n.id] = len(plan.slots)
                    plan.escape.add(len(plan.slots))
                    plan.slots.append((n.shape, n.dtype))
                    continue
                k = (shape_key(n.shape), n.dtype.str)
                if free.get(k):
                    sl = free[k].pop()
                    if any(plan.slot_of[r] == sl for r in early):
                        plan.inplace.append((i, sl))
                else:
                    sl = len(plan.slots)
                    plan.slots.append((n.shape, n.dtype))
                plan.slot_of[n.id] = sl
        for r in sorted(dying - early):
            release(plan.slot_of[r])
        for n in s.outputs:  # produced but never read (e.g. an unused ce_fwd output)
            if n.id not in last and owned(n.id) is not None:
                release(plan.slot_of[n.id])
    return plan

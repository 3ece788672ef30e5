"""The compile pipeline every backend shares: one (fetches, targets, feed signature) -> a
:class:`Schedule` that a backend only renders.

    TF1 graph --lower--> IR --PIPELINE (passes)--> optimized IR --fuse--> steps
              --plan_memory--> slots --check--> Schedule

The CPU (:mod:`.cpu.plan`) and CUDA (:mod:`.cuda.plan`) backends both start from
:func:`compile_schedule`, so they make the same decisions (which nodes fuse, which buffers are
shared, which steps run the registry's numpy kernel) and refuse the same graphs: anything the
schedule cannot express raises here, and the executor runs that key on the reference executor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ops.core import REGISTRY
from .fusion import Step, fuse
from .ir import Program
from .lower import lower
from .memory import MemoryPlan, plan_memory
from .passes import Context, optimize
from .passes.shapes import Sym


@dataclass
class Schedule:
    """What a backend renders: the optimized program, its fused steps in order, their buffers."""

    prog: Program
    steps: list[Step]
    mem: MemoryPlan
    trace: list  # (pass name, rewrites, listing) after lowering and after each pass (explain)
    started: float  # perf_counter() when compiling began: backends add their own time


def compile_schedule(fetches: list, targets: list, feeds: dict[Any, np.ndarray]) -> Schedule:
    """Lower the subgraph ``fetches`` and ``targets`` need (``feeds``: fed tensor -> an array
    of the signature: its dtype, rank and size-1 dims specialize the plan), run the pass
    pipeline, fuse, plan memory and check the result. Raises on anything no backend can run
    (the executors then fall back to the reference executor for this key)."""
    started = time.perf_counter()
    prog = lower(fetches, targets, list(feeds), [np.ndim(a) for a in feeds.values()])
    trace: list = [("lowered", 0, prog.text())]
    ctx = Context([tuple(1 if d == 1 else 0 for d in np.shape(a)) for a in feeds.values()])
    optimize(prog, ctx, trace)
    steps = fuse(prog)
    mem = plan_memory(prog, steps)
    check(steps, mem)
    return Schedule(prog, steps, mem, trace, started)


def check(steps: list[Step], mem: MemoryPlan) -> None:
    """Refuse schedules no backend can run: a buffer with a dimension no feed determines (e.g.
    ``reshape(-1)`` of a symbolic size), a numpy step for an op the registry lacks."""
    for shape, _ in mem.slots:
        if not all(isinstance(d, (int, Sym)) for d in shape):
            raise NotImplementedError(f"a buffer of shape {shape} has a dimension that no feed "
                                      "determines (e.g. reshape(-1) of a symbolic size)")
    for s in steps:
        if s.kind == "fallback" and s.nodes[0].op not in REGISTRY:
            raise NotImplementedError(f"no kernel for {s.nodes[0].op}")

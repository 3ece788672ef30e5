"""``explain``: what the compiler did with one (fetches, feeds): the graph after each pass, the
fused kernels and their generated source, the driver, compile time and the buffer plan."""

from __future__ import annotations

from typing import Any

import numpy as np

from .executor_base import REFERENCE


def explain(fetches: Any, feed_dict: dict | None = None, session: Any = None,
            passes: bool = True) -> str:
    """A text report. ``fetches`` are tensors/ops (a list or one); ``feed_dict`` as for
    ``Session.run``. Uses ``session``'s compiler executor when it is one (sharing its plans)."""
    from ..graph.core import Operation, Tensor
    from .cpu.executor import NumbaExecutor
    from .cpu.plan import Plan

    items = fetches if isinstance(fetches, (list, tuple)) else [fetches]
    tensors = [x for x in items if isinstance(x, Tensor) or hasattr(x, "_as_graph_tensor")]
    tensors = [t._as_graph_tensor() if hasattr(t, "_as_graph_tensor") else t for t in tensors]
    targets = [x for x in items if isinstance(x, Operation)]
    feeds = {k: np.asarray(v) for k, v in (feed_dict or {}).items()}
    graph = (tensors or targets)[0].graph
    ex = getattr(session, "_executor", None)
    if not isinstance(ex, NumbaExecutor):
        ex = NumbaExecutor()
    plan = ex.plan_for(graph, tensors, targets, feeds)
    if not isinstance(plan, Plan):
        return "not compiled: this graph runs on the reference executor (see the compile log)"
    return report(plan, tuple(np.shape(a) for a in feeds.values()), passes)


def report(plan: Any, feed_shapes: tuple, passes: bool = True) -> str:
    out = []
    if passes:
        for name, n, text in plan.trace:
            out.append(f"== after {name} ({n} rewrite{'s' if n != 1 else ''}) ==\n{text}")
    else:
        out.append("== optimized graph ==\n" + plan.prog.text())
    out.append("== steps (fusion) ==")
    for i, s in enumerate(plan.steps):
        ids = ", ".join(f"%{n.id}" for n in s.nodes)
        epi = "  (epilogue of the matmul before)" if s.epilogue_of is not None else ""
        out.append(f"[{i}] {s.describe()} -> {ids}{epi}")
    out.append(f"== kernels: {len(plan.kernel_list)} ==")
    for ck in plan.kernel_list:
        out.append(f"-- {ck.step.describe()}\n{ck.source}")
    inst = plan.instance(feed_shapes)
    if inst is REFERENCE:
        return "not compiled for these feed shapes: they run on the reference executor (see " \
               "the compile log)"
    if inst.small:
        out.append("== driver (single njit function, one dispatch per run) ==\n" +
                   plan.njit_src.source)
    else:
        out.append("== driver ==\n" + plan.driver.source)
    out.append(f"== per-run entry (generated Python; tier: {inst.tier}) ==\n" + inst.call_source)
    out.append("== buffer plan ==")
    for sl, (_shape, dt) in enumerate(plan.mem.slots):
        users = [f"%{nid}" for nid, s in plan.mem.slot_of.items() if s == sl]
        kind = "escape pool" if sl in plan.mem.escape else "intermediate"
        shape = inst.slot_shapes[sl]
        nbytes = int(np.prod(shape)) * np.dtype(dt).itemsize
        out.append(f"slot {sl}: {shape} {np.dtype(dt).name} ({nbytes} B, {kind}) <- "
                   f"{', '.join(users)}")
    out.append(f"in-place reuses: {plan.mem.inplace}")
    out.append(f"peak intermediate bytes: {inst.peak_bytes}")
    out.append(f"compile time: {plan.compile_seconds:.3f} s")
    return "\n".join(out)

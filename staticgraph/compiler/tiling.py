"""Schedule of a rank-1 fused kernel: loop fission in tiles, and chunks with per-chunk partials.

Fusion decides, codegen renders (:class:`~.kernel.Tiling`, ``Kernel.chunk``):

* **Tiling** (loop fission). A long elementwise chain (a forward with its gradient: four
  transcendentals and ~20 products) is one long dependency chain per element; its loop keeps
  dozens of values live and spills. Cut into *stages*, each a loop over an L1-sized tile, the
  values crossing a cut go through small tile buffers and each loop stays short (measured 1.5x
  on the ``chain`` workload). Kernels whose :func:`body_cost` reaches ``TILE_MIN_COST``
  (environment ``STATICGRAPH_TILE_MIN_COST``) are tiled; cuts fall after about
  ``STAGE_COST`` of work each, at the point with the fewest live values nearby. Inputs are
  reloaded by each stage that reads them (a tile of them stays in cache) rather than buffered;
  statements of constants and scalars only are recomputed where needed. Every output is stored
  no earlier than the last stage that loads an input, so an output sharing its input's buffer
  (in-place reuse, epilogues) is never read after it was overwritten.
* **Chunks**. A rank-1 kernel with a reduction (necessarily over the whole loop) or a tiling
  runs in chunks of ``CHUNK`` elements, the unit of ``prange``: each chunk sums its own
  partials (blockwise, as :mod:`.cpu.accum` describes) and the partials combine in chunk order,
  so the serial and parallel variants and any thread count give the same bits.

before: Kernel(rank=1, stmts=[v0 = sg_tanh(a0_), v1 = sg_exp(v0), ..., v25], reductions=[r0])
after:  the same Kernel with tiling=Tiling(2048, stages=(Stage(stmts=(0, 1, ...),
        writes=("v4", ...)), Stage(..., reads=("v4", ...)), ...)), chunk=65536
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

from .kernel import SHORT_REDUCTION, Kernel, Stage, Tiling

TILE = SHORT_REDUCTION
"""Elements per tile: the CPU renderer's reduction block (tiles and blocks coincide, so a
tiled sum adds the same blocks), 8 KiB of float32 per buffer: a few buffers fit L1."""
CHUNK = 32 * TILE
"""Elements per chunk (per partial sum, per ``prange`` work item): independent of the thread
count, so the summation order is too; 64K elements amortize a chunk's set-up."""
VECTOR_BITS = int(os.environ.get("STATICGRAPH_VECTOR_BITS", 512))
"""The SIMD width a tiled kernel's loops prefer (``Tiling.vector_bits``; 0: LLVM's default for
the CPU, which is 256 bits on AVX-512 Intel CPUs). A tiled body is compute-bound by
construction (its cost reaches ``TILE_MIN_COST``): at 512 bits the ``chain`` kernel ran 1.45x
faster (1M elements, 1 thread, same bits); a CPU without AVX-512 ignores the preference."""
STAGE_COST = 20
"""Work per stage in :func:`body_cost` units: one transcendental (the chain: 5 stages, 4
buffers; measured faster than 3 stages at 30 and 2 at 45)."""
_HEAVY = re.compile(r"\bsg_(exp|expm1|log|log1p|tanh|sigmoid|softplus|sin|cos|tan|pow|"
                    r"atan|asin|acos|erf|sinh|cosh)\w*\(")
_NAME = re.compile(r"[A-Za-z_]\w*")
_OPS = re.compile(r"[-+*/%<>]|\bsg_\w+\(")


def tile_min_cost() -> int:
    """The body cost from which a kernel is tiled (``STATICGRAPH_TILE_MIN_COST``, default 80;
    tests set 1 to tile small kernels)."""
    return int(os.environ.get("STATICGRAPH_TILE_MIN_COST", 80))


def stmt_cost(expr: str) -> int:
    """A statement's rough instruction weight: 20 per transcendental library call (~20-40
    vector instructions), 1 per other operator or call."""
    heavy = len(_HEAVY.findall(expr))
    return 20 * heavy + max(len(_OPS.findall(expr)) - heavy, 0)


def body_cost(k: Kernel) -> int:
    return sum(stmt_cost(s.expr) for s in k.stmts)


def schedule(k: Kernel) -> Kernel:
    """``k`` with its tiling and chunk decided (unchanged unless rank 1)."""
    if k.rank != 1:
        return k
    tiling = plan_tiling(k) if body_cost(k) >= tile_min_cost() else None
    chunk = CHUNK if tiling is not None or (k.reductions and not k.short_reduction) else 0
    return replace(k, tiling=tiling, chunk=chunk)


def plan_tiling(k: Kernel) -> Tiling | None:
    """Cut ``k``'s statements into stages (None when there is nothing to cut)."""
    names = {s.var for s in k.stmts}
    inputs = {f"{i.name}_": j for j, i in enumerate(k.inputs) if not i.is_scalar}
    uses = [{t for t in _NAME.findall(s.expr) if t in names or t in inputs} for s in k.stmts]
    invariant: set[str] = set()  # constants and scalars only: recomputed, never buffered
    for s, u in zip(k.stmts, uses, strict=True):
        if all(t in invariant for t in u):
            invariant.add(s.var)
    cuts = _cuts(k, uses, invariant)
    if not cuts:
        return None
    bounds = [0, *cuts, len(k.stmts)]
    home = {s.var: q for q in range(len(bounds) - 1) for s in k.stmts[bounds[q]:bounds[q + 1]]}
    # the stage of each output / reduction: where its var is made (an output no earlier than
    # the last stage loading an input: in-place reuse may give it an input's buffer)
    loads = [{t for i in range(bounds[q], bounds[q + 1]) for t in uses[i] if t in inputs}
             for q in range(len(bounds) - 1)]
    last_load = max((q for q, ld in enumerate(loads) if ld), default=0)

    def stage_of(var: str) -> int:
        return 0 if var in invariant or var not in home else home[var]

    out_stage = [max(stage_of(o.var), last_load) for o in k.outputs]
    red_stage = [stage_of(r.var) for r in k.reductions]
    stages, buffered = [], []
    for q in range(len(bounds) - 1):
        own = [i for i in range(bounds[q], bounds[q + 1]) if k.stmts[i].var not in invariant]
        need = {t for i in own for t in uses[i]}
        need |= {o.var for o, s in zip(k.outputs, out_stage, strict=True) if s == q}
        need |= {r.var for r, s in zip(k.reductions, red_stage, strict=True) if s == q}
        remat = _closure(k, uses, {t for t in need if t in invariant})
        reads = sorted((t for t in need if t in home and t not in invariant and home[t] < q),
                       key=_var_order)
        buffered += [t for t in reads if t not in buffered]
        ins = {t for i in own + remat for t in uses[i] if t in inputs}
        ins |= {t for t in need if t in inputs}
        stages.append([sorted(remat) + own, sorted(inputs[t] for t in ins), reads])
    buffered.sort(key=_var_order)
    dtypes = {s.var: s.dtype for s in k.stmts}
    out = []
    for q, (stmts, ins, reads) in enumerate(stages):
        writes = tuple(t for t in buffered if home[t] == q)
        out.append(Stage(tuple(stmts), tuple(ins), tuple(reads), writes,
                         tuple(j for j, s in enumerate(out_stage) if s == q),
                         tuple(j for j, s in enumerate(red_stage) if s == q)))
    return Tiling(TILE, tuple(out), tuple((t, dtypes[t]) for t in buffered), VECTOR_BITS)


def _var_order(var: str) -> int:
    return int(var[1:]) if var[1:].isdigit() else 0


def _closure(k: Kernel, uses: list, want: set) -> list[int]:
    """Indices of the (invariant) statements computing ``want``, with what they need."""
    todo, got = set(want), set()
    for i in range(len(k.stmts) - 1, -1, -1):
        if k.stmts[i].var in todo:
            got.add(i)
            todo |= uses[i]
    return sorted(got)


def _cuts(k: Kernel, uses: list, invariant: set) -> list[int]:
    """Stage boundaries (statement indices): after about ``STAGE_COST`` of work, the position
    up to twice that with the fewest values live across it; none in the last half stage."""
    cost = [0 if s.var in invariant else stmt_cost(s.expr) for s in k.stmts]
    last_use: dict[str, int] = {}
    for i, u in enumerate(uses):
        for t in u:
            last_use[t] = i
    for o in k.outputs:
        last_use[o.var] = len(k.stmts)  # stored at the end (see plan_tiling): may cross
    total, n = sum(cost), len(k.stmts)

    def live(c: int) -> int:  # values made before c and used at or after c
        return sum(1 for s in k.stmts[:c] if s.var not in invariant and
                   last_use.get(s.var, -1) >= c)

    cuts, start = [], 0
    while True:
        acc, i = 0, start
        while i < n and acc < STAGE_COST:
            acc += cost[i]
            i += 1
        if i >= n or sum(cost[i:]) < STAGE_COST // 2 or total < 2 * STAGE_COST:
            return cuts
        best, best_live, more = i, live(i), acc
        j = i
        while j < n and more + cost[j] < 2 * STAGE_COST:
            more += cost[j]
            j += 1
            if j < n and sum(cost[j:]) >= STAGE_COST // 2 and live(j) < best_live:
                best, best_live = j, live(j)
        cuts.append(best)
        start = best

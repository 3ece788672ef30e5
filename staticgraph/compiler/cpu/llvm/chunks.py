"""A chunked rank-1 kernel (``Kernel.chunk``, tiled or not: ``Kernel.tiling``) as LLVM IR:
:func:`..render_chunks.render_chunked`'s loops, so both tiers give the same bits.

The loop runs in chunks of ``k.chunk`` elements, each chunk in tiles (``k.tiling.size``, or one
sum block of ``BLOCK`` when untiled), each tile through its stages (loop fission: one loop per
stage over the tile; values crossing stages in tile buffers). Every chunk sums its own partial
of each reduction -- float sums a block (= a tile) at a time: the values go to a tile buffer
that ``sg_block_sum`` adds in the order its IR fixes (:mod:`..blocksum`, the very function
numba's kernel calls), the block sums into a float64 chunk total -- and the chunk partials
combine in chunk order. numba's
variant stores the partials into an array and adds them after its (``prange``) loop; this one
is serial, so it adds each partial as its chunk ends: the same additions in the same order.
Tile buffers are stack arrays (``alloca``: a few of 8-16 KiB), not ``malloc``'d.

before: Kernel(rank=1, stmts=[v0 = sg_tanh(a0_), ...], reductions=[r0], chunk=65536,
        tiling=Tiling(2048, stages=(Stage(..., writes=("v4",)), Stage(..., reads=("v4",)))))
after:  for ic < nch: for ib < ntiles: for ir < m: <stage 1> ... for ir < m: <stage 2> ...
"""

from __future__ import annotations

from llvmlite import ir as llir

from .. import blocksum
from ..render_chunks import BLOCK, _whole
from .accumulate import accumulate, init_value
from .emit import LTYPE, MTYPE, Exprs, dtype_name

_FTY = {"float32": llir.FloatType, "float64": llir.DoubleType}


def render_chunked(f, k, ex: Exprs, n0: str) -> None:
    """Emit the chunk loop of rank-1 kernel ``k`` (``n0``: its trip count) into frame ``f``
    (a :class:`.loops.Frame`), after the scalar loads."""
    b = f.b
    ch = k.chunk
    if k.tiling is not None and k.tiling.vector_bits:  # as numba's sg_vector_width
        f.attrs.append(f'"prefer-vector-width"="{k.tiling.vector_bits}"')
    tile = k.tiling.size if k.tiling is not None else BLOCK
    stages = k.tiling.stages if k.tiling is not None else (_whole(k),)
    bufs: dict[str, tuple[str, str]] = {}
    for v, dt in (k.tiling.buffers if k.tiling is not None else ()):
        t = dtype_name(dt)
        name = b.tmp("tb")
        b.allocas.append(f"  {name} = alloca [{tile} x {MTYPE[t]}], align 64")
        bufs[v] = (name, t)
    rts = [dtype_name(r.dtype) for r in k.reductions]
    blocked = [r.float_sum for r in k.reductions]
    for j, t in enumerate(rts):  # each float sum's values: a tile buffer, sg_block_sum
        if blocked[j]:
            name = b.tmp("rb")
            b.allocas.append(f"  {name} = alloca [{tile} x {MTYPE[t]}], align 64")
            bufs[f"rb{j}"] = (name, t)
            b.declare(blocksum.function_text(t))
    total = [b.slot("double", "0.0") if blocked[j] else
             b.slot(LTYPE[rts[j]], init_value(r.op, rts[j])) for j, r in enumerate(k.reductions)]
    nch = b.emit(f"sdiv i64 {b.emit(f'add i64 {n0}, {ch - 1}')}, {ch}")
    with f.loop(nch) as ic:
        start = b.emit(f"mul nsw i64 {ic}, {ch}")
        end = _min(b, n0, b.emit(f"add nsw i64 {start}, {ch}"))
        part = [b.slot("double", "0.0") if blocked[j] else
                b.slot(LTYPE[rts[j]], init_value(r.op, rts[j]))
                for j, r in enumerate(k.reductions)]
        span = b.emit(f"sub nsw i64 {end}, {start}")
        ntiles = b.emit(f"sdiv i64 {b.emit(f'add nsw i64 {span}, {tile - 1}')}, {tile}")
        with f.loop(ntiles) as ib:
            off = b.emit(f"add nsw i64 {start}, {b.emit(f'mul nsw i64 {ib}, {tile}')}")
            m = _min(b, str(tile), b.emit(f"sub nsw i64 {end}, {off}"))
            for st in stages:
                with f.loop(m) as ir:
                    _stage(f, k, ex, st, bufs, ir, b.emit(f"add nsw i64 {off}, {ir}"), part,
                           blocked, rts)
            for j in (j for j in range(len(k.reductions)) if blocked[j]):
                t = rts[j]  # the block's sum (in sg_block_sum's order) joins the chunk total
                sym = blocksum.symbol(_FTY[t]())
                bs = b.convert((b.emit(f"call {LTYPE[t]} @{sym}(ptr {bufs[f'rb{j}'][0]}, "
                                       f"i64 {m})"), t), "float64")
                tot = b.emit(f"load double, ptr {part[j]}")
                b.put(f"store double {b.emit(f'fadd double {tot}, {bs[0]}')}, ptr {part[j]}")
        for j, r in enumerate(k.reductions):  # chunk partials in chunk order
            lt = "double" if blocked[j] else LTYPE[rts[j]]
            cur = (b.emit(f"load {lt}, ptr {total[j]}"), "float64" if blocked[j] else rts[j])
            p = (b.emit(f"load {lt}, ptr {part[j]}"), cur[1])
            new = b.arith("+", cur, p) if blocked[j] else accumulate(b, r.op, cur, p)
            b.put(f"store {lt} {new[0]}, ptr {total[j]}")
    for j, r in enumerate(k.reductions):
        if blocked[j]:
            val = (b.emit(f"load double, ptr {total[j]}"), "float64")
            if r.op == "mean":
                val = b.arith("/", val, b.convert((n0, "int64"), "float64"))
        else:
            val = (b.emit(f"load {LTYPE[rts[j]]}, ptr {total[j]}"), rts[j])
        b.store(val, f.ptr(r.name, r.pattern, {}), rts[j])


def _min(b, x: str, y: str) -> str:
    return b.emit(f"select i1 {b.emit(f'icmp slt i64 {x}, {y}')}, i64 {x}, i64 {y}")


def _stage(f, k, ex: Exprs, st, bufs: dict, ir: str, i0: str, acc: dict, blocked: list,
           rts: list) -> None:
    """One element of one stage: input and tile-buffer loads, statements, buffer and output
    stores, the stage's reductions into their block (float sums) or chunk accumulators."""
    b = f.b
    iv = {0: i0}
    for j in st.inputs:
        i = k.inputs[j]
        ex.env[f"{i.name}_"] = b.load(f.ptr(i.name, i.pattern, iv), dtype_name(i.dtype))
    for v in st.reads:
        name, t = bufs[v]
        ex.env[v] = b.load(_slot(b, name, t, ir), t)
    for i in st.stmts:
        s = k.stmts[i]
        ex.env[s.var] = b.convert(ex(s.expr), dtype_name(s.dtype))
    for v in st.writes:
        name, t = bufs[v]
        b.store(ex.env[v], _slot(b, name, t, ir), t)
    for j in st.outputs:
        o = k.outputs[j]
        b.store(ex.env[o.var], f.ptr(o.name, o.pattern, iv), dtype_name(o.dtype))
    for j in st.reductions:
        r, t = k.reductions[j], rts[j]
        if blocked[j]:  # summed after the tile by sg_block_sum
            name, _ = bufs[f"rb{j}"]
            b.store(ex.env[r.var], _slot(b, name, t, ir), t)
            continue
        cur = (b.emit(f"load {LTYPE[t]}, ptr {acc[j]}"), t)
        new = accumulate(b, r.op, cur, ex.env[r.var])
        b.put(f"store {LTYPE[t]} {new[0]}, ptr {acc[j]}")


def _slot(b, buf: str, t: str, ir: str) -> str:
    return b.emit(f"getelementptr inbounds {MTYPE[t]}, ptr {buf}, i64 {ir}")

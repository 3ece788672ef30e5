"""CPU rendering of a chunked rank-1 kernel (``Kernel.chunk``), tiled or not (``Kernel.tiling``).

The loop runs in chunks of ``k.chunk`` elements (``prange`` in the parallel variant), each
chunk in tiles of ``BLOCK`` elements, each tile through its stages (one stage: the whole body,
when the kernel is not tiled). Each chunk keeps its own partial of every reduction -- float
sums blockwise, one block per tile: the stage stores the values into a tile buffer ``rb<j>``
and ``sg_block_sum`` adds them in the order its IR fixes (:mod:`.blocksum`; not ``sg_radd``,
whose order is the vectorizer's, so the LLVM renderer's copy gave other bits), block sums in
float64 -- stored into a small array; the partials combine in chunk order after the loop.
The chunk size does not depend on the thread count, so the serial and the parallel variant add
the same numbers in the same order. Tile buffers and partial arrays come from ``sg_scratch``
(``calloc``/``free``: no numba runtime, as the native tier requires)::

    nch = (n0 + 65535) // 65536
    p0 = sg_scratch(nch, np.float64(0.0))
    for ic in prange(nch):
        tb0 = sg_scratch(2048, np.float32(0.0))
        i0s = max(np.intp(ic), np.intp(0)) * 65536
        i0e = min(n0, i0s + 65536)
        t0 = np.float64(0.0)
        for i0b in range((i0e - i0s + 2047) // 2048):
            i0o = i0s + i0b * 2048
            m = min(2048, i0e - i0o)
            for i0r in range(m):          # stage 1
                i0 = i0o + i0r
                a0_ = a0[i0]
                v0 = sg_tanh(a0_)
                tb0[i0r] = v0
            for i0r in range(m):          # stage 2
                ...
                rb0[i0r] = v25
            t0 += np.float64(sg_block_sum(rb0, m))
        p0[ic] = t0
        sg_release(tb0)
    ...
"""

from __future__ import annotations

import numpy as np

from ..kernel import SHORT_REDUCTION, Kernel, Stage, accumulate, const_literal, init_value

BLOCK = SHORT_REDUCTION  # elements per tile of an untiled body: render.BLOCK, one sum block


def _at(pattern: tuple) -> str:
    """A rank-1 array index: ``i0`` along the loop, ``0`` for a size-1 dim, ``()`` for 0-d."""
    return ", ".join("0" if p is None else "i0" for p in pattern) or "()"


def _whole(k: Kernel) -> Stage:
    """The untiled body as one stage."""
    return Stage(tuple(range(len(k.stmts))),
                 tuple(j for j, i in enumerate(k.inputs) if not i.is_scalar), (), (),
                 tuple(range(len(k.outputs))), tuple(range(len(k.reductions))))


def _final(r, acc: str) -> str:
    val = f"{acc} / np.float64(n0)" if r.op == "mean" else acc
    return f"np.{np.dtype(r.dtype).name}({val})"


def render_chunked(k: Kernel, fname: str, parallel: bool) -> list[str]:
    """The body lines (after the prologue and scalar loads) of a chunked rank-1 kernel."""
    ch, tile = k.chunk, k.tiling.size if k.tiling is not None else BLOCK
    stages = k.tiling.stages if k.tiling is not None else (_whole(k),)
    bufs = {v: f"tb{j}" for j, (v, _) in enumerate(k.tiling.buffers)} if k.tiling else {}
    blocked = [r.float_sum for r in k.reductions]
    body = [f"nch = (n0 + {ch - 1}) // {ch}"]
    for j, r in enumerate(k.reductions):
        proto = "np.float64(0.0)" if blocked[j] else init_value(r.op, r.dtype)
        body.append(f"p{j} = sg_scratch(nch, {proto})")
    body.append(f"for ic in {'prange' if parallel else 'range'}(nch):")
    ind = "    "
    if k.tiling is not None and k.tiling.vector_bits:  # inside the loop: numba outlines a
        body.append(f"{ind}sg_vector_width({k.tiling.vector_bits})")  # prange body
    for v, dt in (k.tiling.buffers if k.tiling else ()):
        body.append(f"{ind}{bufs[v]} = sg_scratch({tile}, {const_literal(0, dt)})")
    # the values of each float sum, summed a block at a time in sg_block_sum's fixed order
    body += [f"{ind}rb{j} = sg_scratch({tile}, {init_value('sum', r.dtype)})"
             for j, r in enumerate(k.reductions) if blocked[j]]
    # a signed start LLVM knows is >= 0: the index of a prange body is unsigned (ic * ch mixes
    # signs) or unknown, and without the bound every a0[i0] keeps its negative-index
    # wraparound select and the loops run 2x slower
    body += [f"{ind}i0s = max(np.intp(ic), np.intp(0)) * {ch}",
             f"{ind}i0e = min(n0, i0s + {ch})"]
    for j, r in enumerate(k.reductions):
        body.append(f"{ind}t{j} = np.float64(0.0)" if blocked[j] else
                    f"{ind}acc{j} = {init_value(r.op, r.dtype)}")
    # an index loop, not range(i0s, i0e, tile): a stepped range halved the chain's speed
    body += [f"{ind}for i0b in range((i0e - i0s + {tile - 1}) // {tile}):",
             f"{ind}    i0o = i0s + i0b * {tile}", f"{ind}    m = min({tile}, i0e - i0o)"]
    ind += "    "
    for st in stages:
        body += _stage(k, st, bufs, blocked, ind)
    body += [f"{ind}t{j} += np.float64(sg_block_sum(rb{j}, m))"
             for j in range(len(k.reductions)) if blocked[j]]
    ind = "    "
    for j in range(len(k.reductions)):
        body.append(f"{ind}p{j}[ic] = {'t' if blocked[j] else 'acc'}{j}")
    body += [f"{ind}sg_release({b})" for b in bufs.values()]
    body += [f"{ind}sg_release(rb{j})" for j in range(len(k.reductions)) if blocked[j]]
    for j, r in enumerate(k.reductions):  # partials in chunk order: the same for any threads
        if blocked[j]:
            body += [f"s{j} = np.float64(0.0)", "for ic in range(nch):",
                     f"    s{j} += p{j}[ic]", f"{r.name}[{_at(r.pattern)}] = {_final(r, f's{j}')}"]
        else:
            body += [f"s{j} = {init_value(r.op, r.dtype)}", "for ic in range(nch):",
                     "    " + accumulate(r.op, f"s{j}", f"p{j}[ic]")]
            val = f"s{j} / np.{r.dtype.name}(n0)" if r.op == "mean" else f"s{j}"
            body.append(f"{r.name}[{_at(r.pattern)}] = {val}")
        body.append(f"sg_release(p{j})")
    return body


def _stage(k: Kernel, st: Stage, bufs: dict, blocked: list, ind: str) -> list[str]:
    """One stage's loop over the tile ``[i0o, i0o + m)``."""
    body = [f"{ind}for i0r in range(m):", f"{ind}    i0 = i0o + i0r"]
    ind += "    "
    body += [f"{ind}{k.inputs[j].name}_ = {k.inputs[j].name}[{_at(k.inputs[j].pattern)}]" for j in st.inputs]
    body += [f"{ind}{v} = {bufs[v]}[i0r]" for v in st.reads]
    body += [f"{ind}{k.stmts[i].var} = {k.stmts[i].expr}" for i in st.stmts]
    body += [f"{ind}{bufs[v]}[i0r] = {v}" for v in st.writes]
    body += [f"{ind}{k.outputs[j].name}[{_at(k.outputs[j].pattern)}] = {k.outputs[j].var}" for j in st.outputs]
    for j in st.reductions:
        r = k.reductions[j]
        body.append(f"{ind}rb{j}[i0r] = {r.var}" if blocked[j] else
                    ind + accumulate(r.op, f"acc{j}", r.var))
    return body

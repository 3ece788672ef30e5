"""CPU renderer: a :class:`~..kernel.Kernel` or :class:`~..kernel.RowKernel` -> Python source for
``numba.njit``.

Loop nest in iteration-space order. Reductions over a *suffix* of the loop dims accumulate in a
register, others accumulate into the output array (then the kernel never uses ``prange``).
``parallel=True`` renders the outer loop as ``prange``; the plan only calls that variant when the
loop is large enough to pay for thread start-up.

Fast-math flags: :data:`KERNEL_FASTMATH` is empty. Element statements are plain IEEE operations
in numpy's order, so results and NaN/Inf positions are numpy's: ``reassoc`` had turned
``a * (b / c)`` into ``(a * b) / c`` (inf at 1e30), ``arcp`` divisions into reciprocal
products, ``contract`` fuses ``x*y + z`` into an FMA with no intermediate overflow (a second
derivative came out -inf where numpy has NaN), ``nsz`` may flip the sign of a zero and so of
``1/0``. Float sums are then accurate and still vectorized (:mod:`.accum`): a register
reduction sums blocks of :data:`BLOCK` elements with ``sg_radd`` (the one addition that may be
reassociated: split over SIMD partial sums) and adds each block's sum to a float64 total; a row
reduction adds into a float64 copy of its output; the softmax-family row kernels sum their
exponentials the same blockwise way and the loss over rows in float64. Relative error of a
float32 sum of 2^24 tenths: 3e-7 (was 2.5e-3). The scalar library compiles with its own flags.
"""

from __future__ import annotations

import numpy as np

from ..kernel import (
    ROW_MAX,
    SHORT_REDUCTION,
    Kernel,
    RowKernel,
    accumulate,
    init_value,
    prologue,
)
from .render_chunks import render_chunked

KERNEL_FASTMATH = frozenset()
BLOCK = SHORT_REDUCTION
"""Elements summed per block in the reduction's dtype (split over SIMD partial sums by
``sg_radd``) before the block's sum joins a float64 total: large enough that the per-block
horizontal add costs a few percent, small enough that each partial sum adds only tens of
values."""
HEADER = "import numpy as np\nfrom numba import prange\nfrom staticgraph.compiler.cpu.scalar " \
         "import *  # noqa: F401,F403 - the sg_* scalar library\n" \
         "from staticgraph.compiler.cpu.accum import sg_block_sum, sg_radd, sg_release, " \
         "sg_scratch, sg_scratch_f64, sg_vector_width  # noqa: F401\n"


def _index(pattern: tuple) -> str:
    if not pattern:
        return "()"
    return ", ".join("0" if p is None else f"i{p}" for p in pattern)


def suffix_reduction(k: Kernel) -> bool:
    red = k.reduced_dims
    return bool(red) and red == tuple(range(k.rank - len(red), k.rank))


def can_parallelize(k: Kernel) -> bool:
    if k.rank == 0:
        return False
    if not k.reductions or k.chunk:
        return True
    return suffix_reduction(k) and 0 not in k.reduced_dims


def _final(r, acc: str, cnt: str) -> str:
    """The float64 total ``acc`` as the reduction's value (a mean divides in float64)."""
    val = f"{acc} / np.float64({cnt})" if r.op == "mean" else acc
    return f"np.{np.dtype(r.dtype).name}({val})"


def render_kernel(k: Kernel, fname: str, parallel: bool = False) -> str:
    """Python source of ``def fname(<inputs>, <outputs>, <reductions>)``.

    Float sums and means are exact up to float32 rounding at any size (see the module doc):
    register accumulators sum blocks of :data:`BLOCK` with ``sg_radd`` into a float64 total
    (one block and no bookkeeping per row where the reduced count is static and at most a
    block: ``short_reduction``); row accumulators sum into a float64 copy of the output.
    """
    body: list[str] = prologue(k)
    for inp in k.inputs:
        if inp.is_scalar:
            body.append(f"{inp.name}_ = {inp.name}[{_index(inp.pattern)}]")
    red = set(k.reduced_dims)
    blocked = {j for j, r in enumerate(k.reductions) if r.float_sum}
    cnt = " * ".join(f"n{d}" for d in sorted(red)) or "1"
    if k.chunk:
        body += render_chunked(k, fname, parallel)
    elif k.rank == 0 or not k.reductions or suffix_reduction(k):
        mode = "plain" if not blocked or k.rank == 0 else \
            "short" if k.short_reduction else "blocked"
        body += _nest(k, mode, parallel, cnt)
    else:
        body += _row_nest(k, blocked, cnt)
    lines = [f"def {fname}({', '.join(k.params())}):"] + ["    " + b for b in body]
    if k.doc:
        lines.insert(1, f"    # {k.doc}")
    return "\n".join(lines) + "\n"


def _element(k: Kernel, ind: str) -> list[str]:
    """The loop body: array loads, the statements, elementwise stores."""
    body = [f"{ind}{i.name}_ = {i.name}[{_index(i.pattern)}]" for i in k.inputs
            if not i.is_scalar]
    body += [f"{ind}{s.var} = {s.expr}" for s in k.stmts]
    return body + [f"{ind}{o.name}[{_index(o.pattern)}] = {o.var}" for o in k.outputs]


def _nest(k: Kernel, mode: str, parallel: bool, cnt: str) -> list[str]:
    """The loop nest of a kernel whose reductions (if any) are over trailing dims, into
    registers. ``mode``: ``plain`` (no float sums), ``short`` (float sums of at most one
    block: ``b<j>`` over all reduced dims) or ``blocked`` (blocks of the innermost dim into
    ``b<j>``, block sums into the float64 ``t<j>``)."""
    red = set(k.reduced_dims)
    n_outer = k.rank - len(red)
    blocked = {j for j, r in enumerate(k.reductions) if r.float_sum} if mode != "plain" else ()
    body: list[str] = []
    ind = ""
    for d in range(k.rank):
        if d == n_outer:
            for j, r in enumerate(k.reductions):
                body.append(f"{ind}acc{j} = {init_value(r.op, r.dtype)}" if j not in blocked
                            else f"{ind}b{j} = {init_value('sum', r.dtype)}" if mode == "short"
                            else f"{ind}t{j} = np.float64(0.0)")
        if mode == "blocked" and d == k.rank - 1:  # blocks of the innermost reduced loop
            body += _block_loop(d, BLOCK, ind)
            ind += "    "
            body += [f"{ind}b{j} = {init_value('sum', k.reductions[j].dtype)}"
                     for j in sorted(blocked)]
            body += [f"{ind}for i{d}r in range(min({BLOCK}, n{d} - i{d}o)):",
                     f"{ind}    i{d} = i{d}o + i{d}r"]
        else:
            body.append(f"{ind}for i{d} in {'prange' if parallel and d == 0 else 'range'}(n{d}):")
        ind += "    "
    if k.rank == 0:
        body += [f"acc{j} = {init_value(r.op, r.dtype)}" for j, r in enumerate(k.reductions)]
    body += _element(k, ind)
    for j, r in enumerate(k.reductions):
        body.append(f"{ind}b{j} = sg_radd(b{j}, {r.var})" if j in blocked else
                    ind + accumulate(r.op, f"acc{j}", r.var))
    if mode == "blocked":  # each block's sum joins the float64 total
        body += [f"{ind[:-4]}t{j} += np.float64(b{j})" for j in sorted(blocked)]
    ind = "    " * n_outer
    for j, r in enumerate(k.reductions):
        val = _final(r, f"t{j}", cnt) if j in blocked and mode == "blocked" else \
            f"b{j}" if j in blocked and r.op == "sum" else \
            _final(r, f"np.float64(b{j})", cnt) if j in blocked else \
            f"acc{j} / np.{r.dtype.name}({cnt})" if r.op == "mean" else f"acc{j}"
        body.append(f"{ind}{r.name}[{_index(r.pattern)}] = {val}")
    return body


def _row_nest(k: Kernel, blocked: set, cnt: str) -> list[str]:
    """The loop nest of a kernel accumulating into its output rows (reduced dims not
    trailing; never ``prange``). Float sums go to a float64 copy ``w<j>`` of the output,
    rounded once at the end (vectorized across the row like the float32 adds it replaces)."""
    body: list[str] = []
    for j, r in enumerate(k.reductions):
        body.append(f"w{j} = sg_scratch_f64({r.name})" if j in blocked else
                    f"{r.name}.fill({init_value(r.op, r.dtype)})")
    ind = ""
    for d in range(k.rank):
        body.append(f"{ind}for i{d} in range(n{d}):")
        ind += "    "
    body += _element(k, ind)
    for j, r in enumerate(k.reductions):
        idx = _index(r.pattern)
        body.append(f"{ind}w{j}[{idx}] += np.float64({r.var})" if j in blocked
                    else ind + accumulate(r.op, f"{r.name}[{idx}]", r.var))
    for j, r in enumerate(k.reductions):
        if j in blocked:
            body += _copy_out(r, f"w{j}", cnt)
        elif r.op == "mean":
            body.append(f"{r.name}[...] = {r.name} / np.{r.dtype.name}({cnt})")
    return body


def _block_loop(d: int, size: int, ind: str) -> list[str]:
    """The head of loop dim ``d`` split in blocks of ``size`` (``i<d>o`` the block's start);
    the caller adds the inner loop ``for i<d>r in range(min(size, n<d> - i<d>o))``."""
    return [f"{ind}for i{d}b in range((n{d} + {size - 1}) // {size}):",
            f"{ind}    i{d}o = i{d}b * {size}"]


def _copy_out(r, w: str, cnt: str) -> list[str]:
    """Loops storing the float64 row ``w`` into the reduction output (rounded once)."""
    nd = len(r.pattern)
    out, ind = [], ""
    for q in range(nd):
        out.append(f"{ind}for q{q} in range({r.name}.shape[{q}]):")
        ind += "    "
    idx = ", ".join(f"q{q}" for q in range(nd)) or "()"
    return out + [f"{ind}{r.name}[{idx}] = {_final(r, f'{w}[{idx}]', cnt)}", f"sg_release({w})"]


# ------------------------------------------------------------------------------ row kernels
# ``s = sum(exp(x[i] - m))`` over the ``c`` columns of row ``i``: blocks summed with
# ``sg_radd`` (vectorized), block sums in float64, rounded once
ROW_SUMEXP = """
        sw = np.float64(0.0)
        for jb in range((c + {bm1}) // {blk}):
            jo = jb * {blk}
            b = np.{dt}(0.0)
            for jr in range(min({blk}, c - jo)):
                b = sg_radd(b, sg_exp(x[i, jo + jr] - m))
            sw += np.float64(b)
        s = np.{dt}(sw)"""
_ROW_SRC = {
    "softmax": """def {f}(x, p):
    one = np.{dt}(1.0)
    c = x.shape[1]
    for i in range(x.shape[0]):""" + ROW_MAX + """
        sw = np.float64(0.0)
        for jb in range((c + {bm1}) // {blk}):
            jo = jb * {blk}
            b = np.{dt}(0.0)
            for jr in range(min({blk}, c - jo)):
                e = sg_exp(x[i, jo + jr] - m)
                p[i, jo + jr] = e
                b = sg_radd(b, e)
            sw += np.float64(b)
        r = one / np.{dt}(sw)
        for j in range(c):
            p[i, j] = p[i, j] * r
""",
    "log_softmax": """def {f}(x, lp):
    c = x.shape[1]
    for i in range(x.shape[0]):""" + ROW_MAX + ROW_SUMEXP + """
        ls = sg_log(s)
        for j in range(c):
            lp[i, j] = (x[i, j] - m) - ls
""",
    "ce_fwd": """def {f}(x, t, lp, loss):
    n = x.shape[0]
    c = x.shape[1]
    if t.shape[0] != n:
        raise ValueError("nll_loss: target and input have different batch sizes")
    tot = np.float64(0.0)
    for i in range(n):""" + ROW_MAX + ROW_SUMEXP + """
        ls = sg_log(s)
        for j in range(c):
            lp[i, j] = (x[i, j] - m) - ls
        ti = t[i]
        if ti < 0 or ti >= c:
            raise IndexError("nll_loss: target out of bounds")
        tot -= np.float64(lp[i, ti])
    loss[()] = {scale}
""",
    "ce_bwd": """def {f}(g, lp, t, dx):
    n = lp.shape[0]
    c = lp.shape[1]
    if t.shape[0] != n:
        raise ValueError("nll_loss: target and input have different batch sizes")
    s = {scale}
    for i in range(n):
        {rowscale}
        for j in range(c):
            dx[i, j] = s * sg_exp(lp[i, j])
        ti = t[i]
        if ti < 0 or ti >= c:
            raise IndexError("nll_loss: target out of bounds")
        dx[i, ti] -= s
""",
}


def render_row(k: RowKernel, fname: str) -> str:
    dt = k.dtype.name
    if k.kind == "ce_fwd":
        scale = {"mean": f"np.{dt}(tot / np.float64(n))",  # empty batch: NaN
                 "sum": f"np.{dt}(tot)"}[k.reduction]
    elif k.kind == "ce_bwd":  # "none": g holds one cotangent per row
        scale = {"mean": f"g[()] / np.{dt}(max(n, 1))", "sum": "g[()]",
                 "none": f"np.{dt}(0.0)"}[k.reduction]
    else:
        scale = ""
    rowscale = "s = g[i]" if k.kind == "ce_bwd" and k.reduction == "none" else "pass"
    return _ROW_SRC[k.kind].format(f=fname, dt=dt, scale=scale, rowscale=rowscale, blk=BLOCK,
                                   bm1=BLOCK - 1)


def render(k: Kernel | RowKernel, fname: str, parallel: bool = False) -> str:
    return render_row(k, fname) if isinstance(k, RowKernel) else render_kernel(k, fname, parallel)

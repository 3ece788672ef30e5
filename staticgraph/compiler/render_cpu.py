"""CPU renderer: a :class:`~.kernel.Kernel` or :class:`~.kernel.RowKernel` -> Python source for
``numba.njit``.

Loop nest in iteration-space order. Reductions over a *suffix* of the loop dims accumulate in a
register (vectorized with ``reassoc``), others accumulate into the output array (then the kernel
never uses ``prange``). ``parallel=True`` renders the outer loop as ``prange``; the plan only
calls that variant when the loop is large enough to pay for thread start-up.

Fast-math flags: :data:`KERNEL_FASTMATH` = reassoc, contract, arcp, nsz; never nnan/ninf, so NaN
and Inf propagate as in numpy (the scalar library compiles with its own narrower flags).
"""

from __future__ import annotations

import numpy as np

from .kernel import ROW_LOG_SOFTMAX, Kernel, RowKernel, const_literal, prologue

KERNEL_FASTMATH = frozenset({"reassoc", "contract", "arcp", "nsz"})
HEADER = "import numpy as np\nfrom numba import prange\nfrom staticgraph.compiler.scalar_cpu " \
         "import *  # noqa: F401,F403 - the sg_* scalar library\n"


def _index(pattern: tuple) -> str:
    if not pattern:
        return "()"
    return ", ".join("0" if p is None else f"i{p}" for p in pattern)


def _init_value(op: str, dtype: np.dtype) -> str:
    if op in ("sum", "mean"):
        return const_literal(0, dtype)
    if dtype.kind == "f":
        return const_literal(-np.inf if op == "max" else np.inf, dtype)
    info = np.iinfo(dtype)
    return const_literal(info.min if op == "max" else info.max, dtype)


def _accumulate(op: str, acc: str, v: str) -> str:
    if op in ("sum", "mean"):
        return f"{acc} += {v}"
    return f"{acc} = sg_{op}({acc}, {v})"


def suffix_reduction(k: Kernel) -> bool:
    red = k.reduced_dims
    return bool(red) and red == tuple(range(k.rank - len(red), k.rank))


def can_parallelize(k: Kernel) -> bool:
    if k.rank == 0:
        return False
    if not k.reductions:
        return True
    return suffix_reduction(k) and 0 not in k.reduced_dims


def render_kernel(k: Kernel, fname: str, parallel: bool = False) -> str:
    """Python source of ``def fname(<inputs>, <outputs>, <reductions>)``."""
    params = k.params()
    lines = [f"def {fname}({', '.join(params)}):"]
    body: list[str] = prologue(k)
    loads_inner = []
    for inp in k.inputs:
        if inp.is_scalar:
            body.append(f"{inp.name}_ = {inp.name}[{_index(inp.pattern)}]")
        else:
            loads_inner.append(f"{inp.name}_ = {inp.name}[{_index(inp.pattern)}]")
    suffix = suffix_reduction(k)
    red = set(k.reduced_dims)
    n_outer = k.rank - len(red) if suffix else k.rank
    if k.reductions and not suffix:
        for r in k.reductions:
            body.append(f"{r.name}.fill({_init_value(r.op, r.dtype)})")
    ind = ""
    for d in range(k.rank):
        if suffix and d == n_outer:
            for j, r in enumerate(k.reductions):
                body.append(f"{ind}acc{j} = {_init_value(r.op, r.dtype)}")
        rng = "prange" if (parallel and d == 0) else "range"
        body.append(f"{ind}for i{d} in {rng}(n{d}):")
        ind += "    "
    if suffix and n_outer == k.rank:  # unreachable: suffix implies reduced dims exist
        pass
    if k.rank == 0:
        for j, r in enumerate(k.reductions):
            body.append(f"acc{j} = {_init_value(r.op, r.dtype)}")
    body += [ind + s for s in loads_inner]
    body += [f"{ind}{s.var} = {s.expr}" for s in k.stmts]
    body += [f"{ind}{o.name}[{_index(o.pattern)}] = {o.var}" for o in k.outputs]
    for j, r in enumerate(k.reductions):
        if suffix or k.rank == 0:
            body.append(ind + _accumulate(r.op, f"acc{j}", r.var))
        else:
            tgt = f"{r.name}[{_index(r.pattern)}]"
            body.append(ind + _accumulate(r.op, tgt, r.var))
    if suffix or k.rank == 0:
        ind2 = "    " * n_outer
        cnt = " * ".join(f"n{d}" for d in sorted(red)) or "1"
        for j, r in enumerate(k.reductions):
            val = f"acc{j}"
            if r.op == "mean":
                val = f"acc{j} / np.{r.dtype.name}({cnt})"
            body.append(f"{ind2}{r.name}[{_index(r.pattern)}] = {val}")
    else:
        cnt = " * ".join(f"n{d}" for d in sorted(red)) or "1"
        for r in k.reductions:
            if r.op == "mean":
                body.append(f"{r.name}[...] = {r.name} / np.{r.dtype.name}({cnt})")
    lines += ["    " + b for b in body]
    if k.doc:
        lines.insert(1, f"    # {k.doc}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ row kernels
_ROW_SRC = {
    "softmax": """def {f}(x, p):
    one = np.{dt}(1.0)
    for i in range(x.shape[0]):
        m = np.{dt}(-np.inf)
        for j in range(x.shape[1]):
            m = sg_max(m, x[i, j])
        s = np.{dt}(0.0)
        for j in range(x.shape[1]):
            e = sg_exp(x[i, j] - m)
            p[i, j] = e
            s += e
        r = one / s
        for j in range(x.shape[1]):
            p[i, j] = p[i, j] * r
""",
    "log_softmax": """def {f}(x, lp):
    c = x.shape[1]
    for i in range(x.shape[0]):""" + ROW_LOG_SOFTMAX + """
""",
    "ce_fwd": """def {f}(x, t, lp, loss):
    n = x.shape[0]
    c = x.shape[1]
    if t.shape[0] != n:
        raise ValueError("nll_loss: target and input have different batch sizes")
    tot = np.{dt}(0.0)
    for i in range(n):""" + ROW_LOG_SOFTMAX + """
        ti = t[i]
        if ti < 0 or ti >= c:
            raise IndexError("nll_loss: target out of bounds")
        tot -= lp[i, ti]
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
        scale = {"mean": f"tot / np.{dt}(n)", "sum": "tot"}[k.reduction]  # empty: NaN
    elif k.kind == "ce_bwd":  # "none": g holds one cotangent per row
        scale = {"mean": f"g[()] / np.{dt}(max(n, 1))", "sum": "g[()]",
                 "none": f"np.{dt}(0.0)"}[k.reduction]
    else:
        scale = ""
    rowscale = "s = g[i]" if k.kind == "ce_bwd" and k.reduction == "none" else "pass"
    return _ROW_SRC[k.kind].format(f=fname, dt=dt, scale=scale, rowscale=rowscale)


def render(k: Kernel | RowKernel, fname: str, parallel: bool = False) -> str:
    return render_row(k, fname) if isinstance(k, RowKernel) else render_kernel(k, fname, parallel)

"""CUDA renderer: the same :class:`~.kernel.Kernel` (same statement text) as a ``numba.cuda``
grid-stride kernel. Each thread handles flat indices of the iteration space; reductions use
atomics into outputs the host pre-fills with the reduction's identity (``mean`` adds
``v / count``). Row kernels are left to the CPU path (no CUDA row template yet).
"""

from __future__ import annotations

import numpy as np

from .kernel import Kernel, const_literal


def render_kernel_cuda(k: Kernel, fname: str) -> str:
    params = k.params()
    body = []
    for d in range(k.rank):
        ext = k.extents[d]
        body.append(f"n{d} = 1" if ext is None else f"n{d} = {ext[1]}" if ext[0] == "const"
                    else f"n{d} = {ext[0]}.shape[{ext[1]}]")
    for cname, (v, dt) in k.consts.items():
        body.append(f"{cname} = {const_literal(v, dt)}")
    total = " * ".join(f"n{d}" for d in range(k.rank)) or "1"
    cnt = " * ".join(f"n{d}" for d in k.reduced_dims) or "1"
    body.append(f"total = {total}")
    body.append("start = cuda.grid(1)")
    body.append("for t in range(start, total, cuda.gridsize(1)):")
    ind = "    "
    if k.rank:
        body.append(f"{ind}rem = t")
        for d in reversed(range(k.rank)):
            body.append(f"{ind}i{d} = rem % n{d}")
            body.append(f"{ind}rem = rem // n{d}")
    for inp in k.inputs:
        idx = ", ".join("0" if p is None else f"i{p}" for p in inp.pattern) or "()"
        body.append(f"{ind}{inp.name}_ = {inp.name}[{idx}]")
    body += [f"{ind}{s.var} = {s.expr}" for s in k.stmts]
    for o in k.outputs:
        idx = ", ".join("0" if p is None else f"i{p}" for p in o.pattern) or "()"
        body.append(f"{ind}{o.name}[{idx}] = {o.var}")
    for r in k.reductions:
        idx = ", ".join("0" if p is None else f"i{p}" for p in r.pattern)
        idx = f"({idx},)" if r.pattern else "0"
        tgt = r.name if r.pattern else f"{r.name}.reshape(1)"
        if r.op in ("sum", "mean"):
            v = r.var if r.op == "sum" else f"{r.var} / np.{r.dtype.name}({cnt})"
            body.append(f"{ind}cuda.atomic.add({tgt}, {idx}, {v})")
        else:
            body.append(f"{ind}cuda.atomic.{r.op}({tgt}, {idx}, {r.var})")
    src = f"def {fname}({', '.join(params)}):\n" + "".join(f"    {b}\n" for b in body)
    return src


def compile_cuda(k: Kernel, fname: str = "kernel"):
    """Exec the rendered source in the CUDA scalar namespace and ``cuda.jit`` it."""
    from numba import cuda

    from . import scalar_cuda

    src = render_kernel_cuda(k, fname)
    ns = dict(scalar_cuda.NAMESPACE, np=np, cuda=cuda)
    exec(compile(src, f"<sg-cuda {k.name}>", "exec"), ns)
    return cuda.jit(ns[fname]), src


def reduction_identity(op: str, dtype: np.dtype) -> float:
    if op in ("sum", "mean"):
        return 0.0
    return -np.inf if op == "max" else np.inf

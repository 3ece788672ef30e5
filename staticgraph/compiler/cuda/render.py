"""CUDA renderer: the same :class:`~..kernel.Kernel` (same statement text as the CPU renderer)
as ``numba.cuda`` grid-stride kernels.

* Elementwise kernels: one thread per element of the iteration space (a grid-stride loop over
  flat indices, decomposed into loop indices).
* Kernels with reductions: one thread per (kept index, chunk of the reduced space). Each thread
  computes the fused elementwise body over its chunk (writing any elementwise outputs on the
  way) and accumulates in a register with the CPU's NaN-propagating ``sg_max``/``sg_min``;
  float sums add blocks of :data:`BLOCK` elements in a register and the block sums with
  Kahan's compensation, and the combine kernel folds partials the same way, so the error does
  not grow with the reduced count (float32 stays float32: no ``.f64`` instruction).
  With ``nchunk == 1`` it stores the result (``mean`` divides by the count); otherwise it stores
  a partial into ``p<j>[chunk * kept + k]`` and ``<fname>_combine`` (one thread per kept index)
  folds the partials: no atomics, deterministic, any dtype.

Rank-0 arrays live on the device as shape ``(1,)``: index ``[0]``.

Kernel parameters: ``k.params()`` then, for kernels with reductions, ``p0..`` (partials) and
``nchunk``; the combine kernel takes the same parameters.
"""

from __future__ import annotations

import numpy as np

from ..kernel import Kernel, accumulate, init_value, prologue

BLOCK = 32
"""Elements a thread sums in a plain float32 register before the block's sum joins the
thread's compensated (Kahan) total."""


def _index(pattern: tuple) -> str:
    if not pattern:
        return "0"
    return ", ".join("0" if p is None else f"i{p}" for p in pattern)


def _kahan(acc: str, comp: str, v: str, ind: str) -> list[str]:
    """``acc += v`` with Kahan's compensation ``comp`` (CUDA kernels compile without
    fast-math, so the compensation survives): the error no longer grows with the count."""
    return [f"{ind}ky = {v} - {comp}", f"{ind}kt = {acc} + ky",
            f"{ind}{comp} = (kt - {acc}) - ky", f"{ind}{acc} = kt"]


def cuda_params(k: Kernel) -> list[str]:
    extra = [f"p{j}" for j in range(len(k.reductions))] + ["nchunk"] if k.reductions else []
    return k.params() + extra


def _decompose(dims: list[int], flat: str, ind: str) -> list[str]:
    """``i<d>`` for ``dims`` (row-major) from the flat index ``flat``."""
    if not dims:
        return []
    out = [f"{ind}rem = {flat}"]
    for j, d in enumerate(reversed(dims)):
        last = j == len(dims) - 1
        out.append(f"{ind}i{d} = rem" if last else f"{ind}i{d} = rem % n{d}")
        if not last:
            out.append(f"{ind}rem = rem // n{d}")
    return out


def _element(k: Kernel, ind: str) -> list[str]:
    body = [f"{ind}{i.name}_ = {i.name}[{_index(i.pattern)}]" for i in k.inputs]
    body += [f"{ind}{s.var} = {s.expr}" for s in k.stmts]
    body += [f"{ind}{o.name}[{_index(o.pattern)}] = {o.var}" for o in k.outputs]
    return body


def _store(k: Kernel, ind: str) -> list[str]:
    cnt = " * ".join(f"n{d}" for d in k.reduced_dims) or "1"
    out = []
    for j, r in enumerate(k.reductions):
        val = f"acc{j} / np.{r.dtype.name}({cnt})" if r.op == "mean" else f"acc{j}"
        out.append(f"{ind}{r.name}[{_index(r.pattern)}] = {val}")
    return out


def render_kernel_cuda(k: Kernel, fname: str) -> str:
    """Source of ``fname`` (and ``fname_combine`` when the kernel reduces)."""
    params = ", ".join(cuda_params(k))
    body = prologue(k)
    if not k.reductions:
        total = " * ".join(f"n{d}" for d in range(k.rank)) or "1"
        body.append(f"for t in range(cuda.grid(1), {total}, cuda.gridsize(1)):")
        body += _decompose(list(range(k.rank)), "t", "    ")
        body += _element(k, "    ")
        src = f"def {fname}({params}):\n" + "".join(f"    {b}\n" for b in body)
        return src
    red = list(k.reduced_dims)
    kept = [d for d in range(k.rank) if d not in red]
    body.append(f"kept = {' * '.join(f'n{d}' for d in kept) or '1'}")
    body.append(f"rtot = {' * '.join(f'n{d}' for d in red) or '1'}")
    body.append("chunk = (rtot + nchunk - 1) // nchunk")
    comb = list(body)
    body.append("for t in range(cuda.grid(1), kept * nchunk, cuda.gridsize(1)):")
    ind = "    "
    body += [f"{ind}kx = t % kept", f"{ind}c = t // kept"]
    body += _decompose(kept, "kx", ind)
    blocked = [j for j, r in enumerate(k.reductions) if r.float_sum]
    body += [f"{ind}acc{j} = {init_value(r.op, r.dtype)}" for j, r in enumerate(k.reductions)]
    body += [f"{ind}cmp{j} = {init_value('sum', k.reductions[j].dtype)}" for j in blocked]
    body += [f"{ind}lo = c * chunk", f"{ind}hi = min(lo + chunk, rtot)"]
    if blocked:  # float sums: blocks of BLOCK in a register, block sums compensated
        body += [f"{ind}for rb in range(lo, hi, {BLOCK}):"]
        ind += "    "
        body += [f"{ind}b{j} = {init_value('sum', k.reductions[j].dtype)}" for j in blocked]
        body += [f"{ind}for rf in range(rb, min(rb + {BLOCK}, hi)):"]
    else:
        body += [f"{ind}for rf in range(lo, hi):"]
    ind2 = ind + "    "
    body += _decompose(red, "rf", ind2)
    body += _element(k, ind2)
    body += [ind2 + accumulate("sum" if j in blocked else r.op, f"b{j}" if j in blocked else
                         f"acc{j}", r.var) for j, r in enumerate(k.reductions)]
    for j in blocked:
        body += _kahan(f"acc{j}", f"cmp{j}", f"b{j}", ind)
    ind = "    "
    body.append(f"{ind}if nchunk == 1:")
    body += _store(k, ind + "    ")
    body.append(f"{ind}else:")
    body += [f"{ind}    p{j}[c * kept + kx] = acc{j}" for j in range(len(k.reductions))]
    # the combine kernel: one thread per kept index folds the partials
    comb.append("for kx in range(cuda.grid(1), kept, cuda.gridsize(1)):")
    comb += _decompose(kept, "kx", ind)
    comb += [f"{ind}acc{j} = {init_value(r.op, r.dtype)}" for j, r in enumerate(k.reductions)]
    comb += [f"{ind}cmp{j} = {init_value('sum', k.reductions[j].dtype)}" for j in blocked]
    comb.append(f"{ind}for c in range(nchunk):")
    for j, r in enumerate(k.reductions):
        part = f"p{j}[c * kept + kx]"
        comb += _kahan(f"acc{j}", f"cmp{j}", part, ind + "    ") if j in blocked else \
            [f"{ind}    " + accumulate(r.op, f"acc{j}", part)]
    comb += _store(k, ind)
    return f"def {fname}({params}):\n" + "".join(f"    {b}\n" for b in body) + \
        f"\n\ndef {fname}_combine({params}):\n" + "".join(f"    {b}\n" for b in comb)


def namespace() -> dict:
    """The globals generated CUDA kernels are executed in: ``np``, ``cuda`` and ``sg_*``."""
    from numba import cuda

    from . import scalar

    return dict(scalar.NAMESPACE, np=np, cuda=cuda)


def compile_cuda(k: Kernel, fname: str = "kernel"):
    """Exec the rendered source and ``cuda.jit`` it: ``(kernel, combine or None, source)``."""
    from numba import cuda

    src = render_kernel_cuda(k, fname)
    ns = namespace()
    exec(compile(src, f"<sg-cuda {k.name}>", "exec"), ns)
    comb = cuda.jit(ns[f"{fname}_combine"]) if k.reductions else None
    return cuda.jit(ns[fname]), comb, src

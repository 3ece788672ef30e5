"""Hand-written CUDA kernels the fused plan calls besides the rendered elementwise/reduction
kernels: row kernels (softmax, log_softmax, the softmax-cross-entropy forward and gradient; one
thread per row, built from the same ``sg_*`` scalar library) and a shared-memory tiled matmul.

Sources are templates over the dtype (typed constants, so float32 stays float32) executed in the
CUDA scalar namespace; compiled objects are cached per (kind, dtype, ...) key.
"""

from __future__ import annotations

import threading

import numpy as np

from ..kernel import ROW_MAX
from .render import BLOCK

# ``s = sum(exp(x[i] - m))`` over row i: blocks of BLOCK in a register, block sums compensated
# (Kahan; CUDA kernels compile without fast-math), so a long row stays accurate in float32
ROW_MAX_SUMEXP = ROW_MAX + """
        s = np.{dt}(0.0)
        sc = np.{dt}(0.0)
        for jo in range(0, c, {blk}):
            b = np.{dt}(0.0)
            for j in range(jo, min(jo + {blk}, c)):
                b += sg_exp(x[i, j] - m)
            ky = b - sc
            kt = s + ky
            sc = (kt - s) - ky
            s = kt"""
# ``lp[i] = (x[i] - m) - log(s)``
ROW_LOG_SOFTMAX = ROW_MAX_SUMEXP + """
        ls = sg_log(s)
        for j in range(c):
            lp[i, j] = (x[i, j] - m) - ls"""

ROW_SRC = {
    "softmax": """def softmax(x, p):
    c = x.shape[1]
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):""" + ROW_MAX_SUMEXP + """
        r = np.{dt}(1.0) / s
        for j in range(c):
            p[i, j] = sg_exp(x[i, j] - m) * r
""",
    "log_softmax": """def log_softmax(x, lp):
    c = x.shape[1]
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):""" + ROW_LOG_SOFTMAX + """
""",
    # rows: log-probs and each row's -lp[target]; bad targets set err[0] (checked by the host,
    # as in ce_bwd: a gradient run that never computes the loss checks its labels too)
    "ce_fwd": """def ce_fwd(x, t, lp, rowloss, err):
    c = x.shape[1]
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):""" + ROW_LOG_SOFTMAX + """
        ti = t[i]
        if ti < 0 or ti >= c:
            err[0] = 1
            rowloss[i] = np.{dt}(0.0)
        else:
            rowloss[i] = -lp[i, ti]
""",
    # the loss: one thread sums the row losses in order (deterministic, compensated)
    "ce_loss": """def ce_loss(rowloss, loss):
    if cuda.grid(1) == 0:
        n = rowloss.shape[0]
        tot = np.{dt}(0.0)
        tc = np.{dt}(0.0)
        for i in range(n):  # compensated (Kahan): the error does not grow with n
            ky = rowloss[i] - tc
            kt = tot + ky
            tc = (kt - tot) - ky
            tot = kt
        loss[0] = {scale}
""",
    "ce_bwd": """def ce_bwd(g, lp, t, dx, err):
    n = lp.shape[0]
    c = lp.shape[1]
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        s = {rowscale}
        for j in range(c):
            dx[i, j] = s * sg_exp(lp[i, j])
        ti = t[i]
        if ti >= 0 and ti < c:
            dx[i, ti] -= s
        else:
            err[0] = 1
""",
}

MATMUL_SRC = """def matmul(A, B, C, ta, tb):
    sA = cuda.shared.array(({T}, {T}), np.{dt})
    sB = cuda.shared.array(({T}, {T}), np.{dt})
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    row = cuda.blockIdx.y * {T} + ty
    col = cuda.blockIdx.x * {T} + tx
    M = C.shape[0]
    N = C.shape[1]
    K = A.shape[0] if ta else A.shape[1]
    acc = np.{dt}(0.0)
    for k0 in range(0, K, {T}):
        ka = k0 + tx
        if row < M and ka < K:
            sA[ty, tx] = A[ka, row] if ta else A[row, ka]
        else:
            sA[ty, tx] = np.{dt}(0.0)
        kb = k0 + ty
        if kb < K and col < N:
            sB[ty, tx] = B[col, kb] if tb else B[kb, col]
        else:
            sB[ty, tx] = np.{dt}(0.0)
        cuda.syncthreads()
        for kk in range({T}):
            acc += sA[ty, kk] * sB[kk, tx]
        cuda.syncthreads()
    if row < M and col < N:
        C[row, col] = acc
"""

ROW_VALUES = {"softmax": ("x", "p"), "log_softmax": ("x", "lp"),
              "ce_fwd": ("x", "t", "lp", "loss"), "ce_bwd": ("g", "lp", "t", "dx")}
"""Per row-step kind, the parameter names of the graph values :func:`..kernel.row_args` gives
(in its order); the kernels' other parameters are device scratch: ``rowloss`` (each row's loss,
the row dtype) and ``err`` (int32 flag: a bad target)."""

_cache: dict = {}
_lock = threading.Lock()


def row_params(kind: str) -> list[str]:
    """The parameter names of row kernel ``kind`` (``ce_loss`` included), in order."""
    head = ROW_SRC[kind].split("\n", 1)[0]  # def <kind>(a, b, ...):
    return [a.strip() for a in head[head.index("(") + 1:head.index(")")].split(",")]


def row_arguments(kind: str, named: dict) -> list:
    """The arguments of row kernel ``kind`` in parameter order, from ``named`` (parameter name
    -> device array, or numba type for a signature): one list for launches and for PTX."""
    return [named[p] for p in row_params(kind)]


def row_source(kind: str, dtype: np.dtype, reduction: str = "mean") -> str:
    dt = np.dtype(dtype).name
    scale = {"mean": f"tot / np.{dt}(n)", "sum": "tot"}.get(reduction, "tot")  # empty: NaN
    rowscale = {"mean": f"g[0] / np.{dt}(max(n, 1))", "sum": "g[0]",
                "none": "g[i]"}.get(reduction, "g[0]")
    return ROW_SRC[kind].format(dt=dt, scale=scale, rowscale=rowscale, blk=BLOCK)


def matmul_source(dtype: np.dtype, tile: int) -> str:
    return MATMUL_SRC.format(dt=np.dtype(dtype).name, T=int(tile))


def _jit(key: tuple, src: str, fname: str):
    with _lock:
        fn = _cache.get(key)
        if fn is None:
            from numba import cuda

            from .render import namespace

            ns = namespace()
            exec(compile(src, f"<sg-cuda {fname}>", "exec"), ns)
            fn = _cache[key] = cuda.jit(ns[fname])
    return fn


def row_kernel(kind: str, dtype: np.dtype, reduction: str = "mean"):
    """The ``cuda.jit`` row kernel ``kind`` for ``dtype`` (and the loss ``reduction``)."""
    return _jit(("row", kind, np.dtype(dtype).str, reduction),
                row_source(kind, dtype, reduction), kind)


def matmul_kernel(dtype: np.dtype, tile: int):
    """The tiled matmul for ``dtype``: launch with blocks ``(ceil(N/T), ceil(M/T))``, threads
    ``(T, T)``; ``ta``/``tb`` read ``A``/``B`` transposed (a ``permute`` operand, no copy)."""
    return _jit(("mm", np.dtype(dtype).str, tile), matmul_source(dtype, tile), "matmul")

"""The CUDA plan: the CPU pipeline's fused steps with CUDA kernels (:class:`CudaPlan`), and its
binding to concrete feed shapes with device buffers kept across runs (:class:`CudaInstance`).

Every device array has the node's concrete shape, except rank 0, stored as shape ``(1,)``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...ops.core import REGISTRY, eval_numpy
from ..cpu.plan import unit_dim_fallback
from ..fusion import Step, fuse
from ..ir import Node, Program
from ..kernel import Kernel, RowKernel
from ..lower import lower
from ..memory import MemoryPlan, plan_memory
from ..passes import Context, optimize
from ..passes.shapes import Sym


def simulator_on() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


SIM = simulator_on()
THREADS = 4 if SIM else 256  # per block (the simulator runs one Python thread per CUDA thread)
MAX_BLOCKS = 1 if SIM else 2048
TILE = 4 if SIM else 16  # matmul tile edge
CHUNK_MIN = 2 if SIM else 256  # reduced elements per thread, at least
TARGET_THREADS = 8 if SIM else 1 << 16  # threads a reduction aims for (partials)


def grid(n: int) -> tuple[int, int]:
    """Blocks and threads for a grid-stride loop over ``n`` items."""
    return max(1, min(-(-max(n, 1) // THREADS), MAX_BLOCKS)), THREADS


def nchunk(kept: int, rtot: int) -> int:
    """How many threads share one reduced row (partials combined by a second kernel)."""
    return max(1, min(-(-rtot // CHUNK_MIN), TARGET_THREADS // max(kept, 1)))


def dshape(shape: tuple) -> tuple:
    return tuple(shape) or (1,)


def row_args(step: Step) -> list[Node]:
    """The arrays a row kernel reads and writes, in its parameter order."""
    k = step.kernel
    if k.kind == "ce_fwd":
        return [step.inputs[0], step.inputs[1], step.nodes[0], step.nodes[1]]
    return list(step.inputs) + [step.nodes[0]]


@dataclass
class CudaPlan:
    prog: Program
    steps: list[Step]
    mem: MemoryPlan
    kernels: dict[int, tuple]  # step index -> (kernel, combine kernel or None)
    sources: dict[int, str]
    instances: dict = field(default_factory=dict)

    def instance(self, feed_shapes: tuple) -> Any:
        """The ``CudaInstance`` for ``feed_shapes`` (memoized), or ``"reference"`` as
        ``Plan.instance``."""
        inst = self.instances.get(feed_shapes)
        if inst is None:
            from .instance import CudaInstance

            inst = unit_dim_fallback(lambda: CudaInstance(self, feed_shapes), feed_shapes)
            self.instances[feed_shapes] = inst
        return inst

    def skipped_view(self, n: Node) -> bool:
        """A 2-D ``permute`` only matmuls read: the matmul reads its input transposed."""
        return n.op == "permute" and any(s.kind == "view" and s.nodes[0] is n
                                         for s in self.steps)

    def ptx(self, cc: tuple = (8, 0)) -> dict[str, str]:
        """Every kernel of the plan compiled to PTX (no device needed; needs NVVM)."""
        from numba import cuda, int64, void
        from numba.core import types
        from numba.np.numpy_support import from_dtype

        from .kernels import matmul_kernel, row_kernel

        def arr(n: Node | np.dtype, nd: int | None = None) -> types.Array:
            if isinstance(n, Node):
                return types.Array(from_dtype(n.dtype), max(n.ndim, 1), "C")
            return types.Array(from_dtype(np.dtype(n)), nd, "C")

        out: dict[str, str] = {}
        for si, s in enumerate(self.steps):
            if s.kind == "kernel":
                k: Kernel = s.kernel
                sig = [arr(n) for n in list(s.inputs) + list(s.outputs)]
                if k.reductions:
                    sig += [arr(r.dtype, 1) for r in k.reductions] + [int64]
                fn, comb = self.kernels[si]
                out[f"step{si}"] = cuda.compile_ptx(fn.py_func, void(*sig), cc=cc)[0]
                if comb is not None:
                    out[f"step{si}_combine"] = cuda.compile_ptx(comb.py_func, void(*sig),
                                                                cc=cc)[0]
            elif s.kind == "row":
                rk: RowKernel = s.kernel
                sig = [arr(n) for n in row_args(s)]
                if rk.kind == "ce_fwd":
                    lsig = [arr(rk.dtype, 1), sig[3]]
                    sig = sig[:3] + [arr(rk.dtype, 1), arr(np.dtype(np.int32), 1)]
                    fn = row_kernel("ce_loss", rk.dtype, rk.reduction)
                    out[f"step{si}_loss"] = cuda.compile_ptx(fn.py_func, void(*lsig), cc=cc)[0]
                fn = row_kernel(rk.kind, rk.dtype, rk.reduction)
                out[f"step{si}"] = cuda.compile_ptx(fn.py_func, void(*sig), cc=cc)[0]
            elif s.kind == "dot":
                n = s.nodes[0]
                fn = matmul_kernel(n.dtype, 16)
                sig = [arr(n.inputs[0].dtype, 2), arr(n.inputs[1].dtype, 2), arr(n), int64, int64]
                out[f"step{si}"] = cuda.compile_ptx(fn.py_func, void(*sig), cc=cc)[0]
        return out


_kcache: dict = {}
_klock = threading.Lock()


def _compile_kernel(k: Kernel) -> tuple:
    from .render import compile_cuda

    key = k.signature()
    with _klock:
        got = _kcache.get(key)
        if got is None:
            fn, comb, src = compile_cuda(k, "kernel")
            got = _kcache[key] = (fn, comb, src)
    return got


def build_cuda_plan(fetches: list, targets: list, feeds: dict) -> CudaPlan:
    """Lower, optimize, fuse and plan memory exactly as the CPU executor does, then render the
    CUDA kernels (compiled lazily by ``numba.cuda`` on first launch)."""
    from .kernels import matmul_source, row_source

    prog = lower(fetches, targets, list(feeds))
    ctx = Context([tuple(1 if d == 1 else 0 for d in np.shape(a)) for a in feeds.values()])
    optimize(prog, ctx)
    steps = fuse(prog)
    mem = plan_memory(prog, steps)
    for shape, _ in mem.slots:
        if not all(isinstance(d, (int, Sym)) for d in shape):
            raise NotImplementedError(f"a buffer of shape {shape} has a dimension that no feed "
                                      "determines")
    kernels: dict[int, tuple] = {}
    sources: dict[int, str] = {}
    for si, s in enumerate(steps):
        if s.kind == "kernel":
            fn, comb, src = _compile_kernel(s.kernel)
            kernels[si], sources[si] = (fn, comb), src
        elif s.kind == "row":
            rk = s.kernel
            sources[si] = row_source(rk.kind, rk.dtype, rk.reduction)
            if rk.kind == "ce_fwd":
                sources[si] += "\n" + row_source("ce_loss", rk.dtype, rk.reduction)
        elif s.kind == "dot":
            sources[si] = matmul_source(s.nodes[0].dtype, TILE)
        elif s.kind == "fallback" and s.nodes[0].op not in REGISTRY:
            raise NotImplementedError(f"no kernel for {s.nodes[0].op}")
    return CudaPlan(prog, steps, mem, kernels, sources)


def host_fallback(n: Node, args: list[np.ndarray]) -> np.ndarray:
    """A step no CUDA kernel covers: the registry's numpy kernel on host copies."""
    out = np.asarray(eval_numpy(REGISTRY[n.op], args, dict(n.params)))
    return out if out.dtype == n.dtype else out.astype(n.dtype)

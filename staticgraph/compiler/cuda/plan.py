"""The CUDA plan: a :class:`~..pipeline.Schedule` (the CPU's decisions, unchanged) with CUDA
kernels: fused steps rendered by :mod:`.render` (compiled by ``numba.cuda`` on first launch),
row steps and products from :mod:`.kernels`. :class:`~.instance.CudaInstance` binds it to
feed shapes."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..executor_base import LRU, BoundPlans, instance_cache
from ..fusion import Step
from ..ir import Node, Program
from ..kernel import Kernel, RowKernel, row_args
from ..memory import MemoryPlan
from ..pipeline import Schedule, compile_schedule
from .device import TILE
from .instance import CudaInstance
from .kernels import ROW_VALUES, matmul_source, row_arguments, row_source


@dataclass(eq=False)
class CudaPlan(BoundPlans):
    prog: Program
    steps: list[Step]
    mem: MemoryPlan
    kernels: dict[int, tuple]  # step index -> (kernel, combine kernel or None)
    sources: dict[int, str]
    compile_seconds: float = 0.0
    trace: list = field(default_factory=list)
    instances: LRU = field(default_factory=instance_cache)

    @property
    def kernel_count(self) -> int:
        return len(self.sources)

    def bind(self, feed_shapes: tuple) -> CudaInstance:
        return CudaInstance(self, feed_shapes)

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

        def ptx(fn: Any, sig: list) -> str:
            return cuda.compile_ptx(fn.py_func, void(*sig), cc=cc)[0]

        out: dict[str, str] = {}
        for si, s in enumerate(self.steps):
            if s.kind == "kernel":
                k: Kernel = s.kernel
                sig = [arr(n) for n in list(s.inputs) + list(s.outputs)]
                if k.reductions:
                    sig += [arr(r.dtype, 1) for r in k.reductions] + [int64]
                fn, comb = self.kernels[si]
                out[f"step{si}"] = ptx(fn, sig)
                if comb is not None:
                    out[f"step{si}_combine"] = ptx(comb, sig)
            elif s.kind == "row":
                rk: RowKernel = s.kernel
                named = dict(zip(ROW_VALUES[rk.kind], map(arr, row_args(s)), strict=True))
                named.update(rowloss=arr(rk.dtype, 1), err=arr(np.dtype(np.int32), 1))
                if rk.kind == "ce_fwd":
                    fn = row_kernel("ce_loss", rk.dtype, rk.reduction)
                    out[f"step{si}_loss"] = ptx(fn, row_arguments("ce_loss", named))
                fn = row_kernel(rk.kind, rk.dtype, rk.reduction)
                out[f"step{si}"] = ptx(fn, row_arguments(rk.kind, named))
            elif s.kind == "dot":
                n = s.nodes[0]
                fn = matmul_kernel(n.dtype, 16)
                sig = [arr(n.inputs[0].dtype, 2), arr(n.inputs[1].dtype, 2), arr(n), int64, int64]
                out[f"step{si}"] = ptx(fn, sig)
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


def build_plan(schedule: Schedule) -> CudaPlan:
    """Render ``schedule`` for CUDA (kernels compiled lazily by ``numba.cuda`` on first
    launch)."""
    kernels: dict[int, tuple] = {}
    sources: dict[int, str] = {}
    for si, s in enumerate(schedule.steps):
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
    return CudaPlan(schedule.prog, schedule.steps, schedule.mem, kernels, sources,
                    time.perf_counter() - schedule.started, schedule.trace)


def compile_plan(fetches: list, targets: list, feeds: dict) -> CudaPlan:
    """The whole pipeline for one key: :func:`~..pipeline.compile_schedule`, then
    :func:`build_plan`."""
    return build_plan(compile_schedule(fetches, targets, feeds))

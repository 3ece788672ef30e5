"""``CudaExecutor``: the Executor protocol (docs/guarantees.md) on a CUDA device (``numba.cuda``).

It reuses the CPU pipeline's decisions unchanged (:func:`.lower.lower`, the pass pipeline
:func:`.passes.optimize`, :func:`.fusion.fuse`, :func:`.memory.plan_memory`) and only renders
differently: fused kernels by :mod:`.render_cuda`, row kernels and a tiled matmul from
:mod:`.cuda_kernels`; views are device reshapes; anything else (a fallback step) runs the
registry's numpy kernel on the host with a copy each way.

Device memory: a :class:`CudaInstance` (the plan bound to concrete feed shapes) allocates every
buffer once and keeps it across runs. Variables stay on the device between runs: the executor
remembers, per variable, the host array it last committed (or uploaded) and its device copy,
and reuses the device copy while the session still holds that very array. Updates are written
into escape buffers that are never the device copy of a variable read in the same run (a pool,
as on the CPU), copied to the host and committed once at the end of the run (docs/guarantees.md).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any

import numpy as np

from ...graph.errors import FailedPreconditionError, InvalidArgumentError
from ..cpu import jit
from .plan import CudaPlan, build_cuda_plan, simulator_on


class CudaExecutor:
    """Compiles each (fetches, feed signature) once and runs it as CUDA kernels."""

    name = "cuda"

    def __init__(self) -> None:
        self._plans: dict = {}
        self._lock = threading.RLock()
        self._devvars: dict = {}  # Variable -> (host array it mirrors, device array)
        self.compiles = 0
        self._reference = None

    def run(self, graph: Any, fetches: list, targets: list, feeds: dict, state: Any) -> list:
        feeds = {t: np.ascontiguousarray(a) for t, a in feeds.items()}
        plan = self.plan_for(graph, fetches, targets, feeds)
        if plan == "reference":
            return self._ref().run(graph, fetches, targets, feeds, state)
        inst = plan.instance(tuple(a.shape for a in feeds.values()))
        if inst == "reference":
            return self._ref().run(graph, fetches, targets, feeds, state)
        try:
            with inst.lock:
                return inst.run(list(feeds.values()), state, self._devvars)
        except InvalidArgumentError as e:  # e.g. a bad label: name the op as the reference
            if e.op is not None:
                raise
            from ..cpu.executor import reference_error

            raise reference_error(self._ref(), graph, fetches, targets, feeds, state, e) from e

    def plan_for(self, graph: Any, fetches: list, targets: list, feeds: dict) -> CudaPlan | str:
        """The plan (or ``"reference"``) runs with these feeds use (explain, tests)."""
        feeds = {t: np.ascontiguousarray(a) for t, a in feeds.items()}
        pk = (graph, graph.version, tuple(fetches), tuple(targets),
              tuple((t, a.dtype, tuple(d == 1 for d in a.shape)) for t, a in feeds.items()))
        with self._lock:
            if pk not in self._plans:
                self._plans[pk] = self._compile(fetches, targets, feeds)
            return self._plans[pk]

    def _compile(self, fetches: list, targets: list, feeds: dict) -> CudaPlan | str:
        try:
            plan = build_cuda_plan(fetches, targets, feeds)
        except Exception as e:  # unsupported graph: the reference executor still runs it
            jit.note("cuda: cannot compile (%s: %s): using the reference executor for this key",
                     type(e).__name__, e)
            return "reference"
        self.compiles += 1
        jit.note("cuda plan for %d fetch(es), %d target(s): %d kernel(s)", len(fetches),
                 len(targets), len(plan.sources))
        return plan

    def _ref(self) -> Any:
        if self._reference is None:
            from ...executor import ReferenceExecutor

            self._reference = ReferenceExecutor()
        return self._reference


def uninitialized(v: Any) -> FailedPreconditionError:
    return FailedPreconditionError(None, v.op, f"Attempting to use uninitialized value "
                                   f"{v.op.name}")


def bad_argument(msg: str) -> InvalidArgumentError:
    return InvalidArgumentError(None, None, msg)


def cuda_usable() -> bool:
    """``numba.cuda`` imports and either the simulator is on or a device is there. The driver's
    device node is looked for first, so machines without one never import numba.cuda."""
    if not simulator_on() and not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/dxg")):
        return False  # no NVIDIA driver device node (Linux, WSL): no device to find
    if not simulator_on() and importlib.util.find_spec("numba_cuda") is None:
        return False  # real devices need numba-cuda (the 'cuda' extra), not numba's bundled copy
    try:
        from numba import cuda
    except Exception:
        return False
    try:
        return bool(simulator_on() or cuda.is_available())
    except Exception:
        return False


def register() -> bool:
    """Register ``"cuda"`` in ``staticgraph.executor.EXECUTORS`` when CUDA is usable."""
    from ...executor import EXECUTORS

    if not cuda_usable():
        return False
    EXECUTORS.setdefault("cuda", CudaExecutor)
    return True

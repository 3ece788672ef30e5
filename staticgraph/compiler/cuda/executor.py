"""``CudaExecutor``: the Executor protocol (docs/guarantees.md) on a CUDA device (``numba.cuda``).

It runs the shared schedule (:mod:`..pipeline`: the CPU's decisions, unchanged) and only renders
differently: fused kernels by :mod:`.render`, row kernels and a tiled matmul from
:mod:`.kernels`; views are device reshapes; anything else (a fallback step) runs the
registry's numpy kernel on the host with a copy each way. Plans, the reference fallback and
failed runs are the base's (:mod:`..executor_base`).

Device memory: a :class:`~.instance.CudaInstance` (the plan bound to concrete feed shapes)
allocates every buffer once and keeps it across runs. Variables stay on the device between
runs: the executor remembers, per variable, the host array it last committed (or uploaded) and
its device copy, and reuses the device copy while the session still holds that very array.
Updates are written into escape buffers that are never the device copy of a variable read in
the same run (a pool, as on the CPU), copied to the host and committed once at the end of the
run (docs/guarantees.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..executor_base import REFERENCE, CompilingExecutor
from ..pipeline import Schedule
from .device import cuda_usable
from .plan import CudaPlan, build_plan


class CudaExecutor(CompilingExecutor):
    """Compiles each (fetches, feed signature) once and runs it as CUDA kernels."""

    name = "cuda"
    log_prefix = "cuda: "

    def __init__(self) -> None:
        super().__init__()
        self._devvars: dict = {}  # Variable -> (host array it mirrors, device array)

    def build(self, schedule: Schedule, reason: str) -> CudaPlan:
        return build_plan(schedule)

    def run(self, graph: Any, fetches: list, targets: list, feeds: dict, state: Any) -> list:
        feeds = {t: np.ascontiguousarray(a) for t, a in feeds.items()}
        inst = self.instance_for(graph, fetches, targets, feeds)
        if inst is REFERENCE:
            return self.reference().run(graph, fetches, targets, feeds, state)
        try:
            with inst.lock:
                return inst.run(list(feeds.values()), state, self._devvars)
        except Exception as e:  # a bad label, an empty max...: name the op as the reference
            raise self.failure(graph, fetches, targets, feeds, state, e) from e


def register() -> bool:
    """Register ``"cuda"`` in ``staticgraph.executor.EXECUTORS`` when CUDA is usable."""
    from ...executor import EXECUTORS

    if not cuda_usable():
        return False
    EXECUTORS.setdefault("cuda", CudaExecutor)
    return True

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

from typing import TYPE_CHECKING, Any

import numpy as np

from ..executor_base import MAX_PLANS, REFERENCE, CompilingExecutor, remember
from ..regions import region_runner
from .device import cuda_usable

if TYPE_CHECKING:  # imported when a plan is built: registering the executor needs neither
    from ..pipeline import Schedule
    from .plan import CudaPlan


class CudaExecutor(CompilingExecutor):
    """Compiles each (fetches, feed signature) once and runs it as CUDA kernels."""

    name = "cuda"
    log_prefix = "cuda: "

    def __init__(self) -> None:
        super().__init__()
        self._devvars: dict = {}  # Variable -> (host array it mirrors, device array)
        self._runners: dict = {}  # at most MAX_PLANS (remember)

    def build(self, schedule: Schedule, reason: str) -> CudaPlan:
        from .plan import build_plan

        return build_plan(schedule)

    def run(self, graph: Any, fetches: list, targets: list, feeds: dict, state: Any) -> list:
        return self.prepare(graph, fetches, targets, list(feeds))(list(feeds.values()), state)

    def prepare(self, graph: Any, fetches: list, targets: list, feed_keys: list) -> Any:
        """``runner(feed_values, state) -> results``: a graph with control flow runs as the CPU
        executor's does, host loops over stages and step graphs compiled for the device
        (:mod:`..regions`); any other graph as one plan."""
        key = (graph, graph.version, tuple(fetches), tuple(targets), tuple(feed_keys))
        with self._lock:
            r = self._runners.get(key)
            if r is None:
                r = region_runner(self, graph, list(fetches), list(targets), list(feed_keys))
                if r is None:
                    def r(F: list, state: Any, _k: tuple = (graph, fetches, targets,
                                                             feed_keys)) -> list:
                        return self._run_plan(*_k[:3], dict(zip(_k[3], F, strict=True)), state)
                remember(self._runners, key, r, MAX_PLANS)
        return r

    def _run_plan(self, graph: Any, fetches: list, targets: list, feeds: dict,
                  state: Any) -> list:
        feeds = {t: np.asarray(a, order="C") for t, a in feeds.items()}  # 0-d stays 0-d
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

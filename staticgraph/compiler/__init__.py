"""The graph compiler: one pipeline (:mod:`.pipeline`: lower, passes, fusion, memory plan) shared
by the CPU backend (:mod:`.cpu`, ``NumbaExecutor``) and the CUDA backend (:mod:`.cuda`).

Importing this package registers ``"numba"`` (and ``"cuda"`` where a device or the simulator
is) in ``staticgraph.executor.EXECUTORS``. See docs/compiler.md for the pipeline and a worked
example.
"""

from __future__ import annotations

from .cpu.executor import NumbaExecutor
from .cpu.native import block_until_ready
from .cpu.plan import compile_plan
from .explain import explain
from .passes import PIPELINE

__all__ = ["NumbaExecutor", "compile_plan", "explain", "PIPELINE", "block_until_ready"]


def _register() -> None:
    from ..executor import EXECUTORS
    from .cuda.executor import register as register_cuda

    EXECUTORS.setdefault("numba", NumbaExecutor)
    register_cuda()  # "cuda" only where numba.cuda imports and a device (or the simulator) is


_register()

"""The graph compiler: passes, fusion, numba code generation, and ``NumbaExecutor``.

Importing this package registers ``"numba"`` in ``staticgraph.executor.EXECUTORS``. See
docs/compiler.md for the pipeline and a worked example.
"""

from __future__ import annotations

from .cpu.executor import NumbaExecutor, compile_plan
from .cpu.native import block_until_ready
from .explain import explain
from .passes import PIPELINE

__all__ = ["NumbaExecutor", "compile_plan", "explain", "PIPELINE", "block_until_ready"]


def _register() -> None:
    from ..executor import EXECUTORS

    EXECUTORS.setdefault("numba", NumbaExecutor)
    from .cuda.executor import register as register_cuda

    register_cuda()  # "cuda" only where numba.cuda imports and a device (or the simulator) is


_register()

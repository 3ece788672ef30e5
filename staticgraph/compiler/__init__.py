"""The graph compiler: one pipeline (:mod:`.pipeline`: lower, passes, fusion, memory plan) shared
by the CPU backend (:mod:`.cpu`, ``NumbaExecutor``) and the CUDA backend (:mod:`.cuda`).

Importing this package registers ``"numba"`` (and ``"cuda"`` where a device or the simulator
is) in ``staticgraph.executor.EXECUTORS``. See docs/compiler.md for the pipeline and a worked
example.
"""

from __future__ import annotations

from typing import Any

from .cpu.executor import NumbaExecutor
from .cpu.native import block_until_ready

__all__ = ["NumbaExecutor", "compile_plan", "explain", "PIPELINE", "block_until_ready"]

_LAZY = {"compile_plan": (".cpu.plan", "compile_plan"), "explain": (".explain", "explain"),
         "PIPELINE": (".passes", "PIPELINE")}
"""Imported on first use: a warm process whose plans come from the whole-plan cache
(:mod:`.cpu.plan_cache`) runs without the pass pipeline's modules."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(mod, __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _register() -> None:
    from ..executor import EXECUTORS
    from .cuda.executor import register as register_cuda

    EXECUTORS.setdefault("numba", NumbaExecutor)
    register_cuda()  # "cuda" only where numba.cuda imports and a device (or the simulator) is


_register()

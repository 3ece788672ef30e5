"""``dynamic.compile``: write eager code, run it as a compiled static graph.

The first call of a compiled function runs it eagerly once while every registry op also builds
a node of a static graph (:mod:`.capture`); the graph is compiled by the static compiler and
later calls with the same guards replay it (:mod:`.compiled`, :mod:`.plan`), with autograd
through the symbolic gradient. docs/eager.md, "Compiling eager code", tells the whole story.
"""

from __future__ import annotations

from typing import Any

from ..nn.modules import Module
from .capture import CompileError
from .compiled import CompiledFunction
from .explain import ExplainOutput, explain
from .module import OptimizedModule

__all__ = ["CompileError", "CompiledFunction", "ExplainOutput", "OptimizedModule", "compile",
           "explain"]

_BACKENDS = ("staticgraph", "inductor", "eager")


def compile(model: Any = None, *, fullgraph: bool = False, dynamic: bool | None = None,  # noqa: A001
            backend: str = "staticgraph", mode: str | None = None,
            options: dict | None = None, disable: bool = False) -> Any:
    """PyTorch's ``torch.compile``: a function or module that runs as a compiled graph.

    Usable as ``compile(fn)``, ``@compile``, ``@compile(fullgraph=True)`` and on an
    ``nn.Module`` (a wrapper whose parameters are the module's own). ``backend`` may be
    ``"staticgraph"`` (the default; ``"inductor"`` is accepted as its alias, so unchanged
    ``torch.compile`` code runs) or ``"eager"`` (capture and guards, no compilation: the call runs
    eagerly); ``mode`` and ``options`` are accepted and ignored; ``disable=True`` returns the
    function unchanged."""
    if not isinstance(backend, str) or backend not in _BACKENDS:
        raise ValueError(f"dynamic.compile: unknown backend {backend!r}; choose from "
                         f"{', '.join(_BACKENDS)}")
    if dynamic not in (None, True, False):
        raise TypeError(f"dynamic.compile: dynamic must be None, True or False, got {dynamic!r}")
    if model is None:
        def decorate(fn: Any) -> Any:
            return compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                           options=options, disable=disable)
        return decorate
    if not callable(model):
        raise TypeError(f"dynamic.compile expects a callable or an nn.Module, got "
                        f"{type(model).__name__}")
    if disable or backend == "eager":
        return model
    if isinstance(model, Module):
        return OptimizedModule(model, fullgraph=fullgraph, dynamic=dynamic)
    return CompiledFunction(model, fullgraph=fullgraph, dynamic=dynamic)

"""``OptimizedModule``: what ``dynamic.compile(module)`` returns, as ``torch.compile`` does.

The original module is its submodule ``_orig_mod`` (so ``parameters()``, ``state_dict()``,
``train()``/``eval()`` and the optimizer see the original parameters); calls go through a
:class:`CompiledFunction` of the original module's ``__call__`` that looks its captured
parameters and buffers up in the module at each call (a reassigned parameter is seen too).
"""

from __future__ import annotations

from typing import Any

from ..nn.modules import Module
from .compiled import CompiledFunction


class OptimizedModule(Module):
    """A compiled view of ``mod`` (module docstring); other attributes are ``mod``'s."""

    def __init__(self, mod: Module, fullgraph: bool = False, dynamic: bool | None = None) -> None:
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled", CompiledFunction(mod, fullgraph, dynamic,
                                                               module=mod))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)

    def __repr__(self) -> str:
        return f"OptimizedModule(\n  (_orig_mod): {self._orig_mod!r}\n)"

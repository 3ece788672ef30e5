"""What a missing PyTorch name raises: an error saying this project does not support it.

Each public module of ``dynamic`` ends with ``__getattr__ = missing_names("torch.nn", HINTS)``.
The error is an :class:`UnsupportedError`, both an ``AttributeError`` (so ``hasattr(torch, "x")``
and ``getattr(torch, "x", None)`` probes answer "no", as they do on an older PyTorch) and a
``NotImplementedError``. ``from torch.nn import Conv2d`` raises ``ImportError`` with the same
text (Python turns an ``AttributeError`` there into "cannot import name").
"""

from __future__ import annotations

import dis
import sys
from collections.abc import Callable

PROJECT = "this project (dynamic: PyTorch-style eager autograd on numpy, CPU only)"
_IMPORT_FROM = dis.opmap["IMPORT_FROM"]


class UnsupportedError(AttributeError, NotImplementedError):
    """A PyTorch API that ``dynamic`` does not provide."""


def message(qualname: str, hint: str | None = None) -> str:
    """``torch.compile is not supported by this project (...)[; use ... instead]``."""
    text = f"{qualname} is not supported by {PROJECT}"
    return f"{text}; {hint}" if hint else text


def _importing_from() -> bool:
    """Whether the code that asked for the name is a ``from module import name`` statement."""
    frame = sys._getframe(2)
    code = frame.f_code.co_code
    return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] == _IMPORT_FROM


def missing_names(torch_name: str, hints: dict[str, str] | None = None) -> Callable[[str], None]:
    """A module ``__getattr__`` for the names this module does not define."""
    hints = hints or {}

    def __getattr__(name: str) -> None:
        if name.startswith("_"):  # private and dunder probes (``__path__``, ``_C``...)
            raise AttributeError(f"module {torch_name!r} has no attribute {name!r}")
        text = message(f"{torch_name}.{name}", hints.get(name))
        if _importing_from():
            raise ImportError(text, name=torch_name)
        raise UnsupportedError(text)

    return __getattr__

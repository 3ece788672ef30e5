"""Grad mode: whether ops record the graph. ``no_grad``, ``enable_grad`` and
``set_grad_enabled`` work as context managers and decorators, like PyTorch's."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

# One mutable cell read on every op (a list lookup is the cheapest global read).
GRAD_ENABLED = [True]


def is_grad_enabled() -> bool:
    return GRAD_ENABLED[0]


class _GradMode:
    """Base: set the mode on enter, restore the previous one on exit; also a decorator."""

    mode = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __new__(cls, func: Callable | None = None):
        self = super().__new__(cls)
        if func is not None and callable(func) and cls is not set_grad_enabled:
            self.__init__()
            return self(func)  # bare decorator: @torch.no_grad
        return self

    def __enter__(self) -> None:
        self._prev.append(GRAD_ENABLED[0])
        GRAD_ENABLED[0] = self.mode

    def __exit__(self, *exc: Any) -> None:
        GRAD_ENABLED[0] = self._prev.pop()

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def clone(self) -> _GradMode:
        return type(self)()


class no_grad(_GradMode):  # noqa: N801
    """Disable graph recording (results have ``requires_grad=False``)."""

    mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Re-enable graph recording inside a ``no_grad`` region."""

    mode = True


class set_grad_enabled(_GradMode):  # noqa: N801
    """``set_grad_enabled(False)`` switches immediately (function form) and restores the previous
    mode when used as a context manager."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = bool(mode)
        self._prev.append(GRAD_ENABLED[0])
        GRAD_ENABLED[0] = self.mode

    def __enter__(self) -> None:
        pass

    def __call__(self, func: Callable) -> Callable:
        GRAD_ENABLED[0] = self._prev[0]  # as a decorator it only applies inside the call
        return super().__call__(func)

    def clone(self) -> _GradMode:
        return _Scoped(self.mode)


class _Scoped(_GradMode):
    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = mode


class inference_mode(no_grad):  # noqa: N801
    """Treated as ``no_grad``."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.mode = not mode

"""Grad mode: whether ops record the graph. ``no_grad``, ``enable_grad``,
``set_grad_enabled`` and ``inference_mode`` work as context managers and decorators, like
PyTorch's.

Inference mode also marks the tensors made inside it as inference tensors (``INFERENCE_TENSORS``,
held weakly; ``mark_inference`` is called where tensors are made: the general frontend, the
creation functions), which PyTorch refuses to update in place (or to let require grad) outside
the mode (``check_not_inference``).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

# One mutable cell read on every op (a list lookup is the cheapest global read).
GRAD_ENABLED = [True]
INFERENCE = [False]  # inside ``inference_mode()``
INFERENCE_TENSORS: dict[int, weakref.ref] = {}  # id -> weak reference (by identity: tensors
# compare elementwise, so a WeakSet cannot hold them)
EVER_INFERENCE = [False]  # an inference tensor was ever made (the checks cost nothing before)
INFERENCE_HOOKS: list[Callable[[bool], None]] = []  # called with the new state on each switch

INPLACE_INFERENCE_MSG = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details.")


def is_inference_mode_enabled() -> bool:
    return INFERENCE[0]


def mark_inference(t: Any) -> Any:
    """``t`` was made inside inference mode: an inference tensor."""
    key = id(t)
    INFERENCE_TENSORS[key] = weakref.ref(t, lambda _, k=key: INFERENCE_TENSORS.pop(k, None))
    EVER_INFERENCE[0] = True
    return t


def is_inference_tensor(t: Any) -> bool:
    if not EVER_INFERENCE[0]:
        return False
    ref = INFERENCE_TENSORS.get(id(t))
    return ref is not None and ref() is t


def check_not_inference(t: Any) -> None:
    """PyTorch's refusal to update an inference tensor in place outside inference mode."""
    if EVER_INFERENCE[0] and not INFERENCE[0] and is_inference_tensor(t):
        raise RuntimeError(INPLACE_INFERENCE_MSG)


def is_grad_enabled() -> bool:
    """Grad mode as set (inside inference mode ``enable_grad`` reports ``True``, as PyTorch,
    while nothing records)."""
    return GRAD_ENABLED[0] or (INFERENCE[0] and WANTED[0])


WANTED = [True]  # the grad mode last set by a context manager (what inference mode overrides)


def _save() -> tuple:
    return GRAD_ENABLED[0], WANTED[0]


def _restore(state: tuple) -> None:
    GRAD_ENABLED[0], WANTED[0] = state


def _set_grad(mode: bool) -> None:
    WANTED[0] = mode
    GRAD_ENABLED[0] = mode and not INFERENCE[0]


class _GradMode:
    """Base: set the mode on enter, restore the previous one on exit; also a decorator."""

    mode = True

    def __init__(self) -> None:
        self._prev: list[tuple] = []

    def __new__(cls, func: Callable | None = None):
        self = super().__new__(cls)
        if func is not None and callable(func) and cls is not set_grad_enabled:
            self.__init__()
            return self(func)  # bare decorator: @torch.no_grad
        return self

    def __enter__(self) -> None:
        self._prev.append(_save())
        _set_grad(self.mode)

    def __exit__(self, *exc: Any) -> None:
        _restore(self._prev.pop())

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
        self._prev.append(_save())
        _set_grad(self.mode)

    def __enter__(self) -> None:
        pass

    def __call__(self, func: Callable) -> Callable:
        _restore(self._prev[0])  # as a decorator it only applies inside the call
        return super().__call__(func)

    def clone(self) -> _GradMode:
        return _Scoped(self.mode)


class _Scoped(_GradMode):
    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = mode


class inference_mode(no_grad):  # noqa: N801
    """``no_grad`` that also makes inference tensors (``inference_mode(False)``: neither)."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.mode = not mode
        self._prev_inference: list[bool] = []

    def __enter__(self) -> None:
        self._prev_inference.append(INFERENCE[0])
        _switch_inference(not self.mode)
        super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        _switch_inference(self._prev_inference.pop())

    def clone(self) -> _GradMode:
        return type(self)(not self.mode)


def _switch_inference(on: bool) -> None:
    if INFERENCE[0] != on:
        INFERENCE[0] = on
        for hook in INFERENCE_HOOKS:
            hook(on)

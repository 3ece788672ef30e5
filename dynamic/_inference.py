"""Inference tensors: ``Tensor.is_inference()``, and the lean path switched off inside
``inference_mode()`` so that every result is made by the general frontend, which marks it
(``autograd/grad_mode.py`` holds the mode and the marks)."""

from __future__ import annotations

from . import _fast_path
from .autograd.grad_mode import INFERENCE_HOOKS, is_inference_tensor

__all__ = ["InferenceMethods"]

_SAVED: list[bool] = []


def _switch(on: bool) -> None:
    """Entering inference mode: the lean path off (restored on leaving)."""
    if on:
        _SAVED.append(_fast_path.ENABLED[0])
        _fast_path.ENABLED[0] = False
    elif _SAVED:
        _fast_path.ENABLED[0] = _SAVED.pop()


INFERENCE_HOOKS.append(_switch)


class InferenceMethods:
    """``is_inference`` (attached to ``Tensor``)."""

    def is_inference(self) -> bool:
        """Made inside ``inference_mode()`` (or a view or ``detach()`` of such a tensor)."""
        return is_inference_tensor(self)

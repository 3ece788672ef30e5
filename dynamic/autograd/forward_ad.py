"""``torch.autograd.forward_ad``: dual tensors for forward-mode AD (PyTorch's API and messages).

Inside ``with dual_level():``, ``make_dual(x, t)`` gives a tensor with tangent ``t``; every op on
it computes its result's tangent by the op record's JVP rule (``staticgraph.ops.forward``), and
``unpack_dual(y)`` returns ``(primal, tangent)``. As in PyTorch, public levels do not nest; the
``torch.func`` transforms (``jvp``, ``jacfwd``) open their own levels, which do. The machinery
is in ``forward_ad_engine``; with no level open it costs nothing.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from staticgraph import ops

from .._tensor import Tensor
from .forward_ad_engine import LEVELS, Level, hidden, pop_level, push_level

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level",
           "make_dual", "unpack_dual"]


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the primal (a view without the tangent) and the
    tangent (``None`` for a tensor that has none at the level)."""

    primal: Any
    tangent: Any


def _public() -> list[Level]:
    return [lv for lv in LEVELS if lv.public]


def enter_dual_level() -> int:
    """Open the (only) forward AD level; returns its index."""
    if _public():
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    return push_level(public=True).index


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the level (its tangents are dropped)."""
    pub = _public()
    if not pub or (level is not None and level != pub[-1].index) or LEVELS[-1] is not pub[-1]:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    pop_level(pub[-1])


class dual_level:  # noqa: N801 - PyTorch's name
    """Context manager: all forward AD computation happens inside it."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()


def _level(level: int | None) -> Level | None:
    if level is None:
        pub = _public()
        return pub[-1] if pub else None
    for lv in LEVELS:
        if lv.index == level:
            return lv
    return None


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A view of ``tensor`` carrying ``tangent`` at ``level`` (the current one by default)."""
    lv = _level(level)
    if lv is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    return attach(lv, tensor, tangent)


def attach(lv: Level, tensor: Tensor, tangent: Tensor) -> Tensor:
    """``make_dual`` at the level ``lv`` (public or a transform's)."""
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError("make_dual(): expected Tensor arguments for primal and tangent, got "
                        f"{type(tensor).__name__} and {type(tangent).__name__}")
    if not tensor.dtype.is_floating_point:
        raise ValueError(f"Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if not tangent.dtype.is_floating_point:
        raise ValueError(f"Expected tangent to be floating point or complex, but got: "
                         f"{tangent.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError("Trying to set a forward gradient that has a different size than that "
                           "of the original Tensor, this is not supported. Tensor is of size "
                           f"{list(tensor.shape)} while the given forward gradient is of size "
                           f"{list(tangent.shape)}.")
    if lv.get(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {lv.index} is not supported.")
    with hidden(lv):
        dual = ops.reshape(tensor, tuple(tensor.shape))
        if tangent._data.dtype != tensor._data.dtype:
            tangent = ops.cast(tangent, tensor._data.dtype)
    lv.set(dual, tangent)
    return dual


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor`` at ``level``; ``(tensor, None)`` where it has none."""
    lv = _level(level)
    t = lv.get(tensor) if lv is not None and isinstance(tensor, Tensor) else None
    if t is None:
        return UnpackedDualTensor(tensor, None)
    with hidden(lv):
        primal = ops.reshape(tensor, tuple(tensor.shape))
    return UnpackedDualTensor(primal, t)

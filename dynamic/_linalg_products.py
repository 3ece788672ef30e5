"""``torch.linalg``'s products, composed of tensor ops: ``matrix_power`` (its ``n >= 0`` part),
``multi_dot``, ``vecdot``, ``cross``, with PyTorch's argument checks (their gradients are the
ops' own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from staticgraph import ops

from ._tensor import Tensor, make, to_tensor
from .autograd.graph import renamed

__all__ = ["check_power", "power", "multi_dot", "vecdot", "cross"]


def check_power(a: Tensor, n: Any) -> None:
    """PyTorch's checks of ``matrix_power(a, n)``."""
    if a.dim() < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 "
                           "dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but "
                           f"they are {a.shape[-2]} by {a.shape[-1]} matrices")
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")


def power(a: Tensor, n: int) -> Tensor:
    """``a`` multiplied by itself ``n >= 0`` times by PyTorch's binary powering (``n == 0``: the
    identity, with a zero gradient, PyTorch's ``CopyBackwards``)."""
    if n == 0:
        eye = make(np.broadcast_to(np.eye(a.shape[-1], dtype=a._data.dtype), a._data.shape))
        return renamed(ops.add(ops.mul(a, 0), eye), "CopyBackwards")
    if n == 1:
        return a.clone()
    result = z = None
    while n > 0:  # the squares of a, multiplied into the result low bit first
        z = a if z is None else z @ z
        if n & 1:
            result = z if result is None else result @ z
        n >>= 1
    return result


def multi_dot(tensors: Sequence[Any]) -> Tensor:
    """The chained matrix product; the first and last may be vectors (a row, a column)."""
    ts = [to_tensor(t) for t in tensors]
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    last = len(ts) - 1
    for i, t in enumerate(ts):
        if i in (0, last) and t.dim() not in (1, 2):
            raise RuntimeError(f"multi_dot(): the {'first' if i == 0 else 'last'} tensor must "
                               f"be 1D or 2D but got {t.dim()}D")
        if 0 < i < last and t.dim() != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.dim()}D")
    out = ts[0]
    for t in ts[1:]:
        out = out @ t
    return out


def vecdot(x: Any, y: Any, *, dim: int = -1) -> Tensor:
    """``sum(x * y, dim)`` (real inputs: no conjugate)."""
    return ops.sum(ops.mul(to_tensor(x), to_tensor(y)), dim)


def cross(a: Any, b: Any, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (broadcast), ``LinalgCrossBackward0``."""
    a, b = to_tensor(a), to_tensor(b)
    if a.dim() != b.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if a.shape[dim] != 3 or b.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[dim]} and {b.shape[dim]}")
    r = ops.sub(ops.mul(a.roll(-1, dim), b.roll(1, dim)), ops.mul(a.roll(1, dim), b.roll(-1, dim)))
    return renamed(r, "LinalgCrossBackward0")

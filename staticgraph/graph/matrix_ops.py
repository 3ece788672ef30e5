"""TF1's matrix and diagonal functions: ``matrix_transpose``, ``diag``/``diag_part``,
``matrix_diag``/``matrix_diag_part``, ``trace``, ``broadcast_to``, ``tensordot``.

All are registry ops composed (transpose, reshape, where with an identity mask, sum, matmul), so
both executors run them and ``gradients()`` differentiates them with the registry's rules. The
diagonal is picked with ``where(eye, x, 0)`` rather than ``x * eye`` so an inf or NaN off the
diagonal does not leak into it. Diagonal sizes must be known when the graph is built (the mask
is a constant).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ops
from .array_ops import identity
from .core import Tensor
from .frontend import as_graph_tensor
from .math_ops import _final, _t, composite
from .math_ops import matmul as _matmul


def _known_rank(x: Tensor, what: str) -> int:
    if x.aval.shape is None:
        raise NotImplementedError(f"{what} of {x.name}, whose rank is unknown (a placeholder "
                                  f"declared without a shape), is not supported; declare its "
                                  f"shape")
    return x.ndim


def reshaped(x: Tensor, dims: Sequence[Any], what: str) -> Tensor:
    """``x`` reshaped to ``dims`` (``None`` for an unknown dim: at most one), or ``x`` when
    it already has that shape."""
    want = tuple(-1 if d is None else int(d) for d in dims)
    if tuple(x.aval.shape) == tuple(dims):
        return x
    if want.count(-1) > 1:
        raise NotImplementedError(f"{what}: merging several dims of unknown size ({x.name}, "
                                  f"shape {x.shape}) is not supported; declare their sizes")
    return ops.reshape(x, want)


def _prod(dims: Sequence[Any]) -> Any:
    return None if any(d is None for d in dims) else math.prod(dims)


# ------------------------------------------------------------------------------ transpose
def matrix_transpose(a: Any, name: str = "matrix_transpose", conjugate: bool = False) -> Tensor:
    """The last two dims of ``a`` swapped (``tf.linalg.transpose``)."""
    x = _t(a)
    if x.aval.shape is not None and x.ndim < 2:
        raise ValueError(f"Argument `a` should be a (batch) matrix with rank >= 2.  Received "
                         f"`a` = {x} with shape: {x.shape}")
    with composite(name, "matrix_transpose", x) as stem:
        return _final(stem + "transpose/", ops.transpose, x, -2, -1)


# ------------------------------------------------------------------------------- diagonals
def _eye(n: int, m: int) -> np.ndarray:
    return np.eye(n, m, dtype=bool)


def _diag_of_last(d: Tensor, stem: str) -> Tensor:
    """``[..., n] -> [..., n, n]`` with ``d`` on the diagonal."""
    n = d.aval.shape[-1]
    if n is None:
        raise NotImplementedError(f"a diagonal matrix from {d.name}, whose last dim is unknown "
                                  f"when the graph is built, is not supported")
    zero = np.zeros((), d.dtype.base_dtype.np_dtype)
    return _final(stem, ops.where, _eye(n, n), ops.expand_dims(d, (-1,)), zero)


def _part_of_last2(x: Tensor, stem: str) -> Tensor:
    """``[..., m, n] -> [..., min(m, n)]``: the diagonal of each matrix."""
    m, n = x.aval.shape[-2], x.aval.shape[-1]
    if m is None or n is None:
        raise NotImplementedError(f"the diagonal of {x.name} (shape {x.shape}), whose matrix "
                                  f"dims are unknown when the graph is built, is not supported")
    zero = np.zeros((), x.dtype.base_dtype.np_dtype)
    masked = ops.where(_eye(m, n), x, zero)
    return _final(stem, ops.sum, masked, (-1 if m <= n else -2,))


def matrix_diag(diagonal: Any, name: str = "diag", **_: Any) -> Tensor:
    """``[..., n] -> [..., n, n]``: batched diagonal matrices."""
    d = _t(diagonal)
    if _known_rank(d, "matrix_diag") < 1:
        raise ValueError(f"Shape must be at least rank 1 but is rank 0 for '{name}'")
    with composite(name, "diag", d) as stem:
        return _diag_of_last(d, stem)


def matrix_diag_part(input: Any, name: str = "diag_part", **_: Any) -> Tensor:  # noqa: A002
    """``[..., m, n] -> [..., min(m, n)]``: the main diagonal of each matrix."""
    x = _t(input)
    if _known_rank(x, "matrix_diag_part") < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {x.ndim} for '{name}' "
                         f"with input shapes: {x.shape.tf_list_str()}.")
    with composite(name, "diag_part", x) as stem:
        return _part_of_last2(x, stem)


def diag(diagonal: Any, name: str | None = None) -> Tensor:
    """``[D1..Dk] -> [D1..Dk, D1..Dk]``, ``diagonal`` on the diagonal (any rank >= 1)."""
    d = _t(diagonal)
    r = _known_rank(d, "diag")
    if r < 1:
        raise ValueError(f"Input must have rank >= 1, got rank 0 for '{name or 'Diag'}'")
    dims = tuple(d.aval.shape)
    if None in dims:
        raise NotImplementedError(f"diag of {d.name} (shape {d.shape}), whose size is unknown "
                                  f"when the graph is built, is not supported")
    with composite(name, "Diag", d) as stem:
        if r == 1:
            return _diag_of_last(d, stem)
        full = _diag_of_last(reshaped(d, (_prod(dims),), "diag"), stem + "matrix/")
        return _final(stem, ops.reshape, full, dims + dims)


def diag_part(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """``[D1..Dk, D1..Dk] -> [D1..Dk]``: the inverse of :func:`diag`."""
    x = _t(input)
    r = _known_rank(x, "diag_part")
    label = name or "DiagPart"
    if r == 0 or r % 2:
        raise ValueError(f"Input must have even and non-zero rank, input rank is {r} for "
                         f"'{label}' with input shapes: {x.shape.tf_list_str()}.")
    dims = tuple(x.aval.shape)
    for a, b in zip(dims[:r // 2], dims[r // 2:], strict=True):
        if a is not None and b is not None and a != b:
            raise ValueError(f"Dimensions must be equal, but are {a} and {b} for '{label}' "
                             f"with input shapes: {x.shape.tf_list_str()}.")
    half = dims[:r // 2]
    if None in half:
        raise NotImplementedError(f"diag_part of {x.name} (shape {x.shape}), whose size is "
                                  f"unknown when the graph is built, is not supported")
    n = _prod(half)
    with composite(name, "DiagPart", x) as stem:
        if r == 2:
            return _part_of_last2(x, stem)
        part = _part_of_last2(reshaped(x, (n, n), "diag_part"), stem + "matrix/")
        return _final(stem, ops.reshape, part, half)


def trace(x: Any, name: str | None = None) -> Tensor:
    """The sum of each matrix's main diagonal (last two dims)."""
    t = _t(x)
    with composite(name, "Trace", t) as stem:
        part = matrix_diag_part(t, name="diag_part")
        return _final(stem, ops.sum, part, (-1,))


# ------------------------------------------------------------------------------ broadcast
def broadcast_to(input: Any, shape: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """``input`` broadcast to ``shape`` (a list of ints) by numpy's rules."""
    x = _t(input)
    if as_graph_tensor(shape) is not None:
        raise NotImplementedError("tf.broadcast_to with a shape given as a graph tensor is not "
                                  "supported; pass a list of ints")
    want = tuple(int(d) for d in np.asarray(shape).reshape(-1))
    have = tuple(x.aval.shape) if x.aval.shape is not None else None
    if have is not None:
        for a, b in zip(reversed(have), reversed(want), strict=False):
            if a is not None and a != 1 and a != b:
                label = name or "BroadcastTo"
                raise ValueError(f"Dimensions must be equal, but are {a} and {b} for "
                                 f"'{label}' (op: 'BroadcastTo') with input shapes: "
                                 f"{x.shape.tf_list_str()}, [{len(want)}] and with input "
                                 f"tensors computed as partial shapes: input[1] = "
                                 f"[{','.join(map(str, want))}].")
    with composite(name, "BroadcastTo", x) as stem:
        return _final(stem, ops.broadcast_to, x, want)


# ------------------------------------------------------------------------------ tensordot
def _axes_pair(axes: Any, ra: int, rb: int) -> tuple[list[int], list[int]]:
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > ra or n > rb:
            raise ValueError(f"'axes' must be at most the rank of each tensor ({ra}, {rb}), "
                             f"got {n}")
        return list(range(ra - n, ra)), list(range(n))
    a_ax, b_ax = axes
    a_ax = [a_ax] if isinstance(a_ax, (int, np.integer)) else list(a_ax)
    b_ax = [b_ax] if isinstance(b_ax, (int, np.integer)) else list(b_ax)
    if len(a_ax) != len(b_ax):
        raise ValueError(f"Different number of contraction axes 'a' and 'b', {len(a_ax)} != "
                         f"{len(b_ax)}.")
    return [int(i) % ra for i in a_ax], [int(i) % rb for i in b_ax]


def tensordot(a: Any, b: Any, axes: Any, name: str | None = None) -> Tensor:
    """Sum over ``a``'s ``axes[0]`` and ``b``'s ``axes[1]`` (or the last/first ``axes`` dims):
    a transposed to [free, summed] and b to [summed, free], each reshaped to a matrix, one
    matmul, reshaped to ``a``'s free dims then ``b``'s (TF's own lowering)."""
    x, y = _t(a), _t(b)
    ra, rb = _known_rank(x, "tensordot"), _known_rank(y, "tensordot")
    a_ax, b_ax = _axes_pair(axes, ra, rb)
    a_free = [i for i in range(ra) if i not in a_ax]
    b_free = [i for i in range(rb) if i not in b_ax]
    sa, sb = tuple(x.aval.shape), tuple(y.aval.shape)
    with composite(name, "Tensordot", x, y) as stem:
        xa = x if a_free + a_ax == list(range(ra)) else ops.permute(x, tuple(a_free + a_ax))
        yb = y if b_ax + b_free == list(range(rb)) else ops.permute(y, tuple(b_ax + b_free))
        xm = reshaped(xa, (_prod([sa[i] for i in a_free]), _prod([sa[i] for i in a_ax])),
                      "tensordot")
        ym = reshaped(yb, (_prod([sb[i] for i in b_ax]), _prod([sb[i] for i in b_free])),
                      "tensordot")
        out_dims = [sa[i] for i in a_free] + [sb[i] for i in b_free]
        prod = _matmul(xm, ym, name=stem + "MatMul/")
        if None not in out_dims and list(prod.aval.shape) == out_dims:
            return prod  # TF's node: Tensordot/MatMul
        if list(prod.aval.shape) == out_dims and out_dims.count(None) > 1:
            return identity(prod, name=stem)
        return _final(stem, ops.reshape, prod, tuple(-1 if d is None else d for d in out_dims))


__all__ = ["matrix_transpose", "matrix_diag", "matrix_diag_part", "diag", "diag_part", "trace",
           "broadcast_to", "tensordot", "reshaped"]

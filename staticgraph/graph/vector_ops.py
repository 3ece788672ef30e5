"""TF1's per-vector functions: ``tf.nn.top_k`` and ``tf.nn.l2_normalize``, built from registry
ops so their gradients are the registry's rules.

``top_k``'s positions are the registry's ``topk_indices`` (no gradient, as in TF) and its values
``gather(x, positions, -1)``, whose gradient sends each cotangent back to the position it came
from. ``l2_normalize`` is TF's own formula, ``x * rsqrt(max(sum(x**2, axis), epsilon))``.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from .. import ops
from .core import Tensor
from .frontend import as_graph_tensor
from .math_ops import (
    _final,
    _require,
    _t,
    cast,
    composite,
    maximum,
    multiply,
    reduce_sum,
    rsqrt,
    square,
)

TopKV2 = namedtuple("TopKV2", ["values", "indices"])


def top_k(input: Any, k: int = 1, sorted: bool = True,  # noqa: A002 - TF's names
          name: str | None = None) -> TopKV2:
    """The ``k`` largest entries of each last-dim vector and their positions (int32), largest
    first; equal entries in order of position (``sorted`` is accepted: the order is always
    sorted, which TF allows)."""
    x = _t(input)
    if as_graph_tensor(k) is not None:
        raise NotImplementedError("tf.nn.top_k with k given as a tensor is not supported; "
                                  "pass k as a Python int")
    if x.aval.shape is None:
        raise NotImplementedError(f"tf.nn.top_k of {x.name}, whose rank is unknown (a "
                                  f"placeholder declared without a shape); declare its shape")
    _require("iuf", x, param="input")
    k = int(k)
    if k < 0:
        raise ValueError(f"Need k >= 0, got {k}")
    return _top_k(x, k, name)


def _top_k(x: Tensor, k: int, name: str | None = None) -> TopKV2:
    """``top_k`` of a checked input; ``k=-1``: the whole last dim (its size may be unknown)."""
    with composite(name, "TopKV2", x) as stem:
        idx = ops.topk_indices(x, k)
        values = _final(stem, ops.gather, x, cast(idx, np.int64), -1)
    return TopKV2(values, idx)


def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: str | None = None,
                 dim: Any = None) -> Tensor:
    """``x`` divided by its L2 norm along ``axis`` (all axes when None), the squared norm
    floored at ``epsilon`` (TF's formula and node names)."""
    if dim is not None:
        if axis is not None:
            raise ValueError("Cannot specify both 'axis' and 'dim'")
        axis = dim
    t = _t(x)
    with composite(name, "l2_normalize", t) as stem:
        sq = reduce_sum(square(t), axis, keepdims=True)
        inv = rsqrt(maximum(sq, np.asarray(epsilon, t.dtype.base_dtype.np_dtype)))
        return multiply(t, inv, name=stem)


def _sorted(values: Any, axis: int, direction: str, name: str | None,
            label: str) -> tuple[Tensor, Tensor]:
    """``top_k`` of the whole ``axis`` (moved last): descending as is, ascending on ``-x``
    (TF's lowering, so equal entries keep their order of position)."""
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"{direction} should be either ASCENDING or DESCENDING")
    x = _t(values)
    if x.aval.shape is None:
        raise NotImplementedError(f"tf.{label} needs values of known rank")
    _require("iuf", x, param="input")
    ax = int(axis) % max(x.ndim, 1)
    n = x.aval.shape[ax]  # None: topk_indices' whole-axis form (-1), sized at run time
    perm = tuple(j for j in range(x.ndim) if j != ax) + (ax,)
    back = tuple(int(np.argsort(perm)[j]) for j in range(x.ndim))
    with composite(name, label, x):  # TF's nodes: Neg, TopKV2, Neg_1
        t = x if ax == x.ndim - 1 else ops.permute(x, perm)
        k = -1 if n is None else n
        if direction == "ASCENDING":
            v, i = _top_k(ops.neg(t), k)
            v = ops.neg(v)
        else:
            v, i = _top_k(t, k)
        if ax != x.ndim - 1:
            v, i = ops.permute(v, back), ops.permute(i, back)
        return v, i


def sort(values: Any, axis: int = -1, direction: str = "ASCENDING",
         name: str | None = None) -> Tensor:
    """``values`` sorted along ``axis``."""
    return _sorted(values, axis, direction, name, "sort")[0]


def argsort(values: Any, axis: int = -1, direction: str = "ASCENDING", stable: bool = False,
            name: str | None = None) -> Tensor:
    """The positions that sort ``values`` along ``axis`` (int32; equal entries by position,
    which is also ``stable=True``'s order)."""
    return _sorted(values, axis, direction, name, "argsort")[1]


__all__ = ["TopKV2", "top_k", "l2_normalize", "sort", "argsort"]

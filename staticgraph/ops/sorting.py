"""Sorting ops: ``topk_indices`` (the positions of the ``k`` largest entries along the last
dim, TF's ``TopKV2`` order: largest first, ties by lower position). ``k=-1`` orders the whole
dim, whose size may be unknown when a graph is built (``tf.sort`` of a ``None`` axis).

Only the positions are an op; the values are ``gather(x, indices, -1)``, so their gradient is the
``gather`` rule (a ``scatter_add`` into zeros) and no second kernel is needed. The positions
have no gradient (integers), as in TF.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, bind, register


def topk_indices(x, k: int, dtype: str = "int32"):
    """Positions (``dtype``) of the ``k`` largest entries of ``x`` along its last dim (all of
    them, in order, with ``k=-1``)."""
    return bind(TOPK_INDICES, x, k=int(k), dtype=str(dtype))


def _topk_kernel(x: np.ndarray, k: int, dtype: str) -> np.ndarray:
    n = x.shape[-1]
    k = n if k == -1 else k
    if n < k:
        raise ValueError(f"input must have at least k columns. Had {n}, needed {k}")
    # a stable ascending sort of the reversed row, reversed again: descending values, and among
    # equal values the lower position first (TF's order)
    asc = np.argsort(x[..., ::-1], axis=-1, kind="stable")
    order = (n - 1) - asc[..., ::-1]
    return np.ascontiguousarray(order[..., :k]).astype(dtype)


def _topk_infer(x: AVal, k: int, dtype: str) -> tuple:
    if x.ndim < 1:
        raise ValueError(f"Shape must be at least rank 1 but is rank {x.ndim}")
    if k < -1:
        raise ValueError(f"Need k >= 0, got {k}")
    n = x.shape[-1]
    if k == -1:
        return tuple(x.shape), np.dtype(dtype)
    if n is not None and n < k:
        raise ValueError(f"input must have last dimension >= k = {k} but is {n}")
    if x.dtype.kind not in "iuf":
        raise ValueError(f"top_k needs a real-number input, got {x.dtype}")
    return tuple(x.shape[:-1]) + (k,), np.dtype(dtype)


TOPK_INDICES = register(Op(name="topk_indices", impl=_topk_kernel, infer=_topk_infer, vjp=None,
                           kind="index", nin=1, tf_name="TopKV2", fresh_output=True))

"""Sorting ops: ``topk_indices`` (the positions of the ``k`` first entries along one axis, in
sorted order). ``k=-1`` orders the whole axis, whose size may be unknown when a graph is built
(``tf.sort`` of a ``None`` axis).

Two orders, one record, told apart by ``nan_order``:

* ``"tf"``: TF's ``TopKV2`` (``tf.math.top_k``, and ``tf.sort``/``tf.argsort``, which TF lowers
  to it, ascending on ``-x``): largest first, equal entries by lower position; a row holding
  NaN gets the positions TF's CPU kernel gives for the whole row, which depend on where the
  NaN stand (:mod:`.tf_topk_order`; ``k`` below the row length: the first ``k`` of them).
* ``"largest"``: PyTorch's ``sort``/``argsort``/``topk``: NaN is larger than every number, so
  last ascending and first descending (``largest=False`` gives the ascending order); equal
  entries by lower position (a stable sort).

Only the positions are an op; the values are ``gather(x, indices, axis)``, so their gradient is
the ``gather`` rule (a ``scatter_add`` into zeros) and no second kernel is needed. The positions
have no gradient (integers), as in TF and PyTorch.
"""

from __future__ import annotations

import numpy as np

from .core import AVal, Op, bind, register
from .tf_topk_order import tf_topk_row

NAN_ORDERS = ("tf", "largest")


def topk_indices(x, k: int, dtype: str = "int32", *, largest: bool = True,
                 nan_order: str = "tf", axis: int = -1):
    """Positions (``dtype``) of the ``k`` largest (``largest=False``: smallest) entries of ``x``
    along ``axis`` (all of them, in order, with ``k=-1``), NaN placed by ``nan_order``."""
    if nan_order not in NAN_ORDERS:
        raise ValueError(f"topk_indices: nan_order must be one of {NAN_ORDERS}, got "
                         f"{nan_order!r}")
    return bind(TOPK_INDICES, x, k=int(k), dtype=str(dtype), largest=bool(largest),
                nan_order=nan_order, axis=int(axis))


def _stable_order(x: np.ndarray, largest: bool) -> np.ndarray:
    """The stable order along the last axis: ascending (NaN last, numpy's order), or the stable
    ascending order of the reversed rows, reversed (descending, equal entries by lower
    position, NaN first; ``argsort(-x)`` would wrap unsigned ints and fail on booleans)."""
    if not largest:
        return np.argsort(x, axis=-1, kind="stable")
    n = x.shape[-1]
    return (n - 1) - np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1]


def _topk_kernel(x: np.ndarray, k: int, dtype: str, largest: bool = True,
                 nan_order: str = "tf", axis: int = -1) -> np.ndarray:
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    k = n if k == -1 else k
    if n < k:
        raise ValueError(f"input must have at least k columns. Had {n}, needed {k}")
    order = _stable_order(x, largest)[..., :k]
    if nan_order == "tf" and x.dtype.kind == "f" and k:
        rows = x.reshape(-1, n)
        flat = order.reshape(-1, k)
        for r in np.flatnonzero(np.isnan(rows).any(axis=1)):
            flat[r] = tf_topk_row(rows[r], k)
        order = flat.reshape(order.shape)
    return np.ascontiguousarray(np.moveaxis(order, -1, axis)).astype(dtype)


def _topk_infer(x: AVal, k: int, dtype: str, largest: bool = True, nan_order: str = "tf",
                axis: int = -1) -> tuple:
    if x.ndim < 1:
        raise ValueError(f"Shape must be at least rank 1 but is rank {x.ndim}")
    if k < -1:
        raise ValueError(f"Need k >= 0, got {k}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for rank {x.ndim}")
    ax = axis % x.ndim
    n = x.shape[ax]
    if k == -1:
        return tuple(x.shape), np.dtype(dtype)
    if n is not None and n < k:
        raise ValueError(f"input must have last dimension >= k = {k} but is {n}")
    if nan_order == "tf" and x.dtype.kind not in "iuf":
        raise ValueError(f"top_k needs a real-number input, got {x.dtype}")
    return tuple(x.shape[:ax]) + (k,) + tuple(x.shape[ax + 1:]), np.dtype(dtype)


TOPK_INDICES = register(Op(name="topk_indices", impl=_topk_kernel, infer=_topk_infer, vjp=None,
                           kind="index", nin=1, tf_name="TopKV2", fresh_output=True))

"""Order statistics and running extremes of ``Tensor``: ``cummax``/``cummin``,
``logcumsumexp``, ``kthvalue``, ``median`` and ``nanmedian`` (``unfold``: ``_torch_strided``).

The positions are found on the numpy data (PyTorch's tie and NaN rules); the values are a
``gather`` of them, so the gradient goes to the chosen elements, under PyTorch's ``grad_fn``
names (``CummaxBackward0``, ``KthvalueBackward0``, ``MedianBackward1``...).
"""

from __future__ import annotations

import numpy as np

from staticgraph import ops

from ._return_types import _return_type
from ._tensor import make
from ._torch_methods import _dim, one_node
from .autograd.graph import renamed

__all__ = ["OrderMethods"]

_Cummax, _Cummin, _Kth, _Median = (_return_type(n) for n in
                                    ("cummax", "cummin", "kthvalue", "median"))




def _running(d: np.ndarray, axis: int, better) -> np.ndarray:
    """PyTorch's running-extreme positions: a NaN, or an element ``better`` than or equal to
    the current one (so the last of equal values), takes over; a NaN stays."""
    x = np.moveaxis(d, axis, -1)
    idx = np.zeros(x.shape, np.int64)
    cur = x[..., 0].copy() if x.shape[-1] else x[..., :0]
    at = np.zeros(cur.shape, np.int64)
    for i in range(x.shape[-1]):
        v = x[..., i]
        take = np.isnan(v) | (~np.isnan(cur) & better(v, cur))
        cur = np.where(take, v, cur)
        at = np.where(take, i, at)
        idx[..., i] = at
    return np.moveaxis(idx, -1, axis)


def _select(self, d: int, pos: np.ndarray, keepdim: bool, name: str):
    """``self``'s elements at ``pos`` (positions along ``d``, kept dim of size 1)."""
    vals = renamed(ops.gather(self, make(pos), d), name)
    idx = make(pos)
    if not keepdim:
        vals = renamed(ops.squeeze(vals, d), name)
        idx = make(np.squeeze(pos, d))
    return vals, idx


class OrderMethods:
    """Running extremes and order statistics (attached to ``Tensor``)."""

    def cummax(self, dim):
        if self.dim() == 0:
            return _Cummax(self.clone(), make(np.zeros((), np.int64)))
        d = _dim(dim, self.dim())
        pos = _running(self._data, d, np.greater_equal)
        return _Cummax(renamed(ops.gather(self, make(pos), d), "CummaxBackward0"), make(pos))

    def cummin(self, dim):
        if self.dim() == 0:
            return _Cummin(self.clone(), make(np.zeros((), np.int64)))
        d = _dim(dim, self.dim())
        pos = _running(self._data, d, np.less_equal)
        return _Cummin(renamed(ops.gather(self, make(pos), d), "CumminBackward0"), make(pos))

    def logcumsumexp(self, dim):
        """``log(cumsum(exp(x)))`` along ``dim``, shifted by the dim's largest finite value."""
        d = _dim(dim, self.dim())
        m = np.max(np.where(np.isfinite(self._data), self._data, -np.inf), axis=d,
                   keepdims=True) if self._data.size else np.zeros(())
        shift = np.where(np.isfinite(m), m, 0).astype(self._data.dtype)

        def body(x):
            return ops.add(ops.log(ops.cumsum(ops.exp(ops.sub(x, shift)), d)), shift)
        return one_node("LogcumsumexpBackward0", body, (self,))

    def kthvalue(self, k, dim=-1, keepdim=False):
        d = _dim(dim, self.dim())
        n = self._data.shape[d] if self.dim() else 1
        if not 1 <= k <= n:
            raise IndexError(f"kthvalue(): selected number k out of range for dimension {d}")
        src = self._data if self.dim() else self._data.reshape(1)
        order = np.argsort(np.where(np.isnan(src), np.inf, src), axis=d, kind="stable")  # NaN last
        pos = np.take(order, [k - 1], axis=d)
        if not self.dim():
            return _Kth(renamed(ops.reshape(self, ()), "KthvalueBackward0"),
                        make(np.zeros((), np.int64)))
        return _Kth(*_select(self, d, pos, keepdim, "KthvalueBackward0"))

    def median(self, dim=None, keepdim=False):
        """The lower median (NaN if any is NaN); with ``dim`` also its position."""
        if dim is None:
            flat = self._data.reshape(-1)
            if not flat.size:
                return make(np.asarray(np.nan, flat.dtype))
            nan = np.flatnonzero(np.isnan(flat))
            i = int(nan[0]) if nan.size else int(np.argsort(flat, kind="stable")[
                (flat.size - 1) // 2])
            return renamed(ops.getitem(ops.reshape(self, (-1,)), (i,)), "MedianBackward0")
        return self._median_dim(dim, keepdim, nan_first=True)

    def nanmedian(self, dim=None, keepdim=False):
        """The lower median of the non-NaN values (NaN where all are NaN)."""
        if dim is None:
            flat = self._data.reshape(-1)
            ok = np.flatnonzero(~np.isnan(flat))
            if not ok.size:
                return renamed(ops.getitem(ops.reshape(self, (-1,)), (0,)), "NanmedianBackward0") \
                    if flat.size else make(np.asarray(np.nan, flat.dtype))
            i = int(ok[np.argsort(flat[ok], kind="stable")[(ok.size - 1) // 2]])
            return renamed(ops.getitem(ops.reshape(self, (-1,)), (i,)), "NanmedianBackward0")
        return self._median_dim(dim, keepdim, nan_first=False)

    def _median_dim(self, dim, keepdim, nan_first):
        d = _dim(dim, self.dim())
        if not self.dim():
            name = "MedianBackward1" if nan_first else "NanmedianBackward1"
            return _Median(renamed(ops.reshape(self, ()), name), make(np.zeros((), np.int64)))
        src = self._data
        nan = np.isnan(src)
        order = np.argsort(np.where(nan, np.inf, src), axis=d, kind="stable")
        kept = tuple(1 if i == d else s for i, s in enumerate(src.shape))
        cnt = np.full(kept, src.shape[d]) if nan_first else \
            src.shape[d] - nan.sum(axis=d, keepdims=True)
        k = np.maximum((cnt - 1) // 2, 0)
        pos = np.take_along_axis(order, k, d)
        if nan_first and nan.any():  # a slice holding NaN: its first NaN
            first_nan = np.expand_dims(np.argmax(nan, axis=d), d)
            pos = np.where(np.expand_dims(nan.any(axis=d), d), first_nan, pos)
        name = "MedianBackward1" if nan_first else "NanmedianBackward1"
        return _Median(*_select(self, d, pos.astype(np.int64), keepdim, name))

"""The ``indices`` a max pool returns with ``return_indices=True``: for each output entry, the
flat position (over the input's spatial dims, per sample and channel) of its window's maximum,
the first one on ties and a NaN wherever there is one, as PyTorch's CPU kernels pick."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np


def max_indices(x: np.ndarray, kernel: Sequence[int], stride: Sequence[int],
                pads: Sequence[tuple[int, int]], dilation: Sequence[int],
                out: Sequence[int]) -> np.ndarray:
    """int64 indices, shaped as the pool's output, of a channels-first ``x`` (batched or not)
    padded by ``pads`` (``(before, after)`` per spatial dim, never chosen)."""
    nd = len(kernel)
    spatial = x.shape[-nd:]
    lead = x.shape[:-nd]
    where = np.arange(int(np.prod(spatial)), dtype=np.int64).reshape(spatial)
    width = [(0, 0)] * len(lead) + list(pads)
    xp = np.pad(x.astype(np.float64), width, constant_values=-np.inf)
    ip = np.pad(where, list(pads), constant_values=-1)
    best = np.full(lead + tuple(out), -np.inf)
    idx = np.full(lead + tuple(out), -1, np.int64)
    for tap in itertools.product(*(range(k) for k in kernel)):
        sl = tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                   for t, d, o, s in zip(tap, dilation, out, stride, strict=True))
        v = xp[(Ellipsis,) + sl]
        take = (v > best) | (np.isnan(v) & ~np.isnan(best))
        best = np.where(take, v, best)
        idx = np.where(take, ip[sl], idx)
    return idx


def adaptive_max_indices(x: np.ndarray, out: Sequence[int]) -> np.ndarray:
    """int64 indices of ``adaptive_max_pool2d``'s maxima over PyTorch's adaptive windows."""
    h, w = x.shape[-2:]
    oh, ow = out
    idx = np.empty(x.shape[:-2] + (oh, ow), np.int64)
    for i in range(oh):
        h0, h1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        for j in range(ow):
            w0, w1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            win = x[..., h0:h1, w0:w1].reshape(x.shape[:-2] + (-1,))
            k = np.argmax(win, -1)
            idx[..., i, j] = (h0 + k // (w1 - w0)) * w + w0 + k % (w1 - w0)
    return idx

"""``F.interpolate``'s ``bicubic`` (4-D input, both ``align_corners``) and ``area`` (any of 3-,
4-, 5-D input: PyTorch's ``adaptive_avg_pool{1,2,3}d`` to the output size) modes; called by
``resample.interpolate`` once it has the output size and scales.

Bicubic is PyTorch's ``upsample_bicubic2d``: source coordinate ``scale * (i + 0.5) - 0.5``
(not clamped at 0) or ``i * (in - 1) / (out - 1)`` with ``align_corners``, Keys' cubic
convolution with ``A = -0.75`` over the four neighbours ``floor(x) - 1 .. floor(x) + 2``, indices
clamped to the edge; weights computed in the input's float precision. It is separable: gathers
and weighted sums along W then H, recorded as one node ``UpsampleBicubic2DBackward0`` whose
gradient is the registry's scatter-add.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph import ops

from .._tensor import Tensor
from .._torch_methods import one_node
from .adaptive_pooling import adaptive_avg_pool1d
from .pooling import adaptive_avg_pool2d

_A = -0.75


def _cubic_weights(t: np.ndarray, dt: np.dtype) -> list[np.ndarray]:
    """Keys' four weights for fractional offsets ``t`` (PyTorch's
    ``get_cubic_upsample_coefficients``)."""
    a = dt.type(_A)
    one = dt.type(1)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + one

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [far(t + one), near(t), near(one - t), far(one - t + one)]


def _cubic_source(out_n: int, in_n: int, scale: float | None, align: bool,
                  dt: np.dtype) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per output position: the four clamped source indices and their weights."""
    i = np.arange(out_n, dtype=dt)
    if align:
        s = dt.type((in_n - 1) / (out_n - 1) if out_n > 1 else 0.0)
        src = i * s
    else:
        s = dt.type(in_n / out_n if scale is None else 1.0 / scale)
        src = s * (i + dt.type(0.5)) - dt.type(0.5)
    base = np.floor(src)
    t = (src - base).astype(dt)
    base = base.astype(np.int64)
    idx = [np.clip(base - 1 + k, 0, in_n - 1) for k in range(4)]
    return idx, [w.astype(dt) for w in _cubic_weights(t, dt)]


def _along(x: Any, axis: int, idx: list[np.ndarray], wts: list[np.ndarray]) -> Any:
    post = (slice(None),) * (-axis - 1)
    shape = (-1,) + (1,) * (-axis - 1)
    out = None
    for i, w in zip(idx, wts, strict=True):
        term = ops.mul(ops.getitem(x, (Ellipsis, i) + post), w.reshape(shape))
        out = term if out is None else ops.add(out, term)
    return out


def bicubic(x: Tensor, out_sz: tuple, scales: tuple, align_corners: bool | None) -> Tensor:
    if x.dim() != 4:
        raise NotImplementedError(f"Got {x.dim()}D input, but bicubic mode needs 4D input")
    dt = x._data.dtype
    in_sz = tuple(x.shape[2:])
    srcs = [_cubic_source(o, i, s, bool(align_corners), dt)
            for o, i, s in zip(out_sz, in_sz, scales, strict=True)]

    def body(t):
        t = _along(t, -1, *srcs[1])
        return _along(t, -2, *srcs[0])
    return one_node("UpsampleBicubic2DBackward0", body, (x,), ())


def _window_matrix(out_n: int, in_n: int, dt: np.dtype) -> np.ndarray:
    """``(out, in)``: row ``i`` averages PyTorch's adaptive window
    ``[floor(i n / o), ceil((i + 1) n / o))``."""
    m = np.zeros((out_n, in_n), dt)
    for i in range(out_n):
        lo, hi = (i * in_n) // out_n, -(-((i + 1) * in_n) // out_n)
        m[i, lo:hi] = dt.type(1) / dt.type(hi - lo)
    return m


def area(x: Tensor, out_sz: tuple, scales: tuple, align_corners: bool | None) -> Tensor:
    """``adaptive_avg_pool{1,2,3}d(x, out_sz)``, PyTorch's ``area`` mode."""
    nd = x.dim() - 2
    if nd == 1:
        return adaptive_avg_pool1d(x, out_sz)
    if nd == 2:
        return adaptive_avg_pool2d(x, out_sz)
    dt = x._data.dtype
    mats = [_window_matrix(o, i, dt) for o, i in zip(out_sz, x.shape[2:], strict=True)]

    def body(t):  # the window means, one dim at a time (separable), the last dim first
        for k in reversed(range(nd)):
            axis = k + 2
            perm = tuple(i for i in range(t.dim()) if i != axis) + (axis,)
            moved = ops.matmul(ops.permute(t, perm), mats[k].T)
            t = ops.permute(moved, tuple(int(i) for i in np.argsort(perm)))
        return t
    return one_node("AdaptiveAvgPool3DBackward0", body, (x,), ())


MODES = {"bicubic": bicubic, "area": area}

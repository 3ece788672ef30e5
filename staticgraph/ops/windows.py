"""The sliding-window core shared by TF1's ``tf.nn.conv2d``/``max_pool``/``avg_pool`` (NHWC,
``staticgraph/conv_ops.py``) and PyTorch's ``F.conv2d``/``max_pool2d``/``avg_pool2d`` (NCHW,
``dynamic/nn/conv.py``, which permutes to NHWC and back).

Everything here is built from registry ops only (``getitem``, ``cat``, ``matmul``, ``add``,
``where``), so it runs on graph tensors and on eager tensors alike, is exact (no FFT, no
reassociation beyond the tap sum), differentiable through the ops' own VJPs and compilable.
Each kernel tap is one strided slice of the padded input; a convolution multiplies it by that
tap's ``(in, out)`` filter matrix and sums over the taps. The callers work out the padding
(TF's SAME/VALID rule, or PyTorch's explicit / 'same' / ceil-mode padding) and the output
size, so this module holds no framework's conventions.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import ops  # the package is complete before anything imports this module

_slice = builtins.slice


def pad_axis(x: Any, rank: int, dtype: Any, axis: int, before: int, after: int,
             fill: float) -> Any:
    """``x`` with ``before``/``after`` entries of ``fill`` around it along ``axis``.

    A pad block is a zero row of ``x`` (``x[..., 0:1, ...]``, so it keeps the batch dim
    whatever it is) broadcast against a constant of ``n`` fills along ``axis``: any width, even
    wider than ``x`` (a slice ``0:n`` of ``x`` would come out short), and no gradient flows
    into it. An empty ``axis`` gives empty blocks (the output is empty along it too)."""
    if not (before or after):
        return x
    row = ops.zeros_like(ops.getitem(x, (_slice(None),) * axis + (_slice(0, 1),)))
    parts = []
    for n in (before, after):
        if n:
            shape = (1,) * axis + (n,) + (1,) * (rank - axis - 1)
            parts.append(ops.add(row, np.full(shape, fill, dtype)))
    pieces = ([parts[0]] if before else []) + [x] + ([parts[-1]] if after else [])
    return ops.cat(pieces, axis)


def pad_hw(x: Any, dtype: Any, pads: tuple[int, int, int, int], fill: float) -> Any:
    """An NHWC ``x`` padded by ``(top, bottom, left, right)`` entries of ``fill``."""
    top, bottom, left, right = pads
    return pad_axis(pad_axis(x, 4, dtype, 1, top, bottom, fill), 4, dtype, 2, left, right, fill)


def taps(xp: Any, kernel: tuple[int, int], stride: tuple[int, int],
         out: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> Iterator[tuple]:
    """``(i, j, patch)`` per kernel tap of an already padded NHWC ``xp``: ``patch[n, y, x, c]``
    is ``xp[n, y*sh + i*dh, x*sw + j*dw, c]`` for the ``out`` output positions."""
    (kh, kw), (sh, sw), (oh, ow), (dh, dw) = kernel, stride, out, dilation
    for i in range(kh):
        for j in range(kw):
            idx = (_slice(None), _slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                   _slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))
            yield i, j, ops.getitem(xp, idx)


def conv_sum(xp: Any, w_hwio: Any, kernel: tuple[int, int], stride: tuple[int, int],
             out: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> Any:
    """Cross-correlation of a padded NHWC ``xp`` with a ``[kh, kw, in, out]`` filter:
    the sum over taps of ``patch @ w[i, j]`` (NHWC result)."""
    acc = None
    for i, j, patch in taps(xp, kernel, stride, out, dilation):
        term = ops.matmul(patch, ops.getitem(w_hwio, (i, j)))
        acc = term if acc is None else ops.add(acc, term)
    return acc


def max_over(xp: Any, kernel: tuple[int, int], stride: tuple[int, int], out: tuple[int, int],
             dilation: tuple[int, int] = (1, 1)) -> Any:
    """The maximum over each window of a padded NHWC ``xp`` (pad with ``-inf``).

    The gradient goes to one element per window, as in TF and PyTorch: the first maximum in
    row-major window order, or the last NaN (PyTorch's ``val > max || isnan(val)``), never
    split among ties as ``maximum``'s gradient is."""
    acc = None
    for _i, _j, patch in taps(xp, kernel, stride, out, dilation):
        if acc is None:
            acc = patch
            continue
        take = ops.logical_or(ops.gt(patch, acc), ops.ne(patch, patch))
        acc = ops.where(take, patch, acc)
    return acc


def window_sum(xp: Any, kernel: tuple[int, int], stride: tuple[int, int],
               out: tuple[int, int]) -> Any:
    """The sum over each window of a padded NHWC ``xp`` (for average pooling)."""
    acc = None
    for _i, _j, patch in taps(xp, kernel, stride, out):
        acc = patch if acc is None else ops.add(acc, patch)
    return acc


__all__ = ["conv_sum", "max_over", "pad_axis", "pad_hw", "taps", "window_sum"]

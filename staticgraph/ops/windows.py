"""The sliding-window core shared by TF1's ``tf.nn.conv1d/2d/3d``, ``depthwise_conv2d``,
``max_pool``/``avg_pool`` (channels last, ``staticgraph/conv_ops.py``) and PyTorch's
``F.conv1d/2d/3d``, ``conv_transpose*``, pools (channels first, ``dynamic/nn/conv.py``,
``pooling.py``, which permute to channels last and back).

Arrays here are channels-last with any number of spatial dims: ``(N, *spatial, C)``.
Everything is built from registry ops only (``getitem``, ``cat``, ``matmul``, ``add``,
``where``), so it runs on graph tensors and on eager tensors alike, is exact (no FFT, no
reassociation beyond the tap sum), differentiable through the ops' own VJPs and compilable.
Each kernel tap is one strided slice of the padded input; a convolution multiplies it by that
tap's ``(in, out)`` filter matrix (per group) and sums over the taps. The callers work out the
padding (TF's SAME/VALID rule, or PyTorch's explicit / 'same' / ceil-mode padding) and the
output size, so this module holds no framework's conventions.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .. import ops  # the package is complete before anything imports this module

_slice = builtins.slice
PAD_MODES = ("zeros", "reflect", "replicate", "circular")


def pad_axis(x: Any, rank: int, dtype: Any, axis: int, before: int, after: int,
             fill: float) -> Any:
    """``x`` with ``before``/``after`` entries of ``fill`` around it along ``axis``.

    A pad block is a zero row of ``x`` (``x[..., 0:1, ...]``, so it keeps the batch dim
    whatever it is) broadcast against a constant of ``n`` fills along ``axis``: any width, even
    wider than ``x`` (a slice ``0:n`` of ``x`` would come out short), and no gradient flows
    into it. An empty ``axis`` pads to ``before + after`` fills, as PyTorch's ``F.pad`` (its
    row is a sum of the empty ``x`` over ``axis``: a slice ``0:1`` of it is empty, which
    failed to broadcast against the fills)."""
    if not (before or after):
        return x
    if ops.aval_of(x).shape[axis] == 0:
        row = ops.sum(ops.zeros_like(x), axis, keepdim=True)
    else:
        row = ops.zeros_like(ops.getitem(x, (_slice(None),) * axis + (_slice(0, 1),)))
    parts = []
    for n in (before, after):
        if n:
            shape = (1,) * axis + (n,) + (1,) * (rank - axis - 1)
            parts.append(ops.add(row, np.full(shape, fill, dtype)))
    pieces = ([parts[0]] if before else []) + [x] + ([parts[-1]] if after else [])
    return ops.cat(pieces, axis)


def pad_axis_mode(x: Any, axis: int, size: int, before: int, after: int, mode: str) -> Any:
    """``x`` extended along ``axis`` (of length ``size``) by ``mode``: ``reflect`` (mirror
    without the edge), ``replicate`` (the edge repeated) or ``circular`` (wrap around), as
    PyTorch's ``F.pad``; the gradient flows back into the copied entries."""
    if not (before or after):
        return x

    def at(start: int, stop: int, step: int = 1) -> Any:
        return ops.getitem(x, (_slice(None),) * axis + (_slice(start, stop, step),))

    if mode == "circular":
        head, tail = [at(size - before, size)], [at(0, after)]
    elif mode == "replicate":
        head, tail = [at(0, 1)] * before, [at(size - 1, size)] * after
    elif mode == "reflect":
        head = [at(before, 0, -1)]
        stop = size - 2 - after  # -1 (a pad of size - 1) reaches entry 0: no stop then
        tail = [at(size - 2, stop if stop >= 0 else None, -1)]
    else:
        raise ValueError(f"unknown padding mode {mode!r}")
    pieces = (head if before else []) + [x] + (tail if after else [])
    return ops.cat(pieces, axis)


def pad_spatial(x: Any, dtype: Any, pads: Sequence[tuple[int, int]], fill: float = 0.0,
                mode: str = "zeros", sizes: Sequence[int] = ()) -> Any:
    """A channels-last ``x`` padded by ``(before, after)`` per spatial dim: with ``fill``
    (mode ``zeros``) or by ``mode`` (then ``sizes`` are the spatial sizes)."""
    rank = len(pads) + 2
    for d, (before, after) in enumerate(pads):
        if mode == "zeros":
            x = pad_axis(x, rank, dtype, d + 1, before, after, fill)
        else:
            x = pad_axis_mode(x, d + 1, sizes[d], before, after, mode)
    return x


def pad_hw(x: Any, dtype: Any, pads: tuple[int, int, int, int], fill: float) -> Any:
    """An NHWC ``x`` padded by ``(top, bottom, left, right)`` entries of ``fill``."""
    top, bottom, left, right = pads
    return pad_spatial(x, dtype, ((top, bottom), (left, right)), fill)


def dilate(x: Any, dtype: Any, strides: Sequence[int], sizes: Sequence[int]) -> Any:
    """A channels-last ``x`` with ``s - 1`` zeros between neighbours along each spatial dim
    (the input of a transposed convolution): each dim of size ``n`` becomes ``(n-1)*s + 1``."""
    for d, (s, n) in enumerate(zip(strides, sizes, strict=True)):
        if s == 1 or n == 0:
            continue
        axis = d + 1
        zero = ops.zeros_like(x)
        shape = [-1 if a is None else a for a in _shape(x)]
        parts = ops.stack([x] + [zero] * (s - 1), axis + 1)
        shape[axis] = n * s
        flat = ops.reshape(parts, tuple(shape))
        x = ops.getitem(flat, (_slice(None),) * axis + (_slice(0, (n - 1) * s + 1),))
    return x


def _shape(x: Any) -> tuple:
    aval = getattr(x, "aval", None)
    return tuple(aval.shape) if aval is not None else tuple(x.shape)


def taps(xp: Any, kernel: Sequence[int], stride: Sequence[int], out: Sequence[int],
         dilation: Sequence[int] | None = None) -> Iterator[tuple]:
    """``(tap, patch)`` per kernel tap (row-major) of an already padded channels-last ``xp``:
    ``patch[n, *o, c]`` is ``xp[n, *(o*s + tap*d), c]`` for the ``out`` output positions."""
    dilation = dilation or (1,) * len(kernel)
    for tap in itertools.product(*(range(k) for k in kernel)):
        idx = (_slice(None),) + tuple(
            _slice(t * d, t * d + s * (o - 1) + 1, s)
            for t, s, o, d in zip(tap, stride, out, dilation, strict=True))
        yield tap, ops.getitem(xp, idx)


def conv_sum(xp: Any, w: Any, kernel: Sequence[int], stride: Sequence[int],
             out: Sequence[int], dilation: Sequence[int] | None = None, groups: int = 1) -> Any:
    """Cross-correlation of a padded channels-last ``xp`` with a ``[*kernel, in/groups, out]``
    filter: the sum over taps of ``patch @ w[tap]``, per group (channels-last result). With
    groups, each tap is one batched matmul of ``(..., G, 1, in/G)`` by ``(G, in/G, out/G)``."""
    if groups > 1:
        shape = _shape(w)
        cin, cout = shape[-2] * groups, shape[-1]
        wg = ops.reshape(w, tuple(kernel) + (shape[-2], groups, cout // groups))
        wg = ops.permute(wg, tuple(range(len(kernel))) + tuple(
            len(kernel) + i for i in (1, 0, 2)))
        lead = (-1,) + tuple(out)
    acc = None
    for tap, patch in taps(xp, kernel, stride, out, dilation):
        if groups > 1:
            p = ops.reshape(patch, lead + (groups, 1, cin // groups))
            term = ops.reshape(ops.matmul(p, ops.getitem(wg, tap)), lead + (cout,))
        else:
            term = ops.matmul(patch, ops.getitem(w, tap))
        acc = term if acc is None else ops.add(acc, term)
    return acc


def max_over(xp: Any, kernel: Sequence[int], stride: Sequence[int], out: Sequence[int],
             dilation: Sequence[int] | None = None) -> Any:
    """The maximum over each window of a padded channels-last ``xp`` (pad with ``-inf``).

    The gradient goes to one element per window, as in TF and PyTorch: the first maximum in
    row-major window order, or the last NaN (PyTorch's ``val > max || isnan(val)``), never
    split among ties as ``maximum``'s gradient is."""
    acc = None
    for _tap, patch in taps(xp, kernel, stride, out, dilation):
        if acc is None:
            acc = patch
            continue
        take = ops.logical_or(ops.gt(patch, acc), ops.ne(patch, patch))
        acc = ops.where(take, patch, acc)
    return acc


def window_sum(xp: Any, kernel: Sequence[int], stride: Sequence[int],
               out: Sequence[int]) -> Any:
    """The sum over each window of a padded channels-last ``xp`` (for average pooling)."""
    acc = None
    for _tap, patch in taps(xp, kernel, stride, out):
        acc = patch if acc is None else ops.add(acc, patch)
    return acc


__all__ = ["PAD_MODES", "conv_sum", "dilate", "max_over", "pad_axis", "pad_axis_mode",
           "pad_hw", "pad_spatial", "taps", "window_sum"]

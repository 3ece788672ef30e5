"""``F.pad`` (modes constant, reflect, replicate, circular) with PyTorch's checks, error texts
and node names (``ConstantPadNdBackward0``, ``ReflectionPad2DBackward0``...; circular: PyTorch's
chain of ``CopySlices``), over the window core's per-axis padding (``staticgraph/ops/windows.py``).
A convolution's ``padding_mode`` is this ``F.pad`` below the ``ConvolutionBackward0`` node, as in
PyTorch."""

from __future__ import annotations

from typing import Any

from staticgraph import ops
from staticgraph.ops import windows as window_ops

from .._creation import zeros
from .._tensor import Tensor, to_tensor
from ..autograd import composite

_MODES = ("constant", "reflect", "replicate", "circular")
_NODE = {"reflect": "ReflectionPad{}DBackward0", "replicate": "ReplicationPad{}DBackward0"}
_COMBINATIONS = ("Supported combinations for non-constant padding:\n"
                 "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                 "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                 "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _check(x: Tensor, pad: tuple, mode: str, value: Any) -> None:
    for i, p in enumerate(pad):
        if not isinstance(p, int) or isinstance(p, bool):
            raise TypeError("pad(): argument 'pad' (position 2) must be tuple of ints, but found "
                            f"element of type {type(p).__name__} at pos {i}")
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > x.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{x.dim()}")
    if mode == "constant":
        return
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    n = len(pad) // 2
    if n not in (1, 2, 3) or x.dim() not in (n + 1, n + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {x.dim()}D "
                                  f"input tensor.\n{_COMBINATIONS}")
    for j in range(n):  # the last dim first, as PyTorch checks
        before, after = pad[2 * j], pad[2 * j + 1]
        axis = x.dim() - 1 - j
        size = x.shape[axis]
        if mode == "reflect" and (before >= size or after >= size):
            raise RuntimeError(f"Argument #{2 * j + 4}: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({before}, "
                               f"{after}) at dimension {axis} of input {list(x.shape)}")
        if mode == "circular" and (before > size or after > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")


def _padded(x: Tensor, pad: tuple, mode: str, value: float) -> Tensor:
    """``x`` padded by registry ops, the last dim first; negative widths crop."""
    rank = x.dim()
    for j in range(len(pad) // 2):
        before, after = pad[2 * j], pad[2 * j + 1]
        axis = rank - 1 - j
        if before < 0 or after < 0:
            size = x.shape[axis]
            crop = slice(max(-before, 0), size - max(-after, 0))
            x = ops.getitem(x, (slice(None),) * axis + (crop,))
            before, after = max(before, 0), max(after, 0)
        if mode == "constant":
            x = window_ops.pad_axis(x, rank, x._data.dtype, axis, before, after, value)
        else:
            x = window_ops.pad_axis_mode(x, axis, x.shape[axis], before, after, mode)
    return x


def _circular(x: Tensor, pad: tuple) -> Tensor:
    """PyTorch's circular padding, copy for copy (``aten/src/ATen/native/PadNd.cpp``): the
    (cropped) input copied into an empty result, then per padded dim, last first, the left
    border copied from the right end and the right border from the left end. Each copy is an
    in-place slice assignment, so the history is PyTorch's chain of ``CopySlices`` nodes over
    ``SliceBackward0`` ones."""
    nd, rank = len(pad) // 2, x.dim()
    size = list(x.shape)
    for i in range(nd):
        size[rank - 1 - i] += pad[2 * i] + pad[2 * i + 1]
    out = zeros(*size, dtype=x.dtype)
    dst: list = [slice(None)] * rank
    src = x
    for i in range(nd):
        dim, left, right = rank - 1 - i, pad[2 * i], pad[2 * i + 1]
        dst[dim] = slice(max(left, 0), size[dim] - max(right, 0))
        lo = max(-left, 0)  # (narrow: PyTorch's SliceBackward0 even for a whole dim)
        src = src.narrow(dim, lo, x.shape[dim] - max(-right, 0) - lo)
    out[tuple(dst)] = src
    for i in range(nd):
        dim, left, right = rank - 1 - i, pad[2 * i], pad[2 * i + 1]
        pre, n = (slice(None),) * dim, size[dim]
        if left > 0:
            out[pre + (slice(0, left),)] = out.narrow(dim, n - left - max(right, 0), left)
        if right > 0:
            out[pre + (slice(n - right, n),)] = out.narrow(dim, max(left, 0), right)
    return out


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:  # noqa: A002
    """PyTorch's ``F.pad``: ``pad`` is ``(last_before, last_after, prev_before, ...)``;
    constant widths may be negative (a crop)."""
    x = to_tensor(input)
    pad = tuple(pad)
    _check(x, pad, mode, value)
    if mode == "circular":
        return _circular(x, pad)
    seq0 = composite.start()
    y = _padded(x, pad, mode, 0.0 if value is None else float(value))
    name = "ConstantPadNdBackward0" if mode == "constant" else \
        _NODE[mode].format(len(pad) // 2)

    def replay(xi: Tensor) -> Tensor:
        return _padded(xi, pad, mode, 0.0 if value is None else float(value))

    return composite.wrap(y, name, (x,), seq0, replay, () if mode == "constant" else None)


def mode_pad_first(x: Tensor, pads: tuple, mode: str) -> Tensor:
    """A channels-first ``x`` padded by ``pads`` (``(before, after)`` per spatial dim, first
    dim first) in a convolution's ``padding_mode`` (PyTorch: ``F.pad``)."""
    flat: list[int] = []
    for before, after in reversed(pads):
        flat += [before, after]
    return pad(x, tuple(flat), mode)


__all__ = ["pad"]

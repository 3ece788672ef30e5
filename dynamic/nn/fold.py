"""``F.fold`` / ``nn.Fold`` (col2im): the inverse layout of ``F.unfold`` -- columns of sliding
blocks ``(N, C kh kw, L)`` summed back into an image ``(N, C, H, W)``, overlapping blocks adding
up, padding cropped. One node of PyTorch's name (``Col2ImBackward0``): a ``scatter_add`` of the
columns into the padded image, whose gradient is the gather ``F.unfold`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph import ops

from .._tensor import Tensor, make, to_tensor
from .._torch_methods import one_node
from .modules import Module


def _pair(v: Any, what: str) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise RuntimeError(f"fold: {what} must be an int or a pair of ints, got {tuple(v)}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1,  # noqa: A002
         padding: Any = 0, stride: Any = 1) -> Tensor:
    """col2im: ``(N, C kh kw, L)`` (or unbatched ``(C kh kw, L)``) to ``(N, C, H, W)``."""
    x = to_tensor(input)
    if x.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(x.shape)}")
    (oh, ow), (kh, kw) = _pair(output_size, "output_size"), _pair(kernel_size, "kernel_size")
    (dh, dw), (ph, pw) = _pair(dilation, "dilation"), _pair(padding, "padding")
    sh, sw = _pair(stride, "stride")
    for what, v in (("kernel", (kh, kw)), ("stride", (sh, sw)), ("dilation", (dh, dw))):
        if min(v) <= 0:
            raise RuntimeError(f"{what} should be greater than zero, but got {what}_height: "
                               f"{v[0]} {what}_width: {v[1]}")
    cols, blocks = x.shape[-2], x.shape[-1]
    if cols % (kh * kw):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={cols} and kernel_size=({kh}, "
                           f"{kw})")
    h, w = oh + 2 * ph, ow + 2 * pw
    bh, bw = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    if bh * bw != blocks or bh < 1 or bw < 1:
        raise RuntimeError(f"Given output_size=({oh}, {ow}), kernel_size=({kh}, {kw}), "
                           f"dilation=({dh}, {dw}), padding=({ph}, {pw}), stride=({sh}, {sw}), "
                           f"expected size of input's dimension 2 to match the calculated "
                           f"number of sliding blocks {bh} * {bw} = {bh * bw}, but got "
                           f"input.size(2)={blocks}.")
    c = cols // (kh * kw)
    lead = tuple(x.shape[:-2])
    ki, kj = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
    oi, oj = np.meshgrid(np.arange(bh), np.arange(bw), indexing="ij")
    rows = ki.reshape(-1, 1) * dh + oi.reshape(1, -1) * sh
    cols_ = kj.reshape(-1, 1) * dw + oj.reshape(1, -1) * sw
    target = (rows * w + cols_).reshape(-1)  # each column entry's place in the padded image
    index = np.ascontiguousarray(np.broadcast_to(target, lead + (c, target.size)))

    def body(t):
        src = ops.reshape(t, lead + (c, kh * kw * blocks))
        img = ops.scatter_add(make(np.zeros(lead + (c, h * w), t._data.dtype)), src, index, -1)
        img = ops.reshape(img, lead + (c, h, w))
        if ph or pw:
            img = ops.getitem(img, (Ellipsis, slice(ph, ph + oh), slice(pw, pw + ow)))
        return img
    return one_node("Col2ImBackward0", body, (x,), ())


class Fold(Module):
    """``nn.Fold``: :func:`fold` with fixed sizes."""

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")

"""``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d`` and the modules ``Conv2d``, ``MaxPool2d``,
``AvgPool2d``: PyTorch's NCHW conventions (padding ints / 'same' / 'valid', dilation,
``ceil_mode``, ``count_include_pad``, its error texts) over the window core that TF1's
``tf.nn.conv2d`` uses too (``staticgraph/ops/windows.py``): the input is permuted to NHWC,
padded, reduced tap by tap with registry ops and permuted back. Exact and differentiable; the
result's ``grad_fn`` carries PyTorch's node name (``ConvolutionBackward0``...), but its
``next_functions`` are those of the last registry op (a permute or an add), not the inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from staticgraph import ops
from staticgraph.ops import windows as window_ops

from .. import _dtypes
from .._tensor import Tensor, make, to_tensor
from ..autograd.graph import renamed
from . import init
from .modules import Module, Parameter

_NHWC, _NCHW = (0, 2, 3, 1), (0, 3, 1, 2)


def _pair(v: Any, what: str) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v[0], v[0]
    if len(v) != 2:
        raise RuntimeError(f"expected {what} to be a single integer value or a list of 2 values "
                           f"to match the convolution dimensions, but got {what}={list(v)}")
    return v


def _batched(input: Tensor, what: str) -> tuple[Tensor, bool]:  # noqa: A002
    if input.dim() == 3:
        return ops.unsqueeze(input, 0), True
    if input.dim() != 4:
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to {what}, but got "
                           f"input of size: {list(input.shape)}")
    return input, False


def _finish(y_nhwc: Tensor, unbatched: bool, name: str, squeeze_last: bool = False) -> Tensor:
    """Back to NCHW, the node named as PyTorch's; an unbatched conv2d ends in PyTorch's
    ``SqueezeBackward1`` (it batches the input), an unbatched pool in the pool's node."""
    y = ops.permute(y_nhwc, _NCHW)
    if squeeze_last:
        return ops.squeeze(renamed(y, name), 0) if unbatched else renamed(y, name)
    return renamed(ops.squeeze(y, 0) if unbatched else y, name)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of ``(N, C, H, W)`` with ``weight`` ``(O, C, kh, kw)``."""
    if groups != 1:
        raise NotImplementedError("conv2d with groups != 1 is not supported by this project")
    input, weight = to_tensor(input), to_tensor(weight)  # noqa: A001
    if weight.dim() != 4:
        raise RuntimeError(f"Expected 4D weight for conv2d, got {weight.dim()}D weight of size "
                           f"{list(weight.shape)}")
    x, unbatched = _batched(input, "conv2d")
    n, c, h, w = x.shape
    o, ci, kh, kw = weight.shape
    if c != ci:
        raise RuntimeError(f"Given groups=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {ci} channels, but got {c} channels "
                           "instead")
    if bias is not None and tuple(bias.shape) != (o,):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {o} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    (sh, sw), (dh, dw) = _pair(stride, "stride"), _pair(dilation, "dilation")
    pads = _conv_pads(padding, (kh, kw), (sh, sw), (dh, dw))
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    ekh, ekw = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if ekh > hp or ekw > wp:
        raise RuntimeError(f"Calculated padded input size per channel: ({hp} x {wp}). Kernel "
                           f"size: ({ekh} x {ekw}). Kernel size can't be greater than actual "
                           "input size")
    out = ((hp - ekh) // sh + 1, (wp - ekw) // sw + 1)
    xp = window_ops.pad_hw(ops.permute(x, _NHWC), x._data.dtype, pads, 0.0)
    y = window_ops.conv_sum(xp, ops.permute(weight, (2, 3, 1, 0)), (kh, kw), (sh, sw), out,
                            (dh, dw))
    if bias is not None:
        y = ops.add(y, bias)
    return _finish(y, unbatched, "ConvolutionBackward0", squeeze_last=True)


def _conv_pads(padding: Any, k: tuple, s: tuple, d: tuple) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): 'same' puts the odd entry at the bottom/right, as PyTorch."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if s != (1, 1):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        th, tw = d[0] * (k[0] - 1), d[1] * (k[1] - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = _pair(padding, "padding")
    return ph, ph, pw, pw


def _pool_plan(x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool) -> tuple:
    """Kernel, stride, padding, dilation, output size and the ceil-mode overhang (h, w)."""
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _pair(stride, "stride")
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    for pi, ki, di in zip(p, k, d, strict=True):
        if pi > (di * (ki - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pi}, kernel_size={ki} and dilation={di}")
    c, h, w = x.shape[1:]
    out, over = [], []
    for size, ki, si, pi, di in ((h, k[0], s[0], p[0], d[0]), (w, k[1], s[1], p[1], d[1])):
        span = size + 2 * pi - di * (ki - 1) - 1
        o = (-(-span // si) if ceil_mode else span // si) + 1
        if ceil_mode and (o - 1) * si >= size + pi:
            o -= 1
        out.append(o)
        over.append(max((o - 1) * si + di * (ki - 1) + 1 - (size + 2 * pi), 0))
    if min(out) < 1:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{max(out[0], 0)}x{max(out[1], 0)}). Output size is too small")
    return k, s, p, d, tuple(out), tuple(over)


def _pool_input(input: Any) -> tuple[Tensor, bool]:  # noqa: A002
    x = to_tensor(input)
    if x.dim() not in (3, 4) or x.numel() == 0:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    return (ops.unsqueeze(x, 0), True) if x.dim() == 3 else (x, False)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum over each window (padding never wins: it is ``-inf``)."""
    if return_indices:
        raise NotImplementedError("max_pool2d(return_indices=True) is not supported by this "
                                  "project")
    x, unbatched = _pool_input(input)
    k, s, p, d, out, over = _pool_plan(x, kernel_size, stride, padding, dilation, ceil_mode)
    pads = (p[0], p[0] + over[0], p[1], p[1] + over[1])
    xp = window_ops.pad_hw(ops.permute(x, _NHWC), x._data.dtype, pads, -np.inf)
    y = window_ops.max_over(xp, k, s, out, d)
    return _finish(y, unbatched, "MaxPool2DWithIndicesBackward0")


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean over each window: divided by the window's size within the padded input
    (``count_include_pad``) or within the input, never counting the ceil-mode overhang."""
    x, unbatched = _pool_input(input)
    k, s, p, _d, out, over = _pool_plan(x, kernel_size, stride, padding, 1, ceil_mode)
    dt = x._data.dtype
    pads = (p[0], p[0] + over[0], p[1], p[1] + over[1])
    total = window_ops.window_sum(window_ops.pad_hw(ops.permute(x, _NHWC), dt, pads, 0.0),
                                  k, s, out)
    if divisor_override:
        y = ops.div(total, float(divisor_override))
    else:
        ones = make(np.ones((1,) + tuple(x.shape[2:]) + (1,), dt))
        fill = 1.0 if count_include_pad else 0.0
        counted = window_ops.pad_hw(window_ops.pad_hw(ones, dt, (p[0], p[0], p[1], p[1]), fill),
                                    dt, (0, over[0], 0, over[1]), 0.0)
        y = ops.div(total, window_ops.window_sum(counted, k, s, out))
    return _finish(y, unbatched, "AvgPool2DBackward0")


def _pair_repr(v: Any) -> Any:
    return v if isinstance(v, str) else _pair(v, "")


class Conv2d(Module):
    """``Conv2d(in, out, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True)``
    with PyTorch's initialisation (kaiming-uniform weight, uniform bias)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if groups != 1:
            raise NotImplementedError("Conv2d with groups != 1 is not supported by this project")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d(padding_mode={padding_mode!r}) is not supported "
                                      "by this project")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and _pair(stride, "stride") != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _pair(kernel_size, "kernel_size"), _pair(stride, "stride")
        self.padding, self.dilation = _pair_repr(padding), _pair(dilation, "dilation")
        self.padding_mode = padding_mode
        dt = _dtypes.to_numpy_dtype(dtype or _dtypes.float32)
        self.weight = Parameter(make(np.empty((out_channels, in_channels) + self.kernel_size, dt)))
        self.bias = Parameter(make(np.empty((out_channels,), dt))) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.padding, self.dilation = kernel_size, padding, dilation
        self.stride = stride if stride is not None else kernel_size
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = stride if stride is not None else kernel_size
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


__all__ = ["AvgPool2d", "Conv2d", "MaxPool2d", "avg_pool2d", "conv2d", "max_pool2d"]

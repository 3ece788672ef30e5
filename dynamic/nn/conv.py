"""``F.conv1d/2d/3d``, ``F.conv_transpose1d/2d/3d`` and the modules ``Conv1d/2d/3d``,
``ConvTranspose1d/2d/3d``: PyTorch's channels-first conventions (padding ints / 'same' /
'valid', dilation, groups, ``padding_mode``, ``output_padding``, its error texts in
``conv_args.py``) over the window core TF1's ``tf.nn.conv*`` uses too
(``staticgraph/ops/windows.py``): the input is permuted to channels last, padded, reduced tap by
tap with registry ops and permuted back. Exact and differentiable; the result's ``grad_fn`` is
one ``ConvolutionBackward0`` node over (input, weight, bias), as PyTorch's
(``autograd/composite.py``); a padding mode other than zeros is ``F.pad`` below it.

A transposed convolution is the convolution of the input spread out by the stride (zeros
between neighbours), padded by ``dilation*(k-1) - padding``, with the flipped kernel whose in
and out channels are swapped per group.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from staticgraph import ops
from staticgraph.ops import windows as window_ops

from .. import _dtypes
from .._tensor import Tensor, make, to_tensor
from ..autograd import composite
from . import init
from .conv_args import (
    batched,
    check_positive,
    check_weight,
    conv_pads,
    module_tuple,
    ntuple,
    out_sizes,
)
from .modules import Module, Parameter
from .padding import mode_pad_first
from .pooling import AvgPool2d, MaxPool2d, avg_pool2d, max_pool2d  # noqa: F401 - older import path


def _to_last(nd: int) -> tuple[int, ...]:
    return (0,) + tuple(range(2, nd + 2)) + (1,)


def _to_first(nd: int) -> tuple[int, ...]:
    return (0, nd + 1) + tuple(range(1, nd + 1))


def _finish(y_last: Tensor, bias: Tensor | None, nd: int, unbatched: bool, seq0: int,
            inputs: tuple, replay: Any) -> Tensor:
    """Bias, back to channels first, one ``ConvolutionBackward0`` node over ``inputs``
    (input, weight, bias); an unbatched call ends in PyTorch's ``SqueezeBackward1`` (it
    batches the input: ``UnsqueezeBackward0`` below the convolution)."""
    if bias is not None:
        y_last = ops.add(y_last, bias)
    y = composite.wrap(ops.permute(y_last, _to_first(nd)), "ConvolutionBackward0", inputs, seq0,
                       replay, (0, 1))
    return ops.squeeze(y, 0) if unbatched else y


def _conv(nd: int, input: Any, weight: Any, bias: Any, stride: Any, padding: Any,  # noqa: A002
          dilation: Any, groups: int, padding_mode: str = "zeros") -> Tensor:
    input, weight = to_tensor(input), to_tensor(weight)  # noqa: A001
    bias = None if bias is None else to_tensor(bias)
    s, d = ntuple(stride, nd, "stride"), ntuple(dilation, nd, "dilation")
    check_positive(s, padding if isinstance(padding, str) else ntuple(padding, nd, "padding"),
                   d, groups)
    x, unbatched = batched(input, nd, f"conv{nd}d")
    check_weight(x, weight, bias, nd, groups)
    k = tuple(weight.shape[2:])
    pads = conv_pads(padding, k, s, d)
    if padding_mode != "zeros":  # PyTorch: the convolution of ``F.pad``'s result
        x, pads = mode_pad_first(x, pads, padding_mode), ((0, 0),) * nd
    seq0 = composite.start()
    xl = ops.permute(x, _to_last(nd))
    out = out_sizes(tuple(xl.shape[1:-1]), pads, k, s, d)
    xp = window_ops.pad_spatial(xl, x._data.dtype, pads)
    w = ops.permute(weight, tuple(range(2, nd + 2)) + (1, 0))  # (*k, in/groups, out)

    def replay(xi: Tensor, wi: Tensor, bi: Tensor | None) -> Tensor:
        return _conv(nd, xi, wi, bi, s, padding if padding_mode == "zeros" else 0, d, groups)

    return _finish(window_ops.conv_sum(xp, w, k, s, out, d, groups), bias, nd, unbatched, seq0,
                   (x, weight, bias), replay)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation of ``(N, C, L)`` with ``weight`` ``(O, C/groups, k)``."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of ``(N, C, H, W)`` with ``weight`` ``(O, C/groups, kh, kw)``."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-D cross-correlation of ``(N, C, D, H, W)`` with ``weight`` ``(O, C/groups, *k)``."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(nd: int, input: Any, weight: Any, bias: Any, stride: Any,  # noqa: A002
                    padding: Any, output_padding: Any, groups: int, dilation: Any) -> Tensor:
    input, weight = to_tensor(input), to_tensor(weight)  # noqa: A001
    bias = None if bias is None else to_tensor(bias)
    s, d = ntuple(stride, nd, "stride"), ntuple(dilation, nd, "dilation")
    p, op = ntuple(padding, nd, "padding"), ntuple(output_padding, nd, "output_padding")
    check_positive(s, p, d, groups)
    x, unbatched = batched(input, nd, f"conv_transpose{nd}d")
    check_weight(x, weight, bias, nd, groups, transposed=True)
    if any(o >= si and o >= di for o, si, di in zip(op, s, d, strict=True)):
        names = ("depth", "height", "width")[-nd:]
        parts = [f"output_padding_{n}: {o}" for n, o in zip(names, op, strict=True)]
        parts += [f"stride_{n}: {v}" for n, v in zip(names, s, strict=True)]
        parts += [f"dilation_{n}: {v}" for n, v in zip(names, d, strict=True)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                           f"got {' '.join(parts)}")
    k = tuple(weight.shape[2:])
    cin, cout_g = weight.shape[0], weight.shape[1]
    sizes = tuple(x.shape[2:])
    out = tuple((n - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
                for n, si, pi, di, ki, oi in zip(sizes, s, p, d, k, op, strict=True))
    if min(out) < 1:
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, sizes))}). "
                           f"Calculated output size per channel: ({' x '.join(map(str, out))}). "
                           "Output size is too small")
    dt = x._data.dtype
    seq0 = composite.start()
    xl = window_ops.dilate(ops.permute(x, _to_last(nd)), dt, s, sizes)
    full = [di * (ki - 1) - pi for di, ki, pi in zip(d, k, p, strict=True)]
    crop = tuple(slice(max(-f, 0), None) for f in full)
    xl = ops.getitem(xl, (slice(None),) + crop)
    pads = tuple((max(f, 0), f + oi) for f, oi in zip(full, op, strict=True))
    if any(b < 0 for _, b in pads):
        xl = ops.getitem(xl, (slice(None),) + tuple(slice(0, b if b < 0 else None)
                                                    for _, b in pads))
        pads = tuple((a, max(b, 0)) for a, b in pads)
    xp = window_ops.pad_spatial(xl, dt, pads)
    # (in, out/g, *k) -> per group (out/g, in/g), flipped: the (*k, in/g, out) conv filter
    w = ops.reshape(weight, (groups, cin // groups, cout_g) + k)
    w = ops.getitem(w, (slice(None),) * 3 + (slice(None, None, -1),) * nd)
    w = ops.permute(w, tuple(range(3, nd + 3)) + (1, 0, 2))
    w = ops.reshape(w, k + (cin // groups, groups * cout_g))
    y = window_ops.conv_sum(xp, w, k, (1,) * nd, out, d, groups)

    def replay(xi: Tensor, wi: Tensor, bi: Tensor | None) -> Tensor:
        return _conv_transpose(nd, xi, wi, bi, s, p, op, groups, d)

    return _finish(y, bias, nd, unbatched, seq0, (x, weight, bias), replay)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The transpose (gradient) of ``conv1d``: ``weight`` is ``(C, O/groups, k)``."""
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The transpose (gradient) of ``conv2d``: ``weight`` is ``(C, O/groups, kh, kw)``."""
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The transpose (gradient) of ``conv3d``: ``weight`` is ``(C, O/groups, *k)``."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """The shared constructor: PyTorch's checks, tuples and initialisation (kaiming-uniform
    weight, uniform bias with the weight's fan-in)."""

    _nd = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None,
                 output_padding: Any = 0) -> None:
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(v != 1 for v in ntuple(stride, nd, "stride")):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _MODES:
            raise ValueError("padding_mode must be one of {'reflect', 'zeros', 'replicate', "
                             f"'circular'}}, but got padding_mode='{padding_mode}'")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = module_tuple(kernel_size, nd)
        self.stride, self.dilation = module_tuple(stride, nd), module_tuple(dilation, nd)
        self.padding, self.padding_mode = module_tuple(padding, nd), padding_mode
        self.output_padding = module_tuple(output_padding, nd)
        dt = _dtypes.to_numpy_dtype(dtype or _dtypes.float32)
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(make(np.empty(shape, dt)))
        self.bias = Parameter(make(np.empty((out_channels,), dt))) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if self._transposed:
            return _conv_transpose(self._nd, input, self.weight, self.bias, self.stride,
                                   self.padding, self.output_padding, self.groups, self.dilation)
        return _conv(self._nd, input, self.weight, self.bias, self.stride, self.padding,
                     self.dilation, self.groups, self.padding_mode)

    def extra_repr(self) -> str:
        nd = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    _nd = 1


class Conv2d(_ConvNd):
    _nd = 2


class Conv3d(_ConvNd):
    _nd = 3


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)


class ConvTranspose1d(_ConvTransposeNd):
    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    _nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    _nd = 3


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d"]

"""``F.max_pool1d/2d/3d`` (``return_indices`` too), ``F.avg_pool1d/2d/3d``,
``F.adaptive_avg_pool2d`` and their modules, each result one node of PyTorch's name over the
input (``MaxPool2DWithIndicesBackward0``...; ``autograd/composite.py``):
PyTorch's channels-first conventions (``ceil_mode``, ``count_include_pad``, dilation, its error
texts and node names) over the window core TF1's pools use too (``staticgraph/ops/windows.py``):
the input is permuted to channels last, padded, reduced tap by tap and permuted back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from staticgraph import ops
from staticgraph.ops import windows as window_ops

from .._tensor import Tensor, make, to_tensor
from ..autograd import composite
from ..autograd.graph import renamed
from .conv_args import ntuple
from .modules import Module
from .pool_indices import max_indices


def _to_last(nd: int) -> tuple[int, ...]:
    return (0,) + tuple(range(2, nd + 2)) + (1,)


def _to_first(nd: int) -> tuple[int, ...]:
    return (0, nd + 1) + tuple(range(1, nd + 1))


def _pool_plan(x: Tensor, nd: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool) -> tuple:
    """Kernel, stride, padding, dilation, output size and the ceil-mode overhang per dim."""
    k = ntuple(kernel_size, nd, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        ntuple(stride, nd, "stride")
    p, d = ntuple(padding, nd, "padding"), ntuple(dilation, nd, "dilation")
    for pi, ki, di in zip(p, k, d, strict=True):
        if pi > (di * (ki - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pi}, kernel_size={ki} and dilation={di}")
    sizes = tuple(x.shape[2:])
    out, over = [], []
    for size, ki, si, pi, di in zip(sizes, k, s, p, d, strict=True):
        span = size + 2 * pi - di * (ki - 1) - 1
        o = (-(-span // si) if ceil_mode else span // si) + 1
        if ceil_mode and (o - 1) * si >= size + pi:
            o -= 1
        out.append(o)
        over.append(max((o - 1) * si + di * (ki - 1) + 1 - (size + 2 * pi), 0))
    if min(out) < 1:
        dims = "x".join(str(v) for v in (x.shape[1],) + sizes)
        got = "x".join(str(v) for v in [x.shape[1]] + [max(o, 0) for o in out])
        raise RuntimeError(f"Given input size: ({dims}). Calculated output size: ({got}). "
                           "Output size is too small")
    return k, s, p, d, tuple(out), tuple(over)


def _check_input(x: Tensor, nd: int, what: str) -> None:
    if x.dim() not in (nd + 1, nd + 2) or x.numel() == 0:
        if what == "max_pool1d":
            raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                               f"dim batch size for input, but got:{list(x.shape)}")
        if what == "avg_pool1d":
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x.dim()}-dimensional tensor "
                               "for argument #1 'self' (while checking arguments for avg_pool1d)")
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for "
                           "input")


def _pool_input(x: Tensor, nd: int) -> tuple[Tensor, bool]:
    return (ops.unsqueeze(x, 0), True) if x.dim() == nd + 1 else (x, False)


def one_node(x: Tensor, nd: int, name: str, body: Callable[[Tensor], Tensor]) -> Tensor:
    """``body(x)`` as one node called ``name`` over ``x``; a 1-d pool is PyTorch's 2-d one of
    ``x.unsqueeze(-2)``, squeezed after (``SqueezeBackward1`` over the 2-d node)."""
    if nd == 1:
        xu = ops.unsqueeze(x, -2)
        seq0 = composite.start()

        def inner(t: Tensor) -> Tensor:
            return ops.unsqueeze(body(ops.squeeze(t, -2)), -2)

        y = composite.wrap(inner(xu), name, (xu,), seq0, inner)
        return renamed(ops.squeeze(y, -2), "SqueezeBackward1")
    seq0 = composite.start()
    return composite.wrap(body(x), name, (x,), seq0, body)


def _max_pool(input: Tensor, nd: int, kernel_size: Any, stride: Any, padding: Any,  # noqa: A002
              dilation: Any, ceil_mode: bool, return_indices: bool) -> Any:
    x0 = to_tensor(input)
    _check_input(x0, nd, f"max_pool{nd}d")
    k, s, p, d, out, over = _pool_plan(_pool_input(x0.detach(), nd)[0], nd, kernel_size, stride,
                                       padding, dilation, ceil_mode)
    pads = tuple((pi, pi + oi) for pi, oi in zip(p, over, strict=True))

    def body(t: Tensor) -> Tensor:
        x, unbatched = _pool_input(t, nd)
        xp = window_ops.pad_spatial(ops.permute(x, _to_last(nd)), x._data.dtype, pads, -np.inf)
        y = ops.permute(window_ops.max_over(xp, k, s, out, d), _to_first(nd))
        return ops.squeeze(y, 0) if unbatched else y

    y = one_node(x0, nd, f"MaxPool{max(nd, 2)}DWithIndicesBackward0", body)
    if not return_indices:
        return y
    return y, make(max_indices(x0._data, k, s, pads, d, out))


def _avg_pool(input: Tensor, nd: int, kernel_size: Any, stride: Any, padding: Any,  # noqa: A002
              ceil_mode: bool, count_include_pad: bool, divisor_override: int | None) -> Tensor:
    """The mean over each window: divided by the window's size within the padded input
    (``count_include_pad``) or within the input, never counting the ceil-mode overhang."""
    x0 = to_tensor(input)
    _check_input(x0, nd, f"avg_pool{nd}d")
    k, s, p, _d, out, over = _pool_plan(_pool_input(x0.detach(), nd)[0], nd, kernel_size, stride,
                                        padding, 1, ceil_mode)
    pads = tuple((pi, pi + oi) for pi, oi in zip(p, over, strict=True))

    def body(t: Tensor) -> Tensor:
        x, unbatched = _pool_input(t, nd)
        dt = x._data.dtype
        total = window_ops.window_sum(
            window_ops.pad_spatial(ops.permute(x, _to_last(nd)), dt, pads), k, s, out)
        if divisor_override:
            y = ops.div(total, float(divisor_override))
        else:
            ones = make(np.ones((1,) + tuple(x.shape[2:]) + (1,), dt))
            fill = 1.0 if count_include_pad else 0.0
            counted = window_ops.pad_spatial(
                window_ops.pad_spatial(ones, dt, [(q, q) for q in p], fill),
                dt, [(0, o) for o in over])
            y = ops.div(total, window_ops.window_sum(counted, k, s, out))
        y = ops.permute(y, _to_first(nd))
        return ops.squeeze(y, 0) if unbatched else y

    return one_node(x0, nd, f"AvgPool{max(nd, 2)}DBackward0", body)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum over each window of ``(N, C, L)`` (padding never wins: it is ``-inf``)."""
    return _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum over each window of ``(N, C, H, W)`` (padding never wins: it is ``-inf``)."""
    return _max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum over each window of ``(N, C, D, H, W)``."""
    return _max_pool(input, 3, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    return _avg_pool(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    return _avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    return _avg_pool(input, 3, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """The mean over PyTorch's adaptive windows: output cell ``i`` of ``o`` over an input of
    ``n`` covers ``[floor(i*n/o), ceil((i+1)*n/o))``. Output ``1``: the global mean."""
    x = to_tensor(input)
    if x.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(x.shape)}")
    h, w = x.shape[-2:]
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    oh, ow = (h if size[0] is None else size[0]), (w if size[1] is None else size[1])
    if (oh, ow) == (1, 1):
        return ops.mean(x, (-2, -1), True)
    return one_node(x, 2, "AdaptiveAvgPool2DBackward0", lambda t: _adaptive_mean(t, oh, ow))


def _adaptive_mean(x: Tensor, oh: int, ow: int) -> Tensor:
    h, w = x.shape[-2:]
    rows = []
    for i in range(oh):
        h0, h1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        cells = []
        for j in range(ow):
            w0, w1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            win = ops.getitem(x, (..., slice(h0, h1), slice(w0, w1)))
            cells.append(ops.div(ops.sum(win, (-2, -1), True), float((h1 - h0) * (w1 - w0))))
        rows.append(ops.cat(cells, -1))
    return ops.cat(rows, -2)


class _MaxPoolNd(Module):
    _nd = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.padding, self.dilation = kernel_size, padding, dilation
        self.stride = stride if stride is not None else kernel_size
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return _max_pool(input, self._nd, self.kernel_size, self.stride, self.padding,
                         self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    _nd = 1


class MaxPool2d(_MaxPoolNd):
    _nd = 2


class MaxPool3d(_MaxPoolNd):
    _nd = 3


class AvgPool1d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = ntuple(kernel_size, 1, "kernel_size")
        self.stride = ntuple(stride if stride is not None else kernel_size, 1, "stride")
        self.padding = ntuple(padding, 1, "padding")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


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


class AvgPool3d(AvgPool2d):
    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


__all__ = ["AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxPool1d", "MaxPool2d",
           "MaxPool3d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "max_pool1d", "max_pool2d", "max_pool3d"]

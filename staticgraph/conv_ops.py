"""``tf.nn.conv1d``, ``conv2d`` (with ``dilations``), ``conv3d``, ``depthwise_conv2d``,
``max_pool`` and ``avg_pool`` (channels last) from registry ops: TF's padding rule and names
here, the window core (each kernel tap a strided slice of the padded input, multiplied by that
tap's ``(in, out)`` filter matrix and summed; depthwise as one group per input channel) in
``ops/windows.py``, shared with PyTorch's ``F.conv*``. Slow for big kernels, but exact,
differentiable (slice and matmul VJPs) and compilable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph.core import Tensor
from .graph.math_ops import _final, _require, _t, composite
from .ops import windows as window_ops

_LAYOUTS = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def _spatial(arg: Any, nd: int, what: str) -> tuple[int, ...]:
    """A TF stride/size/dilation argument (1, ``nd`` or ``nd + 2`` entries) per spatial dim."""
    v = [int(a) for a in (arg if isinstance(arg, (list, tuple, np.ndarray)) else [arg])]
    if len(v) == nd + 2:
        if v[0] != 1 or v[-1] != 1:
            raise NotImplementedError(f"{what} must be 1 in the batch and channel dimensions")
        return tuple(v[1:-1])
    if len(v) == nd:
        return tuple(v)
    if len(v) == 1:
        return (v[0],) * nd
    raise ValueError(f"{what} must have 1, {nd} or {nd + 2} entries, got {v}")


def _hw(arg: Any, what: str) -> tuple[int, int]:
    return _spatial(arg, 2, what)  # type: ignore[return-value]


def _plan(size: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """(pad before, pad after, output size) along one spatial dim, TF's rule (``k``: the
    effective, dilated kernel size)."""
    if padding == "VALID":
        out = (size - k) // s + 1
        if out < 1:
            raise ValueError(f"window {k} is larger than the input size {size} (VALID)")
        return 0, 0, out
    if padding != "SAME":
        raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


def _windows(x: Tensor, kernel: tuple, strides: tuple, padding: str, fill: float,
             dilation: tuple | None = None) -> tuple[Tensor, tuple[int, ...]]:
    """``x`` padded by TF's rule and the output size per spatial dim."""
    nd = len(kernel)
    shape = x.aval.shape
    if shape is None or len(shape) != nd + 2 or None in shape[1:]:
        raise ValueError(f"expected an {_LAYOUTS[nd]} input with known spatial sizes and "
                         f"channels, got {x.shape}")
    dilation = dilation or (1,) * nd
    plans = [_plan(n, d * (k - 1) + 1, s, padding)
             for n, k, s, d in zip(shape[1:-1], kernel, strides, dilation, strict=True)]
    xp = window_ops.pad_spatial(x, x.aval.dtype, [(a, b) for a, b, _ in plans], fill)
    return xp, tuple(o for _, _, o in plans)



def _conv(nd: int, input: Any, filter: Any, strides: Any, padding: str,  # noqa: A002
          data_format: str | None, dilations: Any, name: str | None, default: str,
          depthwise: bool = False) -> Tensor:
    if data_format not in (None, _LAYOUTS[nd]):
        raise NotImplementedError(f"{default} supports data_format='{_LAYOUTS[nd]}' only")
    x, w = _t(input), _t(filter)
    _require("f", x, w)
    ws = w.aval.shape
    if ws is None or len(ws) != nd + 2 or None in ws:
        raise ValueError(f"filter must be [{', '.join(['size'] * nd)}, in, out] with known "
                         f"sizes, got {w.shape}")
    kernel, cin = tuple(ws[:nd]), ws[nd]
    xs = x.aval.shape
    if xs is not None and len(xs) == nd + 2 and xs[-1] is not None and xs[-1] % cin:
        raise ValueError(f"Depth of input ({xs[-1]}) is not a multiple of input depth of filter "
                         f"({cin}) for '{name or default}'")
    s = _spatial(strides, nd, "strides")
    d = _spatial(dilations if dilations is not None else 1, nd, "dilations")
    if max(d) > 1 and max(s) > 1:
        raise ValueError("strides > 1 not supported in conjunction with dilation_rate > 1")
    groups = 1
    if depthwise:
        groups, w = cin, ops.reshape(w, kernel + (1, cin * ws[-1]))
    elif xs is not None and xs[-1] is not None:
        groups = xs[-1] // cin
    with composite(name, default, x, w) as stem:
        xp, out = _windows(x, kernel, s, padding, 0.0, d)
        acc = window_ops.conv_sum(xp, w, kernel, s, out, d, groups)
        return _final(stem, ops.add, acc, np.zeros((), x.aval.dtype))


def conv1d(value: Any = None, filters: Any = None, stride: Any = None, padding: Any = None,
           use_cudnn_on_gpu: Any = None, data_format: str | None = None, name: str | None = None,
           input: Any = None, dilations: Any = None) -> Tensor:  # noqa: A002
    """1-D convolution of ``[batch, width, in]`` with ``filters`` ``[width, in, out]``."""
    return _conv(1, value if value is not None else input, filters, stride, padding,
                 data_format, dilations, name, "conv1d")


def conv2d(input: Any, filter: Any = None, strides: Any = (1, 1, 1, 1),  # noqa: A002
           padding: str = "VALID", use_cudnn_on_gpu: bool = True, data_format: str = "NHWC",
           dilations: Any = None, name: str | None = None, filters: Any = None) -> Tensor:
    """2-D convolution (cross-correlation, as TF): ``filter`` is ``[kh, kw, in, out]``; an
    input with ``k`` times the filter's ``in`` channels is a grouped convolution (TF 2)."""
    return _conv(2, input, filter if filter is not None else filters, strides, padding,
                 data_format, dilations, name, "Conv2D")


def conv3d(input: Any, filter: Any = None, strides: Any = (1, 1, 1, 1, 1),  # noqa: A002
           padding: str = "VALID", data_format: str = "NDHWC", dilations: Any = None,
           name: str | None = None, filters: Any = None) -> Tensor:
    """3-D convolution of ``[batch, depth, height, width, in]`` with ``[kd, kh, kw, in, out]``."""
    return _conv(3, input, filter if filter is not None else filters, strides, padding,
                 data_format, dilations, name, "Conv3D")


def depthwise_conv2d(input: Any, filter: Any, strides: Any, padding: str,  # noqa: A002
                     rate: Any = None, name: str | None = None, data_format: str | None = None,
                     dilations: Any = None) -> Tensor:
    """Each input channel convolved with its own ``multiplier`` filters: ``filter`` is
    ``[kh, kw, in, multiplier]``; output channel ``c * multiplier + m``."""
    return _conv(2, input, filter, strides, padding, data_format,
                 dilations if dilations is not None else rate, name, "depthwise",
                 depthwise=True)


def max_pool(value: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> Tensor:  # noqa: A002
    """The maximum over each window (SAME pads with -inf, so padding never wins).

    The gradient goes to one element per window, as in TF and PyTorch: the first maximum in
    row-major window order, or the last NaN (PyTorch's ``val > max || isnan(val)``), never
    split among ties as ``maximum``'s gradient is."""
    x = _t(value if value is not None else input)
    _require("f", x)
    k, s = _hw(ksize, "ksize"), _hw(strides, "strides")
    with composite(name, "MaxPool", x) as stem:
        xp, out = _windows(x, k, s, padding, -np.inf)
        acc = window_ops.max_over(xp, k, s, out)
        return _final(stem, ops.add, acc, np.zeros((), x.aval.dtype))


def avg_pool(value: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> Tensor:  # noqa: A002
    """The mean over each window; with SAME, over the window's part inside the input (TF)."""
    x = _t(value if value is not None else input)
    _require("f", x)
    k, s = _hw(ksize, "ksize"), _hw(strides, "strides")
    with composite(name, "AvgPool", x) as stem:
        xp, out = _windows(x, k, s, padding, 0.0)
        ones, _ = _windows(ops.ones_like(x), k, s, padding, 0.0)
        total = window_ops.window_sum(xp, k, s, out)
        count = window_ops.window_sum(ones, k, s, out)
        return _final(stem, ops.div, total, count)


__all__ = ["avg_pool", "conv1d", "conv2d", "conv3d", "depthwise_conv2d", "max_pool"]

"""``tf.nn.conv2d``, ``max_pool`` and ``avg_pool`` (NHWC) from registry ops: TF's padding rule
and names here, the window core (each kernel tap a strided slice of the padded input, multiplied
by that tap's ``(in, out)`` filter matrix and summed) in ``ops/windows.py``, shared with
PyTorch's NCHW ``F.conv2d``. Slow for big kernels, but exact, differentiable (slice and matmul
VJPs) and compilable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph.core import Tensor
from .graph.math_ops import _final, _require, _t, composite
from .ops import windows as window_ops


def _hw(arg: Any, what: str) -> tuple[int, int]:
    v = [int(a) for a in (arg if isinstance(arg, (list, tuple)) else [arg])]
    if len(v) == 4:
        if v[0] != 1 or v[3] != 1:
            raise NotImplementedError(f"{what} must be 1 in the batch and channel dimensions")
        return v[1], v[2]
    if len(v) == 2:
        return v[0], v[1]
    if len(v) == 1:
        return v[0], v[0]
    raise ValueError(f"{what} must have 1, 2 or 4 entries, got {v}")


def _plan(size: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """(pad before, pad after, output size) along one spatial dim, TF's rule."""
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


def _windows_plan(x: Tensor, kh: int, kw: int, sh: int, sw: int, padding: str,
                  fill: float) -> tuple[Tensor, tuple[int, int]]:
    """``x`` padded by TF's rule and the output size (height, width)."""
    shape = x.aval.shape
    if shape is None or len(shape) != 4 or None in shape[1:]:
        raise ValueError(f"expected an NHWC input with known height, width and channels, got "
                         f"{x.shape}")
    th, bh, oh = _plan(shape[1], kh, sh, padding)
    tw, bw, ow = _plan(shape[2], kw, sw, padding)
    return window_ops.pad_hw(x, x.aval.dtype, (th, bh, tw, bw), fill), (oh, ow)


def conv2d(input: Any, filter: Any = None, strides: Any = (1, 1, 1, 1),  # noqa: A002
           padding: str = "VALID", use_cudnn_on_gpu: bool = True, data_format: str = "NHWC",
           dilations: Any = None, name: str | None = None, filters: Any = None) -> Tensor:
    """2-D convolution (cross-correlation, as TF): ``filter`` is ``[kh, kw, in, out]``."""
    if data_format != "NHWC":
        raise NotImplementedError("conv2d supports data_format='NHWC' only")
    if dilations is not None and any(int(d) != 1 for d in np.atleast_1d(dilations)):
        raise NotImplementedError("conv2d with dilations")
    x, w = _t(input), _t(filter if filter is not None else filters)
    _require("f", x, w)
    if w.aval.shape is None or len(w.aval.shape) != 4 or None in w.aval.shape:
        raise ValueError(f"filter must be [height, width, in, out] with known sizes, got "
                         f"{w.shape}")
    kh, kw, cin, _cout = w.aval.shape
    if x.aval.shape is not None and len(x.aval.shape) == 4 and x.aval.shape[3] != cin:
        raise ValueError(f"Depth of input ({x.aval.shape[3]}) is not a multiple of input depth "
                         f"of filter ({cin}) for '{name or 'Conv2D'}'")
    sh, sw = _hw(strides, "strides")
    with composite(name, "Conv2D", x, w) as stem:
        xp, out = _windows_plan(x, kh, kw, sh, sw, padding, 0.0)
        acc = window_ops.conv_sum(xp, w, (kh, kw), (sh, sw), out)
        return _final(stem, ops.add, acc, np.zeros((), x.aval.dtype))


def max_pool(value: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> Tensor:  # noqa: A002
    """The maximum over each window (SAME pads with -inf, so padding never wins).

    The gradient goes to one element per window, as in TF and PyTorch: the first maximum in
    row-major window order, or the last NaN (PyTorch's ``val > max || isnan(val)``), never
    split among ties as ``maximum``'s gradient is."""
    x = _t(value if value is not None else input)
    _require("f", x)
    (kh, kw), (sh, sw) = _hw(ksize, "ksize"), _hw(strides, "strides")
    with composite(name, "MaxPool", x) as stem:
        xp, out = _windows_plan(x, kh, kw, sh, sw, padding, -np.inf)
        acc = window_ops.max_over(xp, (kh, kw), (sh, sw), out)
        return _final(stem, ops.add, acc, np.zeros((), x.aval.dtype))


def avg_pool(value: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> Tensor:  # noqa: A002
    """The mean over each window; with SAME, over the window's part inside the input (TF)."""
    x = _t(value if value is not None else input)
    _require("f", x)
    (kh, kw), (sh, sw) = _hw(ksize, "ksize"), _hw(strides, "strides")
    with composite(name, "AvgPool", x) as stem:
        xp, out = _windows_plan(x, kh, kw, sh, sw, padding, 0.0)
        ones, _ = _windows_plan(ops.ones_like(x), kh, kw, sh, sw, padding, 0.0)
        total = window_ops.window_sum(xp, (kh, kw), (sh, sw), out)
        count = window_ops.window_sum(ones, (kh, kw), (sh, sw), out)
        return _final(stem, ops.div, total, count)


__all__ = ["conv2d", "max_pool", "avg_pool"]

"""Resampling: ``F.interpolate`` (``nearest``, ``nearest-exact``, ``linear``/``bilinear``/
``trilinear``; ``bicubic`` and ``area`` in ``resample_cubic.py``), ``F.pixel_shuffle``/
``pixel_unshuffle``, ``F.unfold`` (im2col) and the modules
``nn.Upsample``, ``UpsamplingNearest2d``, ``UpsamplingBilinear2d``, ``PixelShuffle``,
``PixelUnshuffle``, ``Unfold``.

Each is gathers (``getitem`` with integer arrays) and weighted sums with PyTorch's source
indices and weights (``area_pixel_compute_source_index``: computed in float32 for float32
inputs, as its CPU kernels do), one dim at a time, recorded as one node of PyTorch's name
(``UpsampleBilinear2DBackward0``...); the gradient is the registry's scatter-add.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from staticgraph import ops

from .._tensor import Tensor, make, to_tensor
from .._torch_methods import one_node
from .modules import Module
from .resample_cubic import MODES as _MORE_MODES

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_NAMES = {"nearest": "Nearest", "nearest-exact": "NearestExact", "linear": "Linear",
          "bilinear": "Bilinear", "trilinear": "Trilinear"}


def _tuple(v: Any, n: int, what: str) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"Input and {what} must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{n} and {what} {tuple(v)}. Please provide input tensor in "
                             f"(N, C, d1, d2, ...,dK) format and {what} in (o1, o2, ...,oK) "
                             "format.")
        return tuple(v)
    return (v,) * n


def _source(out_n: int, in_n: int, scale: float | None, align: bool, dt: np.dtype,
            mode: str) -> tuple:
    """Per output position: the source indices and (linear modes) their weights."""
    if mode.startswith("nearest"):
        s = dt.type(in_n / out_n if scale is None else 1.0 / scale)
        i = np.arange(out_n, dtype=dt)
        src = np.floor((i + dt.type(0.5)) * s if mode == "nearest-exact" else i * s)
        return (np.minimum(src.astype(np.int64), in_n - 1),)
    if align:
        s = dt.type((in_n - 1) / (out_n - 1) if out_n > 1 else 0.0)
        src = np.arange(out_n, dtype=dt) * s
    else:
        s = dt.type(in_n / out_n if scale is None else 1.0 / scale)
        src = np.maximum(s * (np.arange(out_n, dtype=dt) + dt.type(0.5)) - dt.type(0.5), 0)
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < in_n - 1)
    l1 = (src - i0.astype(dt)).astype(dt)
    return i0, i1, (dt.type(1) - l1).astype(dt), l1


def _along(x: Any, axis: int, src: tuple, nd: int) -> Any:
    """``x`` resampled along ``axis`` (counted from the end: -1 the last dim)."""
    pre = (Ellipsis,)
    post = (slice(None),) * (-axis - 1)
    if len(src) == 1:
        return ops.getitem(x, pre + (src[0],) + post)
    i0, i1, l0, l1 = src
    shape = (-1,) + (1,) * (-axis - 1)
    a = ops.mul(ops.getitem(x, pre + (i0,) + post), l0.reshape(shape))
    b = ops.mul(ops.getitem(x, pre + (i1,) + post), l1.reshape(shape))
    return ops.add(a, b)


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,  # noqa: A002
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """PyTorch's ``F.interpolate``: nearest, (bi/tri)linear, bicubic and area modes."""
    x = to_tensor(input)
    nd = x.dim() - 2
    if nd < 1:
        raise ValueError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                         f"{x.dim()}D) for the modes: nearest | linear | bilinear | bicubic | "
                         f"trilinear | area | nearest-exact (got {mode})")
    if mode not in _NAMES and mode not in _MORE_MODES:
        raise NotImplementedError(f"F.interpolate(mode={mode!r}) is not supported by this "
                                  "project; use nearest, nearest-exact, linear, bilinear, "
                                  "trilinear, bicubic or area")
    if (mode.startswith("nearest") or mode == "area") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise NotImplementedError(f"Got {x.dim()}D input, but {mode} mode needs "
                                  f"{_LINEAR[mode] + 2}D input")
    if antialias:
        raise NotImplementedError("F.interpolate(antialias=True) is not supported by this "
                                  "project")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None
                         else "either size or scale_factor should be defined")
    in_sz = tuple(x.shape[2:])
    if size is not None:
        out_sz = tuple(int(s) for s in _tuple(size, nd, "output size"))
        scales: tuple = (None,) * nd
    else:
        sf = tuple(float(s) for s in _tuple(scale_factor, nd, "scale_factor"))
        out_sz = tuple(int(math.floor(i * s)) for i, s in zip(in_sz, sf, strict=True))
        scales = (None,) * nd if recompute_scale_factor else sf
    if x._data.dtype.kind != "f" and mode not in ("nearest", "nearest-exact"):
        raise RuntimeError(f"\"upsample_{mode}{nd}d_out_frame\" not implemented for "
                           f"'{x.dtype._legacy[:-6]}'")
    if mode in _MORE_MODES:  # bicubic, area (resample_cubic.py)
        return _MORE_MODES[mode](x, out_sz, scales, align_corners)
    dt = x._data.dtype if x._data.dtype.kind == "f" else np.dtype(np.float32)
    srcs = [_source(o, i, s, bool(align_corners), dt, mode)
            for o, i, s in zip(out_sz, in_sz, scales, strict=True)]

    def body(t):
        for k in reversed(range(nd)):  # the last dim first, as PyTorch's weights group
            t = _along(t, k - nd, srcs[k], nd)
        return t
    name = f"Upsample{_NAMES[mode]}{nd}DBackward0"
    return one_node(name, body, (x,), ())


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None,  # noqa: A002
             mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """``(*, C r^2, H, W)`` to ``(*, C, H r, W r)``."""
    x, r = to_tensor(input), int(upscale_factor)
    if x.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.dim()} dimension(s)")
    *b, c, h, w = x.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c}"
                           f" is not divisible by {r * r}")
    n = len(b)

    def body(t):
        t = ops.reshape(t, (*b, c // (r * r), r, r, h, w))
        t = ops.permute(t, tuple(range(n)) + tuple(n + i for i in (0, 3, 1, 4, 2)))
        return ops.reshape(t, (*b, c // (r * r), h * r, w * r))
    return one_node("PixelShuffleBackward0", body, (x,), ())


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """``(*, C, H r, W r)`` to ``(*, C r^2, H, W)``."""
    x, r = to_tensor(input), int(downscale_factor)
    *b, c, h, w = x.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={h} is not divisible by {r}"
                           if h % r else
                           f"pixel_unshuffle expects width to be divisible by downscale_factor,"
                           f" but input.size(-1)={w} is not divisible by {r}")
    n = len(b)

    def body(t):
        t = ops.reshape(t, (*b, c, h // r, r, w // r, r))
        t = ops.permute(t, tuple(range(n)) + tuple(n + i for i in (0, 2, 4, 1, 3)))
        return ops.reshape(t, (*b, c * r * r, h // r, w // r))
    return one_node("PixelUnshuffleBackward0", body, (x,), ())


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,  # noqa: A002
           stride: Any = 1) -> Tensor:
    """im2col: ``(N, C, H, W)`` to ``(N, C kh kw, L)``, the sliding blocks as columns."""
    x = to_tensor(input)
    if x.dim() not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported "
                                  f"(got {x.dim()}D)")
    (kh, kw), (dh, dw) = _tuple(kernel_size, 2, "kernel_size"), _tuple(dilation, 2, "dilation")
    (ph, pw), (sh, sw) = _tuple(padding, 2, "padding"), _tuple(stride, 2, "stride")
    h, w = x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input with spatial size ({x.shape[-2]}, {x.shape[-1]}), "
                           f"kernel_size=({kh}, {kw}), dilation=({dh}, {dw}), padding=({ph}, "
                           f"{pw}), calculated shape of the array of sliding blocks as ({oh}, "
                           f"{ow}), but its components must be at least one.")
    ki, kj = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
    oi, oj = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    rows = ki.reshape(-1, 1) * dh + oi.reshape(1, -1) * sh
    cols = kj.reshape(-1, 1) * dw + oj.reshape(1, -1) * sw
    lead = tuple(x.shape[:-3])
    c = x.shape[-3]

    def body(t):
        if ph or pw:
            big = make(np.zeros(lead + (c, h, w), t._data.dtype))
            t = ops.setitem(big, t, (Ellipsis, slice(ph, ph + x.shape[-2]),
                                     slice(pw, pw + x.shape[-1])))
        cols_ = ops.getitem(t, (Ellipsis, rows, cols))
        return ops.reshape(cols_, lead + (c * kh * kw, oh * ow))
    return one_node("Im2ColBackward0", body, (x,), ())


class Upsample(Module):
    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={float(self.scale_factor)}" if self.scale_factor is not None \
            else f"size={self.size}"
        return f"{what}, mode='{self.mode}'"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, "bilinear", True)


class PixelShuffle(Module):
    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class Unfold(Module):
    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = (kernel_size, dilation,
                                                                      padding, stride)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

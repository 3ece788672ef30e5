"""``F.max_unpool2d`` / ``nn.MaxUnpool2d``: the inverse of a max pool with ``return_indices``:
zeros of the pooled input's size with each value put back at its index (``scatter_add`` of the
registry, so the gradient is the gather of the output's gradient), PyTorch's output-size rule,
error texts and node name (``MaxUnpool2DBackward0``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph import ops

from .._dtypes import from_numpy_dtype
from .._tensor import Tensor, make, to_tensor
from ..autograd import composite
from .conv_args import ntuple
from .modules import Module


def _output_size(x: Tensor, k: tuple, s: tuple, p: tuple, output_size: Any) -> tuple[int, int]:
    default = [(x.shape[-2 + d] - 1) * s[d] + k[d] - 2 * p[d] for d in range(2)]
    if output_size is None:
        return tuple(default)
    size = tuple(output_size)
    if len(size) == 4:
        size = size[2:]
    if len(size) != 2:
        raise ValueError(f"output_size should be a sequence containing 2 or 4 elements, but it "
                         f"has a length of '{len(size)}'")
    for d in range(2):
        lo, hi = default[d] - s[d], default[d] + s[d]
        if not lo < size[d] < hi:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                             f"between {lo} and {hi})")
    return size


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None,  # noqa: A002
                 padding: Any = 0, output_size: Any = None) -> Tensor:
    """Scatter ``input``'s values to ``indices`` (flat positions over the output's H x W)."""
    x, idx = to_tensor(input), to_tensor(indices)
    if x.dim() not in (3, 4):
        raise RuntimeError("Input to max_unpooling2d should be a 3d or 4d Tensor, but got a "
                           f"tensor with {x.dim()} dimensions.")
    if idx._data.dtype != np.int64:
        scalar = from_numpy_dtype(idx._data.dtype)._legacy.removesuffix("Tensor")
        raise RuntimeError(f"elements in indices should be type int64 but got: {scalar}")
    if tuple(idx.shape) != tuple(x.shape):
        raise RuntimeError("Expected shape of indices to be same as that of the input tensor "
                           f"({list(x.shape)}) but got indices tensor with shape: "
                           f"{list(idx.shape)}")
    k = ntuple(kernel_size, 2, "kernel_size")
    s = k if stride is None else ntuple(stride, 2, "stride")
    h, w = _output_size(x, k, s, ntuple(padding, 2, "padding"), output_size)
    flat = idx._data.reshape(x.shape[:-2] + (-1,))
    bad = flat[(flat < 0) | (flat >= h * w)]
    if bad.size:
        raise RuntimeError(f"Found an invalid max index: {bad.flat[0]} (output volumes are of "
                           f"size {h}x{w})")
    lead = tuple(x.shape[:-2])

    def body(t: Tensor) -> Tensor:
        zeros = make(np.zeros(lead + (h * w,), t._data.dtype))
        src = ops.reshape(t, lead + (-1,))
        return ops.reshape(ops.scatter_add(zeros, src, make(flat), -1), lead + (h, w))

    seq0 = composite.start()
    return composite.wrap(body(x), "MaxUnpool2DBackward0", (x,), seq0, body, ())


class MaxUnpool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = ntuple(kernel_size, 2, "kernel_size")
        self.stride = ntuple(stride if stride is not None else kernel_size, 2, "stride")
        self.padding = ntuple(padding, 2, "padding")

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


__all__ = ["MaxUnpool2d", "max_unpool2d"]

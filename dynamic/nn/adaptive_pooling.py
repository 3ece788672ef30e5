"""``F.adaptive_avg_pool1d`` and ``F.adaptive_max_pool2d`` (``return_indices`` too) with their
modules: PyTorch's adaptive windows (output cell ``i`` of ``o`` over ``n`` inputs covers
``[floor(i*n/o), ceil((i+1)*n/o))``), node names and error texts. The 1-d pool is the 2-d one of
``x.unsqueeze(-2)``, as in PyTorch."""

from __future__ import annotations

from typing import Any

from staticgraph import ops

from .._tensor import Tensor, make, to_tensor
from .modules import Module
from .pool_indices import adaptive_max_indices
from .pooling import _adaptive_mean, one_node


def _size(output_size: Any, h: int, w: int) -> tuple[int, int]:
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    return (h if size[0] is None else size[0]), (w if size[1] is None else size[1])


def _adaptive_max(x: Tensor, oh: int, ow: int) -> Tensor:
    h, w = x.shape[-2:]
    rows = []
    for i in range(oh):
        h0, h1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        cells = [ops.amax(ops.getitem(x, (..., slice(h0, h1), slice((j * w) // ow,
                                                                  -(-((j + 1) * w) // ow)))),
                          (-2, -1), True) for j in range(ow)]
        rows.append(ops.cat(cells, -1))
    return ops.cat(rows, -2)


def adaptive_max_pool2d(input: Tensor, output_size: Any,  # noqa: A002
                        return_indices: bool = False) -> Any:
    """The maximum over each adaptive window of ``(N, C, H, W)`` or ``(C, H, W)``."""
    x = to_tensor(input)
    if x.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: "
                           f"{list(x.shape)}")
    oh, ow = _size(output_size, *x.shape[-2:])
    y = one_node(x, 2, "AdaptiveMaxPool2DBackward0", lambda t: _adaptive_max(t, oh, ow))
    return (y, make(adaptive_max_indices(x._data, (oh, ow)))) if return_indices else y


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """The mean over each adaptive window of ``(N, C, L)`` or ``(C, L)``."""
    x = to_tensor(input)
    if x.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x.dim()}-dimensional tensor "
                           "for argument #1 'self' (while checking arguments for "
                           "adaptive_avg_pool1d)")
    o = output_size if isinstance(output_size, int) else output_size[0]
    return one_node(x, 1, "AdaptiveAvgPool2DBackward0", lambda t: _adaptive_mean(
        ops.unsqueeze(t, -2), 1, o).squeeze(-2))


class AdaptiveMaxPool2d(Module):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor) -> Any:  # noqa: A002
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


__all__ = ["AdaptiveAvgPool1d", "AdaptiveMaxPool2d", "adaptive_avg_pool1d",
           "adaptive_max_pool2d"]

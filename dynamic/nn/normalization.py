"""``LayerNorm``, ``GroupNorm``, ``InstanceNorm1d/2d/3d`` and ``F.layer_norm``,
``F.group_norm``, ``F.instance_norm``: normalisation over a sample's own elements, with
PyTorch's formulas (biased variance, ``eps`` inside the square root), affine parameters,
reprs, node names (one node over input, weight, bias: ``autograd/composite.py``) and
error texts. Built from registry ops (mean, sub, mul, rsqrt), so the
gradients are the ops' own VJPs and the graph compiles. Batch norm, whose statistics span the
batch and change with ``train()``/``eval()``, is in ``norm.py``."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from staticgraph import ops

from .. import _dtypes
from .._tensor import Tensor, make, to_tensor
from ..autograd import composite
from .modules import Module
from .norm import affine_parameters, batch_norm, opmath, rounded, running_stats


def _normalize(x: Tensor, axes: tuple[int, ...], eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance)."""
    mean = ops.mean(x, axes, True)
    centred = ops.sub(x, mean)
    var = ops.mean(ops.mul(centred, centred), axes, True)
    return ops.div(centred, ops.sqrt(ops.add(var, eps)))


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims, then ``* weight + bias``."""
    x = to_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(int(s) for s in normalized_shape)
    n = len(shape)
    if tuple(x.shape[x.dim() - n:]) != shape or x.dim() < n:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(x.shape)}")
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {what} to be of same shape as normalized_shape, but got "
                               f"{what} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(shape)}")
    seq0 = composite.start()
    (xw, ww, bw), dt = opmath(x, weight, bias)  # float16: in float32, rounded once
    y = _normalize(xw, tuple(range(x.dim() - n, x.dim())), eps)
    if weight is not None:
        y = ops.mul(y, ww)
    if bias is not None:
        y = ops.add(y, bw)
    y = rounded(y, dt)

    def replay(xi: Tensor, wi: Tensor | None, bi: Tensor | None) -> Tensor:
        return layer_norm(xi, shape, wi, bi, eps)

    return composite.wrap(y, "NativeLayerNormBackward0", (x, weight, bias), seq0, replay)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise ``(N, C, *)`` over each group of ``C / num_groups`` channels and the rest,
    then ``* weight + bias`` per channel."""
    x = to_tensor(input)
    if x.dim() < 2 or x.shape[1] % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(x.shape)} and num_groups={num_groups}")
    n, c = x.shape[0], x.shape[1]
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {what} to be a vector of size equal to the number of "
                               f"channels in input, but got {what} of shape {list(t.shape)} and "
                               f"input of shape {list(x.shape)}")
    seq0 = composite.start()
    (xw, ww, bw), dt = opmath(x, weight, bias)  # float16: in float32, rounded once
    grouped = ops.reshape(xw, (n, num_groups, -1))
    y = ops.reshape(_normalize(grouped, (2,), eps), tuple(x.shape))
    per_channel = (c,) + (1,) * (x.dim() - 2)
    if weight is not None:
        y = ops.mul(y, ops.reshape(ww, per_channel))
    if bias is not None:
        y = ops.add(y, ops.reshape(bw, per_channel))
    y = rounded(y, dt)

    def replay(xi: Tensor, wi: Tensor | None, bi: Tensor | None) -> Tensor:
        return group_norm(xi, num_groups, wi, bi, eps)

    return composite.wrap(y, "NativeGroupNormBackward0", (x, weight, bias), seq0, replay, (0, 1))


def _repeat(t: Tensor | None, n: int) -> Tensor | None:
    """``t.repeat(n)`` (itself one ``RepeatBackward0`` node over ``t``, as PyTorch's)."""
    return None if t is None else t.repeat(n)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,  # noqa: A002
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """PyTorch's: batch norm of the input seen as one batch of ``N*C`` channels (weight, bias
    and running statistics repeated ``N`` times; the running statistics kept are the
    batch-averaged ones), so the ``grad_fn`` chain is ``View(NativeBatchNorm(View(x), ...))``."""
    x = to_tensor(input)
    n, c = x.shape[0], x.shape[1]
    xr = ops.reshape(x, (1, n * c) + tuple(x.shape[2:]))
    rm = rv = None
    if running_mean is not None:
        rm = make(np.tile(running_mean._data, n))
        rv = make(np.tile(running_var._data, n))
    y = batch_norm(xr, rm, rv, _repeat(weight, n), _repeat(bias, n), use_input_stats, momentum,
                   eps)
    if use_input_stats and running_mean is not None:
        running_mean._data[...] = rm._data.reshape(n, c).mean(0)
        running_var._data[...] = rv._data.reshape(n, c).mean(0)
    return ops.reshape(y, tuple(x.shape))


class LayerNorm(Module):
    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dt = _dtypes.to_numpy_dtype(dtype or _dtypes.float32)
        affine_parameters(self, self.normalized_shape, dt, elementwise_affine, bias)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine="
                f"{self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                     eps, affine)
        dt = _dtypes.to_numpy_dtype(dtype or _dtypes.float32)
        affine_parameters(self, num_channels, dt, affine, bias)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(Module):
    _nd = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = _dtypes.to_numpy_dtype(dtype or _dtypes.float32)
        affine_parameters(self, num_features, dt, affine)
        running_stats(self, num_features, dt, track_running_stats)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        nd = self._nd
        if input.dim() not in (nd + 1, nd + 2):
            raise ValueError(f"expected {nd + 1}D or {nd + 2}D input (got {input.dim()}D input)")
        unbatched = input.dim() == nd + 1
        x = ops.unsqueeze(input, 0) if unbatched else input
        if x.shape[1] != self.num_features and not self.affine:
            warnings.warn(f"input's size at dim={0 if unbatched else 1} does not match "
                          "num_features. You can silence this warning by not passing in "
                          "num_features, which is not used because affine=False", stacklevel=2)
        if self.training and math.prod(x.shape[2:]) <= 1:
            raise ValueError("Expected more than 1 spatial element when training, got input size "
                             f"torch.Size({list(input.shape)})")
        use_stats = self.training or not self.track_running_stats
        y = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          use_stats, self.momentum if self.momentum is not None else 0.0, self.eps)
        return ops.squeeze(y, 0) if unbatched else y

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    _nd = 1


class InstanceNorm2d(_InstanceNorm):
    _nd = 2


class InstanceNorm3d(_InstanceNorm):
    _nd = 3


__all__ = ["GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm",
           "group_norm", "instance_norm", "layer_norm"]

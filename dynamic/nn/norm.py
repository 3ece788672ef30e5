"""``Dropout`` (``F.dropout``) and ``BatchNorm1d``/``BatchNorm2d`` (``F.batch_norm``): the
layers that behave differently in ``train()`` and ``eval()`` mode, with PyTorch's formulas,
running statistics, reprs and error texts.

Dropout's mask is drawn from this project's generator, so which entries drop differs from
PyTorch's (the kept ones are scaled by ``1 / (1 - p)`` as there; ``grad_fn`` is ``MulBackward0``
as there). Batch norm normalises with the biased batch variance and updates ``running_var``
with the unbiased one, as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph import ops

from .. import _dtypes
from .._random import generator_of
from .._tensor import Tensor, make, to_tensor
from ..autograd import composite
from ..autograd.grad_mode import no_grad
from .modules import Module, Parameter


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
            inplace: bool = False) -> Tensor:
    """Zero each entry with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    keep = generator_of(None).random(tuple(input.shape)) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = make((keep * scale).astype(input._data.dtype))
    if inplace:
        return input.mul_(mask)
    return ops.mul(input, mask)


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


_HALF = np.dtype(np.float16)


def opmath(*ts: Tensor | None) -> tuple[tuple, np.dtype | None]:
    """PyTorch computes a float16 normalization in float32 (its "opmath") and rounds once: the
    float16 tensors among ``ts`` cast to float32 (recorded casts, so that the gradients are
    float32 inside the layer and rounded once at its inputs), and the dtype the result must be
    cast back to (``None`` when no tensor is float16: nothing changes)."""
    dts = [t._data.dtype for t in ts if t is not None]
    if _HALF not in dts:
        return ts, None
    wide = tuple(ops.cast(t, np.float32) if t is not None and t._data.dtype == _HALF else t
                 for t in ts)
    return wide, np.result_type(*dts)


def rounded(y: Tensor, dt: np.dtype | None) -> Tensor:
    """``y`` (computed in float32 by :func:`opmath`) rounded once to ``dt``."""
    return y if dt is None or y._data.dtype == dt else ops.cast(y, dt)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` per channel (dim 1); in training the
    batch's statistics, also blended into the running ones (``momentum``), else the running
    ones."""
    x = to_tensor(input)
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    axes = (0,) + tuple(range(2, x.dim()))
    shape = (1, c) + (1,) * (x.dim() - 2)
    seq0 = composite.start()
    (xw, rmw, rvw, ww, bw), dt = opmath(x, running_mean, running_var, weight, bias)
    if training:
        count = x.numel() // c
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {x.shape}")
        mean = ops.mean(xw, axes, True)
        centred = ops.sub(xw, mean)
        var = ops.mean(ops.mul(centred, centred), axes, True)
        if running_mean is not None:
            with no_grad():
                m = mean.detach()._data.reshape(c)
                v = var.detach()._data.reshape(c) * (count / (count - 1))
                running_mean.mul_(1 - momentum).add_(make(m.astype(running_mean._data.dtype)),
                                                     alpha=momentum)
                running_var.mul_(1 - momentum).add_(make(v.astype(running_var._data.dtype)),
                                                    alpha=momentum)
    else:
        centred = ops.sub(xw, ops.reshape(rmw, shape))
        var = ops.reshape(rvw, shape)
    y = ops.div(centred, ops.sqrt(ops.add(var, eps)))
    if weight is not None:
        y = ops.mul(y, ops.reshape(ww, shape))
    if bias is not None:
        y = ops.add(y, ops.reshape(bw, shape))
    y = rounded(y, dt)

    def replay(xi: Tensor, wi: Tensor | None, bi: Tensor | None) -> Tensor:  # no stats update
        return batch_norm(xi, None if training else running_mean,
                          None if training else running_var, wi, bi, training, momentum, eps)

    return composite.wrap(y, "NativeBatchNormBackward0", (x, weight, bias), seq0, replay, (0, 1))


def affine_parameters(module: Module, shape: Any, dt: np.dtype, affine: bool,
                      bias: bool = True) -> None:
    """``weight`` (ones) and ``bias`` (zeros) of ``shape``, or registered as ``None``: the
    affine part every normalization layer has (PyTorch's ``elementwise_affine``/``affine``)."""
    if affine:
        module.weight = Parameter(make(np.ones(shape, dt)))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = Parameter(make(np.zeros(shape, dt)))
    else:
        module.register_parameter("bias", None)


def running_stats(module: Module, n: int, dt: np.dtype, track: bool) -> None:
    """The ``running_mean``/``running_var``/``num_batches_tracked`` buffers, or ``None``s."""
    if track:
        module.register_buffer("running_mean", make(np.zeros(n, dt)))
        module.register_buffer("running_var", make(np.ones(n, dt)))
        module.register_buffer("num_batches_tracked", make(np.array(0, np.int64)))
    else:
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            module.register_buffer(name, None)


class _BatchNorm(Module):
    _dims: tuple[int, ...] = ()
    _optional_state = ("num_batches_tracked",)  # load_state_dict does not miss it

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = _dtypes.to_numpy_dtype(dtype or _dtypes.float32)
        affine_parameters(self, num_features, dt, affine)
        running_stats(self, num_features, dt, track_running_stats)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.dim() not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"expected {want} input (got {input.dim()}D input)")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if track else None,
                          self.running_var if track else None, self.weight, self.bias,
                          use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Over ``(N, C)`` or ``(N, C, L)``: statistics per channel ``C``."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over ``(N, C, H, W)``: statistics per channel ``C``."""

    _dims = (4,)


__all__ = ["BatchNorm1d", "BatchNorm2d", "Dropout", "batch_norm", "dropout"]

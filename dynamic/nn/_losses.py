"""The losses of ``nn.functional`` that take options beyond the registry's fused ops: class
``weight`` / ``ignore_index`` for ``nll_loss`` and ``cross_entropy``, ``label_smoothing``,
class-probability targets, ``smooth_l1_loss``, ``huber_loss``, ``kl_div`` and
``binary_cross_entropy_with_logits(pos_weight=...)``, written with PyTorch's formulas
(``aten/src/ATen/native/LossNLL.cpp``, ``Loss.cpp``) over registry ops."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from staticgraph import ops

from .._dtypes import from_numpy_dtype
from .._tensor import Tensor, make, to_tensor
from ..autograd.graph import renamed


def reduce(loss: Tensor, reduction: str, name: str | None = None) -> Tensor:
    """``mean`` / ``sum`` / ``none`` of ``loss``, the last node named ``name``."""
    if reduction == "mean":
        out = ops.mean(loss)
    elif reduction == "sum":
        out = ops.sum(loss)
    elif reduction == "none":
        out = loss
    else:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return renamed(out, name) if name else out


def _classes_last(input: Tensor, target: Tensor) -> tuple[Tensor, np.ndarray]:  # noqa: A002
    """``(N, C, d1...)`` scores as ``(M, C)`` rows and the labels flattened alike."""
    labels = target._data
    if input.dim() > 2:
        perm = (0,) + tuple(range(2, input.dim())) + (1,)
        input = ops.reshape(ops.permute(input, perm), (-1, input.shape[1]))
        labels = labels.reshape(-1)
    elif input.dim() == 1:
        input, labels = ops.reshape(input, (1, -1)), labels.reshape(1)
    return input, labels.astype(np.int64)


def weighted_nll(input: Tensor, target: Tensor, weight: Tensor | None,  # noqa: A002
                 ignore_index: int, reduction: str) -> Tensor:
    """``-weight[y] * input[i, y]``; ignored labels count neither in the sum nor the mean's
    divisor (``sum(weight[y])`` over the rest)."""
    shape = tuple(target.shape)
    rows, labels = _classes_last(input, target)
    c = rows.shape[1]
    keep = labels != ignore_index
    safe = np.where(keep, labels, 0)
    if keep.any() and (safe.min() < 0 or safe.max() >= c):
        bad = int(safe[(safe < 0) | (safe >= c)][0])
        raise IndexError(f"Target {bad} is out of bounds.")
    w = np.ones(c, rows._data.dtype) if weight is None else to_tensor(weight)._data
    wy = np.where(keep, w[safe], 0).astype(rows._data.dtype)
    picked = ops.getitem(rows, (np.arange(rows.shape[0]), safe))
    loss = ops.mul(ops.neg(picked), wy)
    if reduction == "mean":
        return renamed(ops.div(ops.sum(loss), wy.sum()), "NllLossBackward0")
    if reduction == "none":
        return renamed(ops.reshape(loss, shape), "NllLossBackward0")
    return reduce(loss, reduction, "NllLossBackward0")


def smoothed_cross_entropy(logp: Tensor, target: Tensor, weight: Tensor | None,
                           ignore_index: int, reduction: str, eps: float) -> Tensor:
    """``(1 - eps) * nll + eps / C * smooth`` with ``smooth = -sum_c w_c logp_c``, PyTorch's
    ``cross_entropy_loss_label_smoothing``."""
    c = logp.shape[1] if logp.dim() > 1 else logp.shape[0]
    nll = weighted_nll(logp, target, weight, ignore_index, reduction)
    rows, labels = _classes_last(logp, target)
    keep = labels != ignore_index
    w = None if weight is None else to_tensor(weight)._data
    scaled = rows if w is None else ops.mul(rows, w)
    smooth = ops.mul(ops.neg(ops.sum(scaled, -1)), keep.astype(rows._data.dtype))
    if reduction == "mean":
        den = keep.sum() if w is None else w[labels[keep]].sum()
        smooth = ops.div(ops.sum(smooth), float(den))
    elif reduction == "sum":
        smooth = ops.sum(smooth)
    else:
        smooth = ops.reshape(smooth, tuple(target.shape))
    return ops.add(ops.mul(nll, 1 - eps), ops.mul(smooth, eps / c))


def prob_cross_entropy(logp: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                       eps: float) -> Tensor:
    """Cross-entropy against class probabilities (``target`` shaped like ``input``)."""
    if tuple(target.shape) != tuple(logp.shape):
        if not target.is_floating_point():
            raise RuntimeError("Expected floating point type for target with class "
                               "probabilities, got Long")
        if target.dim() != logp.dim():  # PyTorch takes it for class indices: their dtype
            name = from_numpy_dtype(target._data.dtype)._legacy.removesuffix("Tensor")
            raise RuntimeError(f"expected target dtype to be Long or Byte, but got {name}")
        if target.shape[0] != logp.shape[0]:
            raise ValueError(f"Expected input batch_size ({logp.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}).")
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    cdim = 1 if logp.dim() > 1 else 0
    c = logp.shape[cdim]
    if eps > 0:
        target = ops.add(ops.mul(target, 1 - eps), eps / c)
    terms = ops.mul(logp, target)
    if weight is not None:
        shape = [1] * logp.dim()
        shape[cdim] = c
        terms = ops.mul(terms, to_tensor(weight)._data.reshape(shape))
    if reduction == "mean":  # PyTorch divides by a Python number: DivBackward1
        return renamed(ops.div(ops.neg(ops.sum(terms)), float(logp.numel() // c)), "DivBackward1")
    if reduction == "sum":
        return ops.neg(ops.sum(terms))
    return ops.neg(ops.sum(terms, cdim))


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None,  # noqa: A002
                   reduce_: Any = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``beta=0``: L1)."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = ops.abs(ops.sub(input, target))
    if beta == 0:
        return reduce(d, reduction, "SmoothL1LossBackward0")
    small = ops.lt(d, beta)
    quad = ops.div(ops.mul(ops.mul(d, d), 0.5), beta)
    return reduce(ops.where(small, quad, ops.sub(d, 0.5 * beta)), reduction,
                  "SmoothL1LossBackward0")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",  # noqa: A002
               delta: float = 1.0, weight: Any = None) -> Tensor:
    """``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``."""
    d = ops.abs(ops.sub(input, target))
    quad = ops.mul(ops.mul(d, d), 0.5)
    lin = ops.mul(ops.sub(d, 0.5 * delta), delta)
    loss = ops.where(ops.le(d, delta), quad, lin)
    if weight is not None:
        loss = ops.mul(loss, weight)
    return reduce(loss, reduction, "HuberLossBackward0")


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce_: Any = None,  # noqa: A002
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """``target * (log target - input)`` (0 where ``target`` is 0), or with log targets
    ``exp(t) * (t - input)``; ``batchmean`` divides the sum by the batch size."""
    target = to_tensor(target)
    if log_target:
        loss = ops.mul(ops.exp(target), ops.sub(target, input))
    else:
        t = target._data
        logt = make(np.log(np.where(t > 0, t, 1)).astype(t.dtype)) if not target.requires_grad \
            else ops.log(ops.where(ops.gt(target, 0), target, 1.0))
        loss = ops.mul(target, ops.sub(logt, input))
    if reduction == "batchmean":
        total = ops.sum(loss)
        return ops.div(total, input.shape[0]) if input.dim() else total
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    return reduce(loss, reduction)


def bce_logits_pos_weight(input: Tensor, target: Tensor, pos_weight: Any) -> Tensor:  # noqa: A002
    """PyTorch's ``(1 - y) x + (1 + (pw - 1) y) (log1p(exp(-|x|)) + max(-x, 0))``."""
    log_w = ops.add(ops.mul(ops.sub(pos_weight, 1), target), 1)
    soft = ops.add(ops.log1p(ops.exp(ops.neg(ops.abs(input)))), ops.maximum(ops.neg(input), 0.0))
    return ops.add(ops.mul(ops.sub(1, target), input), ops.mul(log_w, soft))

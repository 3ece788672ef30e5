"""``nn.functional``: activations, softmax family, losses and ``linear`` over the registry ops."""

from __future__ import annotations

import warnings
from typing import Any

from staticgraph import ops

from .._methods import renamed
from .._tensor import Tensor, to_tensor


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return input.relu_() if inplace else ops.relu(input)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return ops.tanh(input)


def _softmax_dim(input: Tensor, dim: int | None, name: str) -> int:  # noqa: A002
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                      "to include dim=X as an argument.", UserWarning, stacklevel=3)
        return 0 if input.dim() in (0, 1, 3) else 1
    return dim


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    x = input if dtype is None else input.to(dtype)
    return ops.softmax(x, _softmax_dim(input, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    x = input if dtype is None else input.to(dtype)
    return ops.log_softmax(x, _softmax_dim(input, dim, "log_softmax"))


def _unsupported(**opts: Any) -> None:
    for k, (v, default) in opts.items():
        if v != default:
            raise NotImplementedError(f"{k}={v!r} is not supported by dynamic.nn.functional")


def nll_loss(input: Tensor, target: Tensor, weight: Any = None, ignore_index: int = -100,  # noqa: A002
             reduction: str = "mean") -> Tensor:
    _unsupported(weight=(weight, None), ignore_index=(ignore_index, -100))
    return ops.nll_loss(input, to_tensor(target), reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Any = None, ignore_index: int = -100,  # noqa: A002
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from integer class labels (``log_softmax`` then ``nll_loss``)."""
    _unsupported(weight=(weight, None), ignore_index=(ignore_index, -100),
                 label_smoothing=(label_smoothing, 0.0))
    target = to_tensor(target)
    if target.is_floating_point():
        raise NotImplementedError("cross_entropy with class probabilities is not supported; "
                                  "pass integer class indices (int64)")
    return ops.cross_entropy(input, target, reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    if tuple(input.shape) != tuple(to_tensor(target).shape):
        warnings.warn(f"Using a target size ({to_tensor(target).shape}) that is different to the "
                      f"input size ({input.shape}). This will likely lead to incorrect results "
                      "due to broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=2)
    return ops.mse_loss(input, target, reduction)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """``input @ weight.T + bias`` (``AddmmBackward0`` for a 2-D input with bias, as PyTorch)."""
    y = ops.matmul(input, ops.transpose(weight, 0, 1))
    if bias is None:
        return y
    y = ops.add(y, bias)
    return renamed(y, "AddmmBackward0") if input.dim() == 2 else y

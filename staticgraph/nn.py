"""TF1 ``tf.nn`` functions over the shared registry (losses return per-example values)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph.core import Tensor
from .graph.math_ops import (
    _named,
    _t,
    add,
    exp,
    log,
    maximum,
    multiply,
    negative,
    reduce_sum,
    sigmoid,
    subtract,
    tanh,
)

__all__ = ["relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "elu",
           "sparse_softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits_v2", "sigmoid_cross_entropy_with_logits",
           "l2_loss", "bias_add", "softplus", "leaky_relu", "moments"]


def relu(features: Any, name: str | None = None) -> Tensor:
    return _named(name, "Relu", ops.relu, _t(features))


def relu6(features: Any, name: str | None = None) -> Tensor:
    x = _t(features)
    return _named(name, "Relu6", ops.clamp, x, 0.0, 6.0)


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> Tensor:
    x = _t(features)
    return maximum(x, multiply(x, alpha), name=name or "LeakyRelu")


def elu(features: Any, name: str | None = None) -> Tensor:
    x = _t(features)
    return ops.where(ops.gt(x, 0.0), x, subtract(exp(ops.minimum(x, 0.0)), 1.0))


def softplus(features: Any, name: str | None = None) -> Tensor:
    """log(1 + exp(x)), computed stably as max(x, 0) + log(1 + exp(-|x|))."""
    x = _t(features)
    return add(maximum(x, 0.0), log(add(exp(negative(ops.abs(x))), 1.0)),
               name=name or "Softplus")


def softmax(logits: Any, axis: int = -1, name: str | None = None, dim: Any = None) -> Tensor:
    axis = dim if dim is not None else axis
    return _named(name, "Softmax", ops.softmax, _t(logits), axis)


def log_softmax(logits: Any, axis: int = -1, name: str | None = None, dim: Any = None) -> Tensor:
    axis = dim if dim is not None else axis
    return _named(name, "LogSoftmax", ops.log_softmax, _t(logits), axis)


def _labels_logits(_sentinel: Any, labels: Any, logits: Any, fn: str) -> tuple:
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError(f"Only call `{fn}` with named arguments (labels=..., logits=..., ...)")
    return labels, _t(logits)


def sparse_softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None,
                                             logits: Any = None,
                                             name: str | None = None) -> Tensor:
    """Per-example ``-log softmax(logits)[label]`` for integer ``labels`` of shape (N,)."""
    labels, logits = _labels_logits(_sentinel, labels, logits,
                                    "sparse_softmax_cross_entropy_with_logits")
    lab = _t(labels, None)
    if not lab.dtype.is_integer:
        raise ValueError(f"labels must be int32 or int64, got {lab.dtype.name} ({lab.name})")
    if lab.ndim != logits.ndim - 1:
        raise ValueError(f"Rank mismatch: Rank of labels (received {lab.ndim}) should equal rank "
                         f"of logits minus 1 (received {logits.ndim}).")
    with logits.graph.name_scope(name or "SparseSoftmaxCrossEntropyWithLogits"):
        return ops.nll_loss(ops.log_softmax(logits, -1), lab, reduction="none")


def softmax_cross_entropy_with_logits_v2(_sentinel: Any = None, labels: Any = None,
                                         logits: Any = None, axis: int = -1,
                                         name: str | None = None, dim: Any = None) -> Tensor:
    """Per-example ``-sum(labels * log_softmax(logits), axis)`` (gradient flows to labels)."""
    labels, logits = _labels_logits(_sentinel, labels, logits,
                                    "softmax_cross_entropy_with_logits_v2")
    axis = dim if dim is not None else axis
    with logits.graph.name_scope(name or "softmax_cross_entropy_with_logits"):
        lab = _t(labels, logits.dtype) if not isinstance(labels, Tensor) else labels
        return negative(reduce_sum(multiply(lab, ops.log_softmax(logits, axis)), axis))


def softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None,
                                      logits: Any = None, dim: int = -1,
                                      name: str | None = None, axis: Any = None) -> Tensor:
    """TF1's deprecated form: like ``_v2`` but no gradient flows into ``labels``."""
    from .graph.array_ops import stop_gradient

    labels, logits = _labels_logits(_sentinel, labels, logits,
                                    "softmax_cross_entropy_with_logits")
    lab = stop_gradient(_t(labels, logits.dtype) if not isinstance(labels, Tensor) else labels)
    return softmax_cross_entropy_with_logits_v2(labels=lab, logits=logits,
                                                axis=dim if axis is None else axis, name=name)


def sigmoid_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None,
                                      logits: Any = None, name: str | None = None) -> Tensor:
    """``max(x, 0) - x * z + log(1 + exp(-|x|))``, TF's stable form."""
    labels, logits = _labels_logits(_sentinel, labels, logits,
                                    "sigmoid_cross_entropy_with_logits")
    z = _t(labels, logits.dtype) if not isinstance(labels, Tensor) else labels
    x = logits
    with x.graph.name_scope(name or "logistic_loss"):
        return add(subtract(maximum(x, 0.0), multiply(x, z)),
                   log(add(exp(negative(ops.abs(x))), 1.0)))


def l2_loss(t: Any, name: str | None = None) -> Tensor:
    """``sum(t ** 2) / 2``."""
    x = _t(t)
    return multiply(reduce_sum(ops.square(x)), 0.5, name=name or "L2Loss")


def bias_add(value: Any, bias: Any, data_format: Any = None, name: str | None = None) -> Tensor:
    return add(value, bias, name=name or "BiasAdd")


def moments(x: Any, axes: Any, keepdims: bool = False, name: str | None = None) -> tuple:
    from .graph.math_ops import reduce_mean, square

    x = _t(x)
    mean = reduce_mean(x, axes, keepdims=True)
    var = reduce_mean(square(subtract(x, mean)), axes, keepdims=keepdims)
    if not keepdims:
        mean = ops.squeeze(mean, tuple(int(a) for a in np.atleast_1d(axes)))
    return mean, var


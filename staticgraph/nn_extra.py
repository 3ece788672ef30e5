"""More ``tf.nn`` functions a learner meets, composed from registry ops with TF's formulas and
result names: ``selu``, ``swish``, ``softsign``, ``relu_layer``,
``weighted_cross_entropy_with_logits`` and ``zero_fraction``; and ``tf.math.reduce_variance``
/ ``reduce_std`` (TF's mean of squared deviations from the kept-dims mean)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph.math_ops import (
    _final,
    _require,
    _t,
    cast,
    composite,
    matmul,
    reduce_mean,
)

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _same(x: Any, v: float) -> np.ndarray:
    return np.asarray(v, x.dtype.base_dtype.np_dtype)


def selu(features: Any, name: str | None = None) -> Any:
    """``scale * (x < 0 ? alpha * (exp(x) - 1) : x)`` (TF's constants)."""
    x = _t(features)
    _require("f", x, param="features")
    with composite(name, "Selu", x) as stem:
        neg = ops.mul(_same(x, _SELU_SCALE * _SELU_ALPHA), ops.expm1(ops.minimum(x, _same(x, 0))))
        # TF's SeluGrad: the negative branch only below 0 (the gradient at 0 is ``scale``)
        return _final(stem, ops.where, ops.lt(x, _same(x, 0)), neg,
                      ops.mul(_same(x, _SELU_SCALE), x))


def swish(features: Any, beta: float = 1.0, name: str | None = None) -> Any:
    """``x * sigmoid(beta * x)``."""
    x = _t(features)
    with composite(name, "swish", x) as stem:
        z = x if beta == 1.0 else ops.mul(x, _same(x, beta))
        return _final(stem, ops.mul, x, ops.sigmoid(z))


def softsign(features: Any, name: str | None = None) -> Any:
    """``x / (1 + |x|)``."""
    x = _t(features)
    with composite(name, "Softsign", x) as stem:
        return _final(stem, ops.div, x, ops.add(_same(x, 1.0), ops.abs(x)))


def relu_layer(x: Any, weights: Any, biases: Any, name: str | None = None) -> Any:
    """``relu(matmul(x, weights) + biases)``."""
    xt = _t(x)
    with composite(name, "relu_layer", xt) as stem:
        return _final(stem, ops.relu, ops.add(matmul(xt, weights), _t(biases)))


def weighted_cross_entropy_with_logits(labels: Any = None, logits: Any = None,
                                       pos_weight: Any = None, name: str | None = None,
                                       targets: Any = None) -> Any:
    """TF's stable form: ``(1 - z) * x + (1 + (pos_weight - 1) * z) * (log1p(exp(-|x|)) +
    relu(-x))`` per element."""
    z = _t(labels if labels is not None else targets)
    x = _t(logits)
    if z.aval.shape is not None and x.aval.shape is not None and \
            z.aval.shape != x.aval.shape and None not in z.aval.shape + x.aval.shape:
        raise ValueError(f"logits and labels must have the same shape ({x.shape} vs {z.shape})")
    with composite(name, "logistic_loss", x) as stem:
        log_weight = ops.add(_same(x, 1.0), ops.mul(ops.sub(_t(pos_weight, x.dtype),
                                                            _same(x, 1.0)), z))
        soft = ops.add(ops.log1p(ops.exp(ops.neg(ops.abs(x)))), ops.relu(ops.neg(x)))
        return _final(stem, ops.add, ops.mul(ops.sub(_same(x, 1.0), z), x),
                      ops.mul(log_weight, soft))


def zero_fraction(value: Any, name: str | None = None) -> Any:
    """The fraction of ``value``'s elements that are 0 (float32)."""
    v = _t(value)
    with composite(name, "zero_fraction", v) as stem:
        zeros = cast(ops.eq(v, _same(v, 0)), np.float32)
        return _final(stem + "fraction/", ops.reduce_mean, zeros)


def reduce_variance(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                    name: str | None = None) -> Any:
    """``mean((x - mean(x, axis, keepdims=True)) ** 2, axis)``."""
    x = _t(input_tensor)
    _require("f", x, param="input_tensor")
    with composite(name, "reduce_variance", x):  # TF's nodes: Mean, sub, Square, Mean_1
        dev = ops.sub(x, reduce_mean(x, axis, keepdims=True))
        return reduce_mean(ops.square(dev), axis, keepdims=keepdims)


def reduce_std(input_tensor: Any, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Any:
    """``sqrt(reduce_variance(x, axis, keepdims))``."""
    x = _t(input_tensor)
    with composite(name, "reduce_std", x) as stem:
        return _final(stem + "Sqrt/", ops.sqrt, reduce_variance(x, axis, keepdims))


__all__ = ["selu", "swish", "softsign", "relu_layer", "weighted_cross_entropy_with_logits",
           "zero_fraction", "reduce_variance", "reduce_std"]

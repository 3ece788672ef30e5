"""``tf.layers.dense`` and ``tf.losses`` (TF1's mean reductions over the per-example losses)."""

from __future__ import annotations

from typing import Any

from . import nn, ops
from .graph.array_ops import constant, reshape
from .graph.core import get_default_graph
from .graph.math_ops import (
    _final,
    _t,
    add,
    add_n,
    composite,
    matmul,
    reduce_mean,
    squared_difference,
)
from .layers_conv import KernelLayer, layer_scope
from .unsupported import unsupported
from .variable_scope import (
    REGULARIZATION_LOSSES,
    get_variable,
    variable_scope,
    zeros_initializer,
)


def dense(inputs: Any, units: int, activation: Any = None, use_bias: bool = True,
          kernel_initializer: Any = None, bias_initializer: Any = None,
          kernel_regularizer: Any = None, bias_regularizer: Any = None, trainable: bool = True,
          name: str | None = None, reuse: Any = None, **_: Any) -> Any:
    """``activation(inputs @ kernel + bias)`` with variables ``<name>/kernel``, ``<name>/bias``
    (a regularizer's loss joins ``regularization_losses``)."""
    with variable_scope(name, default_name="dense", reuse=reuse):
        return _dense_here(inputs, units, activation, use_bias, kernel_initializer,
                           bias_initializer, trainable, kernel_regularizer, bias_regularizer)[0]


def _dense_here(inputs: Any, units: int, activation: Any, use_bias: bool, kernel_initializer: Any,
                bias_initializer: Any, trainable: bool, kernel_regularizer: Any = None,
                bias_regularizer: Any = None) -> tuple:
    """The dense layer in the current variable scope: ``(output, kernel, bias or None)``."""
    x = _t(inputs)
    n_in = x.shape.as_list()[-1] if x.shape.ndims is not None else None
    if n_in is None:
        raise ValueError("The last dimension of the inputs to `Dense` should be defined. "
                         "Found `None`.")
    kernel = get_variable("kernel", [n_in, units], dtype=x.dtype,
                          initializer=kernel_initializer, regularizer=kernel_regularizer,
                          trainable=trainable)
    y = matmul(x, kernel) if x.ndim == 2 else reshape(
        matmul(reshape(x, [-1, n_in]), kernel), [-1] + x.shape.as_list()[1:-1] + [units])
    bias = None
    if use_bias:
        bias = get_variable("bias", [units], dtype=x.dtype,
                            initializer=bias_initializer or zeros_initializer(),
                            regularizer=bias_regularizer, trainable=trainable)
        y = add(y, bias, name="BiasAdd")
    return (activation(y) if activation is not None else y), kernel, bias


class Dense(KernelLayer):
    """``tf.layers.Dense``: a layer object whose first call makes ``<name>/kernel`` and
    ``<name>/bias`` (as :func:`dense`) and whose later calls reuse them."""

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = None,
                 trainable: bool = True, name: str | None = None, **_: Any) -> None:
        self.units, self.activation, self.use_bias = int(units), activation, use_bias
        self._init = (kernel_initializer, bias_initializer)
        self.trainable, self.name = trainable, name
        self.kernel: Any = None
        self.bias: Any = None

    def __call__(self, inputs: Any) -> Any:
        with layer_scope(self, "dense"):
            y, self.kernel, self.bias = _dense_here(inputs, self.units, self.activation,
                                                    self.use_bias, *self._init, self.trainable)
        return y

    apply = __call__


class _Losses:
    """``tf.losses``: the mean of weighted per-example losses (``weights`` a scalar), in TF's
    scopes (the result is ``<loss name>/value``)."""

    @staticmethod
    def _mean(scope: str | None, default: str, per_example: Any, weights: Any,
              inputs: tuple) -> Any:
        with composite(scope, default, *inputs) as stem:
            per = per_example()
            return _final(stem + "value/", ops.mul, reduce_mean(per), weights)

    @staticmethod
    def mean_squared_error(labels: Any, predictions: Any, weights: Any = 1.0,
                           scope: str | None = None, **_: Any) -> Any:
        p = _t(predictions)
        return _Losses._mean(scope, "mean_squared_error",
                             lambda: squared_difference(p, _t(labels, p.dtype)), weights, (p,))

    @staticmethod
    def sparse_softmax_cross_entropy(labels: Any, logits: Any, weights: Any = 1.0,
                                     scope: str | None = None, **_: Any) -> Any:
        return _Losses._mean(scope, "sparse_softmax_cross_entropy_loss",
                             lambda: nn.sparse_softmax_cross_entropy_with_logits(
                                 labels=labels, logits=logits), weights, (logits,))

    @staticmethod
    def softmax_cross_entropy(onehot_labels: Any, logits: Any, weights: Any = 1.0,
                              scope: str | None = None, **_: Any) -> Any:
        return _Losses._mean(scope, "softmax_cross_entropy_loss",
                             lambda: nn.softmax_cross_entropy_with_logits_v2(
                                 labels=onehot_labels, logits=logits), weights, (logits,))


def _weighted_mean(per: Any, weights: Any) -> Any:
    return reduce_mean(ops.mul(per, weights))


class _MoreLosses(_Losses):
    """The other common ``tf.losses`` (mean reduction, scalar ``weights``), and the
    regularization losses ``get_variable(regularizer=...)`` collected."""

    def __getattr__(self, name: str) -> Any:
        raise unsupported("losses", name)

    @staticmethod
    def get_regularization_losses(scope: str | None = None) -> list:
        return get_default_graph().get_collection(REGULARIZATION_LOSSES, scope)

    @staticmethod
    def get_regularization_loss(scope: str | None = None,
                                name: str = "total_regularization_loss") -> Any:
        """The sum of the regularization losses (``0.0`` when there are none)."""
        found = _MoreLosses.get_regularization_losses(scope)
        return add_n(found, name=name) if found else constant(0.0)

    @staticmethod
    def absolute_difference(labels: Any, predictions: Any, weights: Any = 1.0,
                            scope: str | None = None, **_: Any) -> Any:
        p = _t(predictions)
        return _Losses._mean(scope, "absolute_difference",
                             lambda: ops.abs(ops.sub(p, _t(labels, p.dtype))), weights, (p,))

    @staticmethod
    def log_loss(labels: Any, predictions: Any, weights: Any = 1.0, epsilon: float = 1e-7,
                 scope: str | None = None, **_: Any) -> Any:
        p = _t(predictions)

        def per() -> Any:
            y = _t(labels, p.dtype)
            pos = ops.mul(y, ops.log(ops.add(p, epsilon)))
            neg = ops.mul(ops.sub(1.0, y), ops.log(ops.add(ops.sub(1.0, p), epsilon)))
            return ops.neg(ops.add(pos, neg))

        return _Losses._mean(scope, "log_loss", per, weights, (p,))

    @staticmethod
    def huber_loss(labels: Any, predictions: Any, weights: Any = 1.0, delta: float = 1.0,
                   scope: str | None = None, **_: Any) -> Any:
        p = _t(predictions)

        def per() -> Any:
            err = ops.abs(ops.sub(p, _t(labels, p.dtype)))
            quad = ops.minimum(err, delta)
            lin = ops.sub(err, quad)
            return ops.add(ops.mul(ops.mul(quad, quad), 0.5), ops.mul(lin, delta))

        return _Losses._mean(scope, "huber_loss", per, weights, (p,))

    @staticmethod
    def sigmoid_cross_entropy(multi_class_labels: Any, logits: Any, weights: Any = 1.0,
                              scope: str | None = None, **_: Any) -> Any:
        return _Losses._mean(scope, "sigmoid_cross_entropy_loss",
                             lambda: nn.sigmoid_cross_entropy_with_logits(
                                 labels=multi_class_labels, logits=logits), weights, (logits,))


losses = _MoreLosses()

"""``tf.layers.batch_normalization`` / ``tf.layers.BatchNormalization`` as TF1 builds them.

Variables ``<name>/gamma``, ``beta`` (trainable), ``moving_mean``, ``moving_variance`` (not
trainable), made in that order. With ``training`` true (a bool or a bool tensor) the batch's
moments normalize and two assign ops that move the moving statistics toward them join the
``UPDATE_OPS`` collection, so ``with tf.control_dependencies(tf.get_collection(
tf.GraphKeys.UPDATE_OPS))`` runs them with the train op. As TF, a 4-D input (not float64) along
axis 1 or -1 takes the fused kernel's rule (the moving variance follows the Bessel-corrected
batch variance, also for a fed batch size); anything else the plain one (the biased variance).
``training=False`` adds no update ops."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph.core import get_default_graph
from .graph.math_ops import _t
from .layers_conv import is_tensor_flag, layer_scope, pick
from .nn import batch_normalization as nn_batch_normalization
from .variable_scope import get_variable, ones_initializer, variable_scope, zeros_initializer
from .variables import assign

UPDATE_OPS = "update_ops"


def _bn_here(x: Any, axis: int, momentum: float, epsilon: float, center: bool, scale: bool,
             inits: tuple, regs: tuple, training: Any, trainable: bool) -> tuple:
    """The layer in the current variable scope: ``(output, [gamma, beta, mean, variance])``."""
    dims = x.shape.as_list() if x.shape.ndims is not None else None
    if dims is None:
        raise ValueError(f"Input has undefined rank. Received: input_shape={x.shape}.")
    ax = axis % len(dims)
    if dims[ax] is None:
        raise ValueError(f"Input has undefined `axis` dimension. Received input with shape "
                         f"{x.shape} and axis={axis}")
    n = dims[ax]
    beta_init, gamma_init, mean_init, var_init = inits
    gamma = get_variable("gamma", [n], dtype=x.dtype, initializer=gamma_init or ones_initializer(),
                         regularizer=regs[1], trainable=trainable) if scale else None
    beta = get_variable("beta", [n], dtype=x.dtype, initializer=beta_init or zeros_initializer(),
                        regularizer=regs[0], trainable=trainable) if center else None
    moving_mean = get_variable("moving_mean", [n], dtype=x.dtype,
                               initializer=mean_init or zeros_initializer(), trainable=False)
    moving_var = get_variable("moving_variance", [n], dtype=x.dtype,
                              initializer=var_init or ones_initializer(), trainable=False)
    reduce_axes = tuple(i for i in range(len(dims)) if i != ax)
    # TF takes the fused kernel for a 4-D float input (not float64) normalized along axis 1
    # or 3: it moves the variance toward the Bessel-corrected batch variance
    fused = len(dims) == 4 and ax in (1, 3) and x.dtype.base_dtype.name != "float64"
    bshape = [1] * len(dims)
    bshape[ax] = n

    def _bc(v: Any) -> Any:  # a per-channel vector, broadcast along ``axis``
        return v if v is None or ax == len(dims) - 1 else ops.reshape(v, tuple(bshape))

    def normalize(mean: Any, var: Any) -> Any:
        return nn_batch_normalization(x, _bc(mean), _bc(var), _bc(beta), _bc(gamma), epsilon)

    if not is_tensor_flag(training) and not training:  # TF: no moments, no update ops
        return normalize(moving_mean, moving_var), [gamma, beta, moving_mean, moving_var]
    with get_default_graph().name_scope("moments"):
        batch_mean = ops.reduce_mean(x, reduce_axes, False)
        centered = ops.sub(x, _bc(batch_mean))
        batch_var = ops.reduce_mean(ops.square(centered), reduce_axes, False)
    mean = pick(training, lambda: batch_mean, lambda: moving_mean.value())
    var = pick(training, lambda: batch_var, lambda: moving_var.value())
    y = normalize(mean, var)
    target_var = batch_var
    if fused:  # the fused kernel's Bessel correction, by the (maybe fed) batch's size
        count = ops.sum(ops.ones_like(x), reduce_axes, False)
        target_var = ops.mul(batch_var, ops.div(count, ops.maximum(ops.sub(count, 1.0), 1.0)))
    decay = np.asarray(1.0 - momentum, x.aval.dtype)
    updates = []
    for var_, target, nm in ((moving_mean, batch_mean, "AssignMovingAvg"),
                             (moving_var, target_var, "AssignMovingAvg_1")):
        new = ops.sub(var_.value(), ops.mul(ops.sub(var_.value(), target), decay))
        updates.append(assign(var_, pick(training, lambda new=new: new, lambda v=var_: v.value()),
                              name=nm))
    g = get_default_graph()
    for u in updates:
        g.add_to_collection(UPDATE_OPS, u)
    return y, [gamma, beta, moving_mean, moving_var]


def batch_normalization(inputs: Any, axis: int = -1, momentum: float = 0.99,
                        epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                        beta_initializer: Any = None, gamma_initializer: Any = None,
                        moving_mean_initializer: Any = None,
                        moving_variance_initializer: Any = None, beta_regularizer: Any = None,
                        gamma_regularizer: Any = None, training: Any = False,
                        trainable: bool = True, name: str | None = None, reuse: Any = None,
                        renorm: bool = False, **_: Any) -> Any:
    """``gamma * (x - mean) / sqrt(var + epsilon) + beta`` over all axes but ``axis``: the
    batch's moments when ``training``, the moving ones otherwise (see the module text)."""
    if renorm:
        raise NotImplementedError("batch_normalization(renorm=True) is not supported")
    with variable_scope(name, default_name="batch_normalization", reuse=reuse):
        return _bn_here(_t(inputs), int(axis), float(momentum), float(epsilon), center, scale,
                        (beta_initializer, gamma_initializer, moving_mean_initializer,
                         moving_variance_initializer), (beta_regularizer, gamma_regularizer),
                        training, trainable)[0]


class BatchNormalization:
    """``tf.layers.BatchNormalization``: variables made by the first call, reused later;
    ``training`` is an argument of the call, as in TF."""

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = None,
                 gamma_initializer: Any = None, moving_mean_initializer: Any = None,
                 moving_variance_initializer: Any = None, beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, trainable: bool = True,
                 name: str | None = None, **_: Any) -> None:
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale, self.trainable, self.name = center, scale, trainable, name
        self._inits = (beta_initializer, gamma_initializer, moving_mean_initializer,
                       moving_variance_initializer)
        self._regs = (beta_regularizer, gamma_regularizer)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    @property
    def built(self) -> bool:
        return self.moving_mean is not None

    @property
    def variables(self) -> list:
        return [v for v in (self.gamma, self.beta, self.moving_mean, self.moving_variance)
                if v is not None]

    weights = variables

    @property
    def trainable_variables(self) -> list:
        return [v for v in (self.gamma, self.beta) if v is not None] if self.trainable else []

    def __call__(self, inputs: Any, training: Any = False) -> Any:
        with layer_scope(self, "batch_normalization"):
            y, (self.gamma, self.beta, self.moving_mean, self.moving_variance) = _bn_here(
                _t(inputs), self.axis, self.momentum, self.epsilon, self.center, self.scale,
                self._inits, self._regs, training, self.trainable)
        return y

    apply = __call__

"""TF1 ``tf.nn`` functions over the shared registry (losses return per-example values)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .conv_ops import avg_pool, conv1d, conv2d, conv3d, depthwise_conv2d, max_pool
from .graph.array_ops import identity, one_hot, stop_gradient
from .graph.composite_ops import gather
from .graph.core import Tensor
from .graph.frontend import node_name
from .graph.math_ops import (
    _final,
    _named,
    _require,
    _t,
    add,
    composite,
    matmul,
    reduce_mean,
    sigmoid,
    square,
    subtract,
    tanh,
)
from .graph.vector_ops import l2_normalize, top_k
from .nn_extra import (
    relu_layer,
    selu,
    softsign,
    swish,
    weighted_cross_entropy_with_logits,
    zero_fraction,
)
from .unsupported import module_getattr
from .variables import Variable, assign_add

__all__ = ["relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "elu",
           "sparse_softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits_v2", "sigmoid_cross_entropy_with_logits",
           "l2_loss", "conv1d", "conv2d", "conv3d", "depthwise_conv2d", "max_pool", "avg_pool",
           "embedding_lookup", "dropout",
           "in_top_k", "xw_plus_b", "batch_normalization", "bias_add", "softplus", "leaky_relu",
           "moments", "top_k", "l2_normalize", "selu", "swish", "softsign", "relu_layer",
           "weighted_cross_entropy_with_logits", "zero_fraction"]


def relu(features: Any, name: str | None = None) -> Tensor:
    return _named(name, "Relu", ops.relu, _t(features))


def relu6(features: Any, name: str | None = None) -> Tensor:
    """``min(max(x, 0), 6)`` with PyTorch's ``hardtanh`` gradient: 0 at and beyond both bounds,
    passed through elsewhere (NaN included)."""
    x = _t(features)
    with composite(name, "Relu6", x) as stem:
        upper = ops.where(ops.ge(x, 6.0), 6.0, x)
        return _final(stem, ops.where, ops.le(x, 0.0), 0.0, upper)


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> Tensor:
    """``x > 0 ? x : alpha * x`` (TF's LeakyRelu kernel; its gradient is ``alpha`` at 0 and NaN,
    as in TF and PyTorch)."""
    x = _t(features)
    with composite(name, "LeakyRelu", x) as stem:
        return _final(stem, ops.where, ops.gt(x, 0.0), x, ops.mul(x, alpha))


def elu(features: Any, name: str | None = None) -> Tensor:
    """``x < 0 ? expm1(x) : x``: gradient 1 at 0 and at NaN, as in TF and PyTorch; the second
    derivative at 0 is 0, TF's ``_EluGradGrad`` (``where(y < 0)``; with ``x <= 0`` it was
    expm1's 1: fuzz seed 43332)."""
    x = _t(features)
    with composite(name, "Elu", x) as stem:
        neg_ = ops.lt(x, 0.0)
        neg = ops.expm1(ops.where(neg_, x, 0.0))
        return _final(stem, ops.where, neg_, neg, x)


def softplus(features: Any, name: str | None = None) -> Tensor:
    """``log(1 + exp(x))``: the registry's ``softplus``, ``max(x, 0) + log1p(exp(-|x|))``
    (no overflow, full precision down to denormal results), gradient ``sigmoid(x)``."""
    _require("f", features, param="features")
    return _named(name, "Softplus", ops.softplus, _t(features))


def softmax(logits: Any, axis: int | None = None, name: str | None = None,
            dim: Any = None) -> Tensor:
    axis = dim if dim is not None else (-1 if axis is None else axis)
    _require("f", logits, param="logits")
    return _named(name, "Softmax", ops.softmax, _t(logits), axis)


def log_softmax(logits: Any, axis: int | None = None, name: str | None = None,
                dim: Any = None) -> Tensor:
    axis = dim if dim is not None else (-1 if axis is None else axis)
    _require("f", logits, param="logits")
    return _named(name, "LogSoftmax", ops.log_softmax, _t(logits), axis)


def _labels_logits(labels: Any, logits: Any, fn: str) -> tuple:
    if labels is None or logits is None:
        raise ValueError(f"{fn} needs both labels and logits (got "
                         f"{'labels' if logits is None else 'logits'} only)")
    return labels, _t(logits)


def sparse_softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None,
                                             name: str | None = None) -> Tensor:
    """Per-example ``-log softmax(logits)[label]`` for integer ``labels`` of shape (N,) (or any
    ``[d0, ..., dk]`` with logits ``[d0, ..., dk, C]``, as per-timestep losses)."""
    labels, logits = _labels_logits(labels, logits, "sparse_softmax_cross_entropy_with_logits")
    lab = _t(labels, None)
    if not lab.dtype.is_integer:
        raise ValueError(f"labels must be int32 or int64, got {lab.dtype.name} ({lab.name})")
    if logits.aval.shape is None:  # TF checks the ranks when the logits are fed
        with logits.graph.name_scope(name or "SparseSoftmaxCrossEntropyWithLogits"):
            logp = ops.log_softmax(logits, -1)
            with node_name("SparseSoftmaxCrossEntropyWithLogits"):
                return ops.nll_loss(logp, lab, reduction="none")
    unknown = lab.aval.shape is None and logits.ndim == 2  # labels declared with shape=(None)
    if not unknown and lab.ndim != logits.ndim - 1:
        raise ValueError(f"Rank mismatch: Rank of labels (received {lab.ndim}) should equal rank "
                         f"of logits minus 1 (received {logits.ndim}).")
    with logits.graph.name_scope(name or "SparseSoftmaxCrossEntropyWithLogits"):
        if unknown:  # TF checks the rank when the labels are fed: here the reshape does
            lab = ops.reshape(lab, (-1,))
        if logits.ndim > 2:  # [d0, ..., C] with [d0, ...] labels: as rows, then back
            classes = logits.aval.shape[-1]
            if classes is None:
                raise ValueError(f"sparse_softmax_cross_entropy_with_logits needs the number of "
                                 f"classes (the last dimension of {logits.name}) to be known")
            rows = ops.nll_loss(ops.log_softmax(ops.reshape(logits, (-1, classes)), -1),
                                ops.reshape(lab, (-1,)), reduction="none")
            with node_name("Reshape"):
                return ops.reshape_like(rows, lab)
        logp = ops.log_softmax(logits, -1)
        with node_name("SparseSoftmaxCrossEntropyWithLogits"):
            return ops.nll_loss(logp, lab, reduction="none")


def softmax_cross_entropy_with_logits_v2(labels: Any, logits: Any, axis: int | None = None,
                                         name: str | None = None, dim: Any = None) -> Tensor:
    """Per-example ``-sum(labels * log_softmax(logits), axis)`` (gradient flows to labels)."""
    labels, logits = _labels_logits(labels, logits, "softmax_cross_entropy_with_logits_v2")
    axis = dim if dim is not None else (-1 if axis is None else axis)
    with composite(name, "softmax_cross_entropy_with_logits", logits) as stem:
        lab = _t(labels, logits.dtype) if not isinstance(labels, Tensor) else labels
        s = ops.sum(ops.mul(lab, ops.log_softmax(logits, axis)), axis, False)
        return _final(stem + "Reshape_2/", ops.neg, s)


def softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None, dim: int = -1,
                                      name: str | None = None, axis: Any = None) -> Tensor:
    """TF1's deprecated form: like ``_v2`` but no gradient flows into ``labels``."""
    labels, logits = _labels_logits(labels, logits, "softmax_cross_entropy_with_logits")
    lab = stop_gradient(_t(labels, logits.dtype) if not isinstance(labels, Tensor) else labels)
    return softmax_cross_entropy_with_logits_v2(labels=lab, logits=logits,
                                                axis=dim if axis is None else axis, name=name)


def sigmoid_cross_entropy_with_logits(labels: Any = None, logits: Any = None,
                                      name: str | None = None) -> Tensor:
    """``max(x, 0) - x * z + log1p(exp(-|x|))``, TF's stable form."""
    labels, logits = _labels_logits(labels, logits, "sigmoid_cross_entropy_with_logits")
    z = _t(labels, logits.dtype) if not isinstance(labels, Tensor) else labels
    x = logits
    with composite(name, "logistic_loss", x) as stem:
        return _final(stem, ops.add, ops.sub(ops.maximum(x, 0.0), ops.mul(x, z)),
                      ops.log1p(ops.exp(ops.neg(ops.abs(x)))))


def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: Any = None,
            name: str | None = None, rate: Any = None) -> Tensor:
    """``x / keep_prob`` where a fresh uniform draw ``u < keep_prob``, else 0 (a new mask each
    run). The draws hash (element index, run counter): staticgraph has no random kernels, so
    they are not TF's numbers. ``keep_prob`` may be fed; with 1.0 the output equals ``x``."""
    if (keep_prob is None) == (rate is None):
        raise ValueError("dropout needs exactly one of keep_prob and rate")
    if noise_shape is not None:
        raise NotImplementedError("dropout with noise_shape")
    x = _t(x)
    _require("f", x)
    if isinstance(keep_prob if rate is None else rate, (int, float)):
        keep_f = float(keep_prob) if rate is None else 1.0 - float(rate)
        if not 0.0 < keep_f <= 1.0:
            raise ValueError(f"keep_prob must be a scalar tensor or a float in the range (0, 1], "
                             f"got {keep_f}")
        if keep_f == 1.0:
            return identity(x, name=name or "dropout")
    g = x.graph
    with composite(name, "dropout", x) as stem:
        keep = _t(keep_prob, x.dtype.base_dtype) if rate is None else ops.sub(
            1.0, _t(rate, x.dtype.base_dtype))
        keep = ops.reshape(keep, ())  # a scalar (tutorials feed a shapeless placeholder)
        root = g  # inside a loop body (DropoutWrapper): the counter lives in the outer graph
        while getattr(root, "outer", None) is not None:
            root = root.outer
        with root.as_default(), root.control_dependencies(None):
            counter = Variable(np.float64(seed or 0), trainable=False, name="counter",
                               collections=[])
        if not hasattr(root, "_auto_init"):
            root._auto_init = {}
        root._auto_init[counter] = np.float64(seed or 0)
        step = assign_add(counter, 1.0)
        index = ops.reshape_like(ops.cumsum(ops.reshape(ops.ones_like(ops.cast(x, np.float64)),
                                                        (-1,)), 0), x)
        wave = ops.sin(ops.add(ops.mul(index, 12.9898), ops.mul(step, 78.233)))
        big = ops.mul(wave, 43758.5453)
        u = ops.cast(ops.sub(big, ops.floor(big)), x.aval.dtype)  # uniform in [0, 1)
        mask = ops.floor(ops.add(u, keep))  # 1 with probability keep
        return _final(stem + "mul_1/", ops.mul, ops.div(x, keep), mask)


def in_top_k(predictions: Any, targets: Any, k: int, name: str | None = None) -> Tensor:
    """Whether each row's ``targets`` entry is among its ``k`` largest predictions: fewer than
    ``k`` entries are strictly larger (TF's rule: ties count as in the top k)."""
    p = _t(predictions)
    _require("f", p, param="predictions")
    n = p.aval.shape[-1] if p.aval.shape is not None and len(p.aval.shape) == 2 else None
    if n is None:
        raise ValueError(f"in_top_k needs 2-D predictions with a known number of classes, got "
                         f"{p.shape}")
    with composite(name, "in_top_k", p) as stem:
        t = _t(targets, None)
        t = ops.reshape(t, (-1,)) if t.aval.shape is None else t  # targets of unknown rank
        hit = one_hot(t, n, dtype=p.dtype.base_dtype)
        target_val = ops.sum(ops.mul(p, hit), (1,), True)
        larger = ops.sum(ops.cast(ops.gt(p, target_val), np.int32), (1,), False)
        return _final(stem + "InTopKV2/", ops.lt, larger, np.int32(k))


def xw_plus_b(x: Any, weights: Any, biases: Any, name: str | None = None) -> Tensor:
    """``matmul(x, weights) + biases``."""
    with composite(name, "xw_plus_b", x) as stem:
        return _final(stem, ops.add, matmul(x, weights), biases)


def batch_normalization(x: Any, mean: Any, variance: Any, offset: Any, scale: Any,
                        variance_epsilon: float, name: str | None = None) -> Tensor:
    """``(x - mean) * scale / sqrt(variance + eps) + offset`` (``offset``/``scale`` may be
    ``None``), with TF's grouping ``x * inv + (offset - mean * inv)``."""
    x = _t(x)
    with composite(name, "batchnorm", x) as stem:
        inv = ops.reciprocal(ops.sqrt(ops.add(_t(variance), float(variance_epsilon))))
        if scale is not None:
            inv = ops.mul(inv, scale)
        shift = ops.neg(ops.mul(mean, inv)) if offset is None else ops.sub(offset,
                                                                           ops.mul(mean, inv))
        return _final(stem + "add_1/", ops.add, ops.mul(x, inv), shift)


def embedding_lookup(params: Any, ids: Any, partition_strategy: str = "mod",
                     name: str | None = None, validate_indices: bool = True,
                     max_norm: Any = None) -> Tensor:
    """Rows of ``params`` at ``ids`` (``tf.gather`` along axis 0); a list of several shards:
    ``embedding_partitioned.py`` (``partition_strategy`` 'mod' or 'div')."""
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            from .embedding_partitioned import lookup_partitioned
            return lookup_partitioned(params, ids, partition_strategy, name)
        params = params[0]
    rows = gather(params, ids, name=name or "embedding_lookup")
    with rows.graph.name_scope(rows.op.name + "/"):  # TF: <name>/Identity
        return identity(rows)


def l2_loss(t: Any, name: str | None = None) -> Tensor:
    """``sum(t ** 2) / 2``."""
    x = _t(t)
    with composite(name, "L2Loss", x) as stem:
        return _final(stem, ops.mul, ops.sum(ops.square(x), None, False), 0.5)


def bias_add(value: Any, bias: Any, data_format: Any = None, name: str | None = None) -> Tensor:
    return add(value, bias, name=name or "BiasAdd")


def moments(x: Any, axes: Any, shift: Any = None, name: str | None = None,
            keep_dims: Any = None, keepdims: Any = None) -> tuple:
    x = _t(x)
    keepdims = bool(keepdims or keep_dims)
    axes_t = tuple(int(a) for a in np.atleast_1d(axes))
    with x.graph.name_scope(name or "moments"):
        mean = reduce_mean(x, axes_t, keepdims=True)
        var = reduce_mean(square(subtract(x, mean)), axes_t, keepdims=True)
        if not keepdims:
            with node_name("Squeeze"):
                mean = ops.squeeze(mean, axes_t)
            with node_name("Squeeze"):
                var = ops.squeeze(var, axes_t)
    return mean, var

_missing = module_getattr("nn")
_RNN = {"rnn_cell": ("rnn_cell", None), "dynamic_rnn": ("rnn", "dynamic_rnn"),
        "static_rnn": ("rnn", "static_rnn"),
        "bidirectional_dynamic_rnn": ("rnn_bidirectional", "bidirectional_dynamic_rnn"),
        "nce_loss": ("sampled_losses", "nce_loss"),
        "sampled_softmax_loss": ("sampled_losses", "sampled_softmax_loss"),
        "log_uniform_candidate_sampler": ("sampled_losses", "log_uniform_candidate_sampler"),
        "conv2d_transpose": ("layers_conv", "conv2d_transpose")}


def __getattr__(name: str) -> Any:
    """``tf.nn.rnn_cell``, ``dynamic_rnn``, ``static_rnn``, ``bidirectional_dynamic_rnn`` load on
    first use; any other missing
    name raises the "not supported" error."""
    if name not in _RNN:
        return _missing(name)
    import importlib

    mod, attr = _RNN[name]
    m = importlib.import_module(f"staticgraph.{mod}")
    value = m if attr is None else getattr(m, attr)
    globals()[name] = value
    return value

"""``tf.metrics``: streaming metrics held in local variables (``total``, ``count``), each
returning ``(value, update_op)`` as TF1 does. Run ``tf.local_variables_initializer()`` first."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from . import ops
from .graph.core import Tensor, get_default_graph
from .graph.frontend import node_name
from .graph.math_ops import _t, cast, equal, reduce_sum
from .unsupported import module_getattr
from .variable_scope import variable_scope
from .variables import Variable, assign_add

LOCAL = ["local_variables", "metric_variables"]


def _safe_div(num: Tensor, den: Tensor, name: str) -> Tensor:
    """``num / den``, or 0 while ``den`` is 0 (TF's ``div_no_nan``)."""
    pos = ops.gt(den, 0.0)
    quotient = ops.div(num, ops.where(pos, den, ops.ones_like(den)))
    zero = ops.zeros_like(num)
    with node_name(name):
        return ops.where(pos, quotient, zero)


def _streaming_mean(values: Tensor, weights: Any, name: str | None,
                    default: str) -> tuple[Tensor, Tensor]:
    # ``accuracy`` calls this inside its own scope (TF's names: accuracy/total, accuracy/value)
    inner = variable_scope(name, default_name=default) if not hasattr(name, "reuse") else \
        contextlib.nullcontext()
    with inner:
        g = get_default_graph()
        with g.control_dependencies(None):
            total = Variable(np.float32(0.0), trainable=False, name="total", collections=LOCAL)
            count = Variable(np.float32(0.0), trainable=False, name="count", collections=LOCAL)
        v = cast(values, np.float32)
        if weights is None:
            num, n = reduce_sum(v), cast(ops.size(v, None, np.float32), np.float32)
        else:
            w = ops.mul(ops.ones_like(v), cast(_t(weights), np.float32))
            num, n = reduce_sum(ops.mul(v, w)), reduce_sum(w)
        update_total = assign_add(total, num)
        update_count = assign_add(count, n)
        value = _safe_div(total, count, "value")
        update = _safe_div(update_total, update_count, "update_op")
    return value, update


def mean(values: Any, weights: Any = None, metrics_collections: Any = None,
         updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The running mean of all ``values`` seen by ``update_op``."""
    return _streaming_mean(_t(values), weights, name, "mean")


def accuracy(labels: Any, predictions: Any, weights: Any = None, metrics_collections: Any = None,
             updates_collections: Any = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The running fraction of ``predictions`` equal to ``labels``."""
    lab, pred = _t(labels), _t(predictions)
    if pred.dtype.base_dtype != lab.dtype.base_dtype:
        pred = cast(pred, lab.dtype.base_dtype)
    with variable_scope(name, default_name="accuracy") as scope:
        is_correct = cast(equal(pred, lab), np.float32)
        return _streaming_mean(is_correct, weights, scope, "accuracy")


__all__ = ["accuracy", "mean"]

__getattr__ = module_getattr("metrics")  # a missing tf.metrics name: the "not supported" error

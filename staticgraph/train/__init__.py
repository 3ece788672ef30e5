"""``tf.train``: optimizers and global-step helpers."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops as _ops
from ..graph.core import get_default_graph
from ..graph.math_ops import _final
from ..graph.math_ops import cast as _cast
from ..graph.math_ops import composite as _composite
from ..unsupported import module_getattr
from ..variables import Variable
from .moving_average import ExponentialMovingAverage
from .optimizers import GradientDescentOptimizer, MomentumOptimizer, Optimizer
from .optimizers_adadelta import AdadeltaOptimizer
from .optimizers_adaptive import AdagradOptimizer, AdamOptimizer, RMSPropOptimizer
from .optimizers_proximal import FtrlOptimizer, ProximalAdagradOptimizer
from .saver import (
    Saver,
    checkpoint_exists,
    export_meta_graph,
    get_checkpoint_state,
    import_meta_graph,
    latest_checkpoint,
)
from .schedules import (
    cosine_decay,
    inverse_time_decay,
    natural_exp_decay,
    piecewise_constant,
    polynomial_decay,
)

GLOBAL_STEP = "global_step"


def get_global_step(graph: Any = None) -> Variable | None:
    g = graph or get_default_graph()
    steps = g.get_collection(GLOBAL_STEP)
    return steps[0] if steps else None


def create_global_step(graph: Any = None) -> Variable:
    g = graph or get_default_graph()
    if get_global_step(g) is not None:
        raise ValueError("\"global_step\" already exists.")
    with g.as_default(), g.name_scope(None):
        return Variable(np.int64(0), trainable=False, name="global_step",
                        collections=["variables", GLOBAL_STEP])


def get_or_create_global_step(graph: Any = None) -> Variable:
    return get_global_step(graph) or create_global_step(graph)


def exponential_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: str | None = None) -> Any:
    """``lr * decay_rate ** (global_step / decay_steps)`` (floored when ``staircase``)."""
    with _composite(name, "ExponentialDecay", global_step) as stem:
        p = _ops.div(_cast(global_step, np.float32), float(decay_steps))
        if staircase:
            p = _cast(_cast(p, np.int64), np.float32)
        return _final(stem, _ops.mul, float(learning_rate), _ops.pow(float(decay_rate), p))


__all__ = ["ExponentialMovingAverage",
           "Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer",
           "AdagradOptimizer", "RMSPropOptimizer", "AdadeltaOptimizer", "FtrlOptimizer",
           "ProximalAdagradOptimizer", "Saver", "latest_checkpoint",
           "get_checkpoint_state", "checkpoint_exists", "import_meta_graph", "export_meta_graph",
           "get_global_step", "create_global_step", "get_or_create_global_step",
           "exponential_decay", "piecewise_constant", "polynomial_decay", "inverse_time_decay",
           "natural_exp_decay", "cosine_decay"]

_missing = module_getattr("train")  # a missing tf.train name: the "not supported" error


def __getattr__(name: str) -> Any:
    """``tf.train.summary_iterator`` (event files, :mod:`staticgraph.summary_writer`) loads on
    first use; any other missing name raises the "not supported" error."""
    if name != "summary_iterator":
        return _missing(name)
    from ..summary_writer import summary_iterator

    return summary_iterator

"""The eager fast path of ``F.cross_entropy``'s plain case: 2-D float logits, int64 class labels,
no ``weight``, no ``-100`` label, no label smoothing (the classifier's loss of every training
step).

``ops.cross_entropy`` runs two registry ops through ``bind``: ``log_softmax`` over dim 1, then
``nll_loss``. For these arguments the general frontend's work per op (the dispatch, the
shape/dtype rule's cache key, the cast loop, the view check, and ``ops.cross_entropy``'s own
rank and dim normalization) decides nothing: the result has the logits' dtype and a fresh
array. So here the two op records' own kernels (``op.impl``) run directly and
``_frontend._record`` records the same two nodes the general path records
(``LogSoftmaxBackward0`` -> ``NllLossBackward0``, the same saved values, params and version
counters): one registry, one set of kernels and vjps. Measured (``mlp-step``, 256x10 logits):
the loss's forward ~35 us less per step, more where the step's products have evicted the
interpreter's caches (docs/eager.md, "mlp-step at two threads").

Anything else (other ranks or dtypes, a Tensor subclass, the fast path disabled by a capture or
a forward-AD level, inference mode, a bad ``reduction``) goes the general way, which also raises
its errors. An out-of-range label raises from ``nll_loss``'s kernel, as in the general path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph.ops.nn import LOG_SOFTMAX, NLL_LOSS
from staticgraph.ops.nn import cross_entropy as _general

from ._fast_path import ENABLED, _result
from ._frontend import _record
from ._tensor import Tensor
from .autograd.grad_mode import GRAD_ENABLED, INFERENCE

_ndarray = np.ndarray
_FLOATS = frozenset({np.dtype(np.float32), np.dtype(np.float64)})
_LABELS = np.dtype(np.int64)
_REDUCTIONS = ("mean", "sum", "none")


def _tensor(out: Any, dt: np.dtype) -> Tensor:
    """``apply``'s result for a non-view op: ``out`` as an array of ``dt``, no history yet."""
    if type(out) is not _ndarray:  # a full reduction gives a numpy scalar
        out = np.asarray(out)
    if out.dtype != dt:
        out = out.astype(dt)
    return _result(out)


def cross_entropy(input: Tensor, target: Tensor, reduction: str) -> Tensor:  # noqa: A002
    """``ops.cross_entropy(input, target, reduction)`` (module docstring)."""
    # the flags and types first: a deferred capture's tensor materializes when ``_data`` is read
    if not ENABLED[0] or INFERENCE[0] or type(input) is not Tensor or \
            type(target) is not Tensor or reduction not in _REDUCTIONS:
        return _general(input, target, reduction)
    x = input._data
    labels = target._data
    dt = x.dtype
    if type(x) is not _ndarray or type(labels) is not _ndarray or x.ndim != 2 or \
            dt not in _FLOATS or labels.dtype != _LABELS or labels.ndim != 1 or \
            labels.shape[0] != x.shape[0]:
        return _general(input, target, reduction)
    logp = _tensor(LOG_SOFTMAX.impl(x, dim=1), dt)
    record = input._requires_grad and GRAD_ENABLED[0]
    if record:
        _record(LOG_SOFTMAX, (input,), {"dim": 1}, logp)
    loss = _tensor(NLL_LOSS.impl(logp._data, labels, reduction=reduction), dt)
    if record:
        _record(NLL_LOSS, (logp, target), {"reduction": reduction}, loss)
    return loss

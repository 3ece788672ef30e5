"""TF1's ``tf.random_shuffle`` and ``tf.multinomial``/``tf.random.categorical``: new draws on
every run, as in TF (a text-sampling loop must not repeat itself), made like ``tf.nn.dropout``'s
masks: uniforms hashed from (element index, run counter, a per-op offset drawn when the graph is
built from ``set_random_seed`` and ``seed``) with ordinary graph ops (staticgraph has no random
kernels), so a seeded graph repeats its sequence of draws.

``random_shuffle`` gathers dim 0 in the ``argsort`` order of fresh uniforms; ``multinomial``
compares fresh uniforms with the cumulative softmax of the logits (inverse-CDF sampling).
Values cannot match TF's random stream; distributions do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph.array_ops import identity
from .graph.core import Tensor
from .graph.dtypes import as_dtype
from .graph.math_ops import _final, _t, cast, composite
from .graph.vector_ops import argsort
from .random_ops import _rng
from .variables import Variable, assign_add


def fresh_uniform(graph: Any, shape: tuple, seed: int | None) -> Tensor:
    """float64 uniforms in [0, 1) of ``shape``, new on every run of ``graph``: the hash of
    ``tf.nn.dropout`` (``frac(sin(i * 12.9898 + t * 78.233) * 43758.5453)``) of the element
    index ``i`` and ``t`` = the run counter plus an offset drawn now (seeded)."""
    root = graph  # inside a loop body: the counter lives in the outermost graph
    while getattr(root, "outer", None) is not None:
        root = root.outer
    with root.as_default(), root.control_dependencies(None):
        counter = Variable(np.float64(0), trainable=False, name="counter", collections=[])
    if not hasattr(root, "_auto_init"):
        root._auto_init = {}
    root._auto_init[counter] = np.float64(0)
    offset = float(_rng(seed).uniform(0.0, 1000.0))
    step = ops.add(assign_add(counter, 1.0), offset)
    n = int(np.prod(shape))
    index = np.arange(1, n + 1, dtype=np.float64).reshape(shape)
    wave = ops.sin(ops.add(ops.mul(index, 12.9898), ops.mul(step, 78.233)))
    big = ops.mul(wave, 43758.5453)
    return ops.sub(big, ops.floor(big))


def random_shuffle(value: Any, seed: int | None = None, name: str | None = None) -> Tensor:
    """``value``'s rows (dim 0) in a random order drawn when the graph is built."""
    x = _t(value)
    if x.aval.shape is None or x.ndim == 0:
        raise ValueError("tf.random_shuffle needs a tensor of rank >= 1")
    n = x.aval.shape[0]
    if n is None:
        raise NotImplementedError(f"tf.random_shuffle needs dim 0 of {x.name} when the graph "
                                  f"is built (shape {x.shape})")
    if n == 0:
        return identity(x, name=name or "RandomShuffle")
    with composite(name, "RandomShuffle", x) as stem:
        perm = argsort(fresh_uniform(x.graph, (int(n),), seed))
        idx = cast(perm, np.int64)
        if x.ndim > 1:  # the registry's gather takes one index per element: broadcast rows
            trail = cast(ops.zeros_like(ops.getitem(x, (slice(0, 1),))), np.int64)
            idx = ops.add(ops.reshape(idx, (-1,) + (1,) * (x.ndim - 1)), trail)
        return _final(stem, ops.gather, x, idx, 0)


def multinomial(logits: Any, num_samples: int, seed: int | None = None,
                name: str | None = None, output_dtype: Any = None) -> Tensor:
    """``[batch, num_samples]`` class indices drawn from ``softmax(logits[b])`` per row."""
    lg = _t(logits)
    if not lg.dtype.is_floating:
        raise TypeError(f"Value passed to parameter 'logits' has DataType {lg.dtype.name} not "
                        f"in list of allowed values: float32, float64, half, bfloat16")
    if lg.aval.shape is None or lg.ndim != 2:
        raise ValueError(f"logits should be a matrix, got shape {lg.shape}")
    batch, classes = lg.aval.shape
    if batch is None or classes is None:
        raise NotImplementedError(f"tf.multinomial needs the shape of {lg.name} when the "
                                  f"graph is built (shape {lg.shape})")
    k = int(num_samples)
    if k < 0:
        raise ValueError(f"num_samples should be nonnegative, got {k}")
    dt = as_dtype(output_dtype or "int64")
    if dt.name not in ("int32", "int64"):
        raise TypeError(f"output_dtype must be int32 or int64, got {dt.name}")
    with composite(name, "Multinomial", lg) as stem:
        u = fresh_uniform(lg.graph, (int(batch), k, 1), seed)
        p = ops.softmax(cast(lg, np.float64), -1)
        cdf = ops.expand_dims(ops.cumsum(p, -1), 1)  # [batch, 1, classes]
        below = cast(ops.lt(cdf, u), np.int64)
        idx = ops.sum(below, (-1,))  # classes whose cumulative mass is below u
        return _final(stem, ops.cast, ops.minimum(idx, np.asarray(classes - 1, np.int64)),
                      dt.np_dtype)


def categorical(logits: Any, num_samples: int, dtype: Any = None, seed: int | None = None,
                name: str | None = None) -> Tensor:
    """``tf.random.categorical``: :func:`multinomial` with TF2's argument order (and its
    ``categorical/Multinomial`` node name)."""
    lg = _t(logits)
    with composite(name, "categorical", lg):
        return multinomial(lg, num_samples, seed=seed, output_dtype=dtype)


__all__ = ["random_shuffle", "multinomial", "categorical"]

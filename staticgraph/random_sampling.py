"""TF1's ``tf.random_shuffle`` and ``tf.multinomial``/``tf.random.categorical``, drawn like the
other random ops here (``random_ops.py``): the random numbers are sampled once when the graph is
built, from ``set_random_seed`` and ``seed``, and held in a ``Const``.

``random_shuffle`` gathers the rows in one fixed permutation; ``multinomial`` compares fixed
uniforms with the cumulative softmax of the *fed* logits (inverse-CDF sampling), so samples
follow the logits of each run. Values cannot match TF's random stream; distributions do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph.array_ops import constant
from .graph.composite_ops import gather
from .graph.core import Tensor
from .graph.dtypes import as_dtype
from .graph.math_ops import _final, _t, cast, composite
from .random_ops import _rng


def random_shuffle(value: Any, seed: int | None = None, name: str | None = None) -> Tensor:
    """``value``'s rows (dim 0) in a random order drawn when the graph is built."""
    x = _t(value)
    if x.aval.shape is None or x.ndim == 0:
        raise ValueError("tf.random_shuffle needs a tensor of rank >= 1")
    n = x.aval.shape[0]
    if n is None:
        raise NotImplementedError(f"tf.random_shuffle needs dim 0 of {x.name} when the graph "
                                  f"is built (shape {x.shape})")
    perm = _rng(seed).permutation(int(n)).astype(np.int64)
    return gather(x, constant(perm, name="permutation"), name=name or "RandomShuffle")


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
    u = _rng(seed).uniform(0.0, 1.0, (int(batch), k, 1))
    with composite(name, "Multinomial", lg) as stem:
        p = ops.softmax(cast(lg, np.float64), -1)
        cdf = ops.expand_dims(ops.cumsum(p, -1), 1)  # [batch, 1, classes]
        below = cast(ops.lt(cdf, constant(u, name="uniform")), np.int64)
        idx = ops.sum(below, (-1,))  # classes whose cumulative mass is below u
        return _final(stem, ops.cast, ops.minimum(idx, np.asarray(classes - 1, np.int64)),
                      dt.np_dtype)


def categorical(logits: Any, num_samples: int, dtype: Any = None, seed: int | None = None,
                name: str | None = None) -> Tensor:
    """``tf.random.categorical``: :func:`multinomial` with TF2's argument order."""
    return multinomial(logits, num_samples, seed=seed, name=name, output_dtype=dtype)


__all__ = ["random_shuffle", "multinomial", "categorical"]

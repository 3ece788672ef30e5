"""TF1 random ops, sampled once when the graph is built (a ``Const`` node holds the sample).

Variables are initialized once, so initializers behave as in TF; a random op re-run in every
``Session.run`` (e.g. dropout masks) is not supported. Seeds: ``set_random_seed`` plus ``seed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph.array_ops import constant
from .graph.core import Tensor, get_default_graph
from .graph.dtypes import as_dtype

_COUNTER = [0]


def set_random_seed(seed: int) -> None:
    """Seed the default graph's random ops (samples are reproducible per graph and seed)."""
    get_default_graph().seed = int(seed)


def _rng(seed: int | None) -> np.random.Generator:
    g = get_default_graph()
    _COUNTER[0] += 1
    if g.seed is None and seed is None:
        return np.random.default_rng()
    return np.random.default_rng([g.seed or 0, seed if seed is not None else len(g._ops)])


def _shape(shape: Any) -> tuple:
    return tuple(int(d) for d in (shape.as_list() if hasattr(shape, "as_list") else shape))


def random_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = "float32",
                  seed: int | None = None, name: str = "random_normal") -> Tensor:
    a = _rng(seed).normal(mean, stddev, _shape(shape))
    return constant(a.astype(as_dtype(dtype).np_dtype), name=name)


def truncated_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0,
                     dtype: Any = "float32", seed: int | None = None,
                     name: str = "truncated_normal") -> Tensor:
    """Normal samples redrawn until within two standard deviations of the mean."""
    rng = _rng(seed)
    a = rng.standard_normal(_shape(shape))
    bad = np.abs(a) > 2
    while bad.any():
        a[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(a) > 2
    return constant((a * stddev + mean).astype(as_dtype(dtype).np_dtype), name=name)


def random_uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = "float32",
                   seed: int | None = None, name: str = "random_uniform") -> Tensor:
    dt = as_dtype(dtype)
    rng = _rng(seed)
    if dt.is_integer:
        if maxval is None:
            raise ValueError("Must specify maxval for integer dtype")
        a = rng.integers(minval, maxval, _shape(shape))
    else:
        a = rng.uniform(minval, 1.0 if maxval is None else maxval, _shape(shape))
    return constant(a.astype(dt.np_dtype), name=name)

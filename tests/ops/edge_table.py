"""The edge-input table of ``test_edge_semantics.py``: registry ops (and the few composites built
on them) with their PyTorch counterparts, and small inputs made of edge values (0, -0, +-1,
+-inf, NaN, very large, tiny) in float32 and float64.

Each :class:`Case` names how *we* compute it (``ours``: registry op functions, which dispatch on
eager and graph tensors alike; ``static``/``eager`` override it where the two modes' public APIs
differ) and how PyTorch does (``ref``, on ``torch`` tensors). ``kind`` picks the inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from staticgraph import ops

INF, NAN = math.inf, math.nan


def edges(dt: np.dtype) -> np.ndarray:
    """One vector of edge values in ``dt`` (large and tiny values fit the type)."""
    big, tiny = (3e38, 1e-40) if dt == np.float32 else (1e300, 1e-310)
    return np.array([0.0, -0.0, 1.0, -1.0, INF, -INF, NAN, big, -big, tiny, 0.5, -2.5], dt)


def grid(dt: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of edge values (and some ties): binary ops' inputs."""
    e = edges(dt)
    return np.repeat(e, e.size), np.tile(e, e.size)


def rows(dt: np.dtype) -> np.ndarray:
    """Rows for row-wise ops and reductions over the last dim."""
    big = 3e38 if dt == np.float32 else 1e300
    return np.array([[1.0, 2.0, 3.0], [INF, 1.0, 2.0], [-INF, 1.0, 2.0], [-INF, -INF, -INF],
                     [INF, INF, 1.0], [NAN, 1.0, 2.0], [0.0, 0.0, 0.0], [big, big, 1.0],
                     [2.0, 2.0, -1.0], [0.0, -0.0, 5.0], [-INF, INF, 0.0]], dt)


def positive_grid(dt: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Bases >= 0 (and NaN) against every exponent: ``pow`` with a tensor exponent."""
    b = np.array([0.0, 1.0, 2.0, 0.5, INF, NAN, -2.0], dt)
    y = np.array([0.0, 1.0, 2.0, -1.0, 0.5, -0.5, INF, -INF, NAN], dt)
    return np.repeat(b, y.size), np.tile(y, b.size)


@dataclass
class Case:
    name: str
    ours: Callable | None
    ref: Callable
    kind: str = "unary"  # unary | binary | pow | rows | labels
    static: Callable | None = None  # the static mode's spelling, when not ``ours``
    eager: Callable | None = None  # the eager mode's spelling, when not ``ours``
    modes: tuple = ("eager", "static")
    noise: float = 0.0  # absolute tolerance in ulps of 1 (gradients that are 0 up to rounding)
    # points not compared: ``skip(inputs, executor) -> bool mask`` (known, documented divergences)
    skip: Callable | None = None

    def inputs(self, dt: np.dtype) -> list[np.ndarray]:
        if self.kind == "unary":
            return [edges(dt)]
        if self.kind == "binary":
            return list(grid(dt))
        if self.kind == "pow":
            return list(positive_grid(dt))
        if self.kind == "rows":
            return [rows(dt)]
        if self.kind == "rows2":  # two row tensors (mse)
            r = rows(dt)
            return [r, r[::-1].copy()]
        raise ValueError(self.kind)


def _tf():
    import staticgraph as tf

    return tf


def _F():
    import dynamic.nn.functional as F

    return F


NONZERO = [0, 1, 2, 3, 4, 5, 7, 8]  # the rows of ``rows`` with no zero (inf, NaN, overflow)
_W = np.array([[1.0, 0.0], [0.5, -1.0], [0.0, 2.0]])  # matmul's constant right operand


def _nan_input(xs: list, executor: str) -> np.ndarray:
    """PyTorch's own gradient at NaN differs between its vectorized and scalar loops (relu6,
    elu: it depends on the tensor's length), so there is no reference to compare with."""
    return np.isnan(xs[0])


CASES: list[Case] = [
    Case("neg", ops.neg, lambda T, x: -x),
    Case("exp", ops.exp, lambda T, x: T.exp(x)),
    Case("log", ops.log, lambda T, x: T.log(x)),
    Case("log1p", ops.log1p, lambda T, x: T.log1p(x)),
    Case("expm1", ops.expm1, lambda T, x: T.expm1(x)),
    Case("sqrt", ops.sqrt, lambda T, x: T.sqrt(x)),
    Case("sin", ops.sin, lambda T, x: T.sin(x)),
    Case("cos", ops.cos, lambda T, x: T.cos(x)),
    Case("tanh", ops.tanh, lambda T, x: T.tanh(x)),
    Case("sigmoid", ops.sigmoid, lambda T, x: T.sigmoid(x)),
    Case("relu", ops.relu, lambda T, x: T.relu(x)),
    Case("abs", ops.abs, lambda T, x: T.abs(x)),
    Case("sign", ops.sign, lambda T, x: T.sign(x)),
    Case("square", ops.square, lambda T, x: T.square(x)),
    Case("reciprocal", ops.reciprocal, lambda T, x: T.reciprocal(x)),
    Case("clamp", lambda x: ops.clamp(x, -0.5, 0.5), lambda T, x: T.clamp(x, -0.5, 0.5)),
    Case("clamp_min", lambda x: ops.clamp(x, 0.0), lambda T, x: T.clamp(x, min=0.0)),
    Case("clamp_max", lambda x: ops.clamp(x, None, 1.0), lambda T, x: T.clamp(x, max=1.0)),
    Case("pow_scalar_exp", lambda x: ops.pow(x, 3.0), lambda T, x: x ** 3.0),
    Case("pow_half", lambda x: ops.pow(x, 0.5), lambda T, x: x ** 0.5),
    Case("pow_zero", lambda x: ops.pow(x, 0.0), lambda T, x: x ** 0.0),
    Case("pow_neg", lambda x: ops.pow(x, -2.0), lambda T, x: x ** -2.0),
    Case("rpow", lambda x: ops.pow(3.0, x), lambda T, x: 3.0 ** x),
    Case("rpow_zero", lambda x: ops.pow(0.0, x), lambda T, x: 0.0 ** x),
    Case("mul_scalar", lambda x: ops.mul(x, 2.5), lambda T, x: x * 2.5),
    Case("rdiv", lambda x: ops.div(1.5, x), lambda T, x: 1.5 / x),
    Case("add", ops.add, lambda T, x, y: x + y, "binary"),
    Case("sub", ops.sub, lambda T, x, y: x - y, "binary"),
    Case("mul", ops.mul, lambda T, x, y: x * y, "binary"),
    Case("div", ops.div, lambda T, x, y: x / y, "binary"),
    Case("maximum", ops.maximum, lambda T, x, y: T.maximum(x, y), "binary"),
    Case("minimum", ops.minimum, lambda T, x, y: T.minimum(x, y), "binary"),
    Case("where", lambda x, y: ops.where(ops.gt(x, y), x, y),
         lambda T, x, y: T.where(x > y, x, y), "binary"),
    Case("pow", ops.pow, lambda T, x, y: x ** y, "pow"),
    Case("softmax", lambda x: ops.softmax(x, 1), lambda T, x: T.softmax(x, 1), "rows",
         noise=4),
    Case("log_softmax", lambda x: ops.log_softmax(x, 1), lambda T, x: T.log_softmax(x, 1),
         "rows", noise=4),
    Case("logsumexp", lambda x: ops.logsumexp(x, 1), lambda T, x: T.logsumexp(x, 1), "rows"),
    Case("sum", lambda x: ops.sum(x, 1), lambda T, x: T.sum(x, 1), "rows"),
    Case("mean", lambda x: ops.mean(x, 1), lambda T, x: T.mean(x, 1), "rows"),
    Case("amax", lambda x: ops.amax(x, 1), lambda T, x: T.amax(x, 1), "rows"),
    Case("amin", lambda x: ops.amin(x, 1), lambda T, x: T.amin(x, 1), "rows"),
    Case("max_all", lambda x: ops.amax(x[5:6]), lambda T, x: T.max(x[5:6]), "rows"),
    Case("min_all", lambda x: ops.amin(x[3:5]), lambda T, x: T.min(x[3:5]), "rows"),
    # prod: the tensor holds zeros (products of the others) / none (``g * prod / x``, NaN at
    # inf and NaN elements, inf where the product overflows, as PyTorch)
    Case("prod", lambda x: ops.prod(x, 1), lambda T, x: T.prod(x, 1), "rows"),
    Case("prod_nonzero", lambda x: ops.prod(x[NONZERO], 1), lambda T, x: T.prod(x[NONZERO], 1),
         "rows"),
    Case("prod_all", lambda x: ops.prod(x[1:3]), lambda T, x: T.prod(x[1:3]), "rows"),
    Case("prod_all_zero", lambda x: ops.prod(x[10:11]), lambda T, x: T.prod(x[10:11]), "rows"),
    Case("cumsum", lambda x: ops.cumsum(x, 1), lambda T, x: T.cumsum(x, 1), "rows"),
    Case("cumsum_exclusive", lambda x: ops.cumsum(x, 1, exclusive=True),
         lambda T, x: T.cat([T.zeros_like(x[:, :1]), T.cumsum(x[:, :-1], 1)], 1), "rows"),
    Case("cumprod", lambda x: ops.cumprod(x, 1), lambda T, x: T.cumprod(x, 1), "rows"),
    Case("cumprod_exclusive", lambda x: ops.cumprod(x, 1, exclusive=True),
         lambda T, x: T.cat([T.ones_like(x[:, :1]), T.cumprod(x[:, :-1], 1)], 1), "rows"),
    Case("matmul", lambda x: ops.matmul(x, _W.astype(ops.aval_of(x).dtype)),
         lambda T, x: x @ T.tensor(_W, dtype=x.dtype), "rows"),
    Case("mse_loss", lambda x, y: ops.mse_loss(x, y, "sum"),
         lambda T, x, y: T.nn.functional.mse_loss(x, y, reduction="sum"), "rows2"),
    Case("cross_entropy", lambda x: ops.cross_entropy(x, np.arange(11) % 3, "none"),
         lambda T, x: T.nn.functional.cross_entropy(x, T.arange(11) % 3, reduction="none"),
         "rows", noise=4),
    # composites of the two modes' public APIs
    Case("relu6", None, lambda T, x: T.nn.functional.relu6(x),
         static=lambda x: _tf().nn.relu6(x), modes=("static",), skip=_nan_input),
    Case("elu", None, lambda T, x: T.nn.functional.elu(x),
         static=lambda x: _tf().nn.elu(x), modes=("static",), skip=_nan_input),
    Case("tf_leaky_relu", None, lambda T, x: T.nn.functional.leaky_relu(x, 0.2),
         static=lambda x: _tf().nn.leaky_relu(x, 0.2), modes=("static",)),
    Case("softplus", ops.softplus, lambda T, x: T.nn.functional.softplus(x),
         static=lambda x: _tf().nn.softplus(x), eager=lambda x: _F().softplus(x)),
    Case("softplus_beta", None, lambda T, x: T.nn.functional.softplus(x, 2.0, 5.0),
         eager=lambda x: _F().softplus(x, 2.0, 5.0), modes=("eager",)),
    Case("max_dim", None, lambda T, x: T.max(x, 1)[0], "rows", eager=lambda x: x.max(1)[0],
         modes=("eager",)),
    Case("min_dim", None, lambda T, x: T.min(x, 1)[0], "rows", eager=lambda x: x.min(1)[0],
         modes=("eager",)),
    Case("floor", ops.floor, lambda T, x: T.floor(x), static=lambda x: _tf().floor(x),
         eager=lambda x: x.floor()),
    Case("ceil", ops.ceil, lambda T, x: T.ceil(x), static=lambda x: _tf().ceil(x)),
    Case("round", ops.round, lambda T, x: T.round(x), static=lambda x: _tf().round(x),
         eager=lambda x: x.round()),
    Case("trunc", ops.trunc, lambda T, x: T.trunc(x)),
    Case("erf", ops.erf, lambda T, x: T.erf(x), eager=lambda x: x.erf()),
    Case("leaky_relu", None, lambda T, x: T.nn.functional.leaky_relu(x, 0.1),
         eager=lambda x: _F().leaky_relu(x, 0.1), modes=("eager",)),
]

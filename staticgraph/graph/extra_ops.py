"""Small TF1 conveniences built from registry ops: ``count_nonzero``, ``is_nan``/``is_inf``/
``is_finite``, ``scalar_mul``, TF1's Python-2 ``div``, ``to_int64``/``to_double``,
``matrix_inverse``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .composite_ops import floordiv
from .core import Tensor
from .frontend import as_graph_tensor
from .math_ops import _final, _named, _pair, _require, _t, cast, composite, multiply, reduce_sum


def count_nonzero(input_tensor: Any, axis: Any = None, keepdims: Any = None, dtype: Any = "int64",
                  name: str | None = None, reduction_indices: Any = None,
                  keep_dims: Any = None) -> Tensor:
    """The number of non-zero entries (over ``axis``), as ``dtype``."""
    x = _t(input_tensor)
    with composite(name, "count_nonzero", x) as stem:
        nz = cast(ops.ne(x, np.zeros((), x.aval.dtype)), np.int64)
        s = reduce_sum(nz, axis, keepdims, reduction_indices=reduction_indices,
                       keep_dims=keep_dims)
        return cast(s, dtype, name=stem)


def is_nan(x: Any, name: str | None = None) -> Tensor:
    _require("f", x)
    x = _t(x)
    with composite(name, "IsNan", x) as stem:
        return _final(stem, ops.ne, x, x)


def is_inf(x: Any, name: str | None = None) -> Tensor:
    _require("f", x)
    x = _t(x)
    with composite(name, "IsInf", x) as stem:
        return _final(stem, ops.eq, ops.abs(x), np.inf)


def is_finite(x: Any, name: str | None = None) -> Tensor:
    _require("f", x)
    x = _t(x)
    with composite(name, "IsFinite", x) as stem:
        return _final(stem, ops.lt, ops.abs(x), np.inf)


def log_sigmoid(x: Any, name: str | None = None) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)`` (no overflow)."""
    _require("f", x)
    x = _t(x)
    with composite(name, "LogSigmoid", x) as stem:
        return _final(stem, ops.neg, ops.softplus(ops.neg(x)))


def scalar_mul(scalar: Any, x: Any, name: str | None = None) -> Tensor:
    return multiply(scalar, x, name=name)


def div(x: Any, y: Any, name: str | None = None) -> Tensor:
    """TF1's Python-2 style ``div``: integers floor-divide (and stay integers)."""
    x, y = _pair(x, y)
    tx = as_graph_tensor(x) if as_graph_tensor(x) is not None else as_graph_tensor(y)
    if tx.dtype.is_integer:
        return floordiv(x, y, name=name or "div")
    return _named(name, "div", ops.div, x, y)


def to_int64(x: Any, name: str = "ToInt64") -> Tensor:
    return cast(x, np.int64, name)


def to_double(x: Any, name: str = "ToDouble") -> Tensor:
    return cast(x, np.float64, name)




def matrix_inverse(input: Any, adjoint: bool = False,  # noqa: A002
                   name: str | None = None) -> Tensor:
    """The inverse of each square matrix in the last two dims (of ``input``'s adjoint when
    ``adjoint``): the registry's ``matrix_inverse`` (pivoted LU in float64, rounded to the
    input's dtype). A singular matrix raises ``InvalidArgumentError`` at run time."""
    a = _t(input)
    _require("f", a)
    if adjoint:
        with composite(name, "MatrixInverse", a) as stem:
            return _final(stem, ops.matrix_inverse, ops.transpose(a))
    return _named(name, "MatrixInverse", ops.matrix_inverse, a)


__all__ = ["log_sigmoid", "count_nonzero", "is_nan", "is_inf", "is_finite", "scalar_mul",
           "div", "to_int64", "to_double", "matrix_inverse"]

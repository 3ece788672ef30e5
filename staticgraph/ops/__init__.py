"""The one op registry shared by the eager (`dynamic`) and static (`staticgraph`) modes.

Public op functions dispatch on argument type (see :mod:`.core`): the same call computes eagerly
on ``dynamic`` tensors, adds a node to a ``staticgraph`` graph, or runs numpy on plain arrays.
"""

from .core import (
    DEFAULT_FLOAT,
    REGISTRY,
    AVal,
    Op,
    aval_of,
    bind,
    broadcast_shapes,
    eval_numpy,
    frontend_of,
    params_key,
    register,
    result_type,
    sum_to_shape,
)
from .elementwise import (
    abs,
    add,
    cast,
    clamp,
    cos,
    div,
    eq,
    erf,
    exp,
    expm1,
    ge,
    gt,
    le,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    reciprocal,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    square,
    sub,
    tanh,
    where,
)
from .diagonal import diagonal, diagonal_scatter
from .gather import gather, scatter_add
from .index_checks import check_index_range, check_nd_indices, check_nonzero, check_segment_ids
from .linalg import determinant_sign, log_abs_determinant, matrix_determinant, matrix_inverse
from .linalg_cholesky import cholesky
from .linalg_eigh import linalg_eigh_vectors, linalg_eigvalsh
from .linalg_qr import linalg_qr_q, linalg_qr_r
from .linalg_solve import matrix_solve, matrix_triangular_solve
from .linalg_svd import linalg_svd_s, linalg_svd_u, linalg_svd_vh
from .nn import cross_entropy, log_softmax, matmul, mse_loss, nll_loss, softmax
from .one_hot import one_hot
from .reductions import all, amax, amin, any, argmax, argmin, logsumexp, mean, size, sum
from .reductions import reduce_mean, var
from .rounding import (ceil, div_floor, div_trunc, floor, floor_divide, floormod, remainder, round,
                       trunc)
from .scans import cumprod, cumsum, prod
from .shapes import (
    broadcast_like,
    broadcast_to,
    cat,
    expand_dims,
    getitem,
    ones_like,
    permute,
    reshape,
    reshape_like,
    setitem,
    squeeze,
    stack,
    sum_to_like,
    transpose,
    unsqueeze,
    zeros_like,
)
from .sorting import topk_indices
from .strided import as_strided, unfold
from .special import (
    asinh,
    atan2,
    cosh,
    digamma,
    erfinv,
    exp2,
    fmod,
    hypot,
    lgamma,
    polygamma,
    sinh,
)
from .zero_subgradients import abs_pow_zero_grad, root_zero_grad

__all__ = [
    "DEFAULT_FLOAT", "REGISTRY", "AVal", "Op", "aval_of", "bind", "broadcast_shapes",
    "eval_numpy", "frontend_of", "params_key", "register", "result_type", "sum_to_shape",
    "abs", "add", "cast", "clamp", "cos", "div", "eq", "exp", "ge", "gt", "le", "log",
    "logical_and", "logical_not", "logical_or", "lt", "maximum", "minimum", "mul", "ne", "neg",
    "pow", "reciprocal", "relu", "sigmoid", "sign", "sin", "sqrt", "square", "sub", "tanh",
    "where", "cross_entropy", "log_softmax", "matmul", "mse_loss", "nll_loss", "softmax",
    "amax", "amin", "argmax", "argmin", "logsumexp", "mean", "size", "sum", "broadcast_like",
    "broadcast_to", "cat", "expand_dims", "getitem", "ones_like", "permute", "reshape",
    "reshape_like", "setitem", "squeeze", "stack", "sum_to_like", "transpose", "unsqueeze",
    "zeros_like", "gather", "scatter_add", "prod", "cumsum", "cumprod", "log1p", "expm1",
    "softplus", "erf", "all", "any", "floor", "ceil", "round", "trunc", "floor_divide",
    "remainder", "floormod", "matrix_inverse", "topk_indices", "matrix_solve",
    "matrix_determinant",
    "log_abs_determinant", "determinant_sign", "cholesky", "matrix_triangular_solve",
    "linalg_eigh_vectors", "linalg_eigvalsh", "check_segment_ids", "check_index_range", "root_zero_grad",
    "abs_pow_zero_grad", "linalg_qr_q", "linalg_qr_r", "linalg_svd_u", "linalg_svd_s",
    "linalg_svd_vh", "one_hot", "atan2", "hypot", "fmod", "sinh", "cosh", "asinh", "exp2",
    "lgamma", "digamma", "polygamma", "erfinv", "diagonal", "diagonal_scatter",
    "as_strided", "unfold",
    "var", "reduce_mean", "check_nonzero", "check_nd_indices",
]

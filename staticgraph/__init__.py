# ruff: noqa: F401 - this module is the TF1 namespace: every import is a re-export
"""staticgraph: define-and-run graphs (TF1-style) with a numba compiler.

``import staticgraph as tf`` gives the TF1 API: build a graph of placeholders, Variables and ops,
differentiate it symbolically with ``gradients``, then ``Session.run`` it with fed data.
"""

from __future__ import annotations

import sys as _sys
import types as _types

from . import graph as _graph_pkg
from . import metrics, nn, ops, summary, train
from .gradients import gradients, hessians
from .graph import errors
from .graph.array_ops import (
    concat,
    constant,
    expand_dims,
    eye,
    fill,
    identity,
    linspace,
    one_hot,
    ones,
    placeholder,
    placeholder_with_default,
    range,  # noqa: A004
    rank,
    reshape,
    shape,
    size,
    split,
    squeeze,
    stack,
    stop_gradient,
    transpose,
    zeros,
)
from .graph.composite_ops import (
    ceil,
    clip_by_global_norm,
    clip_by_norm,
    cumprod,
    cumsum,
    floor,
    floordiv,
    floormod,
    gather,
    global_norm,
    norm,
    reduce_prod,
    reverse,
    round,  # noqa: A004
    slice,  # noqa: A004
    tile,
    unstack,
)
from .graph.control_flow import case, cond, while_loop
from .graph.core import (
    Graph,
    Operation,
    Tensor,
    control_dependencies,
    get_default_graph,
    name_scope,
    reset_default_graph,
)
from .graph.dtypes import (
    DType,
    as_dtype,
    bool,  # noqa: A004 - TF's name
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    string,
    uint8,
)
from .graph.extra_ops import (
    count_nonzero,
    diag,
    div,
    is_finite,
    is_inf,
    is_nan,
    matrix_inverse,
    scalar_mul,
    to_double,
    to_int64,
)
from .graph.functional_ops import foldl, foldr, map_fn, scan
from .graph.math_ops import (
    abs,  # noqa: A004
    add,
    add_n,
    argmax,
    argmin,
    cast,
    clip_by_value,
    cos,
    divide,
    equal,
    exp,
    expm1,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    ones_like,
    pow,  # noqa: A004
    realdiv,
    reciprocal,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_sum,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    squared_difference,
    subtract,
    tanh,
    to_float,
    to_int32,
    truediv,
    where,
    zeros_like,
)
from .graph.tensor_array import TensorArray
from .graph.tensor_shape import Dimension, TensorShape
from .layers import dense as _dense
from .layers import losses
from .random_ops import (
    random_normal,
    random_uniform,
    set_random_seed,
    truncated_normal,
)
from .runtime_config import (
    ConfigProto,
    GPUOptions,
    RunMetadata,
    RunOptions,
    device,
    logging,
    test,
)
from .session import EXECUTORS, InteractiveSession, Session, get_default_session
from .variable_scope import (
    AUTO_REUSE,
    constant_initializer,
    get_variable,
    get_variable_scope,
    glorot_uniform_initializer,
    ones_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    variable_scope,
    zeros_initializer,
)
from .variables import (
    Variable,
    assign,
    assign_add,
    assign_sub,
    global_variables,
    global_variables_initializer,
    group,
    initialize_all_variables,
    local_variables,
    local_variables_initializer,
    no_op,
    trainable_variables,
    variables_initializer,
)
from .variables import tuple_ as tuple  # noqa: A004

sub = subtract
mod = floormod
mul = multiply
neg = negative


def convert_to_tensor(value, dtype=None, name=None):  # noqa: ANN001, ANN201
    """A graph tensor for ``value`` (Const for Python/numpy values)."""
    from .graph.frontend import as_graph_tensor

    t = as_graph_tensor(value)
    if t is not None:
        if dtype is not None and t.dtype != as_dtype(dtype):
            raise ValueError(f"Tensor conversion requested dtype {as_dtype(dtype).name} for "
                             f"Tensor with dtype {t.dtype.name}: {t!r}")
        return t
    return constant(value, dtype=dtype, name=name or "Const")


def disable_v2_behavior() -> None:
    """No-op: staticgraph always behaves like TF1 graphs."""


disable_eager_execution = enable_resource_variables = disable_v2_behavior


def executing_eagerly() -> bool:
    return False


class GraphKeys:
    GLOBAL_VARIABLES = "variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    LOCAL_VARIABLES = "local_variables"
    GLOBAL_STEP = "global_step"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"


def get_collection(key: str, scope: str | None = None) -> list:
    return get_default_graph().get_collection(key, scope)


def add_to_collection(name: str, value: object) -> None:
    get_default_graph().add_to_collection(name, value)


layers = _types.SimpleNamespace(dense=_dense)
initializers = _types.SimpleNamespace(
    zeros=zeros_initializer, ones=ones_initializer, constant=constant_initializer,
    random_normal=random_normal_initializer, random_uniform=random_uniform_initializer,
    truncated_normal=truncated_normal_initializer, glorot_uniform=glorot_uniform_initializer)
compat = _types.SimpleNamespace(v1=_sys.modules[__name__])
random = _types.SimpleNamespace(normal=random_normal, uniform=random_uniform,
                                truncated_normal=truncated_normal, set_seed=set_random_seed,
                                set_random_seed=set_random_seed)
math = _types.SimpleNamespace(
    add=add, subtract=subtract, multiply=multiply, divide=divide, negative=negative, pow=pow,
    square=square, sqrt=sqrt, exp=exp, log=log, abs=abs, maximum=maximum, minimum=minimum,
    equal=equal, greater=greater, less=less, sigmoid=sigmoid, tanh=tanh, reduce_sum=reduce_sum,
    reduce_mean=reduce_mean, reduce_max=reduce_max, reduce_min=reduce_min, argmax=argmax,
    argmin=argmin, reciprocal=reciprocal, rsqrt=rsqrt, sign=sign, sin=sin, cos=cos,
    logical_and=logical_and, logical_or=logical_or, logical_not=logical_not,
    squared_difference=squared_difference, add_n=add_n, floor=floor, ceil=ceil, round=round,
    floordiv=floordiv, floormod=floormod, mod=floormod, log1p=log1p, expm1=expm1,
    reduce_prod=reduce_prod, reduce_logsumexp=reduce_logsumexp, reduce_any=reduce_any,
    reduce_all=reduce_all, log_softmax=nn.log_softmax, softmax=nn.softmax, norm=norm,
    not_equal=not_equal, greater_equal=greater_equal,
    less_equal=less_equal, softplus=nn.softplus, cumsum=cumsum, cumprod=cumprod)
linalg = _types.SimpleNamespace(inv=matrix_inverse, matmul=matmul, norm=norm, diag=diag)
dtypes = _graph_pkg.dtypes
__version__ = "0.1.0"

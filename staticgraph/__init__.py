"""staticgraph: define-and-run graphs (TF1-style) with a numba compiler.

``import staticgraph as tf`` gives the TF1 API: build a graph of placeholders, Variables and ops,
differentiate it symbolically with ``gradients``, then ``Session.run`` it with fed data.

The package imports lazily (PEP 562): ``tf.placeholder`` loads the graph modules on first use,
``tf.Session`` the session. So the op registry, :mod:`staticgraph.ops`, which the eager mode
(``dynamic``) shares, imports with no graph, session, training or compiler code.
"""

from __future__ import annotations

import sys as _sys
import types as _types
import warnings as _warnings
from importlib import import_module as _import_module
from importlib.util import find_spec as _find_spec
from typing import Any as _Any

# inf and NaN are values here, as in TensorFlow and PyTorch: numpy's floating-point warnings from
# this package's kernels (log(0), 0/0, overflow in exp) are not shown to the user. Warnings raised
# from the user's own numpy calls are untouched (the filter matches the calling module's name).
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(staticgraph|dynamic)(\.|$)")

# module (relative to this package) -> the names it exports here under the same name
_EXPORTS: dict[str, str] = {
    "gradients": "gradients hessians",
    "graph.array_ops": "concat constant expand_dims eye fill identity linspace one_hot ones "
                       "placeholder placeholder_with_default range rank reshape shape size split "
                       "squeeze stack stop_gradient transpose zeros",
    "graph.composite_ops": "ceil clip_by_global_norm clip_by_norm cumprod cumsum floor floordiv "
                           "floormod gather global_norm norm reduce_prod reverse round slice tile "
                           "unstack",
    "graph.control_flow": "case cond while_loop",
    "graph.pad_ops": "pad",
    "graph.matrix_ops": "broadcast_to diag diag_part matrix_diag matrix_diag_part "
                        "matrix_transpose tensordot trace",
    "graph.einsum_ops": "einsum",
    "graph.linalg_ops": "cholesky matrix_determinant matrix_solve matrix_triangular_solve "
                        "meshgrid roll scatter_nd self_adjoint_eig self_adjoint_eigvals qr svd",
    "graph.segment_ops": "segment_mean segment_sum unsorted_segment_sum",
    "graph.segment_reduce_ops": "segment_max segment_min segment_prod unsorted_segment_max "
                                "unsorted_segment_mean unsorted_segment_min "
                                "unsorted_segment_prod unsorted_segment_sqrt_n",
    "graph.mask_ops": "boolean_mask sequence_mask where",
    "graph.unique_ops": "unique unique_with_counts",
    "graph.indexed_slices": "IndexedSlices IndexedSlicesValue",
    "graph.gather_nd_ops": "gather_nd",
    "graph.vector_ops": "argsort sort",
    "graph.functional_ops": "foldl foldr map_fn scan",
    "graph.tensor_array": "TensorArray",
    "graph.core": "Graph Operation Tensor control_dependencies get_default_graph name_scope "
                  "reset_default_graph",
    "graph.dtypes": "DType as_dtype bool double float16 float32 float64 half int8 int16 int32 "
                    "int64 string uint8",
    "graph.extra_ops": "log_sigmoid count_nonzero div is_finite is_inf is_nan "
                       "matrix_inverse scalar_mul to_double to_int64",
    "graph.math_ops": "abs add add_n arg_max arg_min argmax argmin cast clip_by_value cos "
                      "divide equal exp "
                      "expm1 greater greater_equal less less_equal log log1p logical_and "
                      "logical_not logical_or matmul maximum minimum multiply negative not_equal "
                      "ones_like pow realdiv reciprocal reduce_all reduce_any reduce_logsumexp "
                      "reduce_max reduce_mean reduce_min reduce_sum rsqrt sigmoid sign sin sqrt "
                      "square squared_difference subtract tanh to_float to_int32 truediv "
                      "zeros_like",
    "graph.tensor_shape": "Dimension TensorShape",
    "graph.special_ops": "asinh atan2 cosh digamma lgamma sinh truncatemod",
    "layers": "losses",
    "random_ops": "random_normal random_uniform set_random_seed truncated_normal",
    "random_sampling": "multinomial random_shuffle",
    "rnn_bidirectional": "reverse_sequence",
    "summary_messages": "Event HistogramProto Summary",
    "runtime_config": "ConfigProto GPUOptions RunMetadata RunOptions device logging test",
    "scatter_ops": "scatter_add scatter_sub scatter_update scatter_mul scatter_div "
                   "scatter_nd_update",
    "session": "EXECUTORS InteractiveSession Session get_default_session",
    "variable_scope": "AUTO_REUSE constant_initializer get_variable get_variable_scope "
                      "glorot_uniform_initializer ones_initializer random_normal_initializer "
                      "random_uniform_initializer truncated_normal_initializer variable_scope "
                      "zeros_initializer",
    "variables": "Variable assign assign_add assign_sub global_variables "
                 "global_variables_initializer group initialize_all_variables local_variables "
                 "local_variables_initializer no_op trainable_variables variables_initializer",
}
# name -> (module, attribute; None: the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    name: (mod, name) for mod, names in _EXPORTS.items() for name in names.split()}
_LAZY.update({
    "tuple": ("variables", "tuple_"), "sub": ("graph.math_ops", "subtract"),
    "mul": ("graph.math_ops", "multiply"), "neg": ("graph.math_ops", "negative"),
    "mod": ("graph.composite_ops", "floormod"),
    "floor_div": ("graph.composite_ops", "floordiv"), "lin_space": ("graph.array_ops", "linspace"),
    "all_variables": ("variables", "global_variables"),
    "initialize_variables": ("variables", "variables_initializer"),
    "initialize_local_variables": ("variables", "local_variables_initializer"),
    "errors": ("graph.errors", None),
    "dtypes": ("graph.dtypes", None), "metrics": ("metrics", None), "nn": ("nn", None),
    "ops": ("ops", None), "summary": ("summary", None), "train": ("train", None),
})


def _namespace(path: str, **members: tuple[str, str]) -> _Any:
    """``tf.<path>``: the given members; any other name raises the "not supported" error."""
    from .unsupported import Namespace

    return Namespace(path, **{k: _resolve(*v) for k, v in members.items()})


def _math() -> _Any:
    """``tf.math``: the element-wise and reduction functions under their TF2-style names."""
    names = ("add subtract multiply divide negative pow square sqrt exp log abs maximum minimum "
             "equal greater less sigmoid tanh reduce_sum reduce_mean reduce_max reduce_min "
             "argmax argmin reciprocal rsqrt sign sin cos logical_and logical_or logical_not "
             "squared_difference add_n floor ceil round floordiv floormod mod log1p expm1 "
             "reduce_prod reduce_logsumexp reduce_any reduce_all norm not_equal greater_equal "
             "less_equal cumsum cumprod log_sigmoid segment_sum segment_mean "
             "unsorted_segment_sum segment_max segment_min segment_prod unsorted_segment_max "
             "unsorted_segment_min unsorted_segment_prod unsorted_segment_mean "
             "unsorted_segment_sqrt_n unique unique_with_counts gather_nd sort argsort "
             "atan2 sinh cosh asinh lgamma digamma truncatemod").split()
    ns = _namespace("math", **{n: _LAZY[n] for n in names},
                    reduce_std=("nn_extra", "reduce_std"),
                    reduce_variance=("nn_extra", "reduce_variance"),
                    erfinv=("graph.special_ops", "erfinv"))
    for n in ("log_softmax", "softmax", "softplus", "top_k", "l2_normalize"):
        setattr(ns, n, _resolve("nn", n))
    return ns


# namespaces built on first access: name -> factory
_NAMESPACES: dict[str, _Any] = {
    "math": _math,
    "linalg": lambda: _namespace(
        "linalg", inv=_LAZY["matrix_inverse"], matmul=_LAZY["matmul"], norm=_LAZY["norm"],
        diag=_LAZY["matrix_diag"], diag_part=_LAZY["matrix_diag_part"],
        transpose=_LAZY["matrix_transpose"], trace=_LAZY["trace"], tensordot=_LAZY["tensordot"],
        einsum=_LAZY["einsum"], l2_normalize=("graph.vector_ops", "l2_normalize"),
        solve=_LAZY["matrix_solve"], det=_LAZY["matrix_determinant"],
        slogdet=("graph.linalg_ops", "slogdet"), cholesky=_LAZY["cholesky"],
        triangular_solve=_LAZY["matrix_triangular_solve"], eigh=_LAZY["self_adjoint_eig"],
        eigvalsh=_LAZY["self_adjoint_eigvals"], qr=_LAZY["qr"], svd=_LAZY["svd"]),
    "manip": lambda: _namespace("manip", roll=_LAZY["roll"]),
    "random": lambda: _namespace(
        "random", normal=_LAZY["random_normal"], uniform=_LAZY["random_uniform"],
        truncated_normal=_LAZY["truncated_normal"], set_seed=_LAZY["set_random_seed"],
        set_random_seed=_LAZY["set_random_seed"], shuffle=_LAZY["random_shuffle"],
        categorical=("random_sampling", "categorical"), multinomial=_LAZY["multinomial"],
        log_uniform_candidate_sampler=("sampled_losses", "log_uniform_candidate_sampler")),
    "initializers": lambda: _namespace(
        "initializers", zeros=_LAZY["zeros_initializer"], ones=_LAZY["ones_initializer"],
        constant=_LAZY["constant_initializer"], random_normal=_LAZY["random_normal_initializer"],
        random_uniform=_LAZY["random_uniform_initializer"],
        truncated_normal=_LAZY["truncated_normal_initializer"],
        glorot_uniform=_LAZY["glorot_uniform_initializer"]),
    "layers": lambda: _namespace(
        "layers", dense=("layers", "dense"), Dense=("layers", "Dense"),
        conv2d=("layers_conv", "conv2d"), Conv2D=("layers_conv", "Conv2D"),
        max_pooling2d=("layers_conv", "max_pooling2d"),
        average_pooling2d=("layers_conv", "average_pooling2d"),
        flatten=("layers_conv", "flatten"), dropout=("layers_conv", "dropout"),
        conv2d_transpose=("layers_conv", "conv2d_transpose_layer"),
        batch_normalization=("layers_norm", "batch_normalization"),
        BatchNormalization=("layers_norm", "BatchNormalization")),
    "contrib": lambda: _resolve("unsupported", "UnsupportedNamespace")("contrib"),
}
# exported names that are also submodules: importing the submodule must not replace them
_SHADOWED = frozenset({"gradients", "layers", "variable_scope"})


def _resolve(module: str, attr: str | None) -> _Any:
    mod = _import_module(f"{__name__}.{module}")
    return mod if attr is None else getattr(mod, attr)


def __getattr__(name: str) -> _Any:
    """Load an exported name, a ``tf.math``-style namespace or a submodule on first access."""
    if name in _LAZY:
        value = _resolve(*_LAZY[name])
    elif name in _NAMESPACES:
        value = _NAMESPACES[name]()
    elif not name.startswith("__") and _find_spec(f"{__name__}.{name}"):
        return _import_module(f"{__name__}.{name}")
    else:
        from .unsupported import unsupported

        raise unsupported("", name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_NAMESPACES))


class _Package(_types.ModuleType):
    """This package's module type. The import system sets ``staticgraph.<sub>`` to a submodule
    when it is first imported; for the exported names that are submodules too (``gradients``
    and ``variable_scope`` the functions, ``layers`` the namespace) the exported object must
    stay."""

    def __setattr__(self, name: str, value: _Any) -> None:
        if name in _SHADOWED and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


def convert_to_tensor(value, dtype=None, name=None):  # noqa: ANN001, ANN201
    """A graph tensor for ``value`` (Const for Python/numpy values)."""
    from .graph.array_ops import constant
    from .graph.dtypes import as_dtype
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
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"


def get_collection(key: str, scope: str | None = None) -> list:
    from .graph.core import get_default_graph

    return get_default_graph().get_collection(key, scope)


def add_to_collection(name: str, value: object) -> None:
    from .graph.core import get_default_graph

    get_default_graph().add_to_collection(name, value)


compat = _types.SimpleNamespace(v1=_sys.modules[__name__])
__version__ = "0.1.0"
__all__ = sorted({*_LAZY, *_NAMESPACES, "convert_to_tensor", "disable_v2_behavior",
                  "disable_eager_execution", "enable_resource_variables", "executing_eagerly",
                  "GraphKeys", "get_collection", "add_to_collection", "compat"})

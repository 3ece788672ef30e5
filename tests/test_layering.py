"""Layering: the op registry imports without the static stack, and the lazily importing
``staticgraph`` package still exports every name it exported when it imported everything."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import types

import pytest

import staticgraph as tf

# every public name ``staticgraph/__init__.py`` exported when it imported all its modules
# eagerly (its submodules included, which were attributes of the package once imported)
EXPORTED = """
    AUTO_REUSE ConfigProto DType Dimension EXECUTORS GPUOptions Graph GraphKeys InteractiveSession
    Operation RunMetadata RunOptions Session Tensor TensorShape Variable abs add add_n
    add_to_collection argmax argmin as_dtype assign assign_add assign_sub bool cast ceil
    clip_by_global_norm clip_by_norm clip_by_value compat concat cond constant constant_initializer
    control_dependencies conv_ops convert_to_tensor cos count_nonzero cumprod cumsum device diag
    disable_eager_execution disable_v2_behavior div divide double dtypes enable_resource_variables
    equal errors executing_eagerly executor exp expand_dims expm1 eye fill float16 float32 float64
    floor floordiv floormod gather get_collection get_default_graph get_default_session get_variable
    get_variable_scope global_norm global_variables global_variables_initializer
    glorot_uniform_initializer gradients graph greater greater_equal group half hessians identity
    initialize_all_variables initializers int16 int32 int64 int8 is_finite is_inf is_nan layers less
    less_equal linalg linspace local_variables local_variables_initializer log log1p logging
    logical_and logical_not logical_or losses math matmul matrix_inverse maximum metrics minimum mod
    mul multiply name_scope neg negative nn no_op norm not_equal one_hot ones ones_initializer
    ones_like ops placeholder placeholder_with_default pow random random_normal
    random_normal_initializer random_ops random_uniform random_uniform_initializer range rank
    realdiv reciprocal reduce_all reduce_any reduce_logsumexp reduce_max reduce_mean reduce_min
    reduce_prod reduce_sum reset_default_graph reshape reverse round rsqrt runtime_config scalar_mul
    session session_plan set_random_seed shape sigmoid sign sin size slice split sqrt square
    squared_difference squeeze stack stop_gradient string sub subtract summary tanh test tile
    to_double to_float to_int32 to_int64 train trainable_variables transpose truediv
    truncated_normal truncated_normal_initializer tuple uint8 unstack variable_scope variables
    variables_initializer where zeros zeros_initializer zeros_like
""".split()

# staticgraph.cpu_threads: the thread policy both modes share (stdlib only): the eager mode's
# large ops and products read the same machine load and set the same OpenBLAS state;
# staticgraph.cache_location: the disk cache's directory rule both modes share (stdlib only)
REGISTRY_LEVEL = ("staticgraph", "staticgraph.ops", "staticgraph.cpu_threads",
                  "staticgraph.cache_location")


def _fresh_modules(code: str) -> list[str]:
    """``sys.modules`` of a fresh interpreter after running ``code``."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sorted("
                          "sys.modules)))"], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize("code", ["import dynamic", "import staticgraph.ops",
                                  "import dynamic.nn, dynamic.optim, dynamic.autograd"])
def test_the_registry_and_eager_mode_import_no_static_stack(code):
    loaded = [m for m in _fresh_modules(code) if m.split(".")[0] == "staticgraph"]
    extra = [m for m in loaded if m not in REGISTRY_LEVEL and not m.startswith("staticgraph.ops.")]
    assert not extra, f"{code!r} loads static modules: {extra}"


def test_importing_staticgraph_loads_nothing_until_used():
    loaded = _fresh_modules("import staticgraph")
    assert [m for m in loaded if m.startswith("staticgraph")] == ["staticgraph"]


def test_every_exported_name_resolves():
    missing = [n for n in EXPORTED if getattr(tf, n, None) is None]
    assert not missing
    assert not set(EXPORTED) - set(dir(tf))


def test_from_imports_and_namespaces_in_a_fresh_interpreter():
    code = ("from staticgraph import placeholder, Session, gradients, layers, math, train\n"
            "import staticgraph as tf, staticgraph.gradients, staticgraph.layers\n"
            "assert tf.gradients is gradients and callable(gradients)\n"
            "assert tf.layers is layers and callable(layers.dense)\n"
            "assert tf.compat.v1 is tf and tf.mod is tf.floormod and tf.sub is tf.subtract\n"
            "assert tf.math.floor is tf.floor and tf.math.softmax is tf.nn.softmax\n"
            "assert tf.train.GradientDescentOptimizer and tf.linalg.inv is tf.matrix_inverse\n"
            "assert tf.tuple is staticgraph.variables.tuple_ and tf.dtypes.float32 is tf.float32")
    _fresh_modules(code)


def test_names_that_are_submodules_too_keep_the_exported_object():
    """``staticgraph.gradients`` is a function although ``staticgraph/gradients.py`` exists: the
    import system's binding of the submodule, in whatever order it happens, must not win."""
    root = pathlib.Path(tf.__file__).parent
    subs = {p.stem for p in root.glob("*.py")} | {p.parent.name for p in root.glob("*/__init__.py")}
    clashing = {n for n in set(tf._LAZY) | set(tf._NAMESPACES) if n in subs
                and tf._LAZY.get(n) != (n, None)}
    assert clashing == set(tf._SHADOWED)
    code = "\n".join(f"import staticgraph.{n}" for n in sorted(clashing)) + (
        "\nimport staticgraph as tf, types\n"
        f"assert not any(isinstance(getattr(tf, n), types.ModuleType) for n in {sorted(clashing)})")
    _fresh_modules(code)


def test_names_keep_their_objects():
    from staticgraph.graph import array_ops, composite_ops, math_ops

    assert tf.placeholder is array_ops.placeholder
    assert tf.floor is composite_ops.floor and tf.round is composite_ops.round
    assert tf.add is math_ops.add and tf.neg is math_ops.negative
    assert isinstance(tf.math, types.SimpleNamespace) and isinstance(tf.nn, types.ModuleType)
    with pytest.raises(AttributeError):
        tf.no_such_name  # noqa: B018


def test_no_import_circle_anywhere():
    """No circle among the modules of staticgraph (compiler included) and dynamic, through
    top-level or function-level imports: executors register themselves in
    ``staticgraph.executor.EXECUTORS``, which imports neither the session nor the compiler."""
    from tests.import_graph import cycles

    assert cycles(["staticgraph", "dynamic"]) == []


def test_the_compiler_never_imports_the_session():
    from tests.import_graph import import_graph

    top, lazy = import_graph(["staticgraph"])
    compiler = [m for m in top if m.startswith("staticgraph.compiler")]
    bad = {m: sorted(t for t in top[m] | lazy[m] if t.startswith("staticgraph.session"))
           for m in compiler}
    assert {m: t for m, t in bad.items() if t} == {}

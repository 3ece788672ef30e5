"""TF1 ``variable_scope``/``get_variable`` with reuse checking, initializers, ``tf.layers.dense``
and ``tf.losses``. Random initializers sample when the graph is built (see random_ops)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .graph.core import Tensor, get_default_graph
from .graph.dtypes import as_dtype
from .random_ops import _rng
from .variables import Variable

AUTO_REUSE = "AUTO_REUSE"


class _Init:
    """An initializer: ``init(shape, dtype) -> ndarray``."""

    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def __call__(self, shape: Any, dtype: Any = "float32", partition_info: Any = None) -> Any:
        dt = as_dtype(dtype).np_dtype
        return np.asarray(self._fn(tuple(int(d) for d in shape), dt)).astype(dt)


def zeros_initializer(dtype: Any = "float32") -> _Init:
    return _Init(lambda s, dt: np.zeros(s, dt))


def ones_initializer(dtype: Any = "float32") -> _Init:
    return _Init(lambda s, dt: np.ones(s, dt))


def constant_initializer(value: Any = 0, dtype: Any = "float32") -> _Init:
    return _Init(lambda s, dt: np.broadcast_to(np.asarray(value, dt), s).copy()
                 if np.size(value) == 1 else np.asarray(value, dt).reshape(s))


def random_normal_initializer(mean: float = 0.0, stddev: float = 1.0, seed: Any = None,
                              dtype: Any = "float32") -> _Init:
    return _Init(lambda s, dt: _rng(seed).normal(mean, stddev, s))


def random_uniform_initializer(minval: float = 0.0, maxval: float = 1.0, seed: Any = None,
                               dtype: Any = "float32") -> _Init:
    return _Init(lambda s, dt: _rng(seed).uniform(minval, maxval, s))


def truncated_normal_initializer(mean: float = 0.0, stddev: float = 1.0, seed: Any = None,
                                 dtype: Any = "float32") -> _Init:
    def f(s: tuple, dt: Any) -> np.ndarray:
        rng = _rng(seed)
        a = rng.standard_normal(s)
        while (bad := np.abs(a) > 2).any():
            a[bad] = rng.standard_normal(int(bad.sum()))
        return a * stddev + mean

    return _Init(f)


def glorot_uniform_initializer(seed: Any = None, dtype: Any = "float32") -> _Init:
    def f(s: tuple, dt: Any) -> np.ndarray:
        fan_in = s[-2] if len(s) > 1 else s[0] if s else 1
        fan_out = s[-1] if s else 1
        lim = np.sqrt(6.0 / max(fan_in + fan_out, 1))
        return _rng(seed).uniform(-lim, lim, s)

    return _Init(f)


class _Scope:
    def __init__(self, name: str, reuse: Any, initializer: Any, regularizer: Any = None) -> None:
        self.name, self.reuse, self.initializer = name, reuse, initializer
        self.regularizer = regularizer
        self._name_scope: str | None = None

    @property
    def original_name_scope(self) -> str:
        """The name scope opened when the scope was first entered (``"net_1/"``)."""
        if self._name_scope is not None:
            return self._name_scope
        return self.name + "/" if self.name else ""

    def reuse_variables(self) -> None:
        self.reuse = True


def _stack(graph: Any) -> list[_Scope]:
    if not hasattr(graph, "_var_scopes"):
        graph._var_scopes = [_Scope("", None, None)]
        graph._var_store = {}
    return graph._var_scopes


def get_variable_scope() -> _Scope:
    return _stack(get_default_graph())[-1]


@contextlib.contextmanager
def variable_scope(name_or_scope: Any, default_name: str | None = None, values: Any = None,
                   initializer: Any = None, regularizer: Any = None,
                   reuse: Any = None) -> Iterator[_Scope]:
    """Prefix ``get_variable`` names (and op names) with the scope; ``reuse`` as in TF1."""
    g = get_default_graph()
    stack = _stack(g)
    outer = stack[-1]
    if isinstance(name_or_scope, _Scope):
        name = name_or_scope.name
    else:
        base = name_or_scope or default_name
        if base is None:
            raise ValueError("variable_scope needs a name or a default_name")
        name = (outer.name + "/" if outer.name else "") + base
        if name_or_scope is None:  # default names are made unique
            name = _unique_scope(g, name)
    scope = _Scope(name, reuse if reuse is not None else outer.reuse,
                   initializer or outer.initializer, regularizer or outer.regularizer)
    counts = _counts(g)
    before = dict(counts) if isinstance(name_or_scope, _Scope) else None
    counts[name] = counts.get(name, 0) + 1
    stack.append(scope)
    try:
        # TF: a new, unique name scope inside the current one ("net_1/..."), also when a
        # captured scope is re-entered (its last name: "foo_1/", "fw/fw/")
        ns_cm: Any = g.name_scope(name.rsplit("/", 1)[-1])
        with ns_cm as ns:
            scope._name_scope = ns
            yield scope
    finally:
        stack.pop()
        if before is not None:  # TF: a re-entered scope object restores the counts
            counts.clear()
            counts.update(before)
        else:  # TF: leaving a named scope forgets its sub-scopes' default names
            for k in counts:
                if k.startswith(name + "/"):
                    counts[k] = 0


def _counts(graph: Any) -> dict[str, int]:
    """TF's variable scope counts: how often each full scope name was entered (since its
    enclosing named scope was last left)."""
    if not hasattr(graph, "_var_scope_counts"):
        graph._var_scope_counts = {}
    return graph._var_scope_counts


def _unique_scope(graph: Any, name: str) -> str:
    """TF's ``_get_unique_variable_scope``: ``name``, else the first ``name_<i>`` not entered
    (so a layer in a re-entered ``reuse=True`` scope finds its ``dense``, ``dense_1`` again)."""
    counts = _counts(graph)
    if not counts.get(name, 0):
        return name
    i = 1
    while counts.get(f"{name}_{i}", 0):
        i += 1
    return f"{name}_{i}"


def get_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None,
                 regularizer: Any = None, trainable: bool = True, collections: Any = None,
                 **_: Any) -> Variable:
    """Create ``scope/name`` or, under ``reuse``, return the existing one. A ``regularizer``
    (or the scope's) is called on a new variable under ``<name>/Regularizer/`` and its loss
    joins the ``regularization_losses`` collection, as in TF."""
    g = get_default_graph()
    scope = _stack(g)[-1]
    full = (scope.name + "/" if scope.name else "") + name
    store = g._var_store
    if full in store:
        if scope.reuse in (True, AUTO_REUSE):
            return store[full]
        raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set "
                         "reuse=True or reuse=tf.AUTO_REUSE in VarScope?")
    if scope.reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with "
                         "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in VarScope?")
    init = initializer if initializer is not None else scope.initializer
    dt = as_dtype(dtype) if dtype is not None else None
    if init is None:
        init = glorot_uniform_initializer() if dt is None or dt.is_floating else zeros_initializer()
    if callable(init):
        if shape is None:
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined")
        value = init(shape, dt or "float32")
    else:
        value = init if isinstance(init, Tensor) else np.asarray(init)
    with g.name_scope(None):
        var = Variable(value, trainable=trainable, name=full, dtype=dt, collections=collections)
    store[full] = var
    reg = regularizer if regularizer is not None else scope.regularizer
    if reg is not None:
        with g.name_scope(full + "/Regularizer/"):
            loss = reg(var)
        if loss is not None:
            g.add_to_collection(REGULARIZATION_LOSSES, loss)
    return var


REGULARIZATION_LOSSES = "regularization_losses"

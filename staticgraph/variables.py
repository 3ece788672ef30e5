"""TF1 ``Variable``: state that lives in a ``Session``, read through a ``VariableV2`` node and
changed by ``Assign``/``AssignAdd``/``AssignSub`` nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .graph.array_ops import identity
from .graph.core import Graph, Operation, Tensor, get_default_graph
from .graph.default_session import session_for
from .graph.dtypes import DType, as_dtype
from .graph.frontend import FRONTEND, as_graph_tensor, constant_array, convert, make_const
from .graph.func_graph import target_graph
from .graph.math_ops import cast
from .graph.operators import _OperatorMixin
from .graph.scatter_rows import ASSIGN_KIND, scatter_value, sparse_delta_parts
from .graph.tensor_shape import TensorShape
from .ops.core import AVal

GLOBAL_VARIABLES = "variables"
TRAINABLE_VARIABLES = "trainable_variables"


class Variable(_OperatorMixin):
    """A mutable value. Its tensor (``VariableV2`` output) reads the value current when a
    consumer runs; ``initializer`` is an ``Assign`` of ``initial_value``."""

    __sg_frontend__ = FRONTEND

    def __init__(self, initial_value: Any = None, trainable: bool = True,
                 name: str | None = None, dtype: Any = None, validate_shape: bool = True,
                 collections: Sequence[str] | None = None) -> None:
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        if callable(initial_value):
            initial_value = initial_value()
        graph = getattr(as_graph_tensor(initial_value), "graph", None) or get_default_graph()
        dt = None if dtype is None else as_dtype(dtype)
        full = graph.unique_name(name or "Variable")
        with graph.name_scope(full + "/"), graph.control_dependencies(None):
            init = as_graph_tensor(initial_value)
            if init is None:
                init = make_const(graph, constant_array(initial_value, dt), "initial_value")
            elif dt is not None and init.dtype != dt:
                init = cast(init, dt)
        if validate_shape and not init.shape.is_fully_defined():
            raise ValueError(f"initial_value must have a shape specified: {init}")
        self.graph: Graph = graph
        self.trainable = bool(trainable)
        self.initial_value = init
        aval = AVal(init.aval.shape, init.aval.dtype)
        with graph.control_dependencies(None):
            self.op: Operation = graph.create_op("VariableV2", (), {"variable": self}, (aval,),
                                                 full, unique=False)
        self._tensor = self.op.outputs[0]
        with graph.name_scope(full + "/"), graph.control_dependencies(None):
            self.initializer: Operation = graph.create_op(
                "Assign", (self._tensor, init), {}, (aval,), "Assign").outputs[0].op
        keys = list(collections) if collections is not None else [GLOBAL_VARIABLES]
        if trainable and TRAINABLE_VARIABLES not in keys:
            keys.append(TRAINABLE_VARIABLES)
        for k in keys:
            graph.add_to_collection(k, self)

    @classmethod
    def _from_graph(cls, op: Operation, initializer: Operation, trainable: bool) -> Variable:
        """Rebuild a Variable around existing nodes (graph import)."""
        var = cls.__new__(cls)
        var.graph, var.trainable, var.op = op.graph, trainable, op
        var._tensor = op.outputs[0]
        var.initializer = initializer
        var.initial_value = initializer.inputs[1]
        op.params["variable"] = var
        return var

    # ------------------------------------------------------------------ views
    def _as_graph_tensor(self) -> Tensor:
        return self._tensor

    @property
    def aval(self) -> AVal:
        return self._tensor.aval

    @property
    def name(self) -> str:
        return self._tensor.name

    @property
    def dtype(self) -> DType:
        return self._tensor.dtype

    @property
    def shape(self) -> TensorShape:
        return self._tensor.shape

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def ndim(self) -> int:
        return self._tensor.ndim

    def value(self) -> Tensor:
        return self._tensor

    def read_value(self) -> Tensor:
        return identity(self._tensor, name="read")

    def initialized_value(self) -> Tensor:
        with self.graph.control_dependencies([self.initializer]):
            return identity(self._tensor)

    # -------------------------------------------------------------- updates
    def assign(self, value: Any, use_locking: bool = False, name: str | None = None) -> Tensor:
        return assign(self, value, name=name)

    def assign_add(self, delta: Any, use_locking: bool = False, name: str | None = None) -> Tensor:
        return assign_add(self, delta, name=name)

    def assign_sub(self, delta: Any, use_locking: bool = False, name: str | None = None) -> Tensor:
        return assign_sub(self, delta, name=name)

    def _scatter(self, kind: str, sparse_delta: Any, name: str | None) -> Tensor:
        """``Variable.scatter_update/add/sub/mul/div(IndexedSlices)``
        (``graph/scatter_rows.py``)."""
        idx, vals = sparse_delta_parts(kind, sparse_delta)
        value = scatter_value(kind, self._as_graph_tensor(), idx, vals)
        return _assign(ASSIGN_KIND[kind], self, value, name)

    def scatter_update(self, sparse_delta: Any, use_locking: bool = False,
                       name: str | None = None) -> Tensor:
        return self._scatter("scatter_update", sparse_delta, name)

    def scatter_mul(self, sparse_delta: Any, use_locking: bool = False,
                    name: str | None = None) -> Tensor:
        return self._scatter("scatter_mul", sparse_delta, name)

    def scatter_div(self, sparse_delta: Any, use_locking: bool = False,
                    name: str | None = None) -> Tensor:
        return self._scatter("scatter_div", sparse_delta, name)

    def scatter_add(self, sparse_delta: Any, use_locking: bool = False,
                    name: str | None = None) -> Tensor:
        return self._scatter("scatter_add", sparse_delta, name)

    def scatter_sub(self, sparse_delta: Any, use_locking: bool = False,
                    name: str | None = None) -> Tensor:
        return self._scatter("scatter_sub", sparse_delta, name)

    def eval(self, session: Any = None) -> Any:
        return self._tensor.eval(session=session)

    def load(self, value: Any, session: Any = None) -> None:
        """Set the value in ``session`` directly (validated against shape and dtype)."""
        sess = session_for(session, self.graph)
        arr = np.asarray(value).astype(self.dtype.np_dtype)
        if arr.shape != tuple(self.shape.as_list()):
            raise ValueError(f"Cannot load value of shape {arr.shape} into variable "
                             f"{self.op.name} of shape {self.shape}")
        sess._state.commit({self: arr})

    def __repr__(self) -> str:
        return (f"<tf.Variable '{self.name}' shape={self.shape} "
                f"dtype={self.dtype.name}>")


def _assign(kind: str, ref: Any, value: Any, name: str | None) -> Tensor:
    if not isinstance(ref, Variable):
        t = as_graph_tensor(ref)
        if t is None or t.op.type != "VariableV2":
            raise TypeError(f"{kind} needs a Variable as its first argument, got {ref!r}")
        ref = t.op.params["variable"]
    var_t = ref._as_graph_tensor()
    g = target_graph(ref.graph)  # in a loop body or cond branch: there (graph/func_graph.py)
    stem = None
    if as_graph_tensor(value) is None:  # TF: the converted value is "<op name>/value"
        nm = name or kind
        stem = nm if nm.endswith("/") else g.unique_name(nm) + "/"
    val = convert(value, g, ref.dtype.base_dtype, "value", kind,
                  name=None if stem is None else stem + "value/")
    if val.dtype != ref.dtype:
        raise TypeError(f"Input 'value' of '{kind}' Op has type {val.dtype.name} that does not "
                        f"match type {ref.dtype.base_dtype.name} of argument 'ref'.")
    if not val.shape.is_compatible_with(ref.shape):
        raise ValueError(f"Dimension mismatch: cannot {kind} a value of shape {val.shape} to "
                         f"variable '{ref.op.name}' of shape {ref.shape}")
    op = g.create_op(kind, (var_t, val), {}, (var_t.aval,), stem or name or kind)
    return op.outputs[0]


def assign(ref: Any, value: Any, validate_shape: bool = True, use_locking: bool = False,
           name: str | None = None) -> Tensor:
    """Set ``ref`` to ``value``; the output is the new value."""
    return _assign("Assign", ref, value, name)


def assign_add(ref: Any, value: Any, use_locking: bool = False, name: str | None = None) -> Tensor:
    return _assign("AssignAdd", ref, value, name)


def assign_sub(ref: Any, value: Any, use_locking: bool = False, name: str | None = None) -> Tensor:
    return _assign("AssignSub", ref, value, name)


def no_op(name: str | None = None, control_inputs: Sequence[Operation] = ()) -> Operation:
    g = get_default_graph()
    with g.control_dependencies(list(control_inputs)):
        return g.create_op("NoOp", (), {}, (), name or "NoOp")


def group(*inputs: Any, name: str | None = None) -> Operation:
    """One op that runs all ``inputs`` (ops, tensors, variables, nested lists)."""
    flat: list[Any] = []

    def walk(x: Any) -> None:
        if isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif x is not None:
            flat.append(x)

    walk(inputs)
    g = flat[0].graph if flat else get_default_graph()
    deps = []
    for x in flat:
        el = g.as_graph_element(x)
        deps.append(el.op if isinstance(el, Tensor) else el)
    with g.control_dependencies(deps):
        return g.create_op("NoOp", (), {}, (), name or "group_deps")


def tuple_(tensors: Sequence[Any], name: str | None = None,
           control_inputs: Sequence[Any] | None = None) -> list:
    """TF's ``tf.tuple``: identities of ``tensors`` that wait for all of them."""
    gate = group(list(tensors) + list(control_inputs or ()))
    with gate.graph.control_dependencies([gate]):
        return [identity(t) for t in tensors]


def global_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GLOBAL_VARIABLES, scope)


def trainable_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(TRAINABLE_VARIABLES, scope)


def local_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection("local_variables", scope)


def variables_initializer(var_list: Sequence[Variable], name: str = "init") -> Operation:
    """One op that runs the initializers of ``var_list``."""
    g = var_list[0].graph if var_list else get_default_graph()
    with g.control_dependencies([v.initializer for v in var_list]):
        return g.create_op("NoOp", (), {}, (), name)


def global_variables_initializer() -> Operation:
    return variables_initializer(global_variables(), name="init")


initialize_all_variables = global_variables_initializer


def local_variables_initializer() -> Operation:
    return variables_initializer(local_variables(), name="init")


def is_variable_initialized(variable: Variable) -> Any:
    raise NotImplementedError("is_variable_initialized: use report_uninitialized_variables")


def report_uninitialized_variables(var_list: Sequence[Variable] | None = None) -> Any:
    raise NotImplementedError("report_uninitialized_variables is not supported")


def variable_of(x: Any) -> Variable | None:
    """The Variable behind ``x`` (a Variable or its ``VariableV2`` tensor), else ``None``."""
    if isinstance(x, Variable):
        return x
    if isinstance(x, Tensor) and x.op.type == "VariableV2":
        return x.op.params["variable"]
    return None


__all__ = ["Variable", "assign", "assign_add", "assign_sub", "group", "no_op",
           "global_variables", "trainable_variables", "variables_initializer",
           "global_variables_initializer", "initialize_all_variables",
           "local_variables_initializer", "variable_of"]

"""The symbolic graph: ``Graph``, ``Operation``, ``Tensor``, the default-graph stack, name scopes
and control dependencies (the TF1 data model; see docs/static.md and docs/guarantees.md)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from ..ops.core import AVal, Op
from . import default_session
from .dtypes import DType, as_dtype
from .listing import dot_source, text_listing
from .operators import _OperatorMixin
from .tensor_shape import TensorShape

SPECIAL_KINDS = ("Placeholder", "VariableV2", "Const", "Assign", "AssignAdd", "AssignSub",
                 "NoOp", "Identity", "StopGradient")
_REF_KINDS = ("VariableV2", "Assign", "AssignAdd", "AssignSub")  # TF1: ``float32_ref`` outputs
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_IN_PKG: dict[str, bool] = {}  # co_filename -> inside the package (abspath once per file)


def _user_site() -> str:
    """``file:line`` of the first frame outside the staticgraph package (where a node was built)."""
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        inside = _IN_PKG.get(fn)
        if inside is None:
            inside = _IN_PKG[fn] = os.path.abspath(fn).startswith(_PKG_DIR)
        if not inside:
            return f"{fn}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


class Operation:
    """A graph node. ``type`` is the registry op name (``"mul"``) or a special kind."""

    def __init__(self, graph: Graph, type: str, name: str, inputs: Sequence[Tensor],  # noqa: A002
                 params: dict, op_def: Op | None, out_avals: Sequence[AVal],
                 control_inputs: Sequence[Operation] = ()) -> None:
        self.graph = graph
        self.type = type
        self.name = name
        self.op_def = op_def
        self.inputs = tuple(inputs)
        self.params = dict(params)
        self.control_inputs = tuple(control_inputs)
        self.outputs = tuple(Tensor(self, i, av) for i, av in enumerate(out_avals))
        self.site = _user_site()
        self._id = len(graph._ops)

    @property
    def tf_type(self) -> str:
        """The TF-style type name used in listings (``MatMul``, ``Placeholder``)."""
        if self.op_def is not None:
            return self.op_def.tf_name or self.op_def.name
        return self.type

    def values(self) -> tuple:
        return self.outputs

    def run(self, feed_dict: dict | None = None, session: Any = None) -> None:
        """Run this op in ``session`` (default: the default session)."""
        default_session.session_for(session, self.graph).run(self, feed_dict)

    def __repr__(self) -> str:
        return f"<tf.Operation '{self.name}' type={self.tf_type}>"


class Tensor(_OperatorMixin):
    """A symbolic value: output ``value_index`` of ``op``. Hashable by identity."""

    __slots__ = ("op", "value_index", "aval")

    def __init__(self, op: Operation, value_index: int, aval: AVal) -> None:
        self.op = op
        self.value_index = value_index
        self.aval = aval

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self) -> Graph:
        return self.op.graph

    @property
    def dtype(self) -> DType:
        dt = as_dtype(self.aval.dtype)
        return dt._as_ref if self.op.type in _REF_KINDS else dt

    @property
    def shape(self) -> TensorShape:
        return TensorShape(self.aval.shape)

    def get_shape(self) -> TensorShape:
        return self.shape

    def set_shape(self, shape: Any) -> None:
        """Refine the static shape (must be compatible with the inferred one)."""
        merged = self.shape.merge_with(shape)
        if merged.as_tuple() != self.aval.shape:
            self.aval = AVal(merged.as_tuple(), self.aval.dtype)
            self.graph._edited()

    @property
    def ndim(self) -> int:
        if self.aval.shape is None:
            raise ValueError(f"Tensor '{self.name}' has unknown rank (a placeholder declared "
                             "without a shape); this op needs a known rank: declare the shape, "
                             "e.g. shape=[None].")
        return len(self.aval.shape)

    def consumers(self) -> list[Operation]:
        return [op for op in self.graph._ops if any(t is self for t in op.inputs)]

    def eval(self, feed_dict: dict | None = None, session: Any = None) -> Any:
        """The value of this tensor in ``session`` (default: the default session)."""
        return default_session.session_for(session, self.graph).run(self, feed_dict)

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:  # TF1: identity, so tensors can key dicts
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __repr__(self) -> str:
        return f"<tf.Tensor '{self.name}' shape={self.shape} dtype={self.dtype.name}>"

    def __str__(self) -> str:
        if self.aval.shape is None:  # TF leaves an unknown shape out
            return f'Tensor("{self.name}", dtype={self.dtype.name})'
        return f'Tensor("{self.name}", shape={self.shape}, dtype={self.dtype.name})'


class Graph:
    """A TF1-style graph: ops in creation order (a valid topological order)."""

    def __init__(self) -> None:
        self._ops: list[Operation] = []
        self._by_name: dict[str, Operation] = {}
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""
        self._control_stack: list[list[Operation]] = []
        self._collections: dict[str, list] = {}
        self._finalized = False
        #: bumped by every change: a new node, or an edit of one (``edits``)
        self.version = 0
        #: in-place edits of existing nodes (``Tensor.set_shape``); anything cached for the
        #: graph as it was (a session's run plan) stays valid across new nodes, not edits
        self.edits = 0
        self.seed: int | None = None

    # ------------------------------------------------------------------ lookup
    def get_operations(self) -> list[Operation]:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph.") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        op_name, sep, idx = name.rpartition(":")
        if not sep or not idx.isdigit():
            raise ValueError(f"The name '{name}' looks like an (invalid) Operation name, not a "
                             "Tensor name. Tensor names must be of the form \"<op_name>:<output_"
                             "index>\".")
        op = self._by_name.get(op_name)
        if op is None or int(idx) >= len(op.outputs):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist. The "
                           f"operation, '{op_name}', does not exist in this graph.")
        return op.outputs[int(idx)]

    def as_graph_element(self, obj: Any) -> Tensor | Operation:
        """A tensor/op of this graph from a Tensor, Operation, Variable or name."""
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        g = getattr(obj, "graph", None)
        if isinstance(obj, (Tensor, Operation)) or hasattr(obj, "_as_graph_tensor"):
            el = obj._as_graph_tensor() if hasattr(obj, "_as_graph_tensor") else obj
            if g is not self:
                raise ValueError(f"{obj} is not an element of this graph.")
            return el
        raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation.")

    # ------------------------------------------------------------------ naming
    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """``name`` inside the current name scope, made unique like TF (``x``, ``x_1``)."""
        if self._name_stack:
            name = self._name_stack + "/" + name
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = i + 1
        if i > 0:
            base = key
            while key in self._names_in_use:
                key = f"{base}_{i}"
                i += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{i - 1}"
        return name

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        """Prefix node names with ``name/`` (made unique); ``"a/"`` re-enters scope ``a``."""
        old = self._name_stack
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield new + "/" if new else ""
        finally:
            self._name_stack = old

    # ------------------------------------------------------------- dependencies
    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: Sequence[Any] | None) -> Iterator[None]:
        """Ops created inside run after ``control_inputs`` (``None`` clears outer ones)."""
        if control_inputs is None:
            saved, self._control_stack = self._control_stack, []
            try:
                yield
            finally:
                self._control_stack = saved
            return
        ops = []
        for c in control_inputs:
            el = self.as_graph_element(c)
            ops.append(el.op if isinstance(el, Tensor) else el)
        self._control_stack.append(ops)
        try:
            yield
        finally:
            self._control_stack.pop()

    # --------------------------------------------------------------- creation
    def create_op(self, type: str, inputs: Sequence[Tensor], params: dict,  # noqa: A002
                  out_avals: Sequence[AVal], name: str, op_def: Op | None = None,
                  unique: bool = True) -> Operation:
        """Add a node (``name`` is a stem made unique in the current scope unless ``unique``
        is False, when it is used as the full name)."""
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        for t in inputs:
            if t.graph is not self:
                raise ValueError(f"Tensor {t.name} must be from the same graph as the op "
                                 f"being created ({name}).")
        if name.endswith("/"):  # TF: a trailing slash is an absolute, already-unique name
            full = name[:-1]
            self._names_in_use.setdefault(full.lower(), 1)
        elif unique:
            full = self.unique_name(name)
        else:
            full = name
            self._names_in_use.setdefault(full.lower(), 1)
        if full in self._by_name:
            raise ValueError(f"Duplicate node name in graph: '{full}'")
        producers = {t.op for t in inputs}
        ctrl = [c for frame in self._control_stack for c in frame if c not in producers]
        ctrl = list(dict.fromkeys(ctrl))
        op = Operation(self, type, full, inputs, params, op_def, out_avals, ctrl)
        self._ops.append(op)
        self._by_name[full] = op
        self.version += 1
        return op

    def _edited(self) -> None:
        self.edits += 1
        self.version += 1

    # ------------------------------------------------------------ collections
    def add_to_collection(self, key: str, value: Any) -> None:
        self._collections.setdefault(key, []).append(value)

    def get_collection(self, key: str, scope: str | None = None) -> list:
        items = list(self._collections.get(key, []))
        if scope:
            items = [v for v in items if getattr(v, "name", "").startswith(scope)]
        return items

    def get_collection_ref(self, key: str) -> list:
        return self._collections.setdefault(key, [])

    def finalize(self) -> None:
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    # ------------------------------------------------------------- defaults
    @contextlib.contextmanager
    def as_default(self) -> Iterator[Graph]:
        _STACK.graphs.append(self)
        try:
            yield self
        finally:
            _STACK.graphs.pop()

    # ----------------------------------------------------------- inspection
    def as_dot(self, fetches: Any = None) -> str:
        """Graphviz DOT source of the graph (or of the subgraph ``fetches`` needs)."""
        return dot_source(self._needed_by(fetches))

    def as_text(self, fetches: Any = None) -> str:
        """One line per op (of the subgraph ``fetches`` needs when given): ``name =
        Type(inputs) -> [shape] dtype  ^control``."""
        return text_listing(self._needed_by(fetches))

    def _needed_by(self, fetches: Any) -> list[Operation]:
        """Every op (``fetches`` None), else the ops a fetch (or list of them) needs."""
        if fetches is None:
            return self.get_operations()
        items = fetches if isinstance(fetches, (list, tuple)) else [fetches]
        els = [self.as_graph_element(f) for f in items]
        return needed_ops([e for e in els if isinstance(e, Tensor)],
                          [e for e in els if not isinstance(e, Tensor)], {})

    def __repr__(self) -> str:
        return f"<sg.Graph with {len(self._ops)} ops>"


def needed_ops(fetches: Sequence[Tensor], targets: Sequence[Operation],
               feeds: Collection[Tensor]) -> list[Operation]:
    """Ops needed for ``fetches`` and ``targets`` (through data and control edges, stopping at
    fed tensors), in creation (= topological) order."""
    stack = [t.op for t in fetches if t not in feeds] + list(targets)
    seen: set[Operation] = set()
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        stack.extend(t.op for t in op.inputs if t not in feeds)
        stack.extend(op.control_inputs)
    return sorted(seen, key=lambda o: o._id)


class _GraphStack(threading.local):
    def __init__(self) -> None:
        self.graphs: list[Graph] = []


_STACK = _GraphStack()
_GLOBAL_DEFAULT: list[Graph] = [Graph()]


def get_default_graph() -> Graph:
    """The innermost ``as_default()`` graph, else the global default graph."""
    return _STACK.graphs[-1] if _STACK.graphs else _GLOBAL_DEFAULT[0]


def reset_default_graph() -> None:
    """Replace the global default graph by a new empty one (TF1's ``reset_default_graph``)."""
    if _STACK.graphs:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. If "
                             "you need a cleared graph, exit the nesting and create a new graph.")
    _GLOBAL_DEFAULT[0] = Graph()


def name_scope(name: str | None, default_name: str | None = None,
               values: Any = None) -> Any:
    """``with name_scope("layer1") as scope:`` on the default graph."""
    return get_default_graph().name_scope(name or default_name)


def control_dependencies(control_inputs: Sequence[Any] | None) -> Any:
    return get_default_graph().control_dependencies(control_inputs)

"""Function graphs: the sub-graphs a control-flow op holds (a loop's condition and body, each
branch of a cond, their gradients).

A :class:`FuncGraph` is an ordinary :class:`Graph` whose *arguments* are placeholders the op
feeds on every call (the loop variables, a sliced element) and whose *captures* are the outer
tensors its ops use. Capturing turns an outer tensor into a placeholder of the function graph,
fed with the outer value when the op runs, and the outer tensor becomes an explicit input of the
op (so pruning, ordering and gradients see it). A captured Variable stays a live read: it becomes
a ``VariableV2`` node of the function graph for the same Variable, so an ``assign_add`` in a loop
body is seen by the next iteration; its outer ``VariableV2`` tensor is the op's input.

While a function graph is the default graph, ops built from outer tensors land in it (see
:func:`function_graph_for`), as TF1 puts ops built inside a ``while_loop`` body into the loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..ops.core import AVal
from .core import Graph, Operation, Tensor, get_default_graph


class FuncGraph(Graph):
    """A function body: its ops, argument placeholders, captures and outputs."""

    def __init__(self, outer: Graph, name: str) -> None:
        super().__init__()
        self.outer = outer
        self.name = name
        self._name_stack = name
        self.seed = outer.seed
        self.args: list[Tensor] = []
        self.captures: list[tuple[Tensor, Tensor]] = []  # (tensor of ``outer``, inner tensor)
        self._by_outer: dict[Tensor, Tensor] = {}
        self.opaque: set[Tensor] = set()  # see is_opaque

    def encloses(self, g: Graph) -> bool:
        """Whether ``g`` is an outer graph of this one (at any depth)."""
        o: Any = self.outer
        while o is not None:
            if o is g:
                return True
            o = getattr(o, "outer", None)
        return False

    def add_arg(self, aval: AVal, name: str, opaque: bool = False) -> Tensor:
        """A new argument placeholder (fed by the op on each call)."""
        t = self._placeholder(aval, name)
        self.args.append(t)
        if opaque:
            mark_opaque(t)
        return t

    def _placeholder(self, aval: AVal, name: str) -> Tensor:
        with self.control_dependencies(None), self.name_scope(self.name + "/"):
            op = Graph.create_op(self, "Placeholder", (), {"dtype": aval.dtype,
                                                           "shape": aval.shape}, (aval,), name)
        return op.outputs[0]

    def capture(self, t: Tensor) -> Tensor:
        """The inner tensor standing for outer tensor ``t`` (made on first use)."""
        if t.graph is self:
            return t
        hit = self._by_outer.get(t)
        if hit is not None:
            return hit
        outer = self.outer
        src = t if t.graph is outer else outer.capture(t)  # type: ignore[attr-defined]
        hit = self._by_outer.get(src)
        if hit is None:
            stem = src.op.name.rsplit("/", 1)[-1]
            if src.op.type == "VariableV2":  # a live read of the same Variable
                with self.control_dependencies(None), self.name_scope(self.name + "/"):
                    hit = Graph.create_op(self, "VariableV2", (), dict(src.op.params),
                                          (src.aval,), stem).outputs[0]
            else:
                hit = self._placeholder(src.aval, stem)
            if is_opaque(src):
                mark_opaque(hit)
            self.captures.append((src, hit))
            self._by_outer[src] = hit
        self._by_outer[t] = hit
        return hit

    def create_op(self, type: str, inputs: Sequence[Tensor], params: dict,  # noqa: A002
                  out_avals: Sequence[AVal], name: str, op_def: Any = None,
                  unique: bool = True) -> Operation:
        inputs = [self.capture(t) if t.graph is not self and self.encloses(t.graph) else t
                  for t in inputs]
        return super().create_op(type, inputs, params, out_avals, name, op_def, unique)

    def __repr__(self) -> str:
        return f"<sg.FuncGraph {self.name!r} with {len(self._ops)} ops>"


def function_graph_for(args: Iterable[Any]) -> Graph | None:
    """The default graph when it is a function graph that encloses every graph tensor in
    ``args`` (ops built in a loop body from outer tensors go into the body), else ``None``."""
    d = get_default_graph()
    if not isinstance(d, FuncGraph):
        return None
    for a in args:
        g = getattr(a, "graph", None)
        if g is not None and g is not d and not (isinstance(g, Graph) and d.encloses(g)):
            return None
    return d


def target_graph(g: Graph) -> Graph:
    """``g``, or the default graph when that is a function graph inside ``g`` (where an
    ``assign`` written in a loop body or a cond branch belongs)."""
    d = get_default_graph()
    return d if isinstance(d, FuncGraph) and d.encloses(g) else g


def is_opaque(t: Tensor) -> bool:
    """Whether ``t``'s value is a host object, not an array: a TensorArray's contents or a
    loop's saved stack. Only control-flow and TensorArray ops consume such values."""
    return t in t.graph.__dict__.get("opaque", ())


def mark_opaque(t: Tensor) -> Tensor:
    """Record that ``t``'s value is a host object (see :func:`is_opaque`)."""
    t.graph.__dict__.setdefault("opaque", set()).add(t)
    return t


def copy_ops(ops: Sequence[Operation], dst: Graph, tmap: dict[Tensor, Tensor]) -> None:
    """Copy ``ops`` (in creation order) into ``dst``; ``tmap`` maps every input from outside
    ``ops`` and receives each copied output. Control-flow ops get their own spec copy."""
    omap: dict[Operation, Operation] = {}
    for op in sorted(ops, key=lambda o: o._id):
        ins = [tmap[t] for t in op.inputs]
        with dst.control_dependencies(None):
            new = dst.create_op(op.type, ins, dict(op.params), [t.aval for t in op.outputs],
                                op.name.rsplit("/", 1)[-1], op.op_def)
        new.control_inputs = tuple(omap[c] for c in op.control_inputs if c in omap)
        new.site = op.site
        host = getattr(op, "host", None)
        if host is not None:
            new.host = host.clone()
            new.params["spec"] = new.host
        for a, b in zip(op.outputs, new.outputs, strict=True):
            tmap[a] = b
            if is_opaque(a):
                mark_opaque(b)
        omap[op] = new


__all__ = ["FuncGraph", "function_graph_for", "target_graph", "is_opaque", "mark_opaque",
           "copy_ops"]

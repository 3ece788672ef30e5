"""The compiler's own graph: one :class:`Node` per value, built from a TF1 graph for a given
(fetches, targets, feeds) by :func:`lower`. Passes rewrite this IR, never the user's graph.

Variables become ``var`` leaves (the value at the start of the run) and ``Assign*`` ops become
data flow: a read of a variable sees the latest earlier assign it depends on (data or control
edges), as docs/guarantees.md specifies; the last assign of each variable is a state update.
Special kinds: ``feed`` (params ``index``), ``var`` (``variable``), ``const`` (``value``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ops.core import REGISTRY, Op

_ids = itertools.count()


class Node:
    """One value: ``op`` (registry name or feed/var/const) applied to ``inputs``."""

    __slots__ = ("op", "inputs", "params", "shape", "dtype", "name", "id")

    def __init__(self, op: str, inputs: list[Node], params: dict, shape: tuple,
                 dtype: np.dtype, name: str = "") -> None:
        self.op = op
        self.inputs = list(inputs)
        self.params = params
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.name = name or op
        self.id = next(_ids)

    @property
    def opdef(self) -> Op | None:
        return REGISTRY.get(self.op)

    @property
    def kind(self) -> str:
        od = self.opdef
        return od.kind if od is not None else self.op

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def const_value(self) -> np.ndarray | None:
        return self.params["value"] if self.op == "const" else None

    def __repr__(self) -> str:
        return f"%{self.id}={self.op}({', '.join(f'%{i.id}' for i in self.inputs)})"


@dataclass
class Program:
    """The IR of one (fetches, targets, feed signature): nodes in topological order."""

    nodes: list[Node]
    feeds: list[Node]
    outputs: list[Node]
    updates: list[tuple[Any, Node]] = field(default_factory=list)  # (Variable, new value)
    variables: list[tuple[Any, Node]] = field(default_factory=list)  # (Variable, read node)
    dim_checks: list[tuple] = field(default_factory=list)  # (derived dim, dim): checked at bind

    def roots(self) -> list[Node]:
        return self.outputs + [n for _, n in self.updates]

    def toposort(self) -> None:
        """Keep only nodes reachable from the roots, in a valid topological order."""
        order: list[Node] = []
        seen: set[int] = set()
        for r in self.roots():
            stack = [(r, False)]
            while stack:
                n, done = stack.pop()
                if done:
                    order.append(n)
                    continue
                if n.id in seen:
                    continue
                seen.add(n.id)
                stack.append((n, True))
                stack.extend((i, False) for i in reversed(n.inputs) if i.id not in seen)
        self.nodes = order

    def consumers(self) -> dict[int, list[Node]]:
        out: dict[int, list[Node]] = {n.id: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                out.setdefault(i.id, []).append(n)
        return out

    def replace(self, mapping: dict[int, Node]) -> None:
        """Redirect every use of node id -> replacement (chains followed), then re-sort."""
        if not mapping:
            return

        def r(n: Node) -> Node:
            while n.id in mapping:
                n = mapping[n.id]
            return n

        for n in self.nodes:
            n.inputs = [r(i) for i in n.inputs]
        self.outputs = [r(o) for o in self.outputs]
        self.updates = [(v, r(n)) for v, n in self.updates]
        self.toposort()

    def text(self) -> str:
        """A listing: ``%id = op(%a, %b) {params} : shape dtype``."""
        lines = []
        outs = {o.id: i for i, o in enumerate(self.outputs)}
        for n in self.nodes:
            p = _fmt_params(n)
            tag = f"  <- fetch {outs[n.id]}" if n.id in outs else ""
            shape = "(" + ", ".join("?" if d is None else str(d) for d in n.shape) + ")"
            lines.append(f"%{n.id} = {n.op}({', '.join(f'%{i.id}' for i in n.inputs)}){p}"
                         f" : {shape} {n.dtype.name}{tag}")
        for v, n in self.updates:
            lines.append(f"update {getattr(v, 'name', v)} <- %{n.id}")
        return "\n".join(lines)


def _fmt_params(n: Node) -> str:
    if n.op == "const":
        v = n.params["value"]
        return f" [{v.item()!r}]" if v.size == 1 else f" [array{v.shape}]"
    if n.op == "var":
        return f" [{getattr(n.params['variable'], 'name', '?')}]"
    if n.op == "feed":
        return f" [#{n.params['index']} {n.name}]"
    ps = {k: v for k, v in n.params.items() if k not in ("full",)}
    return " {" + ", ".join(f"{k}={v}" for k, v in ps.items()) + "}" if ps else ""


def const_node(value: Any, dtype: np.dtype, name: str = "const") -> Node:
    arr = np.asarray(value, dtype=dtype)
    return Node("const", [], {"value": arr}, arr.shape, arr.dtype, name)


def make(op: str, inputs: list[Node], params: dict | None = None, name: str = "") -> Node:
    """A registry-op node with shape/dtype from the op's ``infer`` rule."""
    from ..ops.core import AVal

    od = REGISTRY[op]
    params = dict(params or {})
    shape, dtype = od.infer(*(AVal(i.shape, i.dtype) for i in inputs), **params)
    return Node(op, inputs, params, shape, dtype, name or op)

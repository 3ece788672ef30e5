"""Graph inspection: Graphviz DOT (``to_dot``/``graph.as_dot``), rendering when ``dot`` is on
PATH, and a plain-text listing (``to_text``/``graph.as_text``)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from .executor import needed_ops
from .graph.core import Graph, Operation, Tensor

_COLORS = {"Placeholder": "lightblue", "VariableV2": "gold", "Const": "lightgrey",
           "Assign": "salmon", "AssignAdd": "salmon", "AssignSub": "salmon", "NoOp": "white"}


def _fetch_list(graph: Graph, fetches: Any) -> tuple[list[Tensor], list[Operation]]:
    items = fetches if isinstance(fetches, (list, tuple)) else [fetches]
    tensors, targets = [], []
    for f in items:
        el = graph.as_graph_element(f)
        (tensors if isinstance(el, Tensor) else targets).append(el)
    return tensors, targets


def _ops_for(graph: Graph, fetches: Any) -> list[Operation]:
    if fetches is None:
        return graph.get_operations()
    tensors, targets = _fetch_list(graph, fetches)
    return needed_ops(tensors, targets, {})


def _shape(t: Tensor) -> str:
    return t.shape.tf_list_str()


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph, fetches: Any = None) -> str:
    """DOT source: one box per op (type, output shape and dtype), data edges solid, control
    edges dashed; only the subgraph ``fetches`` needs when given."""
    ops = _ops_for(graph, fetches)
    lines = ["digraph staticgraph {", "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fillcolor=white, fontsize=10];']
    for op in ops:
        label = f"{op.name}\\n{op.tf_type}"
        if op.outputs:
            t = op.outputs[0]
            label += f"\\n{_shape(t)} {t.dtype.name}"
        color = _COLORS.get(op.type, "palegreen" if "gradients" in op.name else "white")
        lines.append(f"  {_q(op.name)} [label={_q(label).replace(chr(92) * 2 + 'n', chr(92) + 'n')}"
                     f", fillcolor={color}];")
    names = {op.name for op in ops}
    for op in ops:
        for t in op.inputs:
            if t.op.name in names:
                lines.append(f"  {_q(t.op.name)} -> {_q(op.name)} [label={_q(_shape(t))}, "
                             "fontsize=8];")
        for c in op.control_inputs:
            if c.name in names:
                lines.append(f"  {_q(c.name)} -> {_q(op.name)} [style=dashed];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_source: str, path: str, fmt: str = "svg") -> str | None:
    """Write ``dot_source`` rendered by Graphviz to ``path``; ``None`` if ``dot`` is absent."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    subprocess.run([exe, f"-T{fmt}", "-o", path], input=dot_source.encode(), check=True)
    return path


def to_text(graph: Graph, fetches: Any = None) -> str:
    """One line per op: ``name = Type(inputs) -> [shape] dtype  ^control  @file:line``."""
    out = []
    for op in _ops_for(graph, fetches):
        ins = ", ".join(t.name for t in op.inputs)
        res = f" -> {_shape(op.outputs[0])} {op.outputs[0].dtype.name}" if op.outputs else ""
        ctrl = ("  ^" + ", ^".join(c.name for c in op.control_inputs)) if op.control_inputs \
            else ""
        params = {k: v for k, v in op.params.items() if k not in ("value", "variable")}
        p = f" {params}" if params else ""
        out.append(f"{op.name} = {op.tf_type}({ins}){p}{res}{ctrl}")
    return "\n".join(out)

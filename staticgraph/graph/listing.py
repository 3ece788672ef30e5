"""Text and Graphviz DOT listings of a list of graph ops (``graph.as_text()``,
``graph.as_dot()``; rendering with Graphviz is :mod:`staticgraph.viz`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_COLORS = {"Placeholder": "lightblue", "VariableV2": "gold", "Const": "lightgrey",
           "Assign": "salmon", "AssignAdd": "salmon", "AssignSub": "salmon", "NoOp": "white"}


def _shape(t: Any) -> str:
    return t.shape.tf_list_str()


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_source(ops: Sequence[Any]) -> str:
    """DOT source: one box per op (type, output shape and dtype), data edges solid, control
    edges dashed; edges from ops outside ``ops`` are left out."""
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


def text_listing(ops: Sequence[Any]) -> str:
    """One line per op: ``name = Type(inputs) {params} -> [shape] dtype  ^control``."""
    out = []
    for op in ops:
        ins = ", ".join(t.name for t in op.inputs)
        res = f" -> {_shape(op.outputs[0])} {op.outputs[0].dtype.name}" if op.outputs else ""
        ctrl = ("  ^" + ", ^".join(c.name for c in op.control_inputs)) if op.control_inputs \
            else ""
        params = {k: v for k, v in op.params.items() if k not in ("value", "variable")}
        p = f" {params}" if params else ""
        out.append(f"{op.name} = {op.tf_type}({ins}){p}{res}{ctrl}")
    return "\n".join(out)

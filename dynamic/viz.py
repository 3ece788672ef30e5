"""``make_dot``: the backward graph as Graphviz DOT source, in torchviz's style.

Blue boxes are leaves (named from ``params``), green the output, grey the ``grad_fn`` nodes,
orange (``show_saved``) the tensors saved for backward. ``render`` calls the ``dot`` program when
it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from .autograd.graph import AccumulateGrad


class Digraph:
    """The DOT text (``.source``) with graphviz-like ``render``/``save``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def save(self, filename: str) -> str:
        with open(filename, "w") as f:
            f.write(self.source)
        return filename

    def render(self, filename: str = "graph", format: str = "svg", cleanup: bool = False) -> str:  # noqa: A002
        """Write ``filename`` (DOT) and ``filename.format`` via ``dot``; needs Graphviz."""
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError("make_dot(...).render needs the Graphviz 'dot' program on PATH; "
                               "use .source to get the DOT text")
        self.save(filename)
        out = f"{filename}.{format}"
        subprocess.run([exe, f"-T{format}", filename, "-o", out], check=True)
        return out


def _size(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _q(s: str) -> str:
    return '"' + s.replace('"', '\\"') + '"'


def make_dot(var: Any, params: dict | None = None, show_attrs: bool = False,
             show_saved: bool = False, max_attr_chars: int = 50) -> Digraph:
    """DOT source of the graph behind ``var`` (a tensor or a tuple of tensors)."""
    names = {id(v): k for k, v in (params or {}).items()}
    lines = ["digraph {", '\tgraph [size="12,12"]',
             "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 "
             "shape=box style=filled]"]
    seen: set = set()

    def add_fn(fn: Any) -> None:
        if fn is None or id(fn) in seen:
            return
        seen.add(id(fn))
        if isinstance(fn, AccumulateGrad):
            v = fn.variable
            label = f"{names.get(id(v), '')}\n {_size(v.shape)}"
            lines.append(f"\t{id(v)} [label={_q(label)} fillcolor=lightblue]")
            lines.append(f"\t{id(v)} -> {id(fn)}")
        if show_saved and hasattr(fn, "_saved_tensors"):
            for k, t in enumerate(fn._saved_tensors()):
                shape = t.shape if hasattr(t, "shape") else ()
                lines.append(f"\t{id(fn)}{k} [label={_q(f'saved {k}' + chr(10) + _size(shape))} "
                             "fillcolor=orange]")
                lines.append(f"\t{id(fn)}{k} -> {id(fn)} [dir=none]")
        lines.append(f"\t{id(fn)} [label={type(fn).__name__}]")
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                lines.append(f"\t{id(nxt)} -> {id(fn)}")
                add_fn(nxt)

    outs = var if isinstance(var, (tuple, list)) else (var,)
    for v in outs:
        lines.append(f"\t{id(v)} [label={_q(names.get(id(v), '') + chr(10) + ' ' + _size(v.shape))}"
                     " fillcolor=darkolivegreen1]")
        if v.grad_fn is not None:
            add_fn(v.grad_fn)
            lines.append(f"\t{id(v.grad_fn)} -> {id(v)}")
    lines.append("}")
    return Digraph("\n".join(lines) + "\n")

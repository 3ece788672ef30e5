"""Graph inspection: Graphviz DOT (``to_dot``/``graph.as_dot``), rendering when ``dot`` is on
PATH, and a plain-text listing (``to_text``/``graph.as_text``). The listings themselves are
:mod:`staticgraph.graph.listing`."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from .graph.core import Graph


def to_dot(graph: Graph, fetches: Any = None) -> str:
    """DOT source of ``graph``: one box per op,
    data edges solid, control edges dashed; only the subgraph ``fetches`` needs when given."""
    return graph.as_dot(fetches)


def to_text(graph: Graph, fetches: Any = None) -> str:
    """One line per op: ``name = Type(inputs) -> [shape] dtype  ^control``."""
    return graph.as_text(fetches)


def render(dot_source: str, path: str, fmt: str = "svg") -> str | None:
    """Write ``dot_source`` rendered by Graphviz to ``path``; ``None`` if ``dot`` is absent."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    subprocess.run([exe, f"-T{fmt}", "-o", path], input=dot_source.encode(), check=True)
    return path

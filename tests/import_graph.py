"""The module import graph of the project's packages, and its import circles.

Edges come from every ``import`` statement in a module, at the top level and inside functions
alike: a function-level import hides a circle from Python at load time but not from the reader.
``cycles(["dynamic"])`` lists the strongly connected components (more than one module) of the
graph restricted to those packages; the layering tests assert it is empty.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules(roots: list[str], base: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under the given package folders."""
    mods: dict[str, Path] = {}
    for root in roots:
        for path in sorted((base / root).rglob("*.py")):
            name = ".".join(path.relative_to(base).with_suffix("").parts)
            if name.endswith(".__init__"):
                name = name[: -len(".__init__")]
            mods[name] = path
    return mods


def _targets(mods: dict[str, Path], cur: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names one import statement in module ``cur`` refers to."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        pkg = cur if mods[cur].name == "__init__.py" else cur.rsplit(".", 1)[0]
        parts = pkg.split(".")
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join(parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]


def _known(mods: dict[str, Path], name: str) -> str | None:
    """``name`` or its nearest enclosing module among ``mods`` (None outside the roots)."""
    while name not in mods:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def import_graph(roots: list[str], base: Path = ROOT) -> tuple[dict[str, set], dict[str, set]]:
    """``(top_level, function_level)``: module -> the modules (within ``roots``) it imports."""
    mods = modules(roots, base)
    top: dict[str, set] = defaultdict(set)
    lazy: dict[str, set] = defaultdict(set)
    for m, path in mods.items():
        tree = ast.parse(path.read_text())
        body = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for t in _targets(mods, m, node):
                    t = _known(mods, t)
                    if t is not None and t != m:
                        (top if id(node) in body else lazy)[m].add(t)
    return {m: top[m] for m in mods}, {m: lazy[m] for m in mods}


def cycles(roots: list[str], base: Path = ROOT) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan)."""
    top, lazy = import_graph(roots, base)
    graph = {m: top[m] | lazy[m] for m in top}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return sorted(found)


def function_level_imports(roots: list[str], base: Path = ROOT) -> int:
    """How many (module, imported module) pairs come only from imports inside functions."""
    _, lazy = import_graph(roots, base)
    return sum(len(v) for v in lazy.values())


if __name__ == "__main__":
    import sys

    for comp in cycles(sys.argv[1:] or ["staticgraph", "dynamic"]):
        print(len(comp), comp)

"""Identity guards: the captured tensors a function reaches through Python objects are still the
same objects at a later call.

A plan feeds each captured tensor it met (a module's parameters are looked up in the module at
every call; any other tensor is fed as the object the capture saw). If the user then rebinds a
global or closure variable to another tensor, puts another tensor into a dict or list the
function reads, or changes an optimizer's parameter lists (``add_param_group``, a replaced
parameter), replaying the plan would use the old tensors. So a plan also guards, where the
function's own globals and closure cells lead to a captured tensor:

* a global or closure variable holding it directly (``... is T``);
* a dict, list or tuple held by one, or a plain object's attributes, one level deep (the
  container's identity and each captured tensor's entry; a list's length);
* each optimizer the captured step used: the number of parameter groups, each group's number
  of parameters and each parameter's identity.

A tensor reached another way (nested deeper, or through the globals of a helper the function
calls) is assumed to stay the same object; docs/eager.md says so.
"""

from __future__ import annotations

import types
from typing import Any

from .._tensor import Tensor
from ..nn.modules import Module
from ..optim import Optimizer

_OPAQUE = (Module, Optimizer, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
           types.MethodType, type)


def _roots(fn: Any) -> list[tuple[str, Any, Any, Any]]:
    """(label, container, key, value) of each global the code names and each closure cell."""
    out = []
    code = getattr(fn, "__code__", None)
    g = getattr(fn, "__globals__", {})
    for n in code.co_names if code is not None else ():
        if n in g:
            out.append((n, g, n, g[n]))
    names = code.co_freevars if code is not None else ()
    for n, cell in zip(names, getattr(fn, "__closure__", None) or (), strict=False):
        try:
            out.append((n, cell, None, cell.cell_contents))
        except ValueError:
            continue
    return out


def collect(fn: Any, fixed: dict[int, Tensor], opts: list) -> list[tuple]:
    """The identity checks of a plan: ``("is", container, key, obj, label)`` (``key`` None: a
    closure cell), ``("len", container, None, n, label)``,
    ``("opt", opt, sizes, params, label)``."""
    checks: list[tuple] = []
    for label, box, key, v in _roots(fn):
        if isinstance(v, Tensor):
            if id(v) in fixed:
                checks.append(("is", box, key, v, label))
            continue
        if isinstance(v, dict):
            items, target = list(v.items()), v
        elif isinstance(v, (list, tuple)):
            items, target = list(enumerate(v)), v
        elif hasattr(v, "__dict__") and not isinstance(v, _OPAQUE):
            items, target = list(vars(v).items()), vars(v)
        else:
            continue
        hits = [(k, x) for k, x in items if isinstance(x, Tensor) and id(x) in fixed]
        if not hits:
            continue
        checks.append(("is", box, key, v, label))
        if isinstance(v, tuple):
            continue  # immutable: the container's identity is enough
        if isinstance(v, list):
            checks.append(("len", v, None, len(v), label))
        checks += [("is", target, k, x, f"{label}[{k!r}]") for k, x in hits]
    for opt in opts:
        groups = opt.param_groups
        checks.append(("opt", opt, tuple(len(g["params"]) for g in groups),
                       tuple(p for g in groups for p in g["params"]),
                       f"{type(opt).__name__}.param_groups"))
    return checks


def _get(box: Any, key: Any) -> Any:
    return box.cell_contents if key is None else box[key]


def failed(checks: list[tuple]) -> str | None:
    """Why the checks fail at this call (the recompile's reason), else ``None``."""
    for kind, box, key, want, label in checks:
        if kind == "len":
            if len(box) != want:
                return f"{label} changed length"
        elif kind == "opt":
            groups = box.param_groups
            if tuple(len(g["params"]) for g in groups) != key or any(
                    p is not q for p, q in zip((p for g in groups for p in g["params"]), want,
                                               strict=False)):
                return f"{label} holds other parameters"
        else:
            try:
                same = _get(box, key) is want
            except (KeyError, IndexError, ValueError):
                same = False
            if not same:
                return f"{label} is another object (a captured tensor was replaced)"
    return None


def lines(g: Any, checks: list[tuple]) -> list[str]:
    """The checks as fast-path source (``g``: the generator, for constants): one ``if`` for
    the plain checks, then one per optimizer."""
    tests, out = [], []
    for kind, box, key, want, _label in checks:
        b = g.const(box, "I")
        if kind == "len":
            tests.append(f"len({b}) != {want}")
        elif kind == "opt":
            out.append(f"pg = {b}.param_groups")
            out.append(f"if len(pg) != {len(key)}: return MISS")
            it = iter(want)
            for gi, n in enumerate(key):
                out.append(f"pl = pg[{gi}]['params']")
                opt_tests = [f"len(pl) != {n}"] + [f"pl[{k}] is not {g.const(next(it), 'T')}"
                                                   for k in range(n)]
                out.append(f"if {' or '.join(opt_tests)}: return MISS")
        elif key is None:
            tests.append(f"{b}.cell_contents is not {g.const(want, 'T')}")
        elif isinstance(box, dict):  # a missing key: LookupError below
            tests.append(f"{b}[{key!r}] is not {g.const(want, 'T')}")
        else:
            tests.append(f"{b}[{key!r}] is not {g.const(want, 'T')}")
    first = ["try:", f"    if {' or '.join(tests)}: return MISS",
             "except LookupError:", "    return MISS"] if tests else []
    return first + out

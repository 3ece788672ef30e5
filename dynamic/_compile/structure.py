"""Argument and result structures of a compiled call: nested tuples, lists and dicts flattened
to tensor slots (the cache key holds the structure and the non-tensor values) and rebuilt."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor


def flatten(x: Any, tensors: list) -> Any:
    """A hashable structure of ``x`` with tensors replaced by slots (appended to ``tensors``)."""
    if isinstance(x, Tensor):
        tensors.append(x)
        return "T"
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(flatten(i, tensors) for i in x))
    if isinstance(x, dict):
        return ("dict", tuple((k, flatten(v, tensors)) for k, v in x.items()))
    hash(x)  # TypeError: an unhashable argument (the call runs eagerly)
    return ("V", type(x), x)


def unflatten(spec: Any, leaf: Any) -> Any:
    """Rebuild ``spec`` (:func:`flatten`'s or an output spec) with ``leaf(item)`` at slots."""
    if isinstance(spec, tuple) and spec and spec[0] in ("list", "tuple", "dict"):
        kind, items = spec
        if kind == "dict":
            return {k: unflatten(v, leaf) for k, v in items}
        vals = [unflatten(i, leaf) for i in items]
        return vals if kind == "list" else tuple(vals)
    return leaf(spec)


def out_struct(x: Any, leaves: list) -> Any:
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return (type(x).__name__ if type(x) in (list, tuple) else "tuple",
                tuple(out_struct(i, leaves) for i in x))
    if isinstance(x, dict):
        return ("dict", tuple((k, out_struct(v, leaves)) for k, v in x.items()))
    leaves.append(x)
    return "L"


def fill(struct: Any, it: Any) -> Any:
    if struct == "L":
        return next(it)
    kind, items = struct
    if kind == "dict":
        return (kind, tuple((k, fill(v, it)) for k, v in items))
    return (kind, tuple(fill(i, it) for i in items))


def leaf_specs(struct: Any) -> list:
    """The leaf specs of an output spec, in order."""
    if isinstance(struct, tuple) and struct and struct[0] in ("list", "tuple", "dict"):
        items = struct[1]
        if struct[0] == "dict":
            items = tuple(v for _, v in items)
        return [s for i in items for s in leaf_specs(i)]
    return [struct]

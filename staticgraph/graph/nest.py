"""Nested structures (tuples, lists, namedtuples, dicts) of loop variables and branch outputs:
flattened to a list of leaves for the op, packed back for the user (TF's ``nest``)."""

from __future__ import annotations

from typing import Any


def is_sequence(x: Any) -> bool:
    return isinstance(x, (list, tuple, dict))


def _children(x: Any) -> list:
    if isinstance(x, dict):
        return [x[k] for k in sorted(x, key=repr)]
    return list(x)


def flatten(x: Any) -> list:
    """The leaves of ``x`` in order (dict values sorted by key, as TF does)."""
    if not is_sequence(x):
        return [x]
    out: list = []
    for c in _children(x):
        out.extend(flatten(c))
    return out


def paths(x: Any, prefix: str = "") -> list[str]:
    """``loop_vars[1]['h']``-style path of each leaf, for error messages."""
    if not is_sequence(x):
        return [prefix]
    if isinstance(x, dict):
        keys = sorted(x, key=repr)
        return [p for k in keys for p in paths(x[k], f"{prefix}[{k!r}]")]
    return [p for i, c in enumerate(x) for p in paths(c, f"{prefix}[{i}]")]


def flatten_up_to(shallow: Any, deep: Any) -> list:
    """``deep``'s subtrees at the leaves of ``shallow`` (e.g. one shape invariant per loop
    variable, where an invariant may itself be a list); ``ValueError`` when they differ."""
    if not is_sequence(shallow):
        return [deep]
    if not is_sequence(deep) or isinstance(shallow, dict) != isinstance(deep, dict) or \
            len(shallow) != len(deep) or (isinstance(shallow, dict) and set(shallow) != set(deep)):
        raise ValueError(structure_message(shallow, deep))
    out: list = []
    for a, b in zip(_children(shallow), _children(deep), strict=True):
        out.extend(flatten_up_to(a, b))
    return out


def pack_sequence_as(structure: Any, flat: list) -> Any:
    """``flat``'s leaves arranged like ``structure``."""
    it = iter(flat)

    def build(s: Any) -> Any:
        if not is_sequence(s):
            return next(it)
        if isinstance(s, dict):
            vals = {k: build(s[k]) for k in sorted(s, key=repr)}
            return type(s)((k, vals[k]) for k in s)
        items = [build(c) for c in s]
        if hasattr(s, "_fields"):  # namedtuple
            return type(s)(*items)
        return type(s)(items)

    out = build(structure)
    rest = list(it)
    if rest:
        raise ValueError(f"Structure had {len(flatten(structure))} leaves, but flat sequence "
                         f"had {len(flatten(structure)) + len(rest)}.")
    return out


def _shape_of(x: Any) -> Any:
    if not is_sequence(x):
        return "."
    if isinstance(x, dict):
        return {k: _shape_of(x[k]) for k in sorted(x, key=repr)}
    return [_shape_of(c) for c in x]


def same_structure(a: Any, b: Any) -> bool:
    """Same nesting (lists and tuples are interchangeable; dict keys must match)."""
    return _shape_of(a) == _shape_of(b)


def structure_message(a: Any, b: Any) -> str:
    """TF's ``assert_same_structure`` text for ``a`` and ``b``."""
    return ("The two structures don't have the same nested structure.\n\n"
            f"First structure: {a!r}\n\nSecond structure: {b!r}")


__all__ = ["flatten", "flatten_up_to", "pack_sequence_as", "paths", "same_structure",
           "structure_message", "is_sequence"]

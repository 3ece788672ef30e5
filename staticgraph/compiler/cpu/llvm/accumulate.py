"""Reduction helpers shared by the loop renderers (:mod:`.loops`, :mod:`.chunks`): the
identity of a reduction at a dtype and the IR folding one value into an accumulator.

before: op "max", dtype float32, accumulator %a, value %v
after:  init -inf; %m = sg_max(%a, %v) (NaN-propagating, numpy's)
"""

from __future__ import annotations

import numpy as np

from .emit import Body, is_float, literal
from .library import CALLS


def init_value(op: str, t: str) -> str:
    """The identity of ``op`` at dtype ``t`` (see :func:`...kernel.init_value`)."""
    if op in ("sum", "mean"):
        return literal(0, t)
    if t == "bool":
        return literal(op == "min", t)
    if is_float(t):
        return literal(-np.inf if op == "max" else np.inf, t)
    info = np.iinfo(t)
    return literal(info.min if op == "max" else info.max, t)


def accumulate(b: Body, op: str, acc: tuple, v: tuple) -> tuple:
    """``op`` folding value ``v`` into accumulator value ``acc`` (at the accumulator's dtype)."""
    v = b.convert(v, acc[1])
    if op in ("sum", "mean"):
        return b.arith("+", acc, v) if acc[1] != "bool" else \
            (b.emit(f"or i1 {acc[0]}, {v[0]}"), "bool")
    return CALLS[f"sg_{op}"](b, acc, v)

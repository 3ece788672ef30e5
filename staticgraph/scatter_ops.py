"""TF1's ``tf.scatter_update`` / ``scatter_add`` / ``scatter_sub`` / ``scatter_mul`` /
``scatter_div`` on Variables.

Each returns the variable's new value (TF: the updated ref), an ``Assign``/``AssignAdd``/
``AssignSub`` node, so it runs as a train op (``sess.run(op)``, ``tf.group``) and the compiler
fuses it like the optimizers' updates; ``graph/scatter_rows.py`` builds the value (TF's values:
duplicates add up, the last update of a repeated index wins, TF's range error at run time). The
variable is left as it was on any error (executors commit only after a successful run).
``scatter_mul``/``scatter_div`` are ``Assign`` nodes of the variable's rows times (over) their
updates (repeated indices multiply, TF's in-order product; division by the updates' product).
``Variable.scatter_update/add/sub/mul/div(IndexedSlices)`` are the same ops (``variables.py``).
``scatter_nd_update`` addresses slices by index tuples (``indices[..., K]``), an ``Assign`` of
the variable with those slices replaced (the last of a repeated tuple wins).
"""

from __future__ import annotations

from typing import Any

from .graph.core import Tensor
from .graph.scatter_rows import ASSIGN_KIND, scatter_nd_value, scatter_value
from .variables import Variable, _assign, assign, variable_of

__all__ = ["scatter_update", "scatter_add", "scatter_sub", "scatter_mul", "scatter_div",
           "scatter_nd_update"]


def _scatter(kind: str, ref: Any, indices: Any, updates: Any, name: str | None,
             default: str) -> Tensor:
    var = variable_of(ref)
    if not isinstance(var, Variable):
        raise TypeError(f"tf.{kind}: 'ref' must be a Variable, got {ref!r}")
    value = scatter_value(kind, var._as_graph_tensor(), indices, updates)
    return _assign(ASSIGN_KIND[kind], var, value, name or default)  # as Variable.scatter_*


def scatter_update(ref: Any, indices: Any, updates: Any, use_locking: bool = True,
                   name: str | None = None) -> Tensor:
    """``ref[indices] = updates`` (rows); the last update of a repeated index wins."""
    return _scatter("scatter_update", ref, indices, updates, name, "ScatterUpdate")


def scatter_add(ref: Any, indices: Any, updates: Any, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """``ref[indices] += updates`` (rows); repeated indices add up."""
    return _scatter("scatter_add", ref, indices, updates, name, "ScatterAdd")


def scatter_sub(ref: Any, indices: Any, updates: Any, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """``ref[indices] -= updates`` (rows); repeated indices add up."""
    return _scatter("scatter_sub", ref, indices, updates, name, "ScatterSub")


def scatter_mul(ref: Any, indices: Any, updates: Any, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """``ref[indices] *= updates`` (rows); repeated indices multiply, in order."""
    return _scatter("scatter_mul", ref, indices, updates, name, "ScatterMul")


def scatter_div(ref: Any, indices: Any, updates: Any, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """``ref[indices] /= updates`` (rows); repeated indices divide by each."""
    return _scatter("scatter_div", ref, indices, updates, name, "ScatterDiv")


def scatter_nd_update(ref: Any, indices: Any, updates: Any, use_locking: bool = True,
                      name: str | None = None) -> Tensor:
    """``ref[tuple(indices[i])] = updates[i]`` for index tuples on the last axis of
    ``indices``; the last update of a repeated tuple wins."""
    var = variable_of(ref)
    if not isinstance(var, Variable):
        raise TypeError(f"tf.scatter_nd_update: 'ref' must be a Variable, got {ref!r}")
    value = scatter_nd_value(var._as_graph_tensor(), indices, updates)
    return assign(var, value, name=name or "ScatterNdUpdate")

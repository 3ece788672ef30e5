"""Forward-mode AD's engine: dual levels, the tangents they hold, and the frontend that carries
tangents through every registry op.

While no level is open nothing here runs: ``Tensor.__sg_frontend__`` is the eager frontend and
the operator fast paths are on, exactly as without forward AD (no per-op check anywhere). Opening
the first level swaps in :data:`FRONTEND` and turns the fast paths off (every op then goes
through ``bind``); closing the last one restores both.

A level maps tensors (by identity, weakly) to their tangents. An op on tensors with a tangent at
the innermost visible level runs in two steps (:func:`_apply`): the op itself, through the
levels below; then the op record's JVP rule (``staticgraph.ops.forward``) on the primals and
tangents with that level hidden (``DEPTH``), so the rule's own ops carry the tangents of the
outer levels: a JVP of a JVP is a second derivative. The rules are ordinary ops, so they are
recorded on the reverse-mode tape too (reverse over forward).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

from staticgraph.ops import Op
from staticgraph.ops.forward import jvp_rule

from .. import _fast_path
from .._tensor import Tensor
from .graph import SAVED_OUT_TANGENTS

__all__ = ["DEPTH", "FRONTEND", "LEVELS", "Level", "hidden", "not_implemented", "pop_level",
           "push_level"]


class Level:
    """One dual level: tensor -> tangent, weakly keyed by the tensor's identity."""

    __slots__ = ("index", "public", "_tangents", "nodes")

    def __init__(self, index: int, public: bool) -> None:
        self.index = index
        self.public = public
        self._tangents: dict = {}
        self.nodes: dict = {}  # id(node) -> (node, its saved output's tangent)

    def get(self, t: Any) -> Any:
        e = self._tangents.get(id(t))
        return e[1] if e is not None and e[0]() is t else None

    def set(self, t: Tensor, tangent: Any) -> None:
        key, table = id(t), self._tangents

        def drop(ref: Any) -> None:
            e = table.get(key)
            if e is not None and e[0] is ref:
                del table[key]

        table[key] = (weakref.ref(t, drop), tangent)

    def clear(self) -> None:
        self._tangents.clear()
        self.nodes.clear()


LEVELS: list[Level] = []
DEPTH = [0]  # how many levels the ops running now see (a rule runs with its own level hidden)
_INNER: list = []  # the frontend and fast-path flag the first level replaced


def push_level(public: bool) -> Level:
    """Open a level (the innermost); the first one installs the forward frontend."""
    if not LEVELS:
        _INNER.append((Tensor.__sg_frontend__, _fast_path.ENABLED[0]))
        Tensor.__sg_frontend__ = FRONTEND
        _fast_path.ENABLED[0] = False
        SAVED_OUT_TANGENTS.append(_saved_out_tangents)
    lv = Level(len(LEVELS), public)
    LEVELS.append(lv)
    DEPTH[0] = len(LEVELS)
    return lv


def pop_level(lv: Level) -> None:
    """Close the innermost level ``lv``: its tangents are dropped."""
    if not LEVELS or LEVELS[-1] is not lv:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    LEVELS.pop()
    lv.clear()
    DEPTH[0] = len(LEVELS)
    if not LEVELS:
        Tensor.__sg_frontend__, _fast_path.ENABLED[0] = _INNER.pop()
        SAVED_OUT_TANGENTS.clear()


@contextlib.contextmanager
def hidden(lv: Level) -> Iterator[None]:
    """Run with ``lv`` and the levels inside it invisible to ops (they see only outer ones)."""
    saved = DEPTH[0]
    DEPTH[0] = lv.index
    try:
        yield
    finally:
        DEPTH[0] = saved


def not_implemented(name: str) -> str:
    """PyTorch's message for an op without a forward-mode rule."""
    return (f"Trying to use forward AD with {name} that does not support it because it has not "
            "been implemented yet.\nPlease file an issue to PyTorch at https://github.com/pytorch/"
            "pytorch/issues/new?template=feature-request.yml so that we can prioritize its "
            "implementation or submit a PR adding the implementation to derivatives.yaml")


def input_tangents(args: tuple) -> tuple[Level, list] | None:
    """The innermost visible level and one tangent (or ``None``) per argument, when any
    argument has a tangent there; ``None`` otherwise."""
    if not DEPTH[0]:
        return None
    lv = LEVELS[DEPTH[0] - 1]
    tangents = _tangents_at(lv, args)
    return None if tangents is None else (lv, tangents)


def _tangents_at(lv: Level, args: tuple) -> list | None:
    """One tangent (or ``None``) per argument at level ``lv``; ``None`` when no argument has one."""
    tangents = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            t = lv.get(a)
            if t is not None:
                if tangents is None:
                    tangents = [None] * len(args)
                tangents[i] = t
    return tangents


def _apply(depth: int, op: Op, args: tuple, params: dict) -> Any:
    if depth == 0:
        return _INNER[0][0].apply(op, args, params)
    lv = LEVELS[depth - 1]
    out = _apply(depth - 1, op, args, params)
    tangents = _tangents_at(lv, args)
    if tangents is None or out._data.dtype.kind != "f":
        return out
    rule = jvp_rule(op)
    if rule is None:
        if op.vjp is None:  # not differentiable (comparisons, argmax...): no tangent, as PyTorch
            return out
        raise NotImplementedError(not_implemented(op.name))
    saved = DEPTH[0]
    DEPTH[0] = depth - 1
    try:
        t = rule(tuple(tangents), out, *args, **params)
    finally:
        DEPTH[0] = saved
    lv.set(out, t)
    node = out._grad_fn
    if node is not None and "out" in op.saves:  # a create_graph backward rebuilds ``out``
        lv.nodes[id(node)] = (node, t)
    return out


def _saved_out_tangents(node: Any, t: Tensor) -> None:
    """``t`` is ``node``'s saved output, rebuilt by a ``create_graph`` backward: it takes the
    tangents the output had, so the backward's own ops carry them (reverse over forward)."""
    for lv in LEVELS:
        e = lv.nodes.get(id(node))
        if e is not None and e[0] is node:
            lv.set(t, e[1])


class ForwardFrontend:
    """``Tensor.__sg_frontend__`` while a dual level is open (see the module docstring)."""

    priority = 10

    @staticmethod
    def apply(op: Op, args: tuple, params: dict) -> Any:
        return _apply(DEPTH[0], op, args, params)


FRONTEND = ForwardFrontend()


def after_inplace(result: Any, target: Tensor) -> None:
    """``target`` took ``result``'s value in place: it takes its tangents too (every level)."""
    for lv in LEVELS:
        t = lv.get(result)
        if t is not None:
            lv.set(target, t)


def carry_tangents(src: Tensor, dst: Tensor) -> Tensor:
    """``dst`` (a detached copy of ``src``) takes ``src``'s tangents at the visible levels, so a
    transform that re-roots its inputs (``func.jacrev`` inside ``func.jacfwd``) keeps them."""
    for lv in LEVELS[:DEPTH[0]]:
        t = lv.get(src)
        if t is not None:
            lv.set(dst, t)
    return dst

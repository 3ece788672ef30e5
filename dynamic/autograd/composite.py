"""One ``grad_fn`` node for a layer built from several registry ops (PyTorch's
``ConvolutionBackward0``, ``NativeLayerNormBackward0``...).

A layer such as ``conv2d`` records its registry ops as usual (so values, gradients and
``dynamic.compile``'s capture are those of the ops), then :func:`wrap` cuts that sub-graph out:
the edges inside it that lead to the layer's inputs are pointed at private sinks
(``AccumulateGrad`` nodes of no tensor anyone sees), and the result gets one
:class:`CompositeNode` of PyTorch's class name whose ``next_functions`` are the layer's inputs in
PyTorch's order. Its backward walks the cut sub-graph with the engine's own walkers
(``lean_walk`` or ``array_backward.run_arrays``, never the hooked ``engine.run_engine``) and hands
the sinks' gradients on. Under ``create_graph`` it replays the layer on its inputs instead (a
side-effect-free ``replay`` given by the layer) so that the gradients carry history back to the
real inputs. The node is an ``OpNode`` with a per-node op record, so the engine's lean walk runs
it like any other op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from staticgraph.ops import AVal

from .._tensor import Tensor, make
from . import engine, lean_walk
from .array_backward import run_arrays
from .forward_ad_engine import input_tangents
from .grad_mode import GRAD_ENABLED
from .graph import FREED_MSG, SEQ, AccumulateGrad, Node, OpNode, new_accumulator, version_error

_F32 = AVal((), np.dtype(np.float32))
REPLAYING = [0]  # > 0 while a ``create_graph`` replay runs: the layers record plain ops then


def start() -> int:
    """A sequence number below every node the layer is about to record (call it first)."""
    return next(SEQ)


class _SubGraph:
    """The cut sub-graph of one layer call: its root edge, one sink per input, the inputs and
    the versions of those PyTorch's node saves (checked at backward, as PyTorch does)."""

    __slots__ = ("root", "sinks", "inputs", "versions", "replay")

    def __init__(self, root: tuple, sinks: list, inputs: tuple, replay: Callable | None,
                 saves: Sequence[int] | None) -> None:
        self.root, self.sinks, self.inputs, self.replay = root, sinks, inputs, replay
        self.versions = [t._vc[0] if isinstance(t, Tensor) and (saves is None or i in saves)
                         else None for i, t in enumerate(inputs)]


class _CompositeOp:
    """The op record of one composite node: what the engine's walkers read of an ``Op``."""

    __slots__ = ("name",)
    saves = ("graph",)  # truthy: a backward without ``retain_graph`` frees the sub-graph
    kind = "composite"
    vjp_exact = True
    np_vjp_owned = None  # (the walkers read it for a large owned cotangent: no in-place rule)

    def __init__(self, name: str) -> None:
        self.name = name

    def np_vjp(self, g: np.ndarray, out: Any, needs: Sequence[bool], *args: Any) -> list:
        """The inputs' cotangents (ndarrays): the cut sub-graph walked from ``g``."""
        return _walk(args[-1], g, needs)

    def vjp(self, g: Any, out: Any, *args: Any) -> list:
        if isinstance(g, Tensor):
            return [None if r is None else make(r) for r in
                    _walk(args[-1], g._data, (True,) * (len(args) - 1))]
        return _walk(args[-1], g, (True,) * (len(args) - 1))


def _walk(sub: _SubGraph, g: np.ndarray, needs: Sequence[bool]) -> list:
    _check_versions(sub)
    capture: dict = {}
    for j, sink in enumerate(sub.sinks):
        if sink is not None and j < len(needs) and needs[j]:
            capture.setdefault(sink, []).append((0, j))
    captured: list = [None] * len(sub.sinks)
    if not capture:
        return captured
    pending: list = []
    root, nr = sub.root
    prev = GRAD_ENABLED[0]
    GRAD_ENABLED[0] = False
    try:
        lean = lean_walk.plan((root,), capture) if nr == 0 else None
        if lean is not None:
            lean_walk.walk(lean[0], lean[1], {root: g}, capture, captured, pending, False, True)
        else:
            order, needed = engine._plan([root], capture)
            buf = [None] * root._n_outputs()
            buf[nr] = g
            run_arrays(order, needed, {root: buf}, capture, captured,
                       [None if s is None else s.variable for s in sub.sinks], pending, False, True)
    finally:
        GRAD_ENABLED[0] = prev
    return captured


class CompositeNode(OpNode):
    """The backward of a whole layer (see the module docstring)."""

    __slots__ = ()

    def _apply(self, grads: list, create_graph: bool) -> list:
        if self._freed:
            raise RuntimeError(FREED_MSG)
        g = grads[0]
        sub = self._stored[-1]
        if not create_graph or sub.replay is None:
            res = _walk(sub, g._data, tuple(c is not None for c, _ in self._next))
            return [None if r is None else make(r) for r in res]
        return _replayed(self, sub, g)


def _check_versions(sub: _SubGraph) -> None:
    """PyTorch's layers save their inputs: an input changed in place since is an error."""
    for t, v in zip(sub.inputs, sub.versions, strict=True):
        if v is not None and t._vc[0] != v:
            fn = t._grad_fn
            raise version_error(t, t._vc[0], v, None if fn is None else fn.name())


def _replayed(node: CompositeNode, sub: _SubGraph, g: Tensor) -> list:
    """``create_graph``: the layer run again on its inputs, differentiated with history."""
    _check_versions(sub)
    want = [i for i, (c, _) in enumerate(node._next) if c is not None]
    prev = GRAD_ENABLED[0]
    GRAD_ENABLED[0] = True
    REPLAYING[0] += 1
    try:
        # each input through its own identity view: the layer's partial derivatives, even where
        # one input is computed from another (``weight=x[0] * 2`` of ``x``'s layer_norm), with
        # history back to the real inputs through the views
        ins = [t.view_as(t) if i in want else t for i, t in enumerate(sub.inputs)]
        y = sub.replay(*ins)
        got = engine.grad(y, [ins[i] for i in want], g, create_graph=True, allow_unused=True)
    finally:
        GRAD_ENABLED[0] = prev
        REPLAYING[0] -= 1
    res: list = [None] * len(node._next)
    for i, r in zip(want, got, strict=True):
        res[i] = r
    return res


_CLASSES: dict[str, type] = {}


def _node_class(name: str) -> type:
    cls = _CLASSES.get(name)
    if cls is None:
        cls = _CLASSES[name] = type(name, (CompositeNode,),
                                    {"__slots__": (), "__module__": "torch.autograd"})
    return cls


def _edge(t: Any) -> tuple:
    if not isinstance(t, Tensor) or not t._requires_grad:
        return (None, 0)
    fn = t._grad_fn
    return (fn, t._output_nr) if fn is not None else (t._accumulator(), 0)


def _cut(root: Node, seq0: int, at: dict, sinks: list) -> list | None:
    """The edge rewrites that point the sub-graph's edges to the inputs (``at``: node ->
    ``{output_nr: input index}``) at the sinks; ``None`` when the sub-graph reaches anything
    else older than the layer (then it is left whole)."""
    rewrites = []
    seen = {root}
    stack = [root]
    acc = AccumulateGrad
    while stack:
        node = stack.pop()
        if type(node) is acc or node._seq <= seq0:
            return None
        k = 0
        for c, nr in node._next:
            if c is not None:
                hit = at.get(c)
                if hit is not None and nr in hit:
                    rewrites.append((node, k, (sinks[hit[nr]], 0)))
                elif c not in seen:
                    seen.add(c)
                    stack.append(c)
            k += 1
    return rewrites


def wrap(y: Tensor, name: str, inputs: tuple, seq0: int, replay: Callable | None = None,
         saves: Sequence[int] | None = None) -> Tensor:
    """Give ``y`` (the layer's result, recorded after :func:`start` returned ``seq0``) one node
    called ``name`` with one edge per entry of ``inputs`` (``None`` entries: no edge). ``replay``
    recomputes ``y`` from ``inputs`` without side effects (for ``create_graph``); ``saves``: the
    inputs PyTorch's node saves (``None``: all), whose in-place change fails the backward."""
    root = y._grad_fn
    if root is None or not GRAD_ENABLED[0] or REPLAYING[0] or input_tangents(inputs) is not None:
        return y
    edges = [_edge(t) for t in inputs]
    at: dict = {}
    sinks: list = []
    for j, (c, nr) in enumerate(edges):
        if c is None:
            sinks.append(None)
            continue
        hit = at.setdefault(c, {})
        if nr not in hit:
            hit[nr] = j
            sink = new_accumulator(make(inputs[j]._data))
            sink._seq = seq0  # older than the sub-graph's nodes: the lean walk's order holds
            sinks.append(sink)
        else:
            sinks.append(None)
    rewrites = _cut(root, seq0, at, sinks)
    if rewrites is None:
        return y
    for node, k, e in rewrites:
        node._next[k] = e
    node = object.__new__(_node_class(name))
    node._next = edges
    node._seq = next(SEQ)
    node._freed = False
    node._tensor_hooks = node._retain = node._hooks = node._prehooks = None
    node._op = _CompositeOp(name)
    node._params = {}
    node._stored = [t.aval if isinstance(t, Tensor) else _F32 for t in inputs]
    node._stored.append(_SubGraph((root, y._output_nr), sinks, inputs, replay, saves))
    node._saved_ver = None
    dt = y._data.dtype
    node._fdt = dt if dt.kind == "f" and all(
        not isinstance(t, Tensor) or t._data.dtype == dt for t in inputs) else None
    node._out = None
    y._grad_fn, y._output_nr = node, 0
    return y

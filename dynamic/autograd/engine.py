"""The backward engine: ``Tensor.backward``, ``autograd.backward`` and ``autograd.grad``.

Nodes run in dependency order (newest first, as PyTorch's ready queue orders them), only those
on a path to a target (a leaf's ``AccumulateGrad``, or the requested ``inputs``). Gradients
reaching a node are summed per output; each node's ``_apply`` runs its VJP rule and
un-broadcasts. New ``.grad`` values are assigned only after the whole pass succeeded, so a
failing backward leaves every existing ``.grad`` as it was. The common call (one scalar output,
no ``create_graph``, leaves as targets) goes straight to ``lean_walk`` (:func:`_lean`) when the
graph allows; everything else runs ``run_engine``.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from operator import attrgetter
from sys import getprofile as _getprofile
from typing import Any

import numpy as np

from staticgraph.ops import bind

from .._creation import zeros_like
from .._dtypes import Size
from .._local_ops import CLONE
from .._tensor import Tensor, make
from . import lean_walk
from .array_backward import add_arrays, assign_arrays, before_rule, call_hooks, run_arrays
from .grad_mode import GRAD_ENABLED
from .graph import AccumulateGrad, Node, renamed

try:  # cProfile's profiler (CPython's C module; absent elsewhere)
    from _lsprof import Profiler as _CProfiler
except ImportError:  # pragma: no cover
    _CProfiler = ()

#: ``dynamic.compile``'s hook point (set only while a capture runs: dynamic/_compile/deferred.py).
#: ``backward`` and ``grad`` call ``CAPTURE_HOOK[0](outputs, grad_outputs, retain_graph,
#: create_graph, inputs, accumulate)`` first, ``grad_outputs`` as given by the caller; it returns
#: ``None`` (run as usual) or the result in the graph's place: ``grad``'s list of gradients, or
#: any non-``None`` value for ``backward`` (the pass was recorded, its ``.grad`` values pending).
CAPTURE_HOOK: list = [None]


def _tensors(x: Any) -> list:
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _make_grads(outputs: list, grads: Sequence | None) -> list:
    if grads is None:
        grads = [None] * len(outputs)
    grads = _tensors(grads) if isinstance(grads, Tensor) else list(grads)
    if len(grads) != len(outputs):
        raise RuntimeError("grad can be implicitly created only for scalar outputs"
                           if not grads else
                           f"got {len(grads)} tensors and {len(outputs)} gradients")
    out = []
    for i, (o, g) in enumerate(zip(outputs, grads, strict=False)):
        if g is None:
            if o._requires_grad:
                if o._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if o._data.dtype.kind != "f":
                    raise RuntimeError("grad can be implicitly created only for real scalar "
                                       f"outputs but got {o.dtype}")
                g = make(_ones(o._data.shape, o._data.dtype))
        else:
            if not isinstance(g, Tensor):
                g = make(np.asarray(g, o._data.dtype))
            if g._data.shape != o._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of "
                    f"{Size(g._data.shape)!r} and output[{i}] has a shape of "
                    f"{Size(o._data.shape)!r}.")
        out.append(g)
    return out


_ONES: dict = {}


def _ones(shape: tuple, dt: np.dtype) -> np.ndarray:
    """A fresh array of ones (a copy of a cached one: ``np.ones`` is Python code)."""
    one = _ONES.get((shape, dt))
    if one is None:
        one = _ONES[(shape, dt)] = np.ones(shape, dt)
    return one.copy()


def _edge(t: Any) -> tuple:
    return (t._grad_fn, t._output_nr) if t._grad_fn is not None else (t._accumulator(), 0)


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None,
             inputs: Any = None) -> None:
    """Accumulate d(tensors)/d(leaves) into the leaves' ``.grad`` (or only into ``inputs``)."""
    outputs = _tensors(tensors)
    grads_in = grad_tensors if grad_tensors is not None else grad_variables
    if retain_graph is None:
        retain_graph = create_graph
    hook = CAPTURE_HOOK[0]
    if hook is not None and hook(outputs, grads_in, retain_graph, create_graph,
                                 None if inputs is None else _tensors(inputs), True) is not None:
        return
    if grads_in is None and not create_graph and inputs is None and len(outputs) == 1 \
            and _unwatched() and _lean(outputs[0], None, retain_graph, True) is not None:
        return
    grads = _make_grads(outputs, grads_in)
    if inputs is not None:
        inputs = _tensors(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        for x in inputs:
            if not x._requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
    run_engine(outputs, grads, retain_graph, create_graph, inputs, accumulate=True)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs`` (``.grad`` fields untouched)."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads="
                         "True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)  # ``_tensors``, inlined
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for x in ins:
        if not x._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    hook = CAPTURE_HOOK[0]
    res = None if hook is None else hook(outs, grad_outputs, retain_graph, create_graph, ins,
                                         False)
    if res is None and grad_outputs is None and not create_graph and len(outs) == 1 \
            and _unwatched():
        res = _lean(outs[0], ins, retain_graph, False)
    if res is None:
        res = run_engine(outs, _make_grads(outs, grad_outputs), retain_graph, create_graph, ins,
                         accumulate=False)
    for r in res:  # not ``None in res``: that compares tensors with ``==``
        if r is not None:
            continue
        for i, r in enumerate(res):
            if r is None:
                if materialize_grads:
                    res[i] = zeros_like(ins[i])
                elif not allow_unused:
                    raise RuntimeError(
                        f"The differentiated Tensor at index {i} appears to not have been used "
                        "in the graph. Set allow_unused=True if this is the desired behavior.")
        break
    return tuple(res)


def _unwatched() -> bool:
    """No profile function that models the backward is set: none, or cProfile's (a
    ``cProfile.run`` of a training step then times the walk the step really takes, not the
    general one; the pure-Python ``profile`` module's function still gets the general one).
    ``dynamic.compile``'s whole-step capture sets its own Python function to watch the calls
    of ``_make_grads`` and ``run_engine``: the lean call is not taken then."""
    p = _getprofile()
    return p is None or isinstance(p, _CProfiler)


def _add(a: Any, b: Any, create_graph: bool) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if create_graph:
        return a + b
    return make(np.add(a._data, b._data))


_seq = attrgetter("_seq")


def _plan(roots: list, capture: dict | None) -> tuple:
    """The nodes to run, in execution order, and the set of them.

    Nodes are numbered as they are recorded, and a node's inputs exist before it, so running the
    reachable nodes newest-first is a dependency order, the one PyTorch's ready queue gives
    (ties newest-first). A node runs when it is a target (a leaf's ``AccumulateGrad``, or a node
    in ``capture`` when that is given) or leads to one (``needed``). Should a
    graph break the numbering (an edge to a newer node), Kahn's order with the same tie rule is
    used instead."""
    seen = set(roots)
    stack = list(roots)
    numbered = True
    while stack:
        node = stack.pop()
        s = node._seq
        for c, _ in node._next:
            if c is not None:
                if c._seq >= s:
                    numbered = False
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
    order = sorted(seen, key=_seq, reverse=True) if numbered else _kahn(seen)
    needed = set()
    for node in reversed(order):  # inputs first
        if (node in capture) if capture is not None else (type(node) is AccumulateGrad):
            needed.add(node)
            continue
        for c, _ in node._next:
            if c in needed:
                needed.add(node)
                break
    return [n for n in order if n in needed], needed


def _kahn(nodes: set) -> list:
    indeg = dict.fromkeys(nodes, 0)
    for n in nodes:
        for c, _ in n._next:
            if c is not None:
                indeg[c] += 1
    heap = [(-n._seq, id(n), n) for n in nodes if indeg[n] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        n = heapq.heappop(heap)[2]
        order.append(n)
        for c, _ in n._next:
            if c is not None:
                indeg[c] -= 1
                if indeg[c] == 0:
                    heapq.heappush(heap, (-c._seq, id(c), c))
    return order


def _lean(out: Tensor, ins: list | None, retain_graph: bool, accumulate: bool) -> list | None:
    """``run_engine`` for the common call: one scalar float output made by an op, its implicit
    gradient of ones, the targets leaves, a graph ``lean_walk.plan`` accepts (tried first as
    ``lean_walk.run``, the one-pass walk, then planned). Returns the
    captured gradients, or ``None`` (nothing done) for the general path. Not used while a
    profile function other than cProfile's runs (:func:`_unwatched`): ``dynamic.compile``'s
    whole-step capture watches the calls of ``_make_grads`` and ``run_engine`` to model the
    backward.

    The one-pass walk gets the targets as the list ``ins`` (it matches each leaf it reaches
    by identity: no ``AccumulateGrad`` lookup, no dict per call); the planned walk, run only
    when the one-pass walk declines, gets the dict ``_capture`` builds."""
    node = out._grad_fn
    d = out._data
    if node is None or out._output_nr or d.size != 1 or d.dtype.kind != "f":
        return None
    if ins is not None:
        for x in ins:
            if x._grad_fn is not None:
                return None
        captured: list = [None] * len(ins)
    else:
        captured = []
    pending: list = []
    dt = d.dtype
    one = _ONE0.get(dt) if not d.shape else None  # ``_ones``, inlined for a 0-d output
    one = _ones(d.shape, dt) if one is None else one.copy()
    prev = GRAD_ENABLED[0]
    GRAD_ENABLED[0] = False
    try:
        if not lean_walk.run(node, one, ins, captured, pending, accumulate, retain_graph):
            capture = None if ins is None else _capture(ins)
            lean = lean_walk.plan((node,), capture)
            if lean is None:
                return None
            captured = [None] * len(captured)
            pending = []
            lean_walk.walk(lean[0], lean[1], {node: _ones(d.shape, dt)}, capture,
                           captured, pending, accumulate, retain_graph)
    finally:
        GRAD_ENABLED[0] = prev
    if pending:
        assign_arrays(pending)
    i = 0
    for g in captured:  # ``wrap``, inlined
        if g is not None:
            t = _new(Tensor)
            t._data = g
            t._aval = t._grad = t._acc = t._hooks = t._base = t._view = t._grad_fn = None
            t._requires_grad = t._retains_grad = False
            t._output_nr = 0
            t._vc = [0]
            captured[i] = t
        i += 1
    return captured


_new = object.__new__
_ONE0 = {np.dtype(t): np.ones((), t) for t in (np.float32, np.float64)}  # copied per call


def _capture(ins: list) -> dict:
    """``{AccumulateGrad: [(0, j), ...]}`` of the leaves ``ins`` (the planned walk's targets)."""
    capture: dict = {}
    j = 0
    for x in ins:
        capture.setdefault(x._accumulator(), []).append((0, j))
        j += 1
    return capture


def run_engine(outputs: list, grads: list, retain_graph: bool, create_graph: bool,
               inputs: list | None, accumulate: bool) -> list:
    """Run the backward pass; returns the gradients captured at ``inputs`` (if given).

    Without ``create_graph`` gradients travel as ndarrays (``array_backward``); tensors are made
    only where user code sees them (hooks, custom ``Function.backward``, the results)."""
    arrays = not create_graph
    roots: dict = {}
    for i, (t, g) in enumerate(zip(outputs, grads, strict=False)):
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have "
                               "a grad_fn")
        node, nr = _edge(t)
        buf = roots.get(node)
        if buf is None:
            buf = roots[node] = [None] * node._n_outputs()
        buf[nr] = add_arrays(buf[nr], g._data) if arrays else _add(buf[nr], g, create_graph)
    capture: dict = {}
    if inputs is not None:
        for j, x in enumerate(inputs):
            node, nr = _edge(x)
            capture.setdefault(node, []).append((nr, j))

    captured: list = [None] * (len(inputs) if inputs is not None else 0)
    pending: list = []  # (tensor, grad) assigned to .grad after success
    lean = lean_walk.plan(roots, capture if inputs is not None else None) if arrays else None
    if lean is not None:  # the common case: no hooks, one output per node
        grads = {node: buf[0] for node, buf in roots.items()}
        roots = None
        prev = GRAD_ENABLED[0]
        GRAD_ENABLED[0] = False
        try:
            lean_walk.walk(lean[0], lean[1], grads, capture if inputs is not None else None,
                           captured, pending, accumulate, retain_graph)
        finally:
            GRAD_ENABLED[0] = prev
        grads = None
        assign_arrays(pending)
        return [None if g is None else make(g) for g in captured]
    order, needed = _plan(list(roots), capture if inputs is not None else None)
    prev = GRAD_ENABLED[0]
    GRAD_ENABLED[0] = create_graph
    try:
        if arrays:
            run_arrays(order, needed, roots, capture, captured, inputs, pending, accumulate,
                       retain_graph)
        else:
            for node in order:
                _execute(node, roots.pop(node, None) or [None] * node._n_outputs(), capture,
                         captured, inputs, pending, accumulate, create_graph, retain_graph,
                         needed, roots)
    finally:
        GRAD_ENABLED[0] = prev
    if arrays:
        roots = None
        assign_arrays(pending)
        return [None if g is None else make(g) for g in captured]
    _assign(pending, create_graph)
    return captured


def _execute(node: Node, buf: list, capture: dict, captured: list, inputs: list | None,
             pending: list, accumulate: bool, create_graph: bool, retain_graph: bool,
             needed: set, buffers: dict) -> None:
    if not before_rule(node, buf, capture, captured, inputs, pending, accumulate, call_hooks):
        return
    edges = node._next
    if not any(c in needed for c, _ in edges):
        return
    if all(g is None for g in buf):
        return
    if node._prehooks:
        for fn in list(node._prehooks.values()):
            r = fn(tuple(buf))
            if r is not None:
                buf = list(r)
    out = node._apply(buf, create_graph)
    if node._hooks:
        for fn in list(node._hooks.values()):
            r = fn(tuple(out), tuple(buf))
            if r is not None:
                out = list(r)
    if not retain_graph:
        node._release()
    for (c, nr), g in zip(edges, out, strict=False):
        if g is not None and c in needed:
            b = buffers.get(c)
            if b is None:
                b = buffers[c] = [None] * c._n_outputs()
            b[nr] = _add(b[nr], g, create_graph)


def _copy(g: Any) -> Any:
    """A differentiable copy for a new ``.grad`` under create_graph (PyTorch's CopyBackwards)."""
    prev = GRAD_ENABLED[0]
    GRAD_ENABLED[0] = True
    try:
        return renamed(bind(CLONE, g), "CopyBackwards")
    finally:
        GRAD_ENABLED[0] = prev


def _assign(pending: list, create_graph: bool) -> None:
    for t, g in pending:
        old = t._grad
        if create_graph:
            t._grad = _copy(g) if old is None else old + g
        elif old is None:
            t._grad = make(np.array(g._data, copy=True))
        else:
            d = old._data
            if d.flags.writeable and d.shape == g._data.shape:
                np.add(d, g._data, out=d, casting="unsafe")
                old._vc[0] += 1
            else:
                t._grad = make(np.add(d, g._data))

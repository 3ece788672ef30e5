"""The backward walk for the common case: ndarray gradients through plain op nodes.

Most backward passes (a training step's ``loss.backward()``, ``autograd.grad`` of a loss with
respect to leaves) reach only ``OpNode``s and leaf ``AccumulateGrad``s, with no tensor or node
hooks, no ``retain_grad``, no custom ``Function`` and no capture at an intermediate node. Then
every node has one output, so a node's pending gradient is one ndarray (not a list per output),
and the walk needs none of ``before_rule``'s per-node probing. :func:`plan` finds the nodes and
checks these conditions in the one depth-first pass the engine needs anyway; :func:`walk` runs
them. Anything else gets ``None`` from :func:`plan`, and the engine's general loop
(``array_backward.run_arrays``) runs instead; both compute the same values in the same order
(the same rules, the same fan-in summation order, the same version checks and release), which
``tests/dynamic/test_lean_walk.py`` checks (``ENABLED[0] = False`` forces the general loop).
"""

from __future__ import annotations

from heapq import heappop as _heappop
from heapq import heappush as _heappush
from operator import attrgetter
from sys import getrefcount
from typing import Any

import numpy as np

from staticgraph.ops import AVal
from staticgraph.ops.np_rules import ARRAY_OUT

from .._parallel import LARGE as _LARGE
from .._parallel_ops import add_into as _par_add_into
from .._parallel_ops import vjp as _par_vjp
from .._tensor import make
from .array_backward import _OWN_MIN, _check_saved_versions, _finish, fit_arrays, op_node_grads
from .graph import FREED_MSG, HOOKED, AccumulateGrad, OpNode, version_error

ENABLED = [True]  # False: every backward takes the general walk (tests compare the two)
FUSED = [True]  # False: ``run`` declines, so the engine plans and walks (tests compare)
_seq = attrgetter("_seq")
_ndarray = np.ndarray
_asarray = np.asarray
_add = np.add
_reduce0 = np.add.reduce
_Acc = AccumulateGrad
_ARG_TYPES = (_ndarray, AVal)  # a lean node's saved inputs: arrays and shape-only avals


def plan(roots: Any, capture: dict | None) -> tuple | None:
    """``(order, needed)``: the nodes to run newest-first and, when some reachable leaf is not
    a target, the set of nodes leading to a target (``None``: every node does). ``capture``
    (``autograd.grad``'s or ``backward(inputs=...)``'s targets) may hold leaves only.

    ``None`` when the graph needs the general walk: a hook, ``retain_grad``, a node other than
    an ``OpNode``/``AccumulateGrad``, a capture at an intermediate node, an edge to a newer node
    (the numbering is the dependency order) or a node without an edge."""
    if not ENABLED[0]:
        return None
    seen = set(roots)
    stack = list(roots)
    free = 0  # reachable leaves that are not targets
    while stack:
        node = stack.pop()
        if type(node) is _Acc:
            if node.variable._hooks:
                return None
            if capture is not None and node not in capture:
                free += 1
            continue
        if not isinstance(node, OpNode) or node._tensor_hooks or node._retain or node._hooks \
                or node._prehooks or (capture is not None and node in capture):
            return None
        s = node._seq
        n = 0
        for c, _ in node._next:
            if c is not None:
                n += 1
                if c._seq >= s:
                    return None
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        if not n:
            return None
    order = sorted(seen, key=_seq, reverse=True)
    if capture is None or not free:
        return order, None
    needed = set()
    for node in reversed(order):  # inputs first
        if type(node) is _Acc:
            if node in capture:
                needed.add(node)
            continue
        for c, _ in node._next:
            if c in needed:
                needed.add(node)
                break
    return [n for n in order if n in needed], needed


def walk(order: list, needed: set | None, grads: dict, capture: dict | None, captured: list,
         pending: list, accumulate: bool, retain_graph: bool) -> None:
    """Run ``order`` (from :func:`plan`) with ``grads`` (node -> the ndarray reaching it; the
    roots' on entry). Leaves' gradients go to ``captured`` (at ``capture``'s indices) and, when
    ``accumulate``, to ``pending`` (assigned to ``.grad`` by the engine after success)."""
    pop = grads.pop
    for node in order:
        g = pop(node, None)
        if g is None:
            continue
        if type(node) is _Acc:
            if capture is not None:
                for _, j in capture[node]:
                    captured[j] = g
            if accumulate:
                pending.append((node.variable, g))
            continue
        edges = node._next
        if needed is None:
            if len(edges) == 1:
                needs = _ONE
            elif len(edges) == 2:
                needs = (edges[0][0] is not None, edges[1][0] is not None)
            else:
                needs = tuple([c is not None for c, _ in edges])
        else:
            needs = tuple([c in needed for c, _ in edges])
            if True not in needs:
                continue
        res = node_grads(node, g, needs, edges)
        if not retain_graph and node._op.saves:  # ``OpNode._release``
            node._freed = True
            node._stored = node._out = None
        g = None  # the dict alone holds pending cotangents
        _send(grads, edges, res, needs)
        res = None


_ONE = (True,)


def run(root: Any, g: np.ndarray, targets: list | None, captured: list, pending: list,
        accumulate: bool, retain_graph: bool) -> bool:
    """:func:`plan` and :func:`walk` in one pass, for one root and leaf targets: the nodes run
    newest-first off a heap as their first cotangent arrives (the order ``plan`` sorts: an
    edge always leads to an older node, which the walk checks), so there is no separate
    reachability pass. Releasing the saved values waits for the end, and the walk stops,
    returning ``False`` with nothing observable done, where ``plan`` would decline the graph,
    where a rule gives no cotangent to an input that needs one, where a leaf outside
    ``targets`` (leaf tensors, matched by identity; their gradients go to ``captured`` at
    their indices) is reached (``plan``'s ``needed`` pruning is then required) or on any error
    (the planned walk then raises it, or not, as the general engine would); ``True`` when the
    gradients are in ``captured``/``pending``. A node the lean forward path recorded
    (``_fdt``: one float dtype) runs :func:`node_grads`'s rule call inline, and its
    cotangents are sent as they are checked to fit their inputs."""
    if not ENABLED[0] or not FUSED[0]:
        return False
    grads = {root: g}
    pop = grads.pop
    get = grads.get
    heap = [(-root._seq, root)]
    done = []
    hooked = HOOKED[0]  # else no node has a hook or a retained gradient
    try:
        while heap:
            node = _heappop(heap)[1]
            g = pop(node)
            # (``targets`` holds leaves only: no node here is one of them)
            if not isinstance(node, OpNode) or node._freed or hooked and (
                    node._tensor_hooks or node._retain or node._hooks or node._prehooks):
                return False
            edges = node._next
            if len(edges) == 1:
                needs = _ONE
                if edges[0][0] is None:
                    return False
            elif len(edges) == 2:  # one of three shared tuples, none built per node
                if edges[0][0] is not None:
                    needs = _BOTH if edges[1][0] is not None else _FIRST
                elif edges[1][0] is not None:
                    needs = _SECOND
                else:
                    return False
            else:
                needs = tuple([c is not None for c, _ in edges])
                if True not in needs:
                    return False
            fdt = node._fdt
            gdt = g.dtype
            if fdt is None or (gdt is not fdt and gdt != fdt):
                res = op_node_grads(node, g, needs)
            else:  # ``node_grads``, inlined: a mismatched version declines (the walk raises)
                out = node._out
                if out is not None and node._out_ver[0] != node._out_saved:
                    return False
                args = node._stored
                saved = node._saved_ver
                if saved:
                    args = list(args)
                    for i, ver in saved:
                        t = args[i]
                        if ver is not None and t._vc[0] != ver:
                            return False
                        args[i] = t._data
                op = node._op
                rule = op.np_vjp
                # ``g`` held only here (this variable and getrefcount's argument)
                if g.nbytes > _OWN_MIN and op.np_vjp_owned is not None \
                        and getrefcount(g) <= 2 and g.base is None and g.flags.writeable:
                    rule = op.np_vjp_owned
                params = node._params
                res = rule(g, out, needs, *args, **params) if params else \
                    rule(g, out, needs, *args) if g.size < _LARGE[0] else \
                    _par_vjp(rule, g, out, needs, args)
                if res is NotImplemented:
                    res = _finish(node, res, g, out, args)
                else:
                    i = 0
                    for r in res:  # every cotangent fits its input already: sent as it is
                        if needs[i]:
                            a = args[i]
                            if type(r) is not _ndarray or r.dtype != a.dtype:
                                res = _fit(res, args, edges, op)
                                break
                            if r.shape != a.shape:
                                sh = a.shape  # a bias's un-broadcast (``_fit``'s), inline
                                if not sh or r.shape[1:] != sh or op.vjp_exact \
                                        or len(args) == 1 or type(a) not in _ARG_TYPES \
                                        or r.dtype.itemsize == 2:  # float16: in float32
                                    res = _fit(res, args, edges, op)
                                    break
                                if type(res) is not list:
                                    res = list(res)
                                res[i] = _reduce0(r, 0)
                        i += 1
                    a = r = None
            done.append(node)
            g = None  # the dict alone holds pending cotangents
            s = node._seq
            i = 0
            for r in res:
                if needs[i]:
                    if r is None:
                        return False
                    c = edges[i][0]
                    b = get(c)
                    if b is None:
                        if c._seq >= s:
                            return False
                        grads[c] = r
                        if type(c) is not _Acc:  # leaves wait in ``grads`` for the end
                            _heappush(heap, (-c._seq, c))
                    else:
                        grads[c] = _sum(b, r)
                        b = None
                i += 1
            res = r = None
        for node in grads:  # the leaves, each with its whole cotangent
            if hooked and node.variable._hooks:
                return False
            if targets is not None:  # the leaf's index or indices in ``targets``
                v = node.variable
                hit = False
                j = 0
                for x in targets:
                    if x is v:
                        captured[j] = grads[node]
                        hit = True
                    j += 1
                if not hit:
                    return False
            if accumulate:
                pending.append((node.variable, grads[node]))
        grads.clear()  # ``pending`` alone holds the leaves' arrays (``.grad`` may adopt them)
    except Exception:
        return False
    if not retain_graph:
        for node in done:
            if node._op.saves:  # ``OpNode._release``
                node._freed = True
                node._stored = node._out = None
    return True


_BOTH, _FIRST, _SECOND = (True, True), (True, False), (False, True)


def _sum(b: np.ndarray, r: Any) -> np.ndarray:
    """``b + r`` for two cotangents reaching one node: into ``b`` when only the pending dict
    (and this call) hold it."""
    if (b.nbytes > _OWN_MIN and getrefcount(b) <= 4 and b.base is None
            and type(b) is _ndarray and type(r) is _ndarray and b is not r
            and b.shape == r.shape and b.dtype == r.dtype and b.flags.writeable):
        return _add(b, r, out=b) if b.size < _LARGE[0] else _par_add_into(b, r)
    b = _add(b, r, out=ARRAY_OUT)
    return b if type(b) is _ndarray else _asarray(b)


def _send(grads: dict, edges: list, res: Any, needs: tuple) -> None:
    """Add each needed cotangent in ``res`` to its edge's pending one in ``grads``."""
    get = grads.get
    for (c, _), r, need in zip(edges, res, needs, strict=False):
        if need and r is not None:
            b = get(c)
            if b is None:
                grads[c] = r
            else:
                grads[c] = _sum(b, r)
                b = None


def node_grads(node: Any, g: np.ndarray, needs: tuple, edges: list) -> Any:
    """The input cotangents of an ``OpNode`` for output cotangent ``g`` (held only by the
    caller's dict entry it was popped from, so an owned rule may write into it)."""
    if node._freed:
        raise RuntimeError(FREED_MSG)
    fdt = node._fdt
    gdt = g.dtype
    if fdt is None or (gdt is not fdt and gdt != fdt):
        return op_node_grads(node, g, needs)
    op = node._op  # ``_lean_grads``, inlined
    out = node._out
    if out is not None and node._out_ver[0] != node._out_saved:
        raise version_error(make(out), node._out_ver[0], node._out_saved, node.name())
    args = node._stored
    saved = node._saved_ver
    if saved:
        args = list(args)
        for i, ver in saved:
            t = args[i]
            if ver is not None and t._vc[0] != ver:
                _check_saved_versions(node)  # raises PyTorch's error
            args[i] = t._data
    rule = op.np_vjp
    # ``g`` held only here (the caller's popped variable, this argument and getrefcount's)
    # may take the rule's result in place (``Op.np_vjp_owned``)
    if g.nbytes > _OWN_MIN and op.np_vjp_owned is not None and getrefcount(g) <= 3 \
            and g.base is None and g.flags.writeable:
        rule = op.np_vjp_owned
    params = node._params
    res = rule(g, out, needs, *args, **params) if params else rule(g, out, needs, *args) \
        if g.size < _LARGE[0] else _par_vjp(rule, g, out, needs, args)
    if res is NotImplemented:
        return _finish(node, res, g, out, args)
    return _fit(res, args, edges, op)


def _fit(res: Any, args: Any, edges: list, op: Any) -> Any:
    """``res`` when every cotangent already fits its input (``_finish``'s check; a 0-d result
    a ufunc returned as a numpy scalar is wrapped), else ``fit_arrays(res)``."""
    i = 0
    for r in res:
        if r is not None:
            a = args[i]
            ta = type(a)
            if type(r) is not _ndarray:
                if ta is not _ndarray or a.shape or type(r) is not a.dtype.type:
                    return fit_arrays(edges, res, args, op)
                if type(res) is not list:
                    res = list(res)
                res[i] = _asarray(r)
            elif (ta is not _ndarray and ta is not AVal) or r.dtype != a.dtype:
                return fit_arrays(edges, res, args, op)
            elif r.shape != a.shape:
                sh = a.shape
                # a bias's gradient, ``fit_arrays``'s un-broadcast (``sum_to_shape``) inlined
                if not sh or r.shape[1:] != sh or op.vjp_exact or len(args) == 1 \
                        or r.dtype.itemsize == 2:  # float16 rows add in float32 there
                    return fit_arrays(edges, res, args, op)
                if type(res) is not list:
                    res = list(res)
                res[i] = _reduce0(r, 0)
        i += 1
    return res

"""Backward on plain ndarrays: what an ``OpNode`` computes when no higher-order graph is wanted.

Without ``create_graph`` the gradients are plain numbers, so the engine passes ndarrays between
nodes instead of taped tensors. Each node runs its op record's ``np_vjp`` (the same rule written
on ndarrays, told which inputs need a cotangent) when ``g`` and the inputs share one float dtype;
otherwise the record's general ``vjp`` runs with ndarray arguments, where ``bind`` dispatches to
the numpy kernels with PyTorch's dtype rules. Both give the tensor path's values bit for bit
(``tests/dynamic/test_fast_backward.py``). Version checks and the freed-graph error are the
tensor path's.
"""

from __future__ import annotations

from sys import getrefcount
from typing import Any

import numpy as np

from staticgraph.ops import AVal, sum_to_shape

from .._tensor import Tensor, make
from .graph import FREED_MSG, AccumulateGrad, Node, OpNode, Packed, version_error

_ndarray = np.ndarray
_SCALARS = (bool, int, float)
_STANDINS: dict = {}


def standin_array(av: AVal) -> np.ndarray:
    """A shape-only, read-only zero array for an input whose values the rule never reads."""
    a = _STANDINS.get(av)
    if a is None:
        a = np.broadcast_to(np.zeros((), av.dtype), av.shape)
        if len(_STANDINS) < 10000:
            _STANDINS[av] = a
    return a


def _fast_ok(op: Any, g: np.ndarray, out: Any, args: list) -> bool:
    """May ``op.np_vjp`` run? Only where numpy's promotion is PyTorch's: one float dtype."""
    dt = g.dtype
    if dt.kind != "f" or (out is not None and out.dtype != dt):
        return False
    ew = op.kind == "elementwise"
    for a in args:
        ta = type(a)
        if ta is _ndarray or ta is AVal:
            adt = a.dtype
            if adt != dt and (ew or adt.kind == "f"):
                return False
        elif ta not in _SCALARS:
            return False
    return True


def op_node_grads(node: Any, g: np.ndarray, needs: tuple) -> list:
    """The input cotangents (ndarrays or ``None``) of an ``OpNode`` for output cotangent ``g``."""
    if node._freed:
        raise RuntimeError(FREED_MSG)
    fdt = node._fdt
    if fdt is not None and g.dtype == fdt:
        return _lean_grads(node, g, needs)
    args = []
    for a in node._stored:
        if isinstance(a, Tensor):
            args.append(a._data)
        elif type(a) is Packed:
            # saved_tensors_hooks: the unpack hooks see tensors, in PyTorch's order
            return arrays_of(node._apply([make(g)], False))
        else:
            args.append(a)
    out = node._out
    if out is not None:
        if type(out) is Packed:
            return arrays_of(node._apply([make(g)], False))
        if node._out_ver[0] != node._out_saved:
            raise version_error(make(out), node._out_ver[0], node._out_saved, node.name())
    if node._saved_ver:
        _check_saved_versions(node)
    op = node._op
    res = NotImplemented
    f = op.np_vjp
    if f is not None and _fast_ok(op, g, out, args):
        res = f(g, out, needs, *args, **node._params)
    return _finish(node, res, g, out, args)


def _check_saved_versions(node: Any) -> None:
    """PyTorch's error when a tensor the node saved was modified in place since."""
    stored = node._stored
    for i, ver in node._saved_ver:
        t = stored[i]
        if ver is not None and t._vc[0] != ver:
            fn = t._grad_fn
            raise version_error(t, t._vc[0], ver, None if fn is None else fn.name())


def _finish(node: Any, res: Any, g: np.ndarray, out: Any, args: list) -> list:
    """The cotangents ``res`` of the record's ``np_vjp`` (the general rule on arrays where it
    answered ``NotImplemented``), fitted to the inputs where any differs in type, shape or
    dtype (``fit_arrays``; the common case, nothing to fit, is checked here inline)."""
    op = node._op
    if res is NotImplemented:
        full = [standin_array(a) if type(a) is AVal else a for a in args]
        res = op.vjp(g, out if out is not None else standin_array(AVal(g.shape, g.dtype)),
                     *full, **node._params)
    i = 0
    for r in res:
        if r is not None:
            a = args[i]
            ta = type(a)
            if type(r) is not _ndarray or (ta is not _ndarray and ta is not AVal) \
                    or r.shape != a.shape or r.dtype != a.dtype:
                return fit_arrays(node._next, res, args, op)
        i += 1
    return res


def _lean_grads(node: Any, g: np.ndarray, needs: tuple) -> list:
    """``op_node_grads`` for a node the lean forward path recorded (``_fast_path``): inputs,
    output and ``g`` share one float dtype and nothing was packed, so the record's ``np_vjp``
    runs at once; only the version checks remain."""
    out = node._out
    if out is not None and node._out_ver[0] != node._out_saved:
        raise version_error(make(out), node._out_ver[0], node._out_saved, node.name())
    stored = node._stored
    if node._saved_ver:
        _check_saved_versions(node)
        args = [a._data if isinstance(a, Tensor) else a for a in stored]
    else:
        args = stored
    op = node._op
    rule = op.np_vjp
    # ``g`` held only by the engine (its buffer list, the loop's variable, this argument and
    # getrefcount's) may take the rule's result in place (``Op.np_vjp_owned``)
    if g.nbytes > _OWN_MIN and op.np_vjp_owned is not None and getrefcount(g) <= _G_REFS \
            and g.base is None and g.flags.writeable:
        rule = op.np_vjp_owned
    return _finish(node, rule(g, out, needs, *args, **node._params), g, out, args)


_G_REFS = 4
_OWN_MIN = 1 << 16  # bytes: below, the arrays stay in cache and writing in place saves nothing


def fit_arrays(edges: list, res: Any, args: Any, op: Any) -> list:
    """``fit_grads`` on ndarrays: un-broadcast by the registry's policy, cast to the input's
    dtype; a Python number from a rule is broadcast to the input's shape."""
    out = []
    exact = op is not None and (op.vjp_exact or len(args) == 1)  # ``unbroadcast_needed``
    for (fn, _), r, a in zip(edges, res, args, strict=False):
        if fn is None or r is None:
            out.append(None)
            continue
        ta = type(a)
        if ta is _ndarray or ta is AVal:
            shape, dt = a.shape, a.dtype
            tr = type(r)
            if tr is _ndarray:
                if r.shape == shape and r.dtype == dt:
                    out.append(r)  # the common case: nothing to fit
                    continue
            elif tr is dt.type and not shape:  # a ufunc's numpy scalar for 0-d operands
                out.append(np.asarray(r))
                continue
        else:
            a = np.asarray(a)
            shape, dt = a.shape, a.dtype
        if type(r) is not _ndarray:
            if isinstance(r, (np.generic, _ndarray)):  # a capture's TracedArray is an array
                r = np.asarray(r)
            else:
                r = np.array(np.broadcast_to(np.asarray(r, dt), shape))
        if r.shape != shape and not exact:
            r = np.asarray(sum_to_shape(r, shape))
        if r.dtype != dt:
            r = r.astype(dt)
        out.append(r)
    return out


def tensors_of(arrays: list) -> list:
    """Wrap ndarrays for code that takes tensors (hooks, custom ``Function.backward``)."""
    return [None if a is None else make(a) for a in arrays]


def arrays_of(tensors: Any) -> list:
    return [None if t is None else (t._data if isinstance(t, Tensor) else np.asarray(t))
            for t in tensors]


# ------------------------------------------------------------------ the engine, on arrays
def call_hooks(hooks: dict | None, g: Any) -> Any:
    if hooks:
        for fn in list(hooks.values()):
            r = fn(g)
            if r is not None:
                g = r
    return g


def add_arrays(a: Any, b: Any) -> Any:
    """``a + b``, the fan-in sum of two cotangents: into ``a`` where only the engine's buffer
    holds it (a fresh array of the sum's shape and dtype), else a fresh array."""
    if a is None:
        return b
    if b is None:
        return a
    if type(a) is _ndarray and a.nbytes > _OWN_MIN and getrefcount(a) <= _A_REFS \
            and a.base is None and a.flags.writeable and type(b) is _ndarray \
            and a.shape == b.shape and a.dtype == b.dtype and a is not b:
        return np.add(a, b, out=a)
    r = np.add(a, b)
    return r if type(r) is _ndarray else np.asarray(r)


_A_REFS = 3  # the engine's buffer list, this argument, getrefcount's


def _hooked(hooks: dict, g: Any) -> Any:
    """Tensor hooks on an ndarray gradient (they see, and may replace, a tensor)."""
    r = call_hooks(hooks, None if g is None else make(g))
    return None if r is None else r._data


def before_rule(node: Node, buf: list, capture: dict, captured: list, inputs: list | None,
                pending: list, accumulate: bool, hook: Any) -> bool:
    """What every backward step does before a node's rule, on tensors and on arrays alike
    (``hook(hooks, g)`` runs tensor hooks on one gradient): a leaf's hooks, capture and
    accumulation (then ``False``: nothing more to do); a node's tensor hooks and ``retain_grad``;
    the gradients ``autograd.grad`` captures here."""
    if type(node) is AccumulateGrad:
        var = node.variable
        g = buf[0]
        if var._hooks:
            g = hook(var._hooks, g)
        if capture and node in capture:
            for _, j in capture[node]:
                captured[j] = g
        if accumulate and g is not None and (inputs is None or node in capture):
            pending.append((var, g))
        return False
    th, ret = node._tensor_hooks, node._retain
    if th or ret:
        for nr in range(len(buf)):
            if buf[nr] is None:
                continue
            if th and nr in th:
                buf[nr] = hook(th[nr], buf[nr])
            if ret and nr in ret:
                t = ret[nr]()
                if t is not None:
                    pending.append((t, buf[nr]))
    if capture and node in capture:
        for nr, j in capture[node]:
            captured[j] = buf[nr]
            if accumulate and buf[nr] is not None:
                pending.append((inputs[j], buf[nr]))
    return True


def run_arrays(order: list, needed: set, buffers: dict, capture: dict, captured: list,
               inputs: list | None, pending: list, accumulate: bool, retain_graph: bool) -> None:
    """The engine's loop with ndarray gradients: ``engine._execute``'s steps, in the same order,
    for each node of ``order`` (execution order; ``needed`` the same nodes as a set)."""
    for node in order:
        buf = buffers.pop(node, None)
        if type(node) is AccumulateGrad:
            var = node.variable
            if var._hooks or capture:
                before_rule(node, buf or [None], capture, captured, inputs, pending, accumulate,
                            _hooked)
            elif accumulate and buf is not None and buf[0] is not None:
                pending.append((var, buf[0]))  # ``before_rule``'s common case
            continue
        if buf is None:
            buf = [None] * node._n_outputs()
        if node._tensor_hooks or node._retain or (capture and node in capture):
            before_rule(node, buf, capture, captured, inputs, pending, accumulate, _hooked)
        edges = node._next
        n = len(edges)
        if n == 1:
            needs = (edges[0][0] in needed,)
        elif n == 2:
            needs = (edges[0][0] in needed, edges[1][0] in needed)
        else:
            needs = tuple([c in needed for c, _ in edges])
        if True not in needs:
            continue
        if (buf[0] is None) if len(buf) == 1 else all(g is None for g in buf):
            continue
        if isinstance(node, OpNode) and not node._prehooks and not node._hooks:
            g = buf[0]
            fdt = node._fdt
            if fdt is not None and not node._freed and g.dtype == fdt:
                out = _lean_grads(node, g, needs)
            else:
                out = op_node_grads(node, g, needs)
            if not retain_graph and node._op.saves:  # ``OpNode._release``
                node._freed = True
                node._stored = node._out = None
        else:
            out = _general_arrays(node, buf)
            if not retain_graph:
                node._release()
        for (c, nr), g, need in zip(edges, out, needs, strict=False):
            if need and g is not None:
                b = buffers.get(c)
                if b is None:
                    buffers[c] = [g] if nr == 0 and (type(c) is AccumulateGrad or
                                                     isinstance(c, OpNode)) else _buffer(c, nr, g)
                else:
                    b[nr] = g if b[nr] is None else add_arrays(b[nr], g)
        out = g = None  # the buffers alone hold the cotangents (``_lean_grads``' ownership)


def _buffer(node: Node, nr: int, g: Any) -> list:
    b = [None] * node._n_outputs()
    b[nr] = g
    return b


def _general_arrays(node: Node, buf: list) -> list:
    """A node with node hooks, or a custom ``Function``: run it on tensors, as user code
    expects, and hand ndarrays on."""
    tbuf = tensors_of(buf)
    if node._prehooks:
        for fn in list(node._prehooks.values()):
            r = fn(tuple(tbuf))
            if r is not None:
                tbuf = list(r)
    out = node._apply(tbuf, False)
    if node._hooks:
        for fn in list(node._hooks.values()):
            r = fn(tuple(out), tuple(tbuf))
            if r is not None:
                out = list(r)
    return arrays_of(out)


def _owned(g: np.ndarray) -> bool:
    """Nobody but the pending list holds ``g``: its buffer is its own (or a base only it
    references, as after a reshape) and writable, so it can become ``.grad`` without a copy."""
    if getrefcount(g) > _OWN_REFS:  # the cheap test first (``flags`` builds an object)
        return False
    b = g.base
    if b is not None and (type(b) is not _ndarray or b.base is not None
                          or getrefcount(b) > 3):
        return False
    return g.flags.writeable


_OWN_REFS = 4  # the pending entry, the caller's loop variable, this argument, getrefcount's
_new = object.__new__


def assign_arrays(pending: list) -> None:
    for t, g in pending:
        old = t._grad
        if old is None:  # ``wrap``, inlined
            n = _new(Tensor)
            n._data = g if type(g) is _ndarray and _owned(g) else np.array(g, copy=True)
            n._aval = n._grad = n._acc = n._hooks = n._base = n._view = n._grad_fn = None
            n._requires_grad = n._retains_grad = False
            n._output_nr = 0
            n._vc = [0]
            t._grad = n
        else:
            d = old._data
            if d.flags.writeable and d.shape == g.shape:
                np.add(d, g, out=d, casting="unsafe")
                old._vc[0] += 1
            else:
                t._grad = make(np.add(d, g))

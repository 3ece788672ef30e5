"""The lean forward path for float elementwise ops called as Tensor operators and methods.

``x + y``, ``x * 2.0``, ``x.tanh()``... on float tensors that share one dtype are the bulk of
small eager programs. There the registry's general frontend (``_frontend.apply``: dispatch through
``bind``, the shape/dtype rule, the cast loop, the view check) decides nothing: numpy's NEP 50
promotion is PyTorch's, the result is a fresh array of the operands' dtype. So these calls run
the op record's own kernel (``op.impl``) and record the same ``OpNode`` ``_frontend._record``
would (same class, edges, saved values, version counters). Anything else (other dtypes, other
operand types, an error from the kernel) goes the general way, which also raises the error texts.

``ENABLED[0] = False`` sends every call the general way (for tools that trace ``bind``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any
from weakref import ref as _ref

import numpy as np

from staticgraph.ops import Op, bind
from staticgraph.ops.np_rules import ARRAY_OUT
from staticgraph.ops.np_rules import matmul2d as _matmul2d
from staticgraph.ops.reductions import _mean_impl

from ._frontend import apply
from ._parallel import LARGE as _LARGE
from ._parallel import matmul as _par_matmul
from ._parallel_ops import forward as _par_forward
from ._parallel_ops import reduce_all as _par_reduce_all
from ._tensor import _AVALS, Tensor
from ._typed_scalars import _CACHE as _TYPED
from ._typed_scalars import typed
from .autograd.grad_mode import GRAD_ENABLED
from .autograd.graph import (
    NONE_EDGE,
    SAVED_HOOKS,
    SEQ,
    AccumulateGrad,
    node_class,
    pack_saved,
    pair_versions,
)

ENABLED = [True]
_NO_PARAMS = MappingProxyType({})  # the params of every node recorded here without any
_new = object.__new__
_ndarray = np.ndarray
_add_reduce = np.add.reduce
_CLASS: dict = {}  # op -> its grad_fn class (fast-path ops have argument-independent names)


def _cls(op: Op, args: tuple) -> type:
    c = _CLASS.get(op)
    if c is None:  # ``args`` start with a Tensor here: ``sub`` is SubBackward0
        c = _CLASS[op] = node_class(op.backward_name(args, {}))
    return c


def _edge(a: Tensor) -> tuple:
    fn = a._grad_fn
    if fn is not None:
        return (fn, a._output_nr)
    r = a._acc
    acc = r() if r is not None else None
    if acc is None:  # ``a._accumulator()``, inlined: a leaf's first use in a graph
        acc = _new(AccumulateGrad)  # ``graph.new_accumulator``
        acc._next = []
        acc._seq = next(SEQ)
        acc._freed = False
        acc._tensor_hooks = acc._retain = acc._hooks = acc._prehooks = None
        acc.variable = a
        a._acc = _ref(acc)
    return (acc, 0)


def _ufunc(op: Op) -> np.ufunc | None:
    """``op.impl`` when it is a ufunc and this numpy takes ``out=...`` (an array result for 0-d
    operands too, instead of a numpy scalar: the same bits without ``np.asarray``'s copy)."""
    return op.impl if ARRAY_OUT is not None and type(op.impl) is np.ufunc else None


def _result(out: Any) -> Tensor:
    if type(out) is not _ndarray:  # ufuncs return numpy scalars for 0-d operands
        out = np.asarray(out)
    t = _new(Tensor)
    t._data = out
    t._aval = t._grad = t._acc = t._hooks = t._grad_fn = t._base = t._view = None
    t._output_nr = 0
    t._retains_grad = False
    t._requires_grad = False
    t._vc = [0]
    return t


def _node(op: Op, t: Tensor, edges: list, stored: list, versions: list | None,
          cls: type | None = None, params: dict | None = None) -> None:
    node = _new(cls or _CLASS.get(op) or _cls(op, stored))
    node._next = edges
    node._seq = next(SEQ)
    node._freed = False
    node._tensor_hooks = node._retain = node._hooks = node._prehooks = None
    node._op = op
    node._params = _NO_PARAMS if params is None else params
    node._stored = stored
    node._saved_ver = versions
    if "out" in op.saves:
        node._out = t._data
        node._out_ver = t._vc
        node._out_saved = 0
    else:
        node._out = None
    t._requires_grad = True
    t._grad_fn = node
    if SAVED_HOOKS:
        node._fdt = None
        pack_saved(node, t)
    else:  # backward may run ``op.np_vjp`` at once (``array_backward._lean_grads``)
        node._fdt = t._data.dtype if op.np_vjp is not None else None


def binary_method(op: Op) -> Callable[[Tensor, Any], Tensor]:
    """``op(a, b)`` for a Tensor ``a`` (``a + b``, ``a * b``...) as a method with ``op`` bound
    (``__add__ = binary_method(ADD)``: one Python call per operator, not two): see the module
    docstring. ``_result`` and ``_node`` are inlined for the commonest case, a grad-recording
    op."""

    uf = _ufunc(op)
    sf = op.saved_for  # which cotangents read each saved input (``None``: all)
    a_own = sf is None or 0 in sf[0]  # ``a op 3``: is ``a``'s value read by its own cotangent
    # the record's fixed facts, read once here (``Op`` is frozen), not per call
    save_in, save_out, lean = 0 in op.saves, "out" in op.saves, op.np_vjp is not None

    def method(a: Tensor, b: Any) -> Tensor:
        if not ENABLED[0]:  # before any local holds an array (a capture counts their references)
            return bind(op, a, b)
        da = a._data
        dt = da.dtype
        tb = type(b)
        if tb is float or tb is int:
            if dt.kind != "f":
                return bind(op, a, b)
            db = _TYPED.get((b, dt))  # ``b`` as a 0-d array of ``dt``: the same bits, faster
            if db is None:
                db = typed(b, dt)
            rg = a._requires_grad
            scalar = True
        elif tb is Tensor or isinstance(b, Tensor):
            db = b._data
            if db.dtype != dt or dt.kind != "f":
                return bind(op, a, b)
            rg = a._requires_grad or b._requires_grad
            scalar = False
        else:
            return bind(op, a, b)
        try:
            if da.size < _LARGE[0]:
                out = op.impl(da, db) if uf is None else uf(da, db, out=...)
            else:
                out = _par_forward(op, da, db)
        except Exception:  # broadcasting and the like: the general path raises PyTorch's error
            return bind(op, a, b)
        if out.dtype != dt:
            return bind(op, a, b)
        if type(out) is not _ndarray:  # ufuncs return numpy scalars for 0-d operands
            out = np.asarray(out)
        t = _new(Tensor)  # ``_result``
        t._data = out
        t._aval = t._grad = t._acc = t._hooks = t._base = t._view = None
        t._output_nr = 0
        t._retains_grad = False
        t._vc = [0]
        if not rg or not GRAD_ENABLED[0]:
            t._grad_fn = None
            t._requires_grad = False
            return t
        if scalar:
            fa = a._grad_fn  # ``_edge`` inlined for a recorded operand
            edges = [(fa, a._output_nr) if fa is not None else _edge(a), NONE_EDGE]
            if save_in:
                stored, versions = [a, b], [(0, a._vc[0] if a_own else None)]
            else:
                stored, versions = [a._aval or a.aval, b], None
        else:
            fa = a._grad_fn  # ``_edge`` inlined for a recorded operand
            fb = b._grad_fn
            edges = [(fa, a._output_nr) if fa is not None else
                     _edge(a) if a._requires_grad else NONE_EDGE,
                     (fb, b._output_nr) if fb is not None else
                     _edge(b) if b._requires_grad else NONE_EDGE]
            if save_in:
                ra, rb = a._requires_grad, b._requires_grad
                stored = [a, b]
                versions = [(0, a._vc[0]), (1, b._vc[0])] if ra and rb else \
                    pair_versions(a, b, sf)  # every cotangent wanted: both values read
            else:  # the inputs' avals (``x - y`` of one shape: one aval, looked up once)
                ava = a._aval
                if ava is None:  # ``Tensor.aval``'s cache lookup, inline
                    ava = _AVALS.get((da.shape, dt))
                    if ava is None:
                        ava = a.aval
                    else:
                        a._aval = ava
                stored, versions = [ava, ava if db.shape == da.shape else b._aval or b.aval], \
                    None
        if SAVED_HOOKS:
            t._grad_fn = None
            _node(op, t, edges, stored, versions)
            return t
        node = _new(_CLASS.get(op) or _cls(op, stored))  # ``_node``, inlined
        node._next = edges
        node._seq = next(SEQ)
        node._freed = False
        node._tensor_hooks = node._retain = node._hooks = node._prehooks = None
        node._op = op
        node._params = _NO_PARAMS
        node._stored = stored
        node._saved_ver = versions
        if save_out:
            node._out = out
            node._out_ver = t._vc
            node._out_saved = 0
        else:
            node._out = None
        node._fdt = dt if lean else None
        t._requires_grad = True
        t._grad_fn = node
        return t

    method.__name__ = method.__qualname__ = op.name
    return method


def binary(op: Op, a: Tensor, b: Any) -> Tensor:
    """``op(a, b)`` through :func:`binary_method`'s method for ``op``."""
    f = _BINARY.get(op)
    if f is None:
        f = _BINARY[op] = binary_method(op)
    return f(a, b)


_BINARY: dict = {}


def unary_method(op: Op) -> Callable[[Tensor], Tensor]:
    """``op(a)`` for a float Tensor ``a`` (``a.tanh()``, ``-a``...) as a method with ``op``
    bound; ``_result`` and ``_node`` inlined as in :func:`binary_method`."""

    uf = _ufunc(op)
    save_in, save_out, lean = 0 in op.saves, "out" in op.saves, op.np_vjp is not None

    def method(a: Tensor) -> Tensor:
        if not ENABLED[0]:  # before any local holds an array (as in binary)
            return bind(op, a)
        da = a._data
        dt = da.dtype
        if dt.kind != "f":
            return bind(op, a)
        if da.size < _LARGE[0]:
            out = op.impl(da) if uf is None else uf(da, out=...)
        else:
            out = _par_forward(op, da)
        if out.dtype != dt:
            return bind(op, a)
        if type(out) is not _ndarray:
            out = np.asarray(out)
        t = _new(Tensor)
        t._data = out
        t._aval = t._grad = t._acc = t._hooks = t._base = t._view = None
        t._output_nr = 0
        t._retains_grad = False
        t._vc = [0]
        t._grad_fn = None
        if not a._requires_grad or not GRAD_ENABLED[0]:
            t._requires_grad = False
            return t
        if save_in:
            stored, versions = [a], [(0, a._vc[0])]
        else:
            stored, versions = [a._aval or a.aval], None
        if SAVED_HOOKS:
            _node(op, t, [_edge(a)], stored, versions)
            return t
        node = _new(_CLASS.get(op) or _cls(op, stored))
        fa = a._grad_fn  # ``_edge`` inlined for a recorded operand
        node._next = [(fa, a._output_nr) if fa is not None else _edge(a)]
        node._seq = next(SEQ)
        node._freed = False
        node._tensor_hooks = node._retain = node._hooks = node._prehooks = None
        node._op = op
        node._params = _NO_PARAMS
        node._stored = stored
        node._saved_ver = versions
        if save_out:
            node._out = out
            node._out_ver = t._vc
            node._out_saved = 0
        else:
            node._out = None
        node._fdt = dt if lean else None
        t._requires_grad = True
        t._grad_fn = node
        return t

    method.__name__ = method.__qualname__ = op.name
    return method


def unary(op: Op, a: Tensor) -> Tensor:
    """``op(a)`` through :func:`unary_method`'s method for ``op``."""
    f = _UNARY.get(op)
    if f is None:
        f = _UNARY[op] = unary_method(op)
    return f(a)


_UNARY: dict = {}


_MM: dict = {}  # op -> the grad_fn class of its 2-D @ 2-D case (``MmBackward0``)


def tensors2_method(op: Op) -> Callable[[Tensor, Any], Tensor]:
    """``bind(op, a, b)`` without the dispatch when both are Tensors (``a @ b``), as a method
    with ``op`` bound (one Python call per ``a @ b``): their frontend is the eager one, so
    ``_frontend.apply`` runs at once. For ``matmul`` of two matrices of one float dtype (the
    layers of small models) even that is skipped: the kernel runs and the node
    ``_frontend._record`` would make is recorded."""

    matmul = op.name == "matmul"
    sf = op.saved_for
    cross = sf == ((1,), (0,))  # matmul's: each input's value is read by the other's cotangent
    lean = op.np_vjp is not None

    def method(a: Tensor, b: Any) -> Tensor:
        if not ENABLED[0] or not isinstance(b, Tensor):
            return bind(op, a, b)
        da = a._data
        db = b._data
        dt = da.dtype
        if not matmul or da.ndim != 2 or db.ndim != 2 or db.dtype != dt or dt.kind != "f" \
                or da.shape[1] != db.shape[0]:
            return apply(op, (a, b), {})
        out = _matmul2d(da, db) if da.size < _LARGE[1] else _par_matmul(op, da, db)
        t = _new(Tensor)  # ``_result``, inlined
        t._data = out
        t._aval = t._grad = t._acc = t._hooks = t._base = t._view = t._grad_fn = None
        t._output_nr = 0
        t._retains_grad = False
        t._vc = [0]
        if not (a._requires_grad or b._requires_grad) or not GRAD_ENABLED[0]:
            t._requires_grad = False
            return t
        cls = _MM.get(op)
        if cls is None:
            cls = _MM[op] = node_class(op.backward_name((a, b), {}))
        fa = a._grad_fn  # ``_edge`` inlined for a recorded operand
        fb = b._grad_fn
        edges = [(fa, a._output_nr) if fa is not None else
                 _edge(a) if a._requires_grad else NONE_EDGE,
                 (fb, b._output_nr) if fb is not None else
                 _edge(b) if b._requires_grad else NONE_EDGE]
        ra, rb = a._requires_grad, b._requires_grad
        versions = [(0, a._vc[0] if rb else None), (1, b._vc[0] if ra else None)] if cross \
            else [(0, a._vc[0]), (1, b._vc[0])] if ra and rb else pair_versions(a, b, sf)
        if SAVED_HOOKS:
            _node(op, t, edges, [a, b], versions, cls)
            return t
        node = _new(cls)  # ``_node``, inlined (matmul saves its inputs, not its output)
        node._next = edges
        node._seq = next(SEQ)
        node._freed = False
        node._tensor_hooks = node._retain = node._hooks = node._prehooks = None
        node._op = op
        node._params = _NO_PARAMS
        node._stored = [a, b]
        node._saved_ver = versions
        node._out = None
        node._fdt = dt if lean else None
        t._requires_grad = True
        t._grad_fn = node
        return t

    method.__name__ = method.__qualname__ = op.name
    return method


def tensors2(op: Op, a: Tensor, b: Any) -> Tensor:
    """``op(a, b)`` through :func:`tensors2_method`'s method for ``op``."""
    f = _TENSORS2.get(op)
    if f is None:
        f = _TENSORS2[op] = tensors2_method(op)
    return f(a, b)


_TENSORS2: dict = {}


_FULL: dict = {}  # (op, ndim) -> (the params over all dims, grad_fn class, the dims, is mean)
_COUNTS: dict = {}  # (dtype, n) -> ``dtype.type(n)``, a full mean's divisor


def reduce_all(op: Op, a: Tensor) -> Tensor | None:
    """``op`` over every dim of a float tensor (``x.mean()``, ``x.sum()``), recorded as the
    general path records it (same params, class, saved values); ``None`` where that path must
    run (other dtypes, a result of another dtype). ``_result`` and ``_node`` inlined; the
    nodes share one params dict per op and rank, which nothing writes (a rule gets its own
    keyword dict; a plain dict because ``**`` of a ``MappingProxyType`` costs ~0.5 us more
    per backward call)."""
    if not ENABLED[0]:  # before reading the array (a capture may not have computed it yet)
        return None
    da = a._data
    dt = da.dtype
    if dt.kind != "f":
        return None
    hit = _FULL.get((op, da.ndim))
    if hit is None:
        params = {"dim": tuple(range(da.ndim)), "keepdim": False, "full": True}
        hit = _FULL[(op, da.ndim)] = (params,
                                      node_class(op.backward_name((a,), params)), params["dim"],
                                      op.impl is _mean_impl)
    n = da.size
    if n >= _LARGE[0]:
        out = _par_reduce_all(op, da, hit[2])
    elif hit[3] and 0 < n < 1 << 24 and dt.itemsize >= 4 and type(da) is _ndarray:
        # ``_mean_impl``'s float case without its checks: the sum over every dim divided by
        # the count in the dtype (the same bits)
        c = _COUNTS.get((dt, n))  # the count as a numpy scalar of ``dt``, made once
        if c is None:
            c = dt.type(n)
            if len(_COUNTS) < 4096:
                _COUNTS[(dt, n)] = c
        out = _add_reduce(da, hit[2]) / c
    else:
        out = op.impl(da, hit[2], False, True)  # the params, positionally
    if type(out) is not _ndarray:
        out = np.asarray(out)
    if out.dtype != dt:
        return None
    t = _new(Tensor)  # ``_result``
    t._data = out
    t._aval = t._grad = t._acc = t._hooks = t._grad_fn = t._base = t._view = None
    t._output_nr = 0
    t._retains_grad = t._requires_grad = False
    t._vc = [0]
    if not a._requires_grad or not GRAD_ENABLED[0]:
        return t
    if 0 in op.saves:
        stored, versions = [a], [(0, a._vc[0])]
    else:
        stored, versions = [a._aval or a.aval], None
    fa = a._grad_fn
    edges = [(fa, a._output_nr) if fa is not None else _edge(a)]
    if SAVED_HOOKS:
        _node(op, t, edges, stored, versions, hit[1], hit[0])
        return t
    node = _new(hit[1])  # ``_node``, inlined (a reduction saves no output)
    node._next = edges
    node._seq = next(SEQ)
    node._freed = False
    node._tensor_hooks = node._retain = node._hooks = node._prehooks = None
    node._op = op
    node._params = hit[0]
    node._stored = stored
    node._saved_ver = versions
    node._out = t._data if "out" in op.saves else None
    if node._out is not None:
        node._out_ver = t._vc
        node._out_saved = 0
    node._fdt = dt if op.np_vjp is not None else None
    t._requires_grad = True
    t._grad_fn = node
    return t

"""The eager frontend: runs registry ops on ``Tensor`` arguments and records the tape.

``staticgraph.ops.bind`` finds ``Tensor.__sg_frontend__`` (a :class:`Frontend`, attached in
``_tensor_methods``) and calls :func:`apply`: the op runs at once on the wrapped numpy arrays;
when grad mode is on and an input requires grad, an ``OpNode`` (named like PyTorch's ``grad_fn``)
is attached to the result. This is the eager hot path: it does only what must happen per op (the
shape/dtype rule is cached per op and input signature).
"""

from __future__ import annotations

import numpy as np

from staticgraph.ops import AVal, Op
from staticgraph.ops.core import compute_dtype

from ._tensor import Tensor
from .autograd.grad_mode import (
    EVER_INFERENCE,
    GRAD_ENABLED,
    INFERENCE,
    is_inference_tensor,
    mark_inference,
)
from .autograd.graph import NONE_EDGE, SAVED_HOOKS, SEQ, node_class, pack_saved, reads_saved

_new = object.__new__
_ndarray = np.ndarray
_SCALARS = (bool, int, float)
_WEAK = {bool: AVal((), np.dtype(np.bool_), True), int: AVal((), np.dtype(np.int64), True),
         float: AVal((), np.dtype(np.float32), True)}
_VIEW_KINDS = ("shape", "index")
_INFER: dict = {}  # (op, input signature, params) -> (shape, dtype, compute dtype)
_CLASS: dict = {}  # op -> grad_fn class when the op's name does not depend on its arguments
_NAMED: dict = {}  # the _INFER key -> grad_fn class, for the other ops


class Frontend:
    """Runs ops eagerly on ``Tensor`` arguments (see the module docstring)."""

    priority = 10

    @staticmethod
    def apply(op: Op, args: tuple, params: dict) -> Tensor:
        return apply(op, args, params)


def avals_of(args: tuple) -> list:
    """The abstract values of an op's arguments: a Tensor's, a Python number's weak scalar
    (PyTorch's promotion: it does not widen a tensor's dtype), an array-like's own."""
    avals = []
    for a in args:
        if isinstance(a, Tensor):
            avals.append(a.aval)
        elif type(a) in _WEAK:
            avals.append(_WEAK[type(a)])
        else:
            a = np.asarray(a)
            avals.append(AVal(a.shape, a.dtype))
    return avals


def _infer(op: Op, args: tuple, params: dict) -> tuple:
    avals = avals_of(args)
    try:
        shape, dt = op.infer(*avals, **params)
    except ValueError as e:
        raise RuntimeError(str(e)) from None
    return shape, dt, compute_dtype(op, avals, dt)


def apply(op: Op, args: tuple, params: dict) -> Tensor:
    """Run ``op`` now; record a backward node when needed."""
    arrays = []
    key: list = [op]
    rg = False
    for a in args:
        if isinstance(a, Tensor):
            d = a._data
            arrays.append(d)
            key.append(d.shape)
            key.append(d.dtype)
            if a._requires_grad:
                rg = True
        elif type(a) in _SCALARS:
            arrays.append(a)
            key.append(type(a))
        else:
            if isinstance(a, _SCALARS):  # numpy float64/bool_ subclasses
                a = float(a) if isinstance(a, float) else int(a)
                key.append(type(a))
            else:
                a = np.asarray(a)
                key.append(a.shape)
                key.append(a.dtype)
            arrays.append(a)
    if params:
        key.append(tuple(params.items()))
    try:
        key = tuple(key)
        hit = _INFER.get(key)
        if hit is None:
            hit = _INFER[key] = _infer(op, args, params)
            if len(_INFER) > 20000:
                _INFER.clear()
                _NAMED.clear()
    except TypeError:  # unhashable params (slices, index arrays)
        hit = _infer(op, args, params)
        key = None
    dt, cdt = hit[1], hit[2]
    for i, x in enumerate(arrays):
        if type(x) is not _ndarray:  # where's Python numbers take its output dtype
            arrays[i] = np.asarray(x, cdt if cdt is not None or op.dtype_rule != "where"
                                   or type(x) not in _SCALARS else dt)
        elif cdt is not None and x.dtype != cdt:
            arrays[i] = x.astype(cdt)
    out = op.impl(*arrays, **params)
    if type(out) is not _ndarray:
        out = np.asarray(out)
    if out.dtype != dt:
        out = out.astype(dt)
    t = _new(Tensor)  # ``make``, inlined
    t._data = out
    t._aval = t._grad = t._acc = t._hooks = t._grad_fn = None
    t._output_nr = 0
    t._retains_grad = False
    a0 = args[0] if args else None
    if op.kind in _VIEW_KINDS and out.base is not None and isinstance(a0, Tensor) \
            and np.may_share_memory(out, a0._data):
        t._vc = a0._vc
        t._base = a0._base if a0._base is not None else a0
        t._view = (a0._view or ()) + ((op, params),)
        if EVER_INFERENCE[0] and is_inference_tensor(a0):  # a view of an inference tensor
            mark_inference(t)
    else:
        t._vc = [0]
        t._base = t._view = None
    if rg and GRAD_ENABLED[0] and op.vjp is not None:
        _record(op, args, params, t, key)
    else:
        t._requires_grad = False
        if INFERENCE[0] and t._base is None:  # (a view of a normal tensor stays normal)
            mark_inference(t)
    return t


def _record(op: Op, args: tuple, params: dict, t: Tensor, key: tuple | None = None) -> None:
    cls = _CLASS.get(op)
    if cls is None:
        # a name that depends on the arguments depends only on what the key holds (argument
        # kinds, ndims, params), so it is cached per key
        cls = _NAMED.get(key) if key is not None else None
        if cls is None:
            cls = node_class(op.backward_name(args, params))
            if not callable(op.grad_name):
                _CLASS[op] = cls
            elif key is not None:
                _NAMED[key] = cls
    node = _new(cls)
    saves = op.saves
    sf = op.saved_for
    edges = []
    stored = []
    versions = None
    fdt = t._data.dtype if op.np_vjp is not None and t._data.dtype.kind == "f" else None
    ew = op.kind == "elementwise"
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            adt = a._data.dtype
            # ``array_backward._fast_ok``'s rule: an integer operand of another kind of op
            # (``nll_loss``'s labels, ``gather``'s index) takes no cotangent and leaves the
            # rule's arithmetic in the one float dtype
            if fdt is not None and adt != fdt and (ew or adt.kind == "f"):
                fdt = None
            if a._requires_grad:
                fn = a._grad_fn
                edges.append((fn, a._output_nr) if fn is not None else (a._accumulator(), 0))
            else:
                edges.append(NONE_EDGE)
            if i in saves:
                stored.append(a)
                if versions is None:
                    versions = []
                versions.append((i, a._vc[0] if sf is None or reads_saved(args, sf[i])
                                 else None))
            else:
                stored.append(a.aval)
        else:
            if type(a) not in _SCALARS:
                fdt = None
            edges.append(NONE_EDGE)
            stored.append(a)
    node._next = edges
    node._seq = next(SEQ)
    node._freed = False
    node._tensor_hooks = node._retain = node._hooks = node._prehooks = None
    node._op = op
    node._params = params
    node._stored = stored
    node._saved_ver = versions
    node._fdt = fdt  # one float dtype throughout: backward may run ``op.np_vjp`` at once
    if "out" in saves:
        node._out = t._data
        node._out_ver = t._vc
        node._out_saved = t._vc[0]
    else:
        node._out = None
    t._requires_grad = True
    t._grad_fn = node
    if SAVED_HOOKS:  # ``autograd.graph.saved_tensors_hooks`` is active
        node._fdt = None
        pack_saved(node, t)

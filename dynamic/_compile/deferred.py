"""Which ops a capture defers, and ``autograd.grad`` on deferred values (:mod:`.pending`).

:func:`defer_op` is the tracing frontend's first try for an op during a capture: a
floating-point registry op that makes no view (elementwise, reduction, matmul, nn; integer
tensors only as valid class labels of ``cross_entropy``/``nll_loss``) outside
``inference_mode`` and ``saved_tensors_hooks`` becomes a graph node and a pending result; its
``run`` is the same eager op, under the grad mode of the moment it was called. Everything else
runs eagerly as before (reading a pending argument's values materializes it).

While a capture may defer, :func:`hooked` sets the autograd engine's hook point
(``engine.CAPTURE_HOOK``, called first by ``backward`` and ``autograd.grad``): an
``autograd.grad`` whose outputs are pending becomes ``gradients()`` of the graph (as the
whole-step capture builds it) and returns pending gradients, whose ``run`` is the real engine
call; a ``backward()`` of pending outputs gives the leaves pending ``.grad`` values
(:mod:`.deferred_step`); anything else returns ``None`` to the engine, which runs as usual (its
first read of a pending output materializes every pending value; the whole-step capture
models that backward).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from staticgraph.ops import REGISTRY, AVal, Op

from .._frontend import _infer
from .._frontend import apply as eager_apply
from .._local_ops import CLONE, CONTIGUOUS
from .._tensor import Tensor
from ..autograd import engine
from ..autograd.grad_mode import GRAD_ENABLED, INFERENCE
from ..autograd.graph import SAVED_HOOKS
from .deferred_step import defer_backward, symbolic_grads
from .pending import RAW, PendingTensor, new_pending
from .structure import out_struct
from .traced_array import ACTIVE, plain

_KINDS = frozenset(("elementwise", "reduce", "matmul", "nn"))
_SCALARS = (bool, int, float)
_RUN_ENGINE = engine.run_engine


#: ops whose argument 1 is integer class labels of argument 0 (classes on its axis 1, or 0 for
#: a vector): deferred when every label is a class (else eager raises its error now)
_LABEL_OPS = frozenset(("cross_entropy", "nll_loss"))


def _labels_ok(args: tuple) -> bool:
    x, t = args[0], args[1]
    if not isinstance(x, Tensor):
        return False
    shape = x.aval.shape
    if not shape:
        return False
    c = shape[1 if len(shape) > 1 else 0]
    d = plain(t._data)  # a fed input's values (not a pending one's: those are floats)
    return d.size == 0 or bool(d.min() >= 0 and d.max() < c)


class _OpRun:
    """The eager op a pending result stands for."""

    __slots__ = ("op", "args", "params", "grad_mode")

    def __init__(self, op: Op, args: tuple, params: dict, grad_mode: bool) -> None:
        self.op, self.args, self.params, self.grad_mode = op, args, params, grad_mode

    def __call__(self) -> list:
        prev = GRAD_ENABLED[0]
        GRAD_ENABLED[0] = self.grad_mode
        try:
            return [eager_apply(self.op, self.args, self.params)]
        finally:
            GRAD_ENABLED[0] = prev


def defer_op(cap: Any, op: Op, args: tuple, params: dict) -> Tensor | None:
    """``op(args)`` as a graph node and a pending result, or ``None`` (run it eagerly)."""
    if op.kind not in _KINDS or op is CLONE or op is CONTIGUOUS or REGISTRY.get(op.name) is not op \
            or INFERENCE[0] or SAVED_HOOKS:
        return None
    rg = False
    for a in args:
        if isinstance(a, Tensor):
            if type(a) is not PendingTensor and id(a) not in cap.tensors \
                    and type(a._data) is not np.ndarray:
                return None
            kind = a.aval.dtype.kind
            if kind != "f" and not (kind in "iu" and op.name in _LABEL_OPS and a is args[1]
                                    and _labels_ok(args)):
                return None
            rg = rg or a._requires_grad
        elif type(a) not in _SCALARS:
            return None
    try:
        hash(tuple(params.items()))
    except TypeError:
        return None
    inferred = _infer(op, args, params)  # eager's own error, at eager's moment
    shape, dt = inferred[0], np.dtype(inferred[1])
    if dt.kind != "f":
        return None
    rg = rg and GRAD_ENABLED[0] and op.vjp is not None
    aval = AVal(tuple(shape), dt)
    g = cap.add_node(op, args, params, aval, rg, inferred)
    if g is None:
        return None
    t = new_pending(aval, rg)
    cap.tensors[id(t)] = [t, g, 0, 0]
    cap.deferred.add([t], [g], _OpRun(op, args, params, GRAD_ENABLED[0]))
    return t


class _GradRun:
    """The real ``autograd.grad`` engine call pending gradients stand for."""

    __slots__ = ("args", "n", "flags", "keep")

    def __init__(self, outputs: list, grads: list, inputs: list, flags: tuple,
                 keep: list[int]) -> None:
        self.args = tuple(outputs) + tuple(grads) + tuple(inputs)
        self.n = (len(outputs), len(grads))
        self.flags, self.keep = flags, keep

    def __call__(self) -> list:
        no, ng = self.n
        outs, grads, ins = (list(self.args[:no]), list(self.args[no:no + ng]),
                            list(self.args[no + ng:]))
        cap = ACTIVE[0]
        if cap is not None:
            cap.step.quiet += 1  # the graph already holds this backward
        try:
            res = _RUN_ENGINE(outs, grads, *self.flags[:2], ins, accumulate=False)
        finally:
            if cap is not None:
                cap.step.quiet -= 1
        out = [res[i] for i in self.keep]
        if any(r is None for r in out):
            raise RuntimeError("dynamic.compile: eager autograd.grad gave no gradient where the "
                               "captured graph has one")
        return out


def _defer_grad(cap: Any, outputs: list, grads: list, retain_graph: bool, create_graph: bool,
                inputs: list | None, accumulate: bool) -> list | None:
    if accumulate or create_graph or inputs is None or cap.reasons or cap.handled:
        return None
    if any(not o._requires_grad for o in outputs) or any(
            type(g) is not PendingTensor and id(g) not in cap.tensors
            and id(g) not in cap.step.implicit for g in grads):
        return None
    for t, *_ in cap.inputs + cap.externals:
        if t._requires_grad and t._grad_fn is not None:
            return None
    for t in inputs:
        acc = t._acc
        if type(t) is PendingTensor or t._hooks or (acc is not None and (
                getattr(acc, "_hooks", None) or getattr(acc, "_prehooks", None))):
            return None
    ys = [cap.graph_tensor(o) for o in outputs]
    gys = [cap._const(np.ones(g._data.shape, g._data.dtype)) if id(g) in cap.step.implicit
           else cap.graph_tensor(g) for g in grads]
    xs = [cap.graph_tensor(t) for t in inputs]
    if cap.reasons or any(x is None for x in ys + gys + xs):
        return None
    dys = symbolic_grads(cap, ys, gys, xs)
    cap.step.active = True
    res: list = [None] * len(inputs)
    pend, gs, keep = [], [], []
    for i, (x, dy) in enumerate(zip(inputs, dys, strict=True)):
        if dy is None:
            continue
        aval = x.aval
        g = cap.step._as(dy, aval.dtype)
        p = res[i] = new_pending(AVal(aval.shape, aval.dtype), False)
        cap.tensors[id(p)] = [p, g, 0, 0]
        pend.append(p)
        gs.append(g)
        keep.append(i)
    if pend:
        cap.deferred.add(pend, gs, _GradRun(outputs, grads, inputs,
                                            (retain_graph, create_graph), keep))
    return res


class _Meta:
    """What ``_make_grads`` reads of a pending output's array: shape, size and dtype (no
    array: ``np.broadcast_to`` is Python code, run here under the capture's profile hook)."""

    __slots__ = ("shape", "dtype", "size")

    def __init__(self, shape: tuple, dtype: np.dtype) -> None:
        self.shape, self.dtype = shape, dtype
        self.size = int(np.prod(shape, dtype=np.int64)) if shape else 1


class _Shape:
    """What ``_make_grads`` reads of a pending output: ``requires_grad``, shape and dtype."""

    __slots__ = ("_requires_grad", "_data", "_t")

    def __init__(self, t: PendingTensor) -> None:
        self._requires_grad = t._requires_grad
        av = t.aval
        self._data = _Meta(tuple(av.shape), np.dtype(av.dtype))
        self._t = t

    @property
    def dtype(self) -> Any:  # (an error message's)
        return self._t.dtype


def _mine(cap: Any) -> bool:
    return cap is not None and cap.deferred is not None and cap.deferred.on \
        and cap.thread == threading.get_ident()


def _hook(outputs: list, grads_in: Any, retain_graph: bool, create_graph: bool,
          inputs: list | None, accumulate: bool) -> Any:
    """``engine.CAPTURE_HOOK``: a backward or ``autograd.grad`` of pending outputs, deferred
    (``None``: the engine runs it; reading a pending output then materializes everything)."""
    cap = ACTIVE[0]
    if not _mine(cap) or not any(type(o) is PendingTensor for o in outputs):
        return None
    RAW[0] += 1
    try:
        # (the real function: the whole-step capture sees its call, notes implicit ones)
        grads = engine._make_grads([_Shape(o) if type(o) is PendingTensor else o
                                    for o in outputs], grads_in)
        if not cap.deferred.on:  # a pending cotangent's shape was read: all computed now
            return None
        prof = sys.getprofile()  # graph building runs no user code and nothing the whole-step
        sys.setprofile(None)  # capture watches for: unwatched, it is several times cheaper
        try:
            if accumulate:
                return defer_backward(cap, outputs, grads, retain_graph, create_graph, inputs)
            return _defer_grad(cap, outputs, grads, retain_graph, create_graph, inputs, False)
        finally:
            sys.setprofile(prof)
    finally:
        RAW[0] -= 1


@contextlib.contextmanager
def hooked() -> Iterator[None]:
    """The engine's hook point defers backward passes of pending values (module docstring)."""
    prev = engine.CAPTURE_HOOK[0]
    engine.CAPTURE_HOOK[0] = _hook
    try:
        yield
    finally:
        engine.CAPTURE_HOOK[0] = prev


def settle(cap: Any, result: Any, reasons: list, effects: list) -> bool:
    """After the capture run: whether the result's pending values will come from the plan's
    first run (nothing needed a value, nothing was written eagerly, no pending tensor held
    outside the result and the leaves' ``.grad``); otherwise every pending value is computed
    now, eagerly, and the call goes on as an eager capture (its first run checked against
    those values)."""
    d = cap.deferred
    if d is None or not d.entries:
        return False
    leaves: list = []
    out_struct(result, leaves)
    if type(result) is PendingTensor:  # held by this frame's argument too
        leaves.append(result)
    grads = [s.leaf for s in cap.step.slots.values()] if cap.step is not None else []
    if reasons or d.dirty or cap.guards or not d.on or d.escaped(leaves, grads):
        d.flush()
        return False
    return True


def first_run(call: Any, cap: Any, tensors: list, result: Any) -> tuple[Any, str | None]:
    """The first run of a plan whose capture deferred every value: the call's result is the
    run's, as a later call's is (outputs needing a gradient get the compiled backward). If
    the run fails (a guard, a kernel's check), the eager values are computed instead and the
    reason returned. A whole step's run starts from the state on entry, as a later call's
    does: the leaves' ``.grad`` as they were (``zero_grad`` and the deferred backward set
    them during the capture), no version bump nor write made yet."""
    d = cap.deferred
    slots = list(cap.step.slots.values()) if cap.step is not None else []
    now = [s.leaf._grad for s in slots]
    vcs = [(t, n) for t, n in d.writes]
    d.unwrite()
    for s in slots:
        s.leaf._grad = s.entry
    try:
        out = call.run(tensors)
    except Exception as e:  # noqa: BLE001 - eager gives the values; the signature stays eager
        for s, g in zip(slots, now, strict=True):  # the capture run's state, then its values
            s.leaf._grad = g
        for t, n in vcs:
            t._vc[0] += n
        d.writes = [[t, n] for t, n in vcs]
        d.flush()
        return result, f"the compiled plan's first run failed ({type(e).__name__}: {e})"
    d.clear()
    return out, None

"""A whole training step, deferred: ``backward()`` and ``SGD``/``Adam.step`` of pending values
add graph nodes and leave pending state behind, so the first call of a training step computes
nothing eagerly at full size (:mod:`.pending`; issue #14).

* :func:`defer_backward` (from the engine's hook point, :mod:`.deferred`): the backward becomes
  ``gradients()`` of the graph; each leaf it reaches gets a pending ``.grad`` (``None`` before:
  a new :class:`.pending.PendingTensor`; a pending ``.grad`` of an earlier deferred backward:
  rebound to old + new; a real ``.grad``: a pending in-place write, as eager adds into it).
  Its ``run`` puts the leaves' ``.grad`` back as they were and runs the real engine.
* :class:`DeferredStep` (from the whole-step capture's profile events, :mod:`.step`): the step's
  update formulas are modelled as before (:mod:`.optim_graph`), the real ``step()`` body sees
  no parameter groups (it runs, doing nothing), and each parameter it would update gets a
  pending in-place write (its version bumped as eager's step bumps it). Its ``run`` is the real
  ``step()``.

Whatever the capture cannot defer falls back to the eager, modelled path (everything pending is
computed first): hooks on the leaves, ``create_graph``, cotangents from outside the graph, a
``.grad`` of another shape or a read-only one, parameters not tracked, another optimizer.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from staticgraph.gradients import gradients
from staticgraph.ops import AVal

from ..autograd import engine
from ..optim import SGD, Adam
from .pending import _DATA, PendingState, PendingTensor, new_pending
from .reach import reached
from .traced_array import ACTIVE, plain

_RUN_ENGINE = engine.run_engine


def _hooked(t: Any) -> bool:
    acc = t._acc
    return bool(t._hooks or (acc is not None and (getattr(acc, "_hooks", None)
                                                  or getattr(acc, "_prehooks", None))))


def _targets(cap: Any, inputs: list | None) -> list | None:
    """The leaves the backward accumulates into (``None``: not deferrable)."""
    if inputs is not None:
        if not inputs or any(type(x) is PendingTensor or not x._requires_grad
                             or x._grad_fn is not None for x in inputs):
            return None
        return list(inputs)
    return [r[0] for r in list(cap.tensors.values()) if type(r[0]) is not PendingTensor
            and r[0]._requires_grad and r[0]._grad_fn is None]


def _interior(ys: list) -> set[int]:
    """The graph ops the eager backward of ``ys`` walks through (its autograd nodes: not the
    placeholders and constants it starts from, nothing behind a ``StopGradient``)."""
    seen: set[int] = set()
    todo = [y.op for y in ys]
    while todo:
        op = todo.pop()
        if op._id in seen or op.type in ("Placeholder", "Const", "StopGradient"):
            continue
        seen.add(op._id)
        todo.extend(t.op for t in op.inputs)
    return seen


def _write(cap: Any, t: Any, bumps: int) -> None:
    """``t`` gets a pending in-place write, and so do the tracked tensors viewing its storage
    (a read of a view's values must see the write too; they share its version counter)."""
    cap.deferred.write(t, bumps)
    data = plain(_DATA.__get__(t))
    for rec in list(cap.tensors.values()):
        x = rec[0]
        if x is not t and type(x) is not PendingTensor \
                and np.may_share_memory(plain(_DATA.__get__(x)), data):
            cap.deferred.write(x, 0)


class _BackwardRun:
    """The real ``backward()`` pending ``.grad`` values stand for. ``args`` is the only holder
    of the tensors it needs (:meth:`.pending.Deferred.escaped` counts its references):
    outputs, cotangents, the targets' ``.grad`` before it, the ``.grad`` objects after it."""

    __slots__ = ("args", "n", "retain", "inputs", "targets", "news")

    def __init__(self, outputs: list, grads: list, retain: bool, inputs: list | None,
                 targets: list, olds: list, news: list) -> None:
        self.args = (*outputs, *grads, *olds, *(p for _, p, _ in news))
        self.n = (len(outputs), len(grads), len(olds))
        self.retain, self.inputs, self.targets = retain, inputs, targets
        self.news = [(t, listed) for t, _, listed in news]

    def __call__(self) -> list:
        no, ng, nt = self.n
        a = self.args
        outputs, grads = list(a[:no]), list(a[no:no + ng])
        olds, ps = a[no + ng:no + ng + nt], a[no + ng + nt:]
        for t, old in zip(self.targets, olds, strict=True):
            t._grad = old  # the .grad values this backward started from (computed by now)
        cap = ACTIVE[0]
        if cap is not None:  # the graph already holds this backward (and its writes: no
            cap.step.quiet += 1  # profile events inside the profile function's own flush)
            cap.handled += 1
        try:
            _RUN_ENGINE(outputs, grads, self.retain, False, self.inputs, accumulate=True)
        finally:
            if cap is not None:
                cap.step.quiet -= 1
                cap.handled -= 1
        out = []
        for (t, listed), p in zip(self.news, ps, strict=True):
            r = t._grad
            if r is None or (type(p) is not PendingTensor and r is not p):
                raise RuntimeError("dynamic.compile: the eager backward's .grad differs from "
                                   "the deferred one (a dynamic.compile bug)")
            if type(p) is PendingTensor:
                t._grad = p  # the pending object becomes eager's new .grad (pending.flush)
            if listed:
                out.append(r)
        return out



def symbolic_grads(cap: Any, ys: list, gys: list, xs: list) -> list:
    """``gradients(ys, xs, grad_ys=gys)`` in the captured graph (graph code, not watched by the
    capture's profiler), zeros where eager gives zeros (reached through ops without a TF
    gradient), recorded in the capture's signature; for deferred ``backward()`` and
    ``autograd.grad``."""
    prof = sys.getprofile()
    sys.setprofile(None)
    try:
        with cap.graph.as_default():
            dys = gradients(ys, xs, grad_ys=gys)
        if any(d is None for d in dys):
            dys = [cap.step.emit("zeros_like", x) if d is None and h else d
                   for d, x, h in zip(dys, xs, reached(xs, ys), strict=True)]
    finally:
        sys.setprofile(prof)
    cap.signature.append(("gradients", tuple(cap._index(x) for x in ys + gys + xs)))
    return dys


def defer_backward(cap: Any, outputs: list, grads: list, retain_graph: bool,
                   create_graph: bool, inputs: list | None) -> Any:
    """``backward()`` of pending ``outputs`` as ``gradients()`` and pending ``.grad`` values;
    ``None`` when it cannot be deferred (module docstring)."""
    sc = cap.step
    if create_graph or cap.reasons or cap.handled or sc is None or sc.quiet \
            or any(not o._requires_grad for o in outputs):
        return None
    if any(type(g) is not PendingTensor and id(g) not in cap.tensors and id(g) not in sc.implicit
           for g in grads):
        return None
    for t, *_ in cap.inputs + cap.externals:
        if t._requires_grad and t._grad_fn is not None:
            return None
    targets = _targets(cap, inputs)
    if targets is None or any(_hooked(t) for t in targets):
        return None
    olds = [t._grad for t in targets]
    for t, old in zip(targets, olds, strict=True):
        if old is None:
            continue
        av, tav = old.aval, t.aval
        if av.shape != tav.shape or (type(old) is not PendingTensor and (
                not _DATA.__get__(old).flags.writeable or cap.graph_tensor(old) is None)):
            return None
    ys = [cap.graph_tensor(o) for o in outputs]
    gys = [cap._const(np.ones(g._data.shape, g._data.dtype)) if id(g) in sc.implicit
           else cap.graph_tensor(g) for g in grads]
    xs = [cap.graph_tensor(t) for t in targets]
    if cap.reasons or not cap.deferred.on or any(x is None for x in ys + gys + xs):
        return None
    d = cap.deferred
    inner = _interior(ys)
    if inner & d.freed:  # eager raises (the graph was freed): let it, with its message
        return None
    dys = symbolic_grads(cap, ys, gys, xs)
    sc.active = True
    if not retain_graph:
        d.freed |= inner
    outs, gs, news = [], [], []
    for t, old, dy in zip(targets, olds, dys, strict=True):
        if dy is None:
            continue
        sc.slot(t, "read")
        av = t.aval
        new = sc._as(dy, av.dtype)
        if old is None:
            p = new_pending(AVal(av.shape, av.dtype), False)
            cap.tensors[id(p)] = [p, new, 0, 0]
            t._grad = p
        elif type(old) is PendingTensor:  # an earlier deferred backward's: old + new
            p, rec = old, cap.tensors[id(old)]
            p._vc[0] += 1  # eager adds into that .grad in place: one version bump
            rec[1] = sc.emit("add", rec[1], sc._as(new, rec[1].dtype.np_dtype))
            new = rec[1]
        else:  # eager adds into the .grad it has, in place
            g_old = cap.graph_tensor(old)
            new = sc.emit("add", g_old, sc._as(new, g_old.dtype.np_dtype))
            _write(cap, old, 1)
            cap.rebind(old, new)
            news.append((t, old, False))
            continue
        outs.append(p)
        gs.append(new)
        news.append((t, p, True))
    d.add(outs, gs, _BackwardRun(outputs, grads, retain_graph, inputs, targets, olds, news))
    return True


class DeferredStep:
    """An optimizer step whose body runs with no parameter groups (module docstring): made
    at its call event, :meth:`end` at its return event."""

    __slots__ = ("opt", "groups", "news")

    def __init__(self, opt: Any, news: dict) -> None:
        self.opt, self.groups, self.news = opt, opt.param_groups, news
        opt.param_groups = []

    def end(self, cap: Any) -> None:
        self.opt.param_groups = self.groups
        d = cap.deferred
        d.add([], [], _StepRun(self.opt))  # first: a flush runs the real step, come what may
        sts = [(p, g, cap.by_data.get(id(_DATA.__get__(p)))) for p, g in self.news.values()]
        if any(st is None or st[0] is not _DATA.__get__(p) for p, _, st in sts):
            raise RuntimeError("a parameter's storage is not tracked any more")
        for p, g, st in sts:
            st[1], st[2] = g, st[2] + 1
            _write(cap, p, 1)
        if not isinstance(self.opt.state, PendingState):  # read only after the flush
            d.states.append((self.opt, self.opt.state))
            self.opt.state = PendingState(self.opt.state)


def can_defer_step(cap: Any, opt: Any) -> bool:
    """Whether ``opt.step()`` (an SGD or Adam, no closure) can be deferred: every parameter
    with a gradient is tracked, writable, and its ``.grad`` has its shape and dtype (eager's
    update then writes in place, one version bump)."""
    d = cap.deferred
    if d is None or not d.on or cap.reasons or cap.handled or cap.step.quiet \
            or type(opt) not in (SGD, Adam):
        return False
    for group in opt.param_groups:
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            if type(p) is PendingTensor:
                return False
            data = _DATA.__get__(p)
            st = cap.by_data.get(id(data))
            gav = g.aval
            if st is None or st[0] is not data or not data.flags.writeable \
                    or gav.shape != data.shape or gav.dtype != data.dtype:
                return False
    return True


class _StepRun:
    """The real ``optimizer.step()`` pending parameter writes stand for."""

    __slots__ = ("opt", "args")

    def __init__(self, opt: Any) -> None:
        self.opt, self.args = opt, ()

    def __call__(self) -> list:
        cap = ACTIVE[0]
        if cap is not None:  # the graph already holds this step (and its writes)
            cap.step.quiet += 1
            cap.handled += 1
        try:
            self.opt.step()
        finally:
            if cap is not None:
                cap.step.quiet -= 1
                cap.handled -= 1
        for st in self.opt.state.values():  # plain arrays, as the modelled path keeps them
            for k, v in list(st.items()):
                if isinstance(v, np.ndarray):
                    st[k] = np.array(plain(v), copy=True)
        return []

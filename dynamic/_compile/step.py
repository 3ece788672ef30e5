"""Whole-step capture: ``backward()``/``autograd.grad``, ``optimizer.step()`` and ``zero_grad()``
inside a compiled function, as ``torch.compile`` with compiled autograd captures them.

The capture run is an eager run, so these calls run as usual; the profile function of
:class:`.effects.EffectWatch` reports their entry and exit here (:meth:`StepCapture.event`), and
the graph gets what they computed:

* a backward pass becomes ``gradients()`` of the captured graph (cotangents: the ``gradient``
  argument or ones); the leaves' new ``.grad`` values are bound to those graph tensors (``None``
  -> the gradient, else old + gradient, as eager accumulates); ``autograd.grad``'s results too;
* ``SGD.step``/``Adam.step`` become their update formulas on graph tensors (the learning rate and
  Adam's bias corrections are *host feeds*: computed in Python at each call, as eager does, so a
  changed ``lr`` or step count needs no recompile); optimizer state arrays are fed and written;
* ``zero_grad`` and ``.grad`` assignments are recorded per leaf (*grad slots*).

:meth:`StepCapture.finish` lists the effects a replay must repeat after a successful run
(``.grad`` set/``None``, optimizer state, step counters) and the guards (a leaf's ``.grad`` being
``None`` on entry, optimizer state present) the plan depends on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph.gradients import gradients
from staticgraph.graph.core import Tensor as GTensor
from staticgraph.ops import REGISTRY, AVal

from .._autograd_attrs import AutogradAttrs
from .._inplace import InplaceMethods
from ..autograd import engine
from ..optim import SGD, Adam, Optimizer
from .deferred_step import DeferredStep, can_defer_step
from .optim_graph import GroupValue, adam_update, sgd_update
from .reach import reached
from .traced_array import plain

# the engine's functions whose calls the profile events report
_MAKE_GRADS = engine._make_grads
_RUN_ENGINE = engine.run_engine


class Slot:
    """A leaf's ``.grad`` during the capture: its value on entry and whether the plan depends
    on that value being ``None`` (``guard``: None = undecided, True, False)."""

    __slots__ = ("leaf", "entry", "guard")

    def __init__(self, leaf: Any) -> None:
        self.leaf, self.entry, self.guard = leaf, leaf._grad, None


class StepCapture:
    """The backward/optimizer part of one :class:`.capture.Capture` (module docstring)."""

    def __init__(self, cap: Any) -> None:
        self.cap = cap
        self.slots: dict[int, Slot] = {}
        self.active = False  # a backward, optimizer step or zero_grad ran
        self.implicit: set[int] = set()
        self.frames: dict[int, Any] = {}
        self.host: list[tuple[Any, GTensor]] = []  # (fn() -> array, placeholder)
        self.host_cache: dict[tuple, GTensor] = {}
        self.state_in: dict[tuple, GTensor] = {}  # (id opt, id p, key) -> placeholder
        self.state_keys: dict[tuple, tuple] = {}  # (id opt, id p, key) -> (opt, p, key)
        self.state_out: dict[tuple, list] = {}  # (id opt, id p, key) -> [opt, p, key, graph t]
        self.counters: dict[tuple, list] = {}  # (id opt, id p) -> [opt, p, delta]
        self.guards: list[tuple[Any, Any]] = []  # (fn() -> value, value at capture)
        self.opts: dict[int, Any] = {}  # the optimizers whose step or zero_grad ran
        self.quiet = 0  # > 0: a deferred backward the graph already holds runs (deferred.py)
        self.hooks = {
            _MAKE_GRADS.__code__: self._make_grads,
            _RUN_ENGINE.__code__: self._run_engine,
            Optimizer.zero_grad.__code__: self._zero_grad,
            SGD.step.__code__: self._opt_step,
            Adam.step.__code__: self._opt_step,
            AutogradAttrs.grad.fset.__code__: self._grad_set,
            InplaceMethods._overwrite.__code__: self._overwrite,
        }
        self._depth_codes = {_RUN_ENGINE.__code__, SGD.step.__code__, Adam.step.__code__}

    # ------------------------------------------------------------------------- slots
    def slot(self, leaf: Any, how: str) -> Slot:
        s = self.slots.get(id(leaf))
        if s is None:
            s = self.slots[id(leaf)] = Slot(leaf)
        if s.guard is None:
            s.guard = how == "read"
        return s

    def grad_owner(self, t: Any) -> Any:
        """``("grad", leaf)`` when ``t`` is the ``.grad`` of a tensor the capture tracks."""
        for rec in list(self.cap.tensors.values()):
            x = rec[0]
            if x._grad is t and x is not t:
                self.slot(x, "read")
                return ("grad", x)
        return None

    # ------------------------------------------------------------------------ events
    def event(self, frame: Any, event: str, arg: Any) -> None:
        fn = self.hooks.get(frame.f_code)
        if fn is None:
            return
        call = event == "call"
        d = self.cap.deferred
        if call and d is not None and d.entries and fn != self._make_grads and not (
                fn == self._opt_step and can_defer_step(self.cap, frame.f_locals["self"])):
            d.flush()  # a backward, optimizer step or grad write: pending values first
        if not call and fn == self._opt_step \
                and type(self.frames.get(id(frame))) is DeferredStep:
            self.cap.handled -= 1  # (its parameter groups back, even after a graph break)
            try:
                self.frames.pop(id(frame)).end(self.cap)
            except Exception as e:  # noqa: BLE001 - never change what the eager call does
                self.cap.fail(f"whole-step capture could not defer {frame.f_code.co_name}: "
                              f"{type(e).__name__}: {e}")
            return
        if self.cap.reasons or self.quiet:  # keep the handled depth balanced, model nothing more
            if frame.f_code in self._depth_codes:
                self.cap.handled += 1 if call else -1
            return
        try:
            fn(frame, call, arg)
        except Exception as e:  # noqa: BLE001 - never change what the eager call does
            self.cap.fail(f"whole-step capture could not model {frame.f_code.co_name}: "
                          f"{type(e).__name__}: {e}")

    def _make_grads(self, frame: Any, call: bool, arg: Any) -> None:
        if call:
            self.frames[id(frame)] = frame.f_locals.get("grads")
            return
        given = self.frames.pop(id(frame), None)
        for i, g in enumerate(arg or ()):
            if given is None or i >= len(given) or given[i] is None:
                self.implicit.add(id(g))

    def _run_engine(self, frame: Any, call: bool, arg: Any) -> None:
        cap = self.cap
        if not call:
            state = self.frames.pop(id(frame), None)
            cap.handled -= 1
            if state is not None:
                self._after_engine(state, frame.f_locals, arg)
            return
        cap.handled += 1
        self.active = True
        f = frame.f_locals
        if f["create_graph"]:
            cap.fail("backward with create_graph=True inside the function")
            return
        for t, *_ in cap.inputs + cap.externals:
            if t._requires_grad and t._grad_fn is not None:
                cap.fail("backward inside the function reaches tensors computed outside it")
                return
        ys = [cap.graph_tensor(o) for o in f["outputs"]]
        gys = []
        for g in f["grads"]:
            if g is None:
                cap.fail("backward of a tensor that does not require grad")
                return
            if id(g) in self.implicit:
                gys.append(cap._const(np.ones(g._data.shape, g._data.dtype)))
            else:
                gys.append(cap.graph_tensor(g))
        if f["inputs"] is not None:
            targets = list(f["inputs"])
        else:
            targets = [r[0] for r in list(cap.tensors.values())
                       if r[0]._requires_grad and r[0]._grad_fn is None]
        for t in targets:
            acc = t._acc
            if t._hooks or (acc is not None and (getattr(acc, "_hooks", None)
                                                 or getattr(acc, "_prehooks", None))):
                cap.fail("a hook on a tensor the backward inside the function reaches")
                return
        xs = [cap.graph_tensor(t) for t in targets]
        if cap.reasons or any(x is None for x in ys + gys + xs):
            return
        pre = []
        if f["accumulate"]:
            for t in targets:
                self.slot(t, "read")
                old = t._grad
                pre.append((old, None if old is None else cap.graph_tensor(old)))
        with cap.graph.as_default():
            dys = gradients(ys, xs, grad_ys=gys)
        if any(d is None for d in dys):  # through ops with no TF gradient: eager's zeros
            dys = [self.emit("zeros_like", x) if d is None and h else d
                   for d, x, h in zip(dys, xs, reached(xs, ys), strict=True)]
        cap.signature.append(("gradients", tuple(cap._index(x) for x in ys + gys + xs)))
        self.frames[id(frame)] = (targets, pre, dys, f["accumulate"])

    def _after_engine(self, state: tuple, f: dict, result: Any) -> None:
        cap = self.cap
        targets, pre, dys, accumulate = state
        if not accumulate:
            for r, dy in zip(result, dys, strict=True):
                if r is not None:
                    if dy is None:
                        cap.fail("autograd.grad: a gradient the graph does not reach")
                        return
                    cap.rebind(r, self._as(dy, r._data.dtype))
            return
        for t, (old, g_old), dy in zip(targets, pre, dys, strict=True):
            if dy is None:
                if t._grad is not old:
                    cap.fail("backward: a gradient the graph does not reach")
                    return
                continue
            new = self._as(dy, t._data.dtype)
            if g_old is not None:
                new = self.emit("add", g_old, self._as(new, g_old.dtype.np_dtype))
            if t._grad is None:
                cap.fail("backward: a leaf the graph reaches got no gradient")
                return
            cap.rebind(t._grad, new)

    def _zero_grad(self, frame: Any, call: bool, arg: Any) -> None:
        if not call:
            return
        self.active = True
        f = frame.f_locals
        self.opts[id(f["self"])] = f["self"]
        for g in f["self"].param_groups:
            for p in g["params"]:
                self.slot(p, "set" if f.get("set_to_none", True) else "read")
                if p._grad is not None and not f.get("set_to_none", True):
                    self.cap.graph_tensor(p._grad)  # bound: zero_() is a write it sees

    def _grad_set(self, frame: Any, call: bool, arg: Any) -> None:
        if call:
            if self.cap.deferred is not None:
                self.cap.deferred.dirty = True  # (a plan's first run would not undo it)
            self.active = True
            self.slot(frame.f_locals["self"], "set")

    def _overwrite(self, frame: Any, call: bool, arg: Any) -> None:
        if call:
            self.cap.graph_tensor(frame.f_locals["self"])  # bound: the copy is a write it sees

    # ------------------------------------------------------------------ optimizers
    def _opt_step(self, frame: Any, call: bool, arg: Any) -> None:
        cap = self.cap
        f = frame.f_locals
        opt = f["self"]
        if not call:
            cap.handled -= 1
            for p, g in self.frames.pop(id(frame), {}).values():
                st = cap.by_data.get(id(p._data))
                if st is None or st[0] is not p._data:
                    cap.fail("an optimizer updated a parameter the capture does not track")
                    return
                st[1], st[2] = g, st[2] + 1
            for d in opt.state.values():
                for k, v in list(d.items()):
                    if isinstance(v, np.ndarray):
                        d[k] = np.array(plain(v), copy=True)
            return
        defer = can_defer_step(cap, opt)
        cap.handled += 1
        self.active = True
        self.opts[id(opt)] = opt
        if type(opt) not in (SGD, Adam) or f.get("closure") is not None:
            cap.fail(f"{type(opt).__name__}.step() with a closure or of a subclass")
            return
        update = sgd_update if type(opt) is SGD else adam_update
        news: dict = {}
        for gi, group in enumerate(opt.param_groups):
            for name in sorted(group):
                if name not in ("params", "lr"):
                    self.guards.append((GroupValue(opt, gi, name), group[name]))
            for p in group["params"]:
                self.slot(p, "read")
                if p._grad is None:
                    continue
                gp, gg = cap.graph_tensor(p), cap.graph_tensor(p._grad)
                if gp is None or gg is None:
                    return
                news[id(p)] = (p, cap.stop_gradient(update(self, opt, gi, group, p, gp, gg)))
        if defer and cap.deferred.on and not cap.reasons:  # its body sees no parameters
            self.frames[id(frame)] = DeferredStep(opt, news)
            return
        self.frames[id(frame)] = news

    # --------------------------------------------------------------- graph helpers
    def emit(self, name: str, a: Any, b: Any = None) -> GTensor:
        """``name(a, b)`` as a graph node; a Python number becomes a constant of ``a``'s
        dtype (numpy's rule for a weak scalar)."""
        cap = self.cap
        op = REGISTRY[name]
        ins = [a] if b is None else [a, b]
        dt = next(x.dtype.np_dtype for x in ins if isinstance(x, GTensor))
        ins = [x if isinstance(x, GTensor) else cap._const(np.asarray(x, dt)) for x in ins]
        shape, odt = op.infer(*[x.aval for x in ins])
        node = cap.graph.create_op(name, ins, {}, (AVal(tuple(shape), np.dtype(odt)),),
                                   op.tf_name or name, op_def=op)
        cap.signature.append((name, tuple(cap._index(x) for x in ins)))
        return node.outputs[0]

    def _as(self, g: GTensor, dt: np.dtype) -> GTensor:
        return g if g.dtype.np_dtype == dt else self.cap._cast(g, dt)

    def host_feed(self, fn: Any) -> GTensor:
        """A scalar placeholder fed with ``fn()`` at each call (computed as eager computes it)."""
        val = np.asarray(fn())
        op = self.cap.graph.create_op("Placeholder", (), {"dtype": val.dtype, "shape": ()},
                                      (AVal((), val.dtype),), "host")
        self.host.append((fn, op.outputs[0]))
        self.cap.entry[op.outputs[0]] = val
        self.cap.signature.append(("host", len(self.host)))
        return op.outputs[0]

    def state_array(self, opt: Any, p: Any, key: str) -> GTensor:
        """The current value of ``opt.state[p][key]``: a placeholder fed from the state at each
        call, or the value this capture already computed."""
        k = (id(opt), id(p), key)
        out = self.state_out.get(k)
        if out is not None:
            return out[3]
        g = self.state_in.get(k)
        if g is None:
            arr = plain(opt.state[p][key])
            op = self.cap.graph.create_op("Placeholder", (), {"dtype": arr.dtype,
                                                              "shape": arr.shape},
                                          (AVal(arr.shape, arr.dtype),), "state")
            g = self.state_in[k] = op.outputs[0]
            self.state_keys[k] = (opt, p, key)
            self.cap.entry[g] = np.array(arr, copy=True)
            self.cap.signature.append(("state", key, arr.shape))
        return g

    def set_state(self, opt: Any, p: Any, key: str, g: GTensor) -> None:
        self.state_out[(id(opt), id(p), key)] = [opt, p, key, g]

    # ---------------------------------------------------------------------- finish
    def finish(self) -> tuple[list, list]:
        """(effects, grad guards): what a replay repeats after its run, what it checks first."""
        effects: list = []
        guards: list = []
        for s in self.slots.values():
            leaf, now = s.leaf, s.leaf._grad
            if s.guard:
                guards.append((leaf, s.entry is None))
            if now is s.entry:
                continue
            if now is None:
                effects.append(("grad_none", leaf, None))
            else:
                g = self.cap.graph_tensor(now)
                if g is None:
                    return [], []
                effects.append(("grad_set", leaf, g))
        for opt, p, key, g in self.state_out.values():
            effects.append(("state", (opt, p, key), g))
        for opt, p, delta in self.counters.values():
            effects.append(("counter", (opt, p), delta))
        return effects, guards

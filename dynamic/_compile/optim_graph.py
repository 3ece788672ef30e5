"""``SGD.step`` and ``Adam.step`` (dynamic/optim) as graph nodes, for whole-step capture.

Each function mirrors its eager step's numpy arithmetic op for op, in the parameter's dtype,
with Python numbers as constants of that dtype (numpy's weak-scalar rule), so the compiled
update computes what eager computes. Values eager derives in Python at each step (``-lr``,
Adam's bias corrections) are host feeds (:meth:`.step.StepCapture.host_feed`); optimizer state
arrays are fed from and written back to ``optimizer.state``; whether a state entry exists on
entry is a guard.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from staticgraph.graph.core import Tensor as GTensor


class GroupValue:
    """``opt.param_groups[gi][name]`` read at each call: a guard's probe (the generated fast
    path inlines it: :mod:`.fastpath`)."""

    __slots__ = ("opt", "gi", "name")

    def __init__(self, opt: Any, gi: int, name: str) -> None:
        self.opt, self.gi, self.name = opt, gi, name

    def __call__(self) -> Any:
        return self.opt.param_groups[self.gi][self.name]


class NegLR:
    """SGD's host feed: ``-lr`` of a param group as a 0-d array of the parameter's dtype,
    computed as eager's ``SGD.step`` computes it (the fast path caches it per ``lr`` object)."""

    __slots__ = ("opt", "gi", "dtype")

    def __init__(self, opt: Any, gi: int, dtype: np.dtype) -> None:
        self.opt, self.gi, self.dtype = opt, gi, dtype

    def __call__(self) -> np.ndarray:
        return np.asarray(-self.opt.param_groups[self.gi]["lr"], self.dtype)


class AdamHost:
    """One of Adam's host feeds for parameter ``p``, computed as eager's ``Adam.step``
    computes it at step ``n`` (its state's ``step`` on entry, 0 for a fresh state, plus the
    steps of this call so far: ``done + 1``): ``kind`` ``"bc2"`` is ``(1 - beta**n) ** 0.5``,
    ``"lr"`` is ``-lr / (1 - beta**n)``. The parameters of a group at the same step share the
    value: the fast path computes it once per call (:func:`.fastpath._host_expr`)."""

    __slots__ = ("kind", "opt", "gi", "p", "init", "done", "beta", "dtype")

    def __init__(self, kind: str, opt: Any, gi: int, p: Any, init: bool, done: int,
                 beta: float, dtype: np.dtype) -> None:
        self.kind, self.opt, self.gi, self.p, self.init = kind, opt, gi, p, init
        self.done, self.beta, self.dtype = done, beta, dtype

    def step_now(self) -> int:
        return (0 if self.init else self.opt.state[self.p]["step"]) + self.done + 1

    def __call__(self) -> np.ndarray:
        n = self.step_now()
        if self.kind == "bc2":
            return np.asarray((1 - self.beta ** n) ** 0.5, self.dtype)
        return np.asarray(-self.opt.param_groups[self.gi]["lr"] / (1 - self.beta ** n),
                          self.dtype)


class StatePresent:
    """Whether ``opt.state[p]`` holds anything (``key`` ``None``) or a ``key`` entry: a
    guard's probe (the generated fast path inlines it: :mod:`.fast_optim`)."""

    __slots__ = ("opt", "p", "key")

    def __init__(self, opt: Any, p: Any, key: str | None) -> None:
        self.opt, self.p, self.key = opt, p, key

    def __call__(self) -> bool:
        if self.key is None:
            return bool(self.opt.state.get(self.p))
        return self.opt.state.get(self.p, {}).get(self.key) is not None


def _present(opt: Any, p: Any, key: str | None) -> Any:
    return StatePresent(opt, p, key)


def _entry_guard(sc: Any, opt: Any, p: Any, key: str | None) -> bool:
    """Whether the state (``key``, or any for ``None``) exists now; guarded on first sight."""
    tag = (id(opt), id(p), key or "", "guard")
    fn = _present(opt, p, key)
    now = fn()
    if tag not in sc.state_in:
        sc.state_in[tag] = None
        sc.guards.append((fn, now))
    return now


def sgd_update(sc: Any, opt: Any, gi: int, group: dict, p: Any, gp: GTensor,
               gg: GTensor) -> GTensor:
    """The new value of ``p`` after ``SGD.step`` (``dynamic.optim.SGD``)."""
    e = sc.emit
    grad = gg
    if group["maximize"]:
        grad = e("neg", grad)
    if group["weight_decay"] != 0:
        grad = e("add", grad, e("mul", gp, group["weight_decay"]))
    mom = group["momentum"]
    if mom != 0:
        k = (id(opt), id(p), "momentum_buffer")
        have = k in sc.state_out or _entry_guard(sc, opt, p, "momentum_buffer")
        if not have:
            buf = grad
        else:
            buf = e("add", e("mul", sc.state_array(opt, p, "momentum_buffer"), mom),
                    e("mul", grad, 1 - group["dampening"]))
        sc.set_state(opt, p, "momentum_buffer", buf)
        grad = e("add", grad, e("mul", buf, mom)) if group["nesterov"] else buf
    dt = p._data.dtype
    key = (id(opt), gi, "-lr", dt)  # one feed per group and dtype
    lr = sc.host_cache.get(key)
    if lr is None:
        lr = sc.host_cache[key] = sc.host_feed(NegLR(opt, gi, dt))
    return e("add", gp, e("mul", grad, lr))


def adam_update(sc: Any, opt: Any, gi: int, group: dict, p: Any, gp: GTensor,
                gg: GTensor) -> GTensor:
    """The new value of ``p`` after ``Adam.step`` (``dynamic.optim.Adam``)."""
    e = sc.emit
    b1, b2 = group["betas"]
    grad = gg
    if group["maximize"]:
        grad = e("neg", grad)
    ck = (id(opt), id(p))
    if ck not in sc.counters:
        init = not _entry_guard(sc, opt, p, None)
        sc.counters[ck] = [opt, p, 0]
    else:
        init = False
    done = sc.counters[ck][2]
    fresh = init and done == 0
    if fresh:
        shape, dt = p._data.shape, p._data.dtype
        zeros = sc.cap._const(np.zeros(shape, dt))
        m_old, v_old = zeros, zeros
        mx_old = zeros if group["amsgrad"] else None
    else:
        m_old = sc.state_array(opt, p, "exp_avg")
        v_old = sc.state_array(opt, p, "exp_avg_sq")
        mx_old = sc.state_array(opt, p, "max_exp_avg_sq") if group["amsgrad"] else None
    sc.counters[ck][2] = done + 1
    dt = p._data.dtype
    if group["weight_decay"] != 0:
        grad = e("add", grad, e("mul", gp, group["weight_decay"]))
    m = e("add", m_old, e("mul", e("sub", grad, m_old), 1 - b1))
    v = e("add", e("mul", v_old, b2), e("mul", e("mul", grad, grad), 1 - b2))
    sc.set_state(opt, p, "exp_avg", m)
    sc.set_state(opt, p, "exp_avg_sq", v)
    if mx_old is not None:
        v = e("maximum", mx_old, v)
        sc.set_state(opt, p, "max_exp_avg_sq", v)
    bc2 = sc.host_feed(AdamHost("bc2", opt, gi, p, init, done, b2, dt))
    lr = sc.host_feed(AdamHost("lr", opt, gi, p, init, done, b1, dt))
    denom = e("add", e("div", e("sqrt", v), bc2), group["eps"])
    return e("add", gp, e("mul", e("div", m, denom), lr))

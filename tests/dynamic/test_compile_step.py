"""Whole-step capture (issue #14): a compiled function that runs backward and an in-place
optimizer update is one plan; weights, ``.grad``, optimizer state and version counters match
eager after several steps, and a failed run writes nothing."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic import nn
from dynamic._compile.plan import Plan
from staticgraph.compiler.cpu.executor import Runner
from staticgraph.compiler.cpu.instance import Instance
from staticgraph.session import Session


def _breaks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.endswith("graph_breaks")]


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))


def _data(n: int = 6):
    rng = np.random.default_rng(1)
    return (torch.tensor(rng.normal(size=(n, 3)).astype(np.float32)),
            torch.tensor(rng.normal(size=(n, 2)).astype(np.float32)))


def _same(m1, m2, o1=None, o2=None, rtol=1e-6):
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        np.testing.assert_allclose(p1.detach().numpy(), p2.detach().numpy(), rtol=rtol,
                                   atol=1e-7)
        assert (p1.grad is None) == (p2.grad is None)
        if p1.grad is not None:
            np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=rtol, atol=1e-7)
        assert p1._version == p2._version
    if o1 is not None:
        for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
            s1, s2 = o1.state.get(p1, {}), o2.state.get(p2, {})
            assert sorted(s1) == sorted(s2)
            for k in s1:
                np.testing.assert_allclose(np.asarray(s1[k]), np.asarray(s2[k]), rtol=rtol,
                                           atol=1e-7)


def _patch_runs(monkeypatch, fn) -> None:
    """Route every run of the compiled executor through ``fn(real_call, *args)``: the
    runner's, the fast path's direct call of the bound instance (:mod:`dynamic._compile.direct`;
    a property on the class wins over the instance's own ``call``) and its call of the single
    driver (:mod:`dynamic._compile.driver_direct`: ``nn.Linear`` models reach it)."""
    real = Runner.__call__

    def runner(self, *a):
        def inner(*b):
            _PATCHED["runner"] = True  # its instance's call is not a second run
            try:
                return real(self, *b)
            finally:
                _PATCHED["runner"] = False
        return fn(inner, *a)

    monkeypatch.setattr(Runner, "__call__", runner)
    monkeypatch.setitem(_PATCHED, "on", True)  # a runner bound meanwhile may keep the wrapper

    def wrapper(inst):
        own = inst.__dict__["call"]
        return lambda *a: fn(own, *a) if _PATCHED["on"] and not _PATCHED["runner"] \
            else own(*a)

    monkeypatch.setattr(Instance, "call", property(
        wrapper, lambda inst, v: inst.__dict__.__setitem__("call", v)), raising=False)

    def driver(inst):  # the fast path's call of the single driver (driver_direct.py)
        got = inst.__dict__.get("driver_args")
        if got is None:
            return None
        drv, A, O = got
        return (lambda *a: fn(drv, *a) if _PATCHED["on"] else drv(*a)), A, O

    monkeypatch.setattr(Instance, "driver_args", property(
        driver, lambda inst, v: inst.__dict__.__setitem__("driver_args", v)), raising=False)


_PATCHED = {"on": False, "runner": False}


def _step_fn(model, opt, zero_first: bool, set_to_none: bool):
    def step(x, y):
        if zero_first:
            opt.zero_grad(set_to_none=set_to_none)
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        if not zero_first:
            opt.zero_grad(set_to_none=set_to_none)
        return loss
    return step


OPTS = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
    "amsgrad": lambda ps: torch.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1),
}


@pytest.mark.parametrize("zero_first, set_to_none", [(True, True), (True, False),
                                                      (False, True), (False, False)])
@pytest.mark.parametrize("name", list(OPTS))
def test_training_steps_match_eager(logs, monkeypatch, request, name, zero_first, set_to_none):
    if (zero_first, set_to_none) == (True, True):  # each optimizer once on numba's driver
        request.getfixturevalue("numba_tier")  # (the others: LLVM tier, tests/conftest.py)
    runs = []  # runs of the compiled executor (the fast path calls its runner directly)
    _patch_runs(monkeypatch, lambda real, *a: runs.append(1) or real(*a))
    x, y = _data()
    m1, m2 = _model(), _model()
    o1, o2 = OPTS[name](list(m1.parameters())), OPTS[name](list(m2.parameters()))
    compiled = torch.compile(_step_fn(m1, o1, zero_first, set_to_none))
    eager = _step_fn(m2, o2, zero_first, set_to_none)
    for i in range(5):
        if i == 3:  # a learning-rate change is a host feed: no recompile
            for o in (o1, o2):
                o.param_groups[0]["lr"] *= 0.5
        runs.clear()
        l1, l2 = compiled(x, y), eager(x, y)
        np.testing.assert_allclose(l1.item(), l2.item(), rtol=1e-6)
        _same(m1, m2, o1, o2)
        if i >= 3:
            assert len(runs) == 1  # the whole step is one run of one plan
    assert not _breaks(logs)
    assert compiled.n_plans <= 3


def _manual_step(w):
    def step(x):
        loss = (w * x).tanh().sum()
        loss.backward()
        with torch.no_grad():
            w.sub_(0.1 * w.grad)
        w.grad = None
        return loss
    return step


def _manual_sgd(w):
    def step(x):
        loss = (w * x).tanh().sum()
        loss.backward()
        with torch.no_grad():
            w.data -= 0.1 * w.grad.data
        return loss
    return step


def _grads(w):
    def grads(x):
        y = (w * x * w).sum()
        (g,) = torch.autograd.grad(y, [w])
        return y, g
    return grads


@pytest.mark.parametrize("make", [_manual_step, _manual_sgd, _grads])
def test_manual_sgd_under_no_grad_and_autograd_grad(logs, make):
    w1, w2 = (torch.tensor([0.5, -1.0], requires_grad=True) for _ in range(2))
    x = torch.tensor([1.0, 2.0])
    compiled, eager = torch.compile(make(w1)), make(w2)
    for _ in range(4):
        a, b = compiled(x), eager(x)
        for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,),
                        strict=True):
            np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(w1.detach().numpy(), w2.detach().numpy(), rtol=1e-6)
        assert (w1.grad is None) == (w2.grad is None) and w1._version == w2._version
        if w1.grad is not None:
            np.testing.assert_allclose(w1.grad.numpy(), w2.grad.numpy(), rtol=1e-6)
    assert not _breaks(logs) and compiled.n_plans <= 2


def test_failed_run_leaves_parameters_intact(monkeypatch):
    x, y = _data()
    m = _model()
    opt = torch.optim.SGD(list(m.parameters()), lr=0.1, momentum=0.9)
    step = torch.compile(_step_fn(m, opt, True, True))
    fail = [False]

    def boom(*args):
        raise RuntimeError("executor failure")

    # patched before the fast path is built: it binds the single driver it calls
    _patch_runs(monkeypatch, lambda real, *a: boom() if fail[0] else real(*a))
    for _ in range(3):
        step(x, y)
    before = [(p.detach().numpy().copy(), p.grad.numpy().copy(), p._version,
               opt.state[p]["momentum_buffer"].copy()) for p in m.parameters()]
    monkeypatch.setattr(Plan, "forward", boom)
    monkeypatch.setattr(Session, "run", boom)
    fail[0] = True
    with pytest.raises(RuntimeError, match="executor failure"):
        step(x, y)
    for p, (v, g, ver, buf) in zip(m.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), v)
        np.testing.assert_array_equal(p.grad.numpy(), g)
        np.testing.assert_array_equal(opt.state[p]["momentum_buffer"], buf)
        assert p._version == ver


def test_step_with_a_hook_on_a_parameter_falls_back(logs):
    x, y = _data()
    m1, m2 = _model(), _model()
    calls = []
    for m in (m1, m2):
        m[0].weight.register_hook(lambda g: calls.append(1) or g * 2)
    o1, o2 = torch.optim.SGD(list(m1.parameters()), lr=0.1), \
        torch.optim.SGD(list(m2.parameters()), lr=0.1)
    compiled, eager = torch.compile(_step_fn(m1, o1, True, True)), _step_fn(m2, o2, True, True)
    for _ in range(2):
        compiled(x, y)
        eager(x, y)
        _same(m1, m2)
    assert len(calls) == 4 and "hook" in _breaks(logs)[0]

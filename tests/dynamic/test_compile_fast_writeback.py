"""The compiled whole step's fast path (issue #14): the bound instance is called directly (a run
it cannot take goes through the runner), small parameters are known by the identity of their
array after one check, and a small ``.grad`` receives the new value in place only when nobody
but its parameter can observe it -- eager's (and torch's) ``.grad`` semantics either way:
``zero_grad(set_to_none=True)`` gives a new tensor whose values the old one does not share,
accumulation writes into the same tensor."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import dynamic as torch
from dynamic import nn
from dynamic._compile import driver_direct
from tests.dynamic.compile_pairs import assert_same, data


@pytest.fixture(autouse=True)
def _instance_call_path(monkeypatch):
    """These tests are about the write-backs after the instance's call; the nn.Linear models
    here reach the single driver once numba takes over (at a time the machine decides), whose
    own write-backs (buffers swapped by reference) test_compile_driver_direct.py tests."""
    monkeypatch.setattr(driver_direct, "ENABLED", False)


def _messages(caplog, kind: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.endswith(kind)]


def _pair(set_to_none: bool = True, zero: bool = True):
    """A compiled and an eager copy of one small SGD step (parameters under 4 KiB)."""
    def make():
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
        opt = torch.optim.SGD(list(m.parameters()), lr=0.1)

        def step(x, y):
            if zero:
                opt.zero_grad(set_to_none=set_to_none)
            loss = ((m(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return m, step
    (m1, s1), (m2, s2) = make(), make()
    return m1, torch.compile(s1), m2, s2


def test_held_grad_keeps_its_values_and_a_new_grad_appears():
    x, y = data()
    m1, compiled, m2, eager = _pair()
    for _ in range(4):  # capture, general run, fast path's first run, recycled runs
        compiled(x, y)
        eager(x, y)
    arrays = [id(p.grad._data) for p in m1.parameters()]
    compiled(x, y)
    eager(x, y)
    assert_same(m1, m2)
    # nobody held the old .grad: the fast path reused it (no new array per step)
    assert [id(p.grad._data) for p in m1.parameters()] == arrays
    held = [(p.grad, p.grad.numpy().copy()) for p in m1.parameters()]
    held_e = [p.grad for p in m2.parameters()]
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
        assert_same(m1, m2)
    for p, (g, v), ge in zip(m1.parameters(), held, held_e, strict=True):
        assert p.grad is not g and ge is not p.grad  # a new tensor, as eager gives
        np.testing.assert_array_equal(g.numpy(), v)  # the old one kept its values


@pytest.mark.parametrize("hold", ["numpy", "view", "detach", "weakref", "requires_grad",
                                  "in_place", "own_grad"])
def test_grad_observed_between_steps_is_not_recycled(hold):
    x, y = data()
    m1, compiled, m2, eager = _pair()
    for _ in range(4):
        compiled(x, y)
        eager(x, y)
    g = m1[0].weight.grad
    before = g.numpy().copy()
    keep = None
    if hold == "numpy":
        keep = g.numpy()
    elif hold == "view":
        keep = g[0]
    elif hold == "detach":
        keep = g.detach()
    elif hold == "weakref":
        keep = weakref.ref(g)
    elif hold == "requires_grad":
        g.requires_grad_(True)
    elif hold == "in_place":
        g.mul_(1.0)
    else:  # a .grad of its own, then requires_grad off again: a new .grad has none
        g.requires_grad_(True)
        (g * 2).sum().backward()
        g.requires_grad_(False)
        assert g.grad is not None
    gid = id(g)
    del g
    gc.collect()
    compiled(x, y)
    eager(x, y)
    assert_same(m1, m2)
    new = m1[0].weight.grad
    assert not new.requires_grad and new._version == 0 and new.grad is None
    if hold in ("numpy", "view", "detach"):
        arr = keep if isinstance(keep, np.ndarray) else keep.numpy()
        np.testing.assert_array_equal(arr, before[0] if hold == "view" else before)
    if hold == "weakref":
        assert keep() is not new and id(new) != gid or keep() is None


def test_grads_recycled_in_steady_state_match_torch():
    torch_ = pytest.importorskip("torch")
    x, y = data()
    m1, compiled, _, _ = _pair()
    tm = torch_.nn.Sequential(torch_.nn.Linear(2, 4), torch_.nn.Tanh(), torch_.nn.Linear(4, 1))
    with torch_.no_grad():
        for p, q in zip(tm.parameters(), m1.parameters(), strict=True):
            p.copy_(torch_.tensor(q.detach().numpy()))
    topt = torch_.optim.SGD(tm.parameters(), lr=0.1)
    tx, ty = torch_.tensor(x.numpy()), torch_.tensor(y.numpy())
    for _ in range(6):
        topt.zero_grad(set_to_none=True)
        loss = ((tm(tx) - ty) ** 2).mean()
        loss.backward()
        topt.step()
        got = compiled(x, y)
        np.testing.assert_allclose(got.item(), loss.item(), rtol=1e-5)
        for p, q in zip(m1.parameters(), tm.parameters(), strict=True):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4,
                                       atol=1e-6)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_accumulation_writes_into_the_same_grad(set_to_none):
    """Without zero_grad in the step the gradient accumulates into the same tensor (torch's
    rule), also with the fast path."""
    x, y = data()
    m1, compiled, m2, eager = _pair(set_to_none, zero=False)
    compiled(x, y)
    eager(x, y)
    for _ in range(4):
        before = [p.grad for p in m1.parameters()]
        before_e = [p.grad for p in m2.parameters()]
        compiled(x, y)
        eager(x, y)
        assert_same(m1, m2)
        assert [p.grad is b for p, b in zip(m1.parameters(), before, strict=True)] == \
            [p.grad is b for p, b in zip(m2.parameters(), before_e, strict=True)]


def test_parameter_storage_replaced_between_steps(logs):
    """A parameter's array known by identity: a new array of the same shape is checked and
    used; one of another shape recompiles (logged)."""
    x, y = data()
    m1, compiled, m2, eager = _pair()
    for _ in range(4):
        compiled(x, y)
        eager(x, y)
    for m in (m1, m2):
        m[0].bias.data = torch.full((4,), 0.25)
    for _ in range(2):
        compiled(x, y)
        eager(x, y)
        assert_same(m1, m2)
    assert not _messages(logs, "recompiles")
    for m in (m1, m2):
        m[2].weight.data = torch.zeros((1, 4))
    compiled(x, y)
    eager(x, y)
    assert_same(m1, m2)


def test_noncontiguous_input_runs_through_the_runner():
    """The guards check class, dtype and shape; another memory layout makes the instance's
    direct call fail, and the runner (which normalizes layouts) runs the step instead."""
    x, y = data()
    m1, compiled, m2, eager = _pair()
    for _ in range(4):
        compiled(x, y)
        eager(x, y)
    xt = torch.tensor(np.asfortranarray(x.numpy()))  # (4, 2), not C-contiguous
    yt = y
    assert not xt._data.flags.c_contiguous
    for _ in range(2):
        np.testing.assert_allclose(compiled(xt, yt).item(), eager(xt, yt).item(), rtol=1e-5)
        assert_same(m1, m2)
    np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-5)
    assert_same(m1, m2)
    assert compiled.n_plans == 1

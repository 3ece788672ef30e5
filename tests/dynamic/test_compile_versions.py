"""Version counters under ``dynamic.compile`` (issue #14, "correct or eager"): a whole step's
``.grad`` and parameters end at eager's ``_version`` on every call (capture, general run, fast
path, driver), including a ``.grad`` that a second ``backward()`` of the step added into in
place; and a compiled forward raises PyTorch's in-place error exactly where eager does (a fed
tensor its backward reads was written in place), not where eager does not."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn.functional as F
from dynamic import nn
from dynamic._compile import capture, driver_direct

X = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
Y = np.array([0, 1, 1, 0])


def _pair(n_backward: int, opt_kind: str, set_to_none: bool):
    def make():
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
        ps = list(m.parameters())
        opt = torch.optim.SGD(ps, lr=0.1, momentum=0.9) if opt_kind == "sgd" else \
            torch.optim.Adam(ps, lr=0.01)

        def step(x, y):
            opt.zero_grad(set_to_none=set_to_none)
            loss = F.cross_entropy(m(x), y)
            for k in range(n_backward):
                (loss * (k + 1)).backward(retain_graph=k + 1 < n_backward)
            opt.step()
            return loss
        return m, step
    (m1, s1), (m2, s2) = make(), make()
    return m1, torch.compile(s1), m2, s2


@pytest.mark.parametrize(("n_backward", "opt_kind", "set_to_none", "defer", "driver"), [
    (2, "sgd", True, True, True), (2, "sgd", True, False, True), (2, "sgd", True, True, False),
    (2, "sgd", True, False, False), (3, "adam", False, True, True), (3, "adam", True, True, False),
    (2, "adam", False, True, False), (3, "sgd", False, False, False),
    (1, "adam", True, True, False)])
def test_grad_and_parameter_versions_match_eager(monkeypatch, request, n_backward, opt_kind,
                                                 set_to_none, defer, driver):
    """``driver``: numba's tier, the fast path calls its single driver itself (one numba
    compile per optimizer: Adam's in-place zeroed ``.grad`` with three backwards; one backward:
    test_compile_driver_direct.py's Adam case); else the LLVM tier."""
    if driver:
        request.getfixturevalue("numba_tier")
    monkeypatch.setattr(capture, "DEFER", [defer])
    monkeypatch.setattr(driver_direct, "ENABLED", driver)
    m1, compiled, m2, eager = _pair(n_backward, opt_kind, set_to_none)
    x, y = torch.tensor(X), torch.tensor(Y)
    for _ in range(6):  # capture, general run, the fast path's first and recycling runs
        l1, l2 = compiled(x, y), eager(x, y)
        np.testing.assert_allclose(l1.item(), l2.item(), rtol=1e-5)
        for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
            np.testing.assert_allclose(p1.detach().numpy(), p2.detach().numpy(), rtol=1e-4,
                                       atol=1e-6)
            np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-4, atol=1e-6)
            assert (p1._version, p1.grad._version) == (p2._version, p2.grad._version)
    assert not compiled.break_reasons


def test_two_backward_grad_version_matches_torch():
    pt = pytest.importorskip("torch")
    w = pt.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    want = w.grad._version
    m1, compiled, _, _ = _pair(2, "sgd", True)
    for _ in range(4):
        compiled(torch.tensor(X), torch.tensor(Y))
        assert [p.grad._version for p in m1.parameters()] == [want] * 4


FORWARDS = {  # name: (function of x, w), whether eager's backward reads x's values
    "mul_self": (lambda x, w: (x * x * w).sum(), True),
    "mul_scalar": (lambda x, w: (x * 3 + w).sum(), False),
    "sin": (lambda x, w: (x.sin() * w).sum(), True),
    "exp": (lambda x, w: (x.exp() + w).sum(), False),
    "matmul": (lambda x, w: (x @ w).sum(), True),
}


def _mutated_backward(fn, compiled: bool):
    torch.manual_seed(0)
    w = torch.randn(3, 3, requires_grad=True)
    src = torch.randn(3, 3, requires_grad=True)
    f = torch.compile(fn) if compiled else fn
    for _ in range(3 if compiled else 1):  # the replayed plan is the one tested
        src.grad = w.grad = None
        x = src * 1.0
        out = f(x, w)
        with torch.no_grad():
            x.add_(1.0)
        try:
            out.backward()
        except RuntimeError as e:
            return str(e)
    return (src.grad.numpy().copy(), w.grad.numpy().copy())


@pytest.mark.parametrize("name", [n for n in FORWARDS if n != "mul_scalar"])
def test_in_place_write_after_a_compiled_forward_errs_as_eager(name):
    """(``x * 3``: eager's mul node keeps ``x`` although only PyTorch's scalar is needed, so
    eager raises where PyTorch does not; the compiled backward reads no ``x``, as PyTorch's
    node: the torch test below.)"""
    fn, reads = FORWARDS[name]
    got, want = _mutated_backward(fn, True), _mutated_backward(fn, False)
    if reads:
        assert isinstance(want, str) and got == want  # PyTorch's message, same tensor
        assert "which is output 0 of Mul, is at version 1; expected version 0" in got
    else:  # no error: the gradients are those of the values at the call
        assert not isinstance(got, str) and not isinstance(want, str)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5)


@pytest.mark.parametrize("name", list(FORWARDS))
def test_in_place_error_matches_torch(name):
    """The compiled forward raises exactly where PyTorch does (and gives its gradients where
    it does not)."""
    pt = pytest.importorskip("torch")
    fn, reads = FORWARDS[name]
    got = _mutated_backward(fn, True)
    assert isinstance(got, str) == reads
    w = pt.randn(3, 3, requires_grad=True)
    x = pt.randn(3, 3, requires_grad=True) * 1.0
    out = fn(x, w)
    with pt.no_grad():
        x.add_(1.0)
    try:
        out.backward()
        raised = False
    except RuntimeError:
        raised = True
    assert raised == reads

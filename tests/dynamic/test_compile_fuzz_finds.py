"""``dynamic.compile`` bugs the differential fuzzer's ``compile`` oracle found (tests/fuzz/
oracle_compile.py), each as a focused test: the compiled call gives eager's values and runs
compiled (no graph break), or falls back to eager with a logged reason."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
from dynamic._compile import driver_direct
from staticgraph import ops


def _sgd_step(w, opt):
    def step(x):
        opt.zero_grad()
        y = ops.div(x, w)  # a 0-d parameter broadcast against a vector
        loss = ops.mean(y)
        loss.backward()
        opt.step()
        return loss
    return step


def test_step_unbroadcasts_a_traced_cotangent_to_a_0d_parameter():
    """Regression ``compile-step-traced-cotangent-unbroadcast``: the capture's eager backward
    got the ``div`` rule's cotangent as a ``TracedArray`` (an ndarray subclass) and broadcast
    it to the 0-d parameter's shape ("cannot broadcast a non-scalar to a scalar array")
    instead of summing it."""
    runs = {}
    for compiled in (False, True):
        w = dynamic.tensor(np.array(-0.9), requires_grad=True)
        opt = dynamic.optim.SGD([w], lr=0.1)
        step = _sgd_step(w, opt)
        fn = dynamic.compile(step) if compiled else step
        out = []
        for k in range(3):
            x = dynamic.tensor(np.array([0.5 + k, -0.25]))
            out.append((fn(x).item(), w.item(), w.grad.item()))
        runs[compiled] = (out, fn)
    np.testing.assert_allclose(runs[True][0], runs[False][0], rtol=1e-12)
    assert runs[True][1].break_reasons == [] and runs[True][1].n_plans == 1


@pytest.mark.parametrize("direct", [True, False])
def test_step_fast_path_sets_grad_of_an_input_leaf(direct, monkeypatch, request):
    """The fast path's ``.grad`` recycling compared the leaf's ``.grad`` with the last one it
    made by identity, and both were ``None`` for an input leaf (a new tensor each call, no
    ``.grad`` yet) before its first recycle: ``None._data`` raised ``AttributeError`` on the
    third call (the fast path's first), with the driver called directly or not."""
    monkeypatch.setattr(driver_direct, "ENABLED", direct)
    if direct:  # the direct call exists on numba's single driver (else: the LLVM tier)
        request.getfixturevalue("numba_tier")
    runs = {}
    for compiled in (False, True):
        w = dynamic.tensor(np.array(-0.9), requires_grad=True)
        opt = dynamic.optim.SGD([w], lr=0.1)
        fn = dynamic.compile(_sgd_step(w, opt)) if compiled else _sgd_step(w, opt)
        out = []
        for k in range(5):
            x = dynamic.tensor(np.array([0.5 + k, -0.25]), requires_grad=True)
            loss = fn(x)
            out.append((loss.item(), w.item(), w.grad.item(), *x.grad.numpy()))
        runs[compiled] = (out, fn)
    np.testing.assert_allclose(runs[True][0], runs[False][0], rtol=1e-12)
    assert runs[True][1].break_reasons == [] and runs[True][1].n_plans == 1


def test_step_fast_path_of_a_symbolic_plan_sets_grad_of_an_input_leaf():
    """A plan with a symbolic batch dim: the fast path's builder sized the input leaf's
    ``.grad`` (to choose recycling) from its symbolic shape, ``(None, 1)``, and raised
    ``TypeError`` in ``np.prod`` on the call after the recompile (found by the fuzzer's
    ``compile`` oracle, seed 7071)."""
    runs = {}
    for compiled in (False, True):
        w = dynamic.tensor(np.array([-0.9]), requires_grad=True)
        opt = dynamic.optim.SGD([w], lr=0.1)
        fn = dynamic.compile(_sgd_step(w, opt)) if compiled else _sgd_step(w, opt)
        out = []
        for k, n in enumerate([2, 2, 3, 3, 4]):
            x = dynamic.tensor(np.linspace(0.5, 1.5 + k, n), requires_grad=True)
            loss = fn(x)
            out.append((loss.item(), w.item(), w.grad.item(), float(x.grad.numpy().sum())))
        runs[compiled] = (out, fn)
    np.testing.assert_allclose(runs[True][0], runs[False][0], rtol=1e-12)
    assert runs[True][1].break_reasons == [] and runs[True][1].n_plans == 2


def test_step_after_a_no_grad_copy_and_zero_grad_between_calls():
    """Found while deferring training steps: between calls of a compiled SGD step the user
    overwrites the parameter under ``no_grad`` (``w.copy_``) and calls ``zero_grad()``; the
    fast path's third call raised ``AttributeError: 'NoneType' object has no attribute
    '_data'`` (its ``.grad`` recycling compared ``None`` with ``None``). Values and the
    parameter after each call equal eager's."""
    runs = {}
    for compiled in (False, True):
        w = dynamic.tensor(np.ones((3, 2), np.float32), requires_grad=True)
        opt = dynamic.optim.SGD([w], lr=0.1)

        def step(x, w=w, opt=opt):
            opt.zero_grad()
            loss = ((x @ w) ** 2).sum()
            loss.backward()
            opt.step()
            return loss

        fn = dynamic.compile(step) if compiled else step
        out = []
        for k in range(5):
            x = dynamic.tensor(np.arange(12, dtype=np.float32).reshape(4, 3) / (k + 1))
            out.append((fn(x).item(), w.detach().numpy().copy()))
            with dynamic.no_grad():
                w.copy_(dynamic.tensor(np.full((3, 2), 0.5 * (k + 2), np.float32)))
            opt.zero_grad()
            assert w.grad is None
        runs[compiled] = out
    for (le, we), (lc, wc) in zip(runs[False], runs[True], strict=True):
        np.testing.assert_allclose(lc, le, rtol=1e-5)
        np.testing.assert_allclose(wc, we, rtol=1e-5)

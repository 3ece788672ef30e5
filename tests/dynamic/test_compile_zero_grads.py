"""``.grad`` through ops with no TF gradient under ``dynamic.compile`` (issue #14): ``floor``,
``round``, ``sign``... give zeros, as eager (and PyTorch) does, in a compiled forward (its
autograd node), a whole compiled step and a compiled ``autograd.grad``; an input no
differentiable path reaches (``detach``, unused) keeps ``None`` in all of them."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch

OPS = {"floor": torch.floor, "round": torch.round, "sign": torch.sign, "ceil": torch.ceil,
       "trunc": torch.trunc}


def _loss(op):
    def f(w, v, x):  # w only through ``op``; v through a differentiable path; u detached
        return (op(w * 1.5) * x).sum() + (v * x).sum() + (w.detach() * v).sum()
    return f


def _leaves():
    return (torch.tensor([0.4, -1.3, 2.2], requires_grad=True),
            torch.tensor([1.0, 0.5, -2.0], requires_grad=True))


def _grads(mode: str, op) -> tuple:
    w, v = _leaves()
    x = torch.tensor([1.0, 2.0, 3.0])
    f = _loss(op)
    if mode == "eager":
        f(w, v, x).backward()
        return w.grad, v.grad
    if mode == "forward":
        c = torch.compile(f)
        for _ in range(3):  # capture, general path, fast path
            w.grad = v.grad = None
            c(w, v, x).backward()
        return w.grad, v.grad
    if mode == "step":
        def step(x):
            w.grad = v.grad = None
            loss = f(w, v, x)
            loss.backward()
            return loss
        c = torch.compile(step)
        for _ in range(3):
            c(x)
        return w.grad, v.grad
    c = torch.compile(lambda w, v, x: torch.autograd.grad(f(w, v, x), [w, v]))
    for _ in range(3):
        out = c(w, v, x)
    return out


@pytest.mark.parametrize("mode", ["forward", "step", "grad"])
@pytest.mark.parametrize("name", list(OPS))
def test_no_gradient_ops_give_zeros_as_eager(logs, name, mode):
    want = _grads("eager", OPS[name])
    got = _grads(mode, OPS[name])
    np.testing.assert_array_equal(want[0].numpy(), np.zeros(3, np.float32))
    for g, e in zip(got, want, strict=True):
        assert g is not None
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6)
        assert g.dtype == e.dtype and g.shape == e.shape
    assert not [r for r in logs.records if r.name.endswith("graph_breaks")]


@pytest.mark.parametrize("mode", ["eager", "forward", "step"])
def test_detached_or_unused_inputs_keep_none(mode):
    w, v = _leaves()
    u = torch.tensor([3.0], requires_grad=True)
    x = torch.tensor([1.0, 2.0, 3.0])

    def f(w, v, u, x):
        return (w.detach() * v * x).sum()

    if mode == "eager":
        f(w, v, u, x).backward()
    elif mode == "forward":
        c = torch.compile(f)
        for _ in range(3):
            w.grad = v.grad = u.grad = None
            c(w, v, u, x).backward()
    else:
        def step(x):
            w.grad = v.grad = u.grad = None
            loss = f(w, v, u, x)
            loss.backward()
            return loss
        c = torch.compile(step)
        for _ in range(3):
            c(x)
    assert w.grad is None and u.grad is None
    np.testing.assert_allclose(v.grad.numpy(), (w * x).detach().numpy(), rtol=1e-6)

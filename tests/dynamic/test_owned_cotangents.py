"""Cotangents written in place (``Op.np_vjp_owned``, ``array_backward.add_arrays``): the array
backward overwrites a cotangent only where the engine alone holds it. Every gradient here is
compared bit for bit with the taped path (``create_graph=True``, which never writes in place),
and every array user code can see (gradient arguments, hook arguments, retained and captured
gradients, saved values for a second backward) is checked unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch

SIZES = (7, 20_001, 300_001)  # small (never in place), one whole-array call, several tiles


def _x(n: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.uniform(-2, 2, n).astype(np.float32), requires_grad=True)


def _chain(x):
    a = x.tanh()
    c = ((a * 1.5).sigmoid() * -1.0).exp()
    return (c * x + a).tanh() - a / 3.0 + (-x)


def _bits(t) -> bytes:
    return np.ascontiguousarray(t.detach().numpy()).tobytes()


def _taped(f, x, **kw):
    (g,) = torch.autograd.grad(f(x).sum(), [x], create_graph=True, **kw)
    return g


@pytest.mark.parametrize("n", SIZES)
def test_chain_gradients_equal_the_taped_path_bit_for_bit(n):
    x = _x(n)
    (g,) = torch.autograd.grad(_chain(x).sum(), [x])
    assert g.dtype == torch.float32
    assert _bits(g) == _bits(_taped(_chain, x))
    _chain(x).sum().backward()
    assert _bits(x.grad) == _bits(g)


@pytest.mark.parametrize("n", SIZES)
def test_a_gradient_argument_is_left_unchanged(n):
    x = _x(n)
    v = torch.tensor(np.random.default_rng(1).standard_normal(n).astype(np.float32))
    before = _bits(v)
    y = _chain(x)
    (g,) = torch.autograd.grad(y, [x], grad_outputs=v, retain_graph=True)
    assert _bits(v) == before
    (gt,) = torch.autograd.grad(_chain(x), [x], grad_outputs=v, create_graph=True)
    assert _bits(g) == _bits(gt)
    y.backward(v)
    assert _bits(v) == before and _bits(x.grad) == _bits(g)


@pytest.mark.parametrize("n", SIZES)
def test_hook_arguments_and_retained_gradients_are_not_overwritten(n):
    x = _x(n)
    seen = []
    a = x.tanh()
    a.register_hook(lambda g: seen.append((g, _bits(g))))
    b = a * 1.5
    b.retain_grad()
    s = torch.sigmoid(b)
    s.retain_grad()
    loss = ((s * -1.0).exp() * x).sum()
    loss.backward()
    g, snapshot = seen[0]
    assert _bits(g) == snapshot  # nothing wrote into the array the hook saw
    ref = torch.autograd.grad(((torch.sigmoid(x.tanh() * 1.5) * -1.0).exp() * x).sum(),
                              [x], create_graph=True)[0]
    assert _bits(x.grad) == _bits(ref)
    s_ref = (-(torch.sigmoid(b.detach()) * -1.0).exp() * x.detach())
    assert _bits(s.grad) == _bits(s_ref)
    np.testing.assert_array_equal(b.grad.numpy(),
                                  (s.grad * (s * (1 - s))).detach().numpy())


@pytest.mark.parametrize("n", SIZES)
def test_captured_intermediates_and_a_second_backward(n):
    x = _x(n)
    a = x.tanh()
    b = (a * 1.5).sigmoid()
    y = ((b * -1.0).exp() * x + a).tanh().sum()
    ga, gb, gx = torch.autograd.grad(y, [a, b, x], retain_graph=True)
    keep = [_bits(t) for t in (ga, gb, gx)]
    ga2, gb2, gx2 = torch.autograd.grad(y, [a, b, x])
    assert [_bits(t) for t in (ga, gb, gx)] == keep  # the first results were not reused
    assert [_bits(t) for t in (ga2, gb2, gx2)] == keep  # saved values intact for the second

    def f(t):
        a = t.tanh()
        return ((a * 1.5).sigmoid() * -1.0).exp() * t + a

    assert _bits(gx) == _bits(_taped(lambda t: f(t).tanh(), x))


def test_fan_in_sums_and_shared_cotangents():
    x = _x(300_001)
    w = _x(300_001, seed=2)

    def f(t):  # ``+`` hands one cotangent to two branches; x and w gather several
        u = t * w
        return (u + u).exp() + (u - t).tanh() * (t / w) + (-u)

    (gx, gw) = torch.autograd.grad(f(x).sum(), [x, w])
    rx, rw = torch.autograd.grad(f(x).sum(), [x, w], create_graph=True)
    assert _bits(gx) == _bits(rx) and _bits(gw) == _bits(rw)
    x.grad = torch.ones_like(x)  # accumulation into an existing .grad
    f(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (rx + 1).detach().numpy())


def test_against_torch():
    pt = pytest.importorskip("torch")
    x0 = np.random.default_rng(3).uniform(-2, 2, 300_001).astype(np.float32)
    xd = torch.tensor(x0, requires_grad=True)
    xt = pt.tensor(x0, requires_grad=True)
    _chain(xd).sum().backward()
    _chain(xt).sum().backward()
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=2e-6, atol=2e-6)


def _fan_out(x):
    # ``* 3.0`` makes a fresh cotangent; ``add`` hands that one array to both children, whose
    # rules (mul, exp) may write in place: neither may see the other's write
    return (((x * 1.5).exp() + x.tanh() * 2.0) * 3.0).sum()


def _fan_in(x):
    # ``a`` reaches the loss three ways: its pending cotangent is summed into twice
    a = (x * 0.5).sigmoid()
    return ((a * 2.0).exp() + a.tanh() + (a * -1.0)).sum() * 2.0


def _shared_pending(x):
    # ``add`` leaves one array pending for both ``a`` and ``t``; then ``u``'s cotangent is
    # summed into ``a``'s: that sum must not write into the array ``t`` still waits on
    a = x * 0.5
    t = x.tanh()
    u = a.sigmoid()
    return (((a + t) * 3.0) + u * 2.0).sum()


@pytest.mark.parametrize("f", [_fan_out, _fan_in, _shared_pending])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("lean", [True, False])
def test_shared_cotangents_are_never_written_in_place(f, n, lean):
    from dynamic.autograd import lean_walk

    x = _x(n, seed=3)
    saved = lean_walk.ENABLED[0]
    lean_walk.ENABLED[0] = lean
    try:
        (g,) = torch.autograd.grad(f(x), [x])
        f(x).backward()
    finally:
        lean_walk.ENABLED[0] = saved
    (gt,) = torch.autograd.grad(f(x), [x], create_graph=True)
    assert _bits(g) == _bits(gt)
    assert _bits(x.grad) == _bits(gt)

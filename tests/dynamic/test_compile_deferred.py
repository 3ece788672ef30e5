"""Deferred values in a capture (issue #14, first call): a function that never needs a value
gets its first call's results from the compiled plan (no eager forward, no eager backward);
anything that needs a value makes the capture compute every pending value eagerly, in order,
so values, ``.grad`` and the fallbacks are eager's."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic._compile import capture as capture_mod
from dynamic._compile.capture import CompileError


def _chain(x):
    a = torch.tanh(x)
    b = torch.sigmoid(a * 1.5)
    c = torch.exp(b * -1.0)
    return torch.sum(torch.tanh(c * x + a))


def _data(n: int = 1000) -> np.ndarray:
    return np.linspace(-2.0, 2.0, n).astype(np.float32)


def _chain_grad_fn(x):
    def run():
        y = _chain(x)
        (g,) = torch.autograd.grad(y, [x])
        return {"y": y, "g": g}
    return run


def test_a_value_free_function_defers_every_op_and_matches_eager_and_torch(flushes):
    x = torch.tensor(_data(), requires_grad=True)
    run = _chain_grad_fn(x)
    want = run()  # eager
    cf = torch.compile(run)
    first, second = cf(), cf()
    assert flushes == []  # nothing was computed eagerly during the capture
    for k in ("y", "g"):
        np.testing.assert_allclose(first[k].numpy(), want[k].detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_array_equal(first[k].numpy(), second[k].numpy())
    assert x.grad is None  # autograd.grad leaves .grad alone, as eager does
    torch_ = pytest.importorskip("torch")
    tx = torch_.tensor(_data(), requires_grad=True)
    ty = torch_.sum(torch_.tanh(torch_.exp(torch_.sigmoid(torch_.tanh(tx) * 1.5) * -1.0) * tx
                                + torch_.tanh(tx)))
    (tg,) = torch_.autograd.grad(ty, [tx])
    np.testing.assert_allclose(first["y"].numpy(), ty.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(first["g"].numpy(), tg.numpy(), rtol=1e-4, atol=1e-6)


def test_a_forward_only_function_returns_a_differentiable_result(flushes):
    w = torch.tensor(_data(8), requires_grad=True)

    @torch.compile
    def f(x):
        return torch.sum(torch.tanh(x * w) * 2.0)

    x = torch.tensor(_data(8)[::-1].copy())
    loss = f(x)
    assert flushes == [] and loss.requires_grad
    loss.backward()
    w2 = torch.tensor(_data(8), requires_grad=True)
    ref = torch.sum(torch.tanh(x * w2) * 2.0)
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy(), rtol=1e-5)


def _eager_and_compiled(fn, *make):
    want = fn(*[m() for m in make])
    got = torch.compile(fn)(*[m() for m in make])
    return want, got


def test_a_value_read_computes_pending_values_eagerly_and_exactly(flushes):
    def f(x):
        y = torch.tanh(x) * 3.0
        if y.sum() > 0:  # needs a value: pending values computed, one plan per branch
            return y * 2.0
        return y - 1.0

    want, got = _eager_and_compiled(f, lambda: torch.tensor(_data(16)))
    assert flushes  # computed eagerly
    np.testing.assert_array_equal(got.numpy(), want.numpy())  # eager's own values


def test_fullgraph_names_the_line_of_a_data_dependent_branch():
    @torch.compile(fullgraph=True)
    def f(x):
        y = torch.tanh(x)
        if y.sum() > 0:  # the line named
            return y
        return -y

    with pytest.raises(CompileError, match=r"test_compile_deferred\.py:\d+"):
        f(torch.tensor(_data(4)))


def test_first_call_grads_are_eagers_when_a_value_is_needed_midway(flushes):
    x = torch.tensor(_data(32), requires_grad=True)

    def run():
        a = torch.tanh(x) * 2.0
        b = torch.exp(x * -0.5)
        scale = float(b.sum())  # a value: a and b computed, in creation order
        y = torch.sum(a * b) * scale
        (g,) = torch.autograd.grad(y, [x])
        return y, g

    want = run()
    got = torch.compile(run)()
    assert flushes
    for u, v in zip(got, want, strict=True):
        np.testing.assert_array_equal(u.detach().numpy(), v.detach().numpy())


@pytest.mark.parametrize("kind", ["hook", "retain_grad", "print", "append", "numpy"])
def test_fallbacks_trigger_on_the_first_call(kind, capsys):
    log: list = []
    x0 = _data(8)

    def f(x):
        y = torch.tanh(x) * 2.0
        if kind == "hook":
            y.register_hook(lambda g: g)
        elif kind == "retain_grad":
            y.retain_grad()
        elif kind == "print":
            print("y is", y)
        elif kind == "append":
            log.append(y)
        elif kind == "numpy":
            x.numpy()[0] = 7.0  # a write the graph does not hold, after a deferred op
        return torch.sum(y * y)

    cf = torch.compile(f)
    for _ in range(2):
        x1 = torch.tensor(x0, requires_grad=kind != "numpy")
        x2 = torch.tensor(x0, requires_grad=kind != "numpy")
        got, want = cf(x1), f(x2)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        np.testing.assert_array_equal(x1.detach().numpy(), x2.detach().numpy())
        if kind != "numpy":
            got.backward()
            want.backward()
            np.testing.assert_array_equal(x1.grad.numpy(), x2.grad.numpy())
    assert cf.break_reasons  # the call stays eager, logged
    if kind == "append":
        np.testing.assert_array_equal(log[0].detach().numpy(), log[1].detach().numpy())
    if kind == "print":
        out = capsys.readouterr().out
        assert out.count("y is tensor(") == 4 and "Pending" not in out


def test_a_pending_tensor_kept_outside_the_function_gets_eagers_value(flushes):
    class Holder:
        pass

    h = Holder()

    def f(x):
        y = torch.tanh(x) * 2.0
        h.y = y  # a plain object's attribute: not an effect the capture sees
        return torch.sum(y)

    cf = torch.compile(f)
    x = torch.tensor(_data(8))
    s = cf(x)
    assert flushes  # held outside the result: computed eagerly
    np.testing.assert_array_equal(h.y.numpy(), (torch.tanh(x) * 2.0).numpy())
    np.testing.assert_allclose(s.item(), float(np.sum(h.y.numpy())), rtol=1e-6)


def test_no_grad_inside_is_replayed_under_no_grad():
    x = torch.tensor(_data(8), requires_grad=True)

    def f():
        with torch.no_grad():
            z = torch.tanh(x) * 2.0
        w = torch.exp(x) * 1.0
        z.sum().item()  # needs a value: z is computed later, under no_grad still
        return z, w

    z, w = torch.compile(f)()
    assert not z.requires_grad and z.grad_fn is None
    assert w.requires_grad and w.grad_fn is not None
    np.testing.assert_array_equal(z.numpy(), (np.tanh(_data(8)) * 2.0).astype(np.float32))


def test_an_exception_inside_leaves_computed_tensors(flushes):
    kept: dict = {}

    def f(x):
        kept["y"] = torch.tanh(x) * 2.0
        raise ValueError("user error")

    with pytest.raises(ValueError, match="user error"):
        torch.compile(f)(torch.tensor(_data(4)))
    np.testing.assert_array_equal(kept["y"].numpy(),
                                  (torch.tanh(torch.tensor(_data(4))) * 2.0).numpy())


def test_deferring_can_be_turned_off(flushes, monkeypatch):
    monkeypatch.setattr(capture_mod, "DEFER", [False])
    x = torch.tensor(_data(), requires_grad=True)
    run = _chain_grad_fn(x)
    got, want = torch.compile(run)(), run()
    np.testing.assert_array_equal(got["g"].numpy(), want["g"].numpy())  # the eager run's
    assert flushes == []


def test_a_step_whose_sgd_update_is_written_tile_by_tile_compiles():
    """SGD writes a parameter over TILED_BYTES tile by tile through views: the capture keeps
    its value on entry at the first tile (it lost it, and the step ran eagerly)."""
    from staticgraph.ops.tiles import TILED_BYTES

    n = TILED_BYTES // 4 // 64 + 64  # a (n, 64) float32 parameter just over the threshold
    rng = np.random.default_rng(0)
    w0 = rng.normal(0, 0.1, (n, 64)).astype(np.float32)
    x = torch.tensor(rng.normal(size=(8, n)).astype(np.float32))

    def make():
        w = torch.tensor(w0, requires_grad=True)
        return w, torch.optim.SGD([w], lr=0.1)

    def step(w, opt):
        opt.zero_grad()
        loss = torch.sum(torch.tanh(x @ w))
        loss.backward()
        opt.step()
        return loss

    w1, o1 = make()
    w2, o2 = make()
    cf = torch.compile(lambda: step(w1, o1))
    for _ in range(3):
        got, want = cf(), step(w2, o2)
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-4)
        np.testing.assert_allclose(w1.detach().numpy(), w2.detach().numpy(), rtol=1e-3,
                                   atol=1e-4)  # (every call's values from the plan)
    assert cf.break_reasons == [] and cf.n_plans == 1

"""The compiled whole step's fast path calling the compiled single driver with result buffers of
its own (issue #14, dynamic/_compile/driver_direct.py): new parameter values and ``.grad``s
take the place of arrays nobody else holds, anything a user holds keeps eager's semantics
(``p.data``/views stay the parameter's storage and up to date, a kept ``.grad`` or loss keeps
its values), and a run the driver cannot take goes through the runner."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic import nn
from dynamic._compile import driver_direct
from dynamic.nn import functional as F
from staticgraph.compiler import block_until_ready
from tests.dynamic.compile_pairs import assert_same, data

pytestmark = pytest.mark.numba_tier  # the fast path calls numba's single driver itself


class _MLP(nn.Module):
    """2-4-1 tanh MLP written with ``@`` (the benchmark's xor-mlp; ``nn.Linear`` programs:
    test_compile_module_program.py)."""

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(0)
        self.w1 = nn.Parameter(torch.tensor(rng.normal(size=(2, 4)).astype(np.float32)))
        self.b1 = nn.Parameter(torch.tensor(rng.normal(size=(4,)).astype(np.float32)))
        self.w2 = nn.Parameter(torch.tensor(rng.normal(size=(4, 1)).astype(np.float32)))
        self.b2 = nn.Parameter(torch.tensor(rng.normal(size=(1,)).astype(np.float32)))

    def forward(self, x):
        return torch.tanh(x @ self.w1 + self.b1) @ self.w2 + self.b2


def _pair(momentum: float = 0.0, set_to_none: bool = True, adam: bool = False):
    """A compiled and an eager copy of one small SGD (or Adam) step."""
    def make():
        m = _MLP()
        opt = torch.optim.Adam(list(m.parameters()), lr=0.01) if adam else \
            torch.optim.SGD(list(m.parameters()), lr=0.1, momentum=momentum)

        def step(x, y):
            opt.zero_grad(set_to_none=set_to_none)
            loss = ((m(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return m, step
    (m1, s1), (m2, s2) = make(), make()
    return m1, torch.compile(s1), m2, s2


def _warm(compiled, eager, x, y, m1, m2):
    """Run until the fast path calls the driver itself (after the native tier's hand-over)."""
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
    block_until_ready()
    for _ in range(2):
        compiled(x, y)
        eager(x, y)
    assert_same(m1, m2)
    assert compiled._hot is not None and compiled._hot.direct


@pytest.mark.parametrize("momentum,adam", [(0.0, False), (0.9, False), (0.0, True)])
def test_direct_steps_match_eager_and_swap_storage(momentum, adam):
    x, y = data()
    m1, compiled, m2, eager = _pair(momentum, adam=adam)
    _warm(compiled, eager, x, y, m1, m2)
    plans = compiled.n_plans  # momentum: one more for the steps that have a momentum buffer
    ids = []
    for _ in range(6):
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-5)
        assert_same(m1, m2)
        ids.append([id(p._data) for p in m1.parameters()])
    assert ids[0] != ids[1] and ids[0] == ids[2]  # nobody holds them: two arrays alternate
    assert compiled.n_plans == plans and compiled._hot.direct


def test_direct_steps_match_torch():
    torch_ = pytest.importorskip("torch")
    x, y = data()
    m1, compiled, m2, eager = _pair()
    _warm(compiled, eager, x, y, m1, m2)
    tp = [torch_.tensor(q.detach().numpy().copy(), requires_grad=True) for q in m1.parameters()]
    topt = torch_.optim.SGD(tp, lr=0.1)
    tx, ty = torch_.from_numpy(x.numpy()), torch_.from_numpy(y.numpy())
    for _ in range(5):
        topt.zero_grad()
        tl = ((torch_.tanh(tx @ tp[0] + tp[1]) @ tp[2] + tp[3] - ty) ** 2).mean()
        tl.backward()
        topt.step()
        np.testing.assert_allclose(compiled(x, y).item(), tl.item(), rtol=1e-5)
    for p, q in zip(tp, m1.parameters(), strict=True):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("hold", ["data", "numpy", "view", "tensor_view"])
def test_parameter_storage_a_user_holds_stays_the_parameters(hold):
    x, y = data()
    m1, compiled, m2, eager = _pair()
    _warm(compiled, eager, x, y, m1, m2)
    w = m1.w1
    held = {"data": lambda: w.data, "numpy": lambda: w.detach().numpy(),
            "view": lambda: w.detach().numpy()[1:3], "tensor_view": lambda: w.detach()[0]}[hold]()
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
        assert_same(m1, m2)
        arr = held._data if isinstance(held, torch.Tensor) else held
        assert np.shares_memory(arr, w._data)  # still the parameter's storage, up to date
    want = m2.w1.detach().numpy()
    got = held.numpy() if isinstance(held, torch.Tensor) else held
    np.testing.assert_allclose(got, {"view": want[1:3], "tensor_view": want[0]}.get(hold, want),
                               rtol=1e-5, atol=1e-7)


def test_kept_grads_and_losses_keep_their_values():
    x, y = data()
    m1, compiled, m2, eager = _pair()
    _warm(compiled, eager, x, y, m1, m2)
    kept = []
    for _ in range(4):
        l1, l2 = compiled(x, y), eager(x, y)
        kept.append((l1, l2, m1.w1.grad, m2.w1.grad.clone()))
    for l1, l2, g1, g2 in kept:  # each step's loss and .grad: their own arrays, never reused
        np.testing.assert_allclose(l1.item(), l2.item(), rtol=1e-5)
        np.testing.assert_allclose(g1.numpy(), g2.numpy(), rtol=1e-5, atol=1e-7)
    assert len({id(g._data) for *_, g, _ in kept}) == 4
    assert_same(m1, m2)


def _opt(step):
    return next(c.cell_contents for c in step.__closure__
                if isinstance(c.cell_contents, torch.optim.Optimizer))


def test_momentum_buffers_alternate_and_a_kept_one_keeps_its_values():
    x, y = data()
    m1, compiled, m2, eager = _pair(0.9)
    _warm(compiled, eager, x, y, m1, m2)
    o1, o2 = _opt(compiled.fn), _opt(eager)
    ids = []
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
        ids.append(id(o1.state[m1.w1]["momentum_buffer"]))
    assert ids[0] != ids[1] and ids[0] == ids[2]  # the replaced buffer is reused
    kept1, kept2 = o1.state[m1.w1]["momentum_buffer"], o2.state[m2.w1]["momentum_buffer"]
    want = kept2.copy()
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
        assert_same(m1, m2)
        for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
            np.testing.assert_allclose(o1.state[p1]["momentum_buffer"],
                                       o2.state[p2]["momentum_buffer"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(kept1, want, rtol=1e-5, atol=1e-7)  # as eager: a new array
    np.testing.assert_array_equal(kept2, want)                      # each step
    assert compiled._hot.direct


def test_grad_modified_in_place_between_steps_is_replaced():
    """A ``.grad`` written in place (version counter moved) is not recycled: the next step
    gives a new tensor, as eager's ``zero_grad(set_to_none=True)`` and ``backward`` do."""
    x, y = data()
    m1, compiled, m2, eager = _pair()
    _warm(compiled, eager, x, y, m1, m2)
    g_old = m1.b1.grad
    g_old.mul_(2.0)
    g_old = None
    compiled(x, y)
    eager(x, y)
    assert_same(m1, m2)
    assert m1.b1.grad._version == 0


def test_noncontiguous_input_goes_through_the_runner_and_back():
    x, y = data()
    m1, compiled, m2, eager = _pair()
    _warm(compiled, eager, x, y, m1, m2)
    xt = torch.tensor(np.asfortranarray(x.numpy()))
    assert not xt._data.flags.c_contiguous
    for _ in range(2):
        np.testing.assert_allclose(compiled(xt, y).item(), eager(xt, y).item(), rtol=1e-5)
        assert_same(m1, m2)
    for _ in range(2):
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-5)
        assert_same(m1, m2)
    assert compiled.n_plans == 1 and compiled._hot.direct


def test_a_failing_run_leaves_parameters_and_grads_as_they_were():
    """A kernel's error (a class label out of range) in the driver: nothing was written; the
    runner raises the error naming the op."""
    rng = np.random.default_rng(1)
    w = nn.Parameter(torch.tensor(rng.normal(size=(4, 3)).astype(np.float32)))
    b = nn.Parameter(torch.zeros(3))
    params = [w, b]
    opt = torch.optim.SGD(params, lr=0.1)

    @torch.compile
    def step(x, t):
        opt.zero_grad()
        loss = F.cross_entropy(x @ w + b, t)
        loss.backward()
        opt.step()
        return loss

    x = torch.tensor(rng.normal(size=(5, 4)).astype(np.float32))
    t = torch.tensor(rng.integers(0, 3, 5))
    for _ in range(3):
        step(x, t)
    block_until_ready()
    for _ in range(2):
        step(x, t)
    assert step._hot.direct
    before = [(p.detach().numpy().copy(), p.grad.numpy().copy(), p.grad, p._version)
              for p in params]
    bad = torch.tensor(np.array([0, 1, 7, 2, 0]))
    with pytest.raises(Exception, match="out of bounds"):
        step(x, bad)
    for p, (v0, g, gt, v) in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), v0)
        assert p.grad is gt and p._version == v
        np.testing.assert_array_equal(p.grad.numpy(), g)
    step(x, t)  # and the next good call runs
    assert step._hot.direct


def test_switched_off_the_instance_is_called(monkeypatch):
    monkeypatch.setattr(driver_direct, "ENABLED", False)
    x, y = data()
    m1, compiled, m2, eager = _pair()
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
    block_until_ready()
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
        assert_same(m1, m2)
    assert not compiled._hot.direct


def test_a_parameter_above_the_identity_cache_size_swaps_too():
    """A 4 KiB weight (no identity cache: its reference count has one holder fewer) swaps in
    the driver's path, and is copied into while a user holds its array."""
    def make():
        rng = np.random.default_rng(2)
        w = nn.Parameter(torch.tensor(rng.normal(size=(1024, 1)).astype(np.float32) * 0.05))
        b = nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([w, b], lr=0.05)

        def step(x, y):
            opt.zero_grad()
            loss = ((torch.tanh(x @ w + b) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return [w, b], step
    (p1, s1), (p2, eager) = make(), make()
    compiled = torch.compile(s1)
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.normal(size=(2, 1024)).astype(np.float32))
    y = torch.tensor(np.array([[0.5], [-0.5]], np.float32))
    assert p1[0]._data.nbytes >= 4096
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
    block_until_ready()
    ids = []
    for k in range(7):
        if k == 4:
            held = p1[0].data
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-5)
        for a, c in zip(p1, p2, strict=True):
            np.testing.assert_allclose(a.detach().numpy(), c.detach().numpy(), rtol=1e-5,
                                       atol=1e-7)
            np.testing.assert_allclose(a.grad.numpy(), c.grad.numpy(), rtol=1e-5, atol=1e-7)
            assert a._version == c._version
        ids.append(id(p1[0]._data))
    assert compiled._hot.direct
    assert ids[1] != ids[2] and ids[1] == ids[3]  # swapped while nobody held it
    assert ids[4] == ids[5] == ids[6] and np.shares_memory(held._data, p1[0]._data)
    np.testing.assert_allclose(held.numpy(), p2[0].detach().numpy(), rtol=1e-5, atol=1e-7)

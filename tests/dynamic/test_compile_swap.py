"""Parameter write-back by reference in a compiled whole step (issue #14, dynamic/_compile/swap.py):
the new value becomes the parameter's storage when nobody else can see its array, else it is
copied into that array, so ``p.data``, views and ``numpy()`` a user holds stay the parameter's;
a step with ``cross_entropy`` on integer labels is captured (its gradient kernel's label checks
are not data-dependent control flow of the user's code)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic import nn
from dynamic._compile import driver_direct, swap
from dynamic.nn import functional as F


@pytest.fixture(autouse=True)
def _instance_call_path(monkeypatch):
    """These tests are about the write-backs after the instance's call; the nn.Linear models
    here reach the single driver once numba takes over (at a time the machine decides), whose
    own write-backs (buffers swapped by reference) test_compile_driver_direct.py tests."""
    monkeypatch.setattr(driver_direct, "ENABLED", False)


def _breaks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.endswith("graph_breaks")]


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = torch.optim.SGD(list(model.parameters()), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, opt, step


def _data():
    rng = np.random.default_rng(3)
    return (torch.tensor(rng.normal(size=(5, 4)).astype(np.float32)),
            torch.tensor(rng.integers(0, 3, 5)))


def _check_same(m1, m2):
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        np.testing.assert_allclose(p1.detach().numpy(), p2.detach().numpy(), rtol=1e-5,
                                   atol=1e-7)
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-5, atol=1e-7)
        assert p1._version == p2._version


def test_parameters_swap_storage_and_match_eager(logs, monkeypatch):
    monkeypatch.setattr(swap, "SWAP_MIN_BYTES", 0)  # these parameters are small: swap anyway
    x, y = _data()
    m1, _, s1 = _setup()
    m2, _, eager = _setup()
    compiled = torch.compile(s1)
    arrays = []
    for _ in range(6):
        l1, l2 = compiled(x, y), eager(x, y)
        np.testing.assert_allclose(l1.item(), l2.item(), rtol=1e-5)
        _check_same(m1, m2)
        arrays.append([id(p._data) for p in m1.parameters()])
    assert not _breaks(logs) and compiled.n_plans == 1
    # from the third call on (the fast path), each call swaps in a new array: two alternate
    assert arrays[3] != arrays[4] and arrays[3] == arrays[5]


@pytest.mark.parametrize("hold", ["data", "numpy", "view", "tensor_view"])
def test_storage_a_user_holds_stays_the_parameters(hold):
    x, y = _data()
    m1, _, s1 = _setup()
    m2, _, eager = _setup()
    compiled = torch.compile(s1)
    for _ in range(4):
        compiled(x, y)
        eager(x, y)
    w = m1[0].weight
    held = {"data": lambda: w.data, "numpy": lambda: w.detach().numpy(),
            "view": lambda: w.detach().numpy()[1:3], "tensor_view": lambda: w.detach()[0]}[hold]()
    for _ in range(3):
        compiled(x, y)
        eager(x, y)
        _check_same(m1, m2)
        arr = held._data if isinstance(held, torch.Tensor) else held
        assert np.shares_memory(arr, w._data)  # still the parameter's storage, up to date
    want = m2[0].weight.detach().numpy()  # the eager run's weights
    got = held.numpy() if isinstance(held, torch.Tensor) else held
    np.testing.assert_allclose(got, {"view": want[1:3], "tensor_view": want[0]}.get(hold, want),
                               rtol=1e-5, atol=1e-7)


def test_small_parameters_are_copied_back_into_their_own_arrays(logs):
    """Below ``SWAP_MIN_BYTES`` the new value is copied into the parameter's array (cheaper
    than the swap): the arrays stay the same objects, values and versions match eager."""
    x, y = _data()
    m1, _, s1 = _setup()
    m2, _, eager = _setup()
    compiled = torch.compile(s1)
    assert all(p._data.nbytes < swap.SWAP_MIN_BYTES for p in m1.parameters())
    arrays = []
    for _ in range(5):
        l1, l2 = compiled(x, y), eager(x, y)
        np.testing.assert_allclose(l1.item(), l2.item(), rtol=1e-5)
        _check_same(m1, m2)
        arrays.append([id(p._data) for p in m1.parameters()])
    assert not _breaks(logs) and compiled.n_plans == 1
    assert arrays[2] == arrays[3] == arrays[4]


def test_large_parameter_swaps_and_small_one_copies_in_one_step():
    torch.manual_seed(1)
    model = nn.Linear(64, 32)  # weight 8 KB: swapped; bias 128 B: copied
    torch.manual_seed(1)
    ref = nn.Linear(64, 32)
    opts = [torch.optim.SGD(list(m.parameters()), lr=0.05) for m in (model, ref)]
    x = torch.tensor(np.random.default_rng(0).normal(size=(6, 64)).astype(np.float32))

    def make_step(m, opt):
        def step(x):
            opt.zero_grad()
            loss = (m(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return step

    compiled = torch.compile(make_step(model, opts[0]))
    eager = make_step(ref, opts[1])
    w_ids, b_ids = set(), set()
    for _ in range(6):
        np.testing.assert_allclose(compiled(x).item(), eager(x).item(), rtol=1e-5)
        _check_same(model, ref)
        w_ids.add(id(model.weight._data))
        b_ids.add(id(model.bias._data))
    assert len(b_ids) == 1 and len(w_ids) >= 2


def test_a_parameter_that_views_a_larger_array_is_never_swapped():
    """Views of ``p._data`` would reference the larger array, not ``p._data``: copy instead."""
    big = np.zeros((2, 3), np.float32)
    big[0] = [0.5, -1.0, 2.0]
    w = torch.tensor([0.0])
    w._data = big[0]  # storage that is part of another array
    w.requires_grad_(True)
    opt = torch.optim.SGD([w], lr=0.1)

    @torch.compile
    def step(x):
        opt.zero_grad()
        loss = (w * x).tanh().sum()
        loss.backward()
        opt.step()
        return loss

    x = torch.tensor([1.0, 2.0, -1.0])
    w2 = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    o2 = torch.optim.SGD([w2], lr=0.1)
    for _ in range(5):
        step(x)
        o2.zero_grad()
        (w2 * x).tanh().sum().backward()
        o2.step()
    assert w._data.base is big
    np.testing.assert_allclose(big[0], w2.detach().numpy(), rtol=1e-6)


def test_integer_label_cross_entropy_step_is_captured(logs):
    x, y = _data()
    _, _, s1 = _setup()
    compiled = torch.compile(s1)
    for _ in range(3):
        compiled(x, y)
    assert not _breaks(logs) and compiled.n_plans == 1


def test_ignore_index_labels_in_a_later_call_run_eagerly(logs):
    """A plan captured from labels without -100 meets -100 (``ignore_index``) later: that call
    runs eagerly (logged once as a graph break), calls without them keep the plan; values and
    gradients are eager's throughout."""
    x, y = _data()
    y_pad = torch.tensor(np.where(np.arange(5) % 2 == 0, y.numpy(), -100))
    m1, _, s1 = _setup()
    m2, _, eager = _setup()
    compiled = torch.compile(s1)
    for labels in (y, y, y, y_pad, y, y_pad, y):
        np.testing.assert_allclose(compiled(x, labels).item(), eager(x, labels).item(),
                                   rtol=1e-5)
        _check_same(m1, m2)
    breaks = _breaks(logs)
    assert len(breaks) == 1 and "ignore_index (-100)" in breaks[0]
    assert compiled.n_plans == 1

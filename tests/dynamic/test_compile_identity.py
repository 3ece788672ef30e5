"""Captured tensors reached through Python objects are guarded on identity (issue #14,
dynamic/_compile/identity.py): rebinding a global, replacing a dict or list entry or an
attribute, or changing an optimizer's parameters recompiles (logged) instead of replaying the
plan on the old tensors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import dynamic as torch

W = torch.tensor([1.0, 2.0])


def _recompiles(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.endswith("recompiles")]


def _uses_global(x):
    return (x * W).sum()


def test_a_rebound_global_tensor_recompiles(logs):
    global W
    f = torch.compile(_uses_global)
    x = torch.tensor([3.0, 4.0])
    for _ in range(3):
        assert f(x).item() == 11.0
    old, W = W, torch.tensor([10.0, 20.0])
    try:
        for _ in range(2):
            assert f(x).item() == 110.0
    finally:
        W = old
    rec = _recompiles(logs)
    assert len(rec) == 1 and "W is another object" in rec[0]


@pytest.mark.parametrize("kind", ["dict", "list", "object"])
def test_a_replaced_container_entry_recompiles(logs, kind):
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([5.0, 6.0])
    box = {"dict": {"w": a}, "list": [a], "object": SimpleNamespace(w=a)}[kind]

    def f(x):  # the container is the function's own closure variable
        w = box["w"] if kind == "dict" else box[0] if kind == "list" else box.w
        return (x * w).sum()

    def put(t):
        if kind == "dict":
            box["w"] = t
        elif kind == "list":
            box[0] = t
        else:
            box.w = t

    cf = torch.compile(f)
    x = torch.tensor([1.0, 1.0])
    for _ in range(3):
        assert cf(x).item() == 3.0
    put(b)
    for _ in range(2):
        assert cf(x).item() == 11.0
    assert len(_recompiles(logs)) == 1


def test_an_optimizers_new_parameters_recompile_and_match_eager(logs):
    def make():
        w = torch.tensor([0.5, -1.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        return w, opt

    (w1, o1), (w2, o2) = make(), make()
    v1, v2 = (torch.tensor([2.0], requires_grad=True) for _ in range(2))
    x = torch.tensor([1.0, 2.0])

    def step_of(w, v, opt):
        def step():
            opt.zero_grad()
            loss = (w * x).tanh().sum() + (v * v).sum()
            loss.backward()
            opt.step()
            return loss
        return step

    compiled, eager = torch.compile(step_of(w1, v1, o1)), step_of(w2, v2, o2)
    for i in range(6):
        if i == 3:  # fine-tuning: v joins the optimizer
            o1.add_param_group({"params": [v1]})
            o2.add_param_group({"params": [v2]})
        l1, l2 = compiled(), eager()
        np.testing.assert_allclose(l1.item(), l2.item(), rtol=1e-6)
        np.testing.assert_allclose(w1.detach().numpy(), w2.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(v1.detach().numpy(), v2.detach().numpy(), rtol=1e-6)
    assert any("param_groups" in r for r in _recompiles(logs))

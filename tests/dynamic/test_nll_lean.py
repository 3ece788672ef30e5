"""``nll_loss``/``cross_entropy`` without numpy's Python wrappers (issue #12): the reductions
keep numpy's bits, the ``-100`` check keeps its meaning, and the loss node (integer labels
beside float log-probabilities) runs its numpy rule in the lean walk with the same gradients
as the general walk."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic.autograd import lean_walk
from staticgraph.ops import REGISTRY

NLL = REGISTRY["nll_loss"]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 3, 8, 255, 4099])
def test_mean_and_sum_are_numpys_bits(dt, n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        logp = (rng.standard_normal((n, 7)) * rng.uniform(0.01, 1e3)).astype(dt)
        labels = rng.integers(0, 7, n)
        picked = -logp[np.arange(n), labels]
        mean = NLL.impl(logp, labels, reduction="mean")
        total = NLL.impl(logp, labels, reduction="sum")
        assert mean.dtype == dt and mean.tobytes() == picked.mean().tobytes()
        assert total.dtype == dt and total.tobytes() == picked.sum().tobytes()


def test_labels_out_of_range_still_fail():
    logp = np.zeros((3, 4), np.float32)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        NLL.impl(logp, np.array([0, 4, 1]), reduction="mean")
    with pytest.raises(IndexError, match="Target -2 is out of bounds"):
        NLL.impl(logp, np.array([0, -2, 1]), reduction="mean")


def test_an_ignored_label_is_still_ignored():
    x = torch.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0], [2.0, 1.0, 1.0]], requires_grad=True)
    y = torch.tensor([2, -100, 0])
    loss = torch.nn.functional.cross_entropy(x, y)
    logp = x.detach().numpy() - np.log(np.exp(x.detach().numpy()).sum(1, keepdims=True))
    assert np.isclose(loss.item(), -(logp[0, 2] + logp[2, 0]) / 2, rtol=1e-6)
    loss.backward()
    assert not x.grad.numpy()[1].any()  # the ignored row takes no gradient
    with pytest.raises(IndexError):  # another negative label is an error, as before
        torch.nn.functional.cross_entropy(x.detach(), torch.tensor([2, -3, 0]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_the_loss_node_runs_lean_with_the_general_walks_gradients(reduction, monkeypatch):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((6, 5)).astype(np.float32)
    labels = torch.tensor(rng.integers(0, 5, 6))
    grads = []
    for lean in (True, False):
        monkeypatch.setattr(lean_walk, "ENABLED", [lean])
        x = torch.tensor(xs, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(x, labels, reduction=reduction)
        node = loss.grad_fn
        assert type(node).__name__ == "NllLossBackward0"
        assert node._fdt == np.dtype(np.float32)  # labels are int64: the rule runs at once
        loss.sum().backward() if reduction == "none" else loss.backward()
        grads.append(x.grad.numpy().tobytes())
    assert grads[0] == grads[1]


def test_against_torch():
    pt = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((5, 4)).astype(np.float32)
    ys = rng.integers(0, 4, 5)
    out = []
    for mod in (torch, pt):
        x = mod.tensor(xs, requires_grad=True)
        loss = mod.nn.functional.cross_entropy(x, mod.tensor(ys))
        loss.backward()
        out.append((loss.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-6)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-5, atol=1e-7)

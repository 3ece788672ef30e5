"""``nn`` modules, parameter registration, optimizers' formulas and convergence on small tasks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn.functional as F
from dynamic import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 16)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(16, 3)
        self.scale = 2.0  # not a parameter

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_module_registration_and_state():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [tuple(p.shape) for p in m.parameters()] == [(16, 2), (16,), (3, 16), (3,)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf
               for p in m.parameters())
    assert list(m.state_dict()) == names and not m.state_dict()["fc1.bias"].requires_grad
    assert [type(c).__name__ for c in m.children()] == ["Linear", "Tanh", "Linear"]
    m.eval()
    assert not m.training and not m.fc1.training
    m.train()
    assert m.fc2.training
    out = m(torch.ones(4, 2))
    assert out.shape == (4, 3) and out.grad_fn.name() == "AddmmBackward0"
    out.sum().backward()
    assert m.fc1.weight.grad is not None
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'weight'"):
        m.fc1.weight = 3
    with pytest.raises(AttributeError, match="'TwoLayer' object has no attribute 'nope'"):
        m.nope  # noqa: B018
    other = TwoLayer()
    other.load_state_dict(m.state_dict())
    assert torch.equal(other.fc2.weight, m.fc2.weight)


def test_repr_of_modules_and_parameters():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1, bias=False))
    assert repr(seq) == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                         "  (1): ReLU()\n  (2): Linear(in_features=3, out_features=1, bias=False)"
                         "\n)")
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and seq[2].bias is None


def test_linear_init_bounds_follow_kaiming_uniform():
    torch.manual_seed(0)
    lin = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)


def test_functional_and_losses_match_numpy():
    x = torch.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
    y = torch.tensor([2, 0])
    logp = x.numpy() - np.log(np.exp(x.numpy()).sum(1, keepdims=True))
    assert F.cross_entropy(x, y).item() == pytest.approx(-(logp[0, 2] + logp[1, 0]) / 2, rel=1e-6)
    assert nn.CrossEntropyLoss(reduction="sum")(x, y).item() == pytest.approx(
        -(logp[0, 2] + logp[1, 0]), rel=1e-6)
    assert F.nll_loss(F.log_softmax(x, 1), y).grad_fn is None
    np.testing.assert_allclose(F.softmax(x, dim=1).sum(1).numpy(), [1.0, 1.0], rtol=1e-6)
    t = torch.tensor([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    assert nn.MSELoss()(x, t).item() == pytest.approx(((x.numpy() - t.numpy()) ** 2).mean())
    np.testing.assert_allclose(F.relu(x).numpy(), np.maximum(x.numpy(), 0))
    np.testing.assert_allclose(nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp(-x.numpy())), rtol=1e-6)
    # label smoothing (issue #15: computed now, no longer refused): (1-e) nll + e * mean(-logp)
    smooth = (0.9 * -(logp[0, 2] + logp[1, 0]) / 2 + 0.1 * -logp.mean(1).mean())
    assert F.cross_entropy(x, y, label_smoothing=0.1).item() == pytest.approx(smooth, rel=1e-6)


def _reference_sgd(p, grads, lr, momentum, dampening, wd, nesterov):
    """PyTorch's documented SGD algorithm, written out in numpy."""
    buf = None
    for g in grads:
        g = g + wd * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def _reference_adam(p, grads, lr, b1, b2, eps, wd, amsgrad):
    m = v = vmax = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        mhat = m / (1 - b1 ** t)
        denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - b2 ** t) + eps
        p = p - lr * mhat / denom
    return p


GRADS = [np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.3, -0.2]), np.array([-1.0, 0.0, 1.0])]


@pytest.mark.parametrize("kw", [dict(momentum=0.0, dampening=0.0, wd=0.0, nesterov=False),
                                dict(momentum=0.9, dampening=0.0, wd=0.01, nesterov=False),
                                dict(momentum=0.9, dampening=0.3, wd=0.0, nesterov=False),
                                dict(momentum=0.8, dampening=0.0, wd=0.1, nesterov=True)])
def test_sgd_formula(kw):
    p0 = np.array([1.0, 2.0, -3.0])
    p = nn.Parameter(torch.tensor(p0, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.1, momentum=kw["momentum"], dampening=kw["dampening"],
                          weight_decay=kw["wd"], nesterov=kw["nesterov"])
    for g in GRADS:
        p.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(),
                               _reference_sgd(p0, GRADS, 0.1, kw["momentum"], kw["dampening"],
                                              kw["wd"], kw["nesterov"]), rtol=1e-12)


@pytest.mark.parametrize("wd,amsgrad", [(0.0, False), (0.1, False), (0.0, True)])
def test_adam_formula(wd, amsgrad):
    p0 = np.array([1.0, 2.0, -3.0])
    p = nn.Parameter(torch.tensor(p0, dtype=torch.float64))
    opt = torch.optim.Adam([p], lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=wd,
                           amsgrad=amsgrad)
    for g in GRADS:
        opt.zero_grad()
        assert p.grad is None
        p.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(),
                               _reference_adam(p0, GRADS, 0.05, 0.8, 0.99, 1e-6, wd, amsgrad),
                               rtol=1e-12)


def test_optimizer_errors_and_groups():
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1, nesterov=True)
    a, b = nn.Parameter(torch.ones(1)), nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad, b.grad = torch.ones(1), torch.ones(1)
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.0)


def test_linear_regression_converges():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    true_w = torch.tensor([[2.0], [-1.0], [0.5]])
    y = x @ true_w + 0.3
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for _ in range(150):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 1e-6
    np.testing.assert_allclose(model.weight.detach().numpy(), true_w.numpy().T, atol=1e-3)
    assert model.bias.item() == pytest.approx(0.3, abs=1e-3)


def test_two_layer_classifier_converges():
    torch.manual_seed(0)
    n = 60
    angles = torch.rand(3 * n) * 6.283
    labels = torch.arange(3).repeat_interleave(n) if hasattr(torch.Tensor, "repeat_interleave") \
        else torch.tensor(np.repeat(np.arange(3), n))
    centers = torch.tensor([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    x = centers[labels] + 0.5 * torch.stack([angles.cos(), angles.sin()], 1)
    model = TwoLayer()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(100):
        opt.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        opt.step()
    acc = (model(x).argmax(1) == labels).float().mean().item()
    assert loss.item() < 0.05 and acc == 1.0

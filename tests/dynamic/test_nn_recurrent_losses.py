"""nn.RNN/LSTM/GRU, nn.Embedding and the option-laden losses: values and gradients against
finite differences (always) and PyTorch 2.13 (where installed); error texts of the new paths."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic import nn
from dynamic.nn import functional as F


def _fill(module: nn.Module) -> None:
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape) * (1 + 0.1 * i))


def _numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
def test_recurrent_input_gradient_matches_finite_differences(cls):
    rnn = getattr(nn, cls)(3, 2, num_layers=2, bidirectional=True).double()
    _fill(rnn)
    x0 = np.sin(np.arange(4 * 2 * 3)).reshape(4, 2, 3)

    def loss(a: np.ndarray) -> float:
        out, _ = rnn(torch.tensor(a))
        return float((out ** 2).sum())

    x = torch.tensor(x0, requires_grad=True)
    out, _ = rnn(x)
    (out ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), _numeric_grad(loss, x0), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
def test_recurrent_layers_match_pytorch(cls):
    real = pytest.importorskip("torch")
    ours, theirs = getattr(nn, cls)(3, 4, 2, bidirectional=True), getattr(real.nn, cls)(
        3, 4, 2, bidirectional=True)
    with real.no_grad():
        for (n, p), (n2, q) in zip(ours.named_parameters(), theirs.named_parameters(),
                                            strict=True):
            assert n == n2
            q.copy_(real.from_numpy(p.detach().numpy()))
    x = np.cos(np.arange(5 * 2 * 3, dtype=np.float32)).reshape(5, 2, 3)
    out, h = ours(torch.tensor(x))
    rout, rh = theirs(real.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), rout.detach().numpy(), atol=1e-6)
    hs = h if cls == "LSTM" else (h,)
    rhs = rh if cls == "LSTM" else (rh,)
    for a, b in zip(hs, rhs, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-6)


def test_recurrent_errors_name_the_bad_size():
    lstm = nn.LSTM(3, 2)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. "
                                           "Expected 3, got 4"):
        lstm(torch.zeros(5, 1, 4))
    with pytest.raises(RuntimeError,
                       match=r"Expected hidden\[0\] size \(1, 1, 2\), got \[1, 1, 3\]"):
        lstm(torch.zeros(5, 1, 3), (torch.zeros(1, 1, 3), torch.zeros(1, 1, 2)))
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 2, proj_size=1)


def test_embedding_padding_row_gets_no_gradient_and_bad_ids_fail():
    emb = nn.Embedding(4, 2, padding_idx=1)
    with torch.no_grad():
        emb.weight.copy_(torch.arange(8.0).reshape(4, 2))
    out = emb(torch.tensor([1, 2, 2, 1]))
    assert out.tolist() == [[2.0, 3.0], [4.0, 5.0], [4.0, 5.0], [2.0, 3.0]]
    out.sum().backward()
    assert emb.weight.grad.tolist() == [[0, 0], [0, 0], [2, 2], [0, 0]]
    with pytest.raises(IndexError, match="index out of range in self"):
        emb(torch.tensor([4]))
    with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar types"):
        emb(torch.tensor([1.0]))


@pytest.mark.parametrize("kw", [dict(weight=[1.0, 2.0, 0.5]), dict(ignore_index=1),
                                dict(label_smoothing=0.2), dict(label_smoothing=0.1, weight=[
                                    1.0, 2.0, 0.5], ignore_index=0)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_options_match_pytorch(kw, reduction):
    real = pytest.importorskip("torch")
    x = np.sin(np.arange(2 * 3 * 4, dtype=np.float64)).reshape(2, 3, 4)  # (N, C, d)
    y = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    a = torch.tensor(x, requires_grad=True)
    b = real.tensor(x, requires_grad=True)
    ours = {k: torch.tensor(v, dtype=torch.float64) if k == "weight" else v for k, v in kw.items()}
    theirs = {k: real.tensor(v, dtype=real.float64) if k == "weight" else v for k, v in kw.items()}
    la = F.cross_entropy(a, torch.tensor(y), reduction=reduction, **ours)
    lb = real.nn.functional.cross_entropy(b, real.tensor(y), reduction=reduction, **theirs)
    np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), rtol=1e-12)
    la.sum().backward()
    lb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_smooth_l1_and_huber_gradients_by_finite_differences():
    x0 = np.array([-2.0, -0.3, 0.2, 0.9, 3.0])
    t = np.zeros(5)
    for fn in (lambda a: F.smooth_l1_loss(a, torch.tensor(t), beta=0.5),
               lambda a: F.huber_loss(a, torch.tensor(t), delta=0.8)):
        x = torch.tensor(x0, requires_grad=True)
        fn(x).backward()
        num = _numeric_grad(lambda a, fn=fn: float(fn(torch.tensor(a))), x0)
        np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-6)


def test_out_argument_writes_and_refuses_autograd():
    out = torch.empty(3)
    assert torch.add(torch.ones(2), 1, out=out) is out and out.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="mul\\(\\): functions with out=... arguments don't "
                                           "support automatic differentiation"):
        torch.mul(torch.ones(2, requires_grad=True), 2, out=torch.empty(2))


def test_every_pytorch_scheduler_is_provided():
    # (this test asserted OneCycleLR's "not supported" error until issue #15 added them all)
    names = ("LambdaLR MultiplicativeLR StepLR MultiStepLR ConstantLR LinearLR ExponentialLR "
             "SequentialLR CosineAnnealingLR ChainedScheduler ReduceLROnPlateau CyclicLR "
             "CosineAnnealingWarmRestarts OneCycleLR PolynomialLR LRScheduler").split()
    assert sorted(torch.optim.lr_scheduler.__all__) == sorted(names)
    for n in names:
        assert isinstance(getattr(torch.optim.lr_scheduler, n), type)

"""``F.conv2d``/``max_pool2d``/``avg_pool2d``, ``Dropout`` and ``BatchNorm``: values against a
direct numpy loop (always) and against PyTorch (forward and gradients, where installed)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as F
from dynamic import nn

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3, 7, 6))
W = RNG.standard_normal((4, 3, 3, 2))
B = RNG.standard_normal(4)


def _conv_loop(x, w, b, stride, pad, dil):
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    o, _, kh, kw = w.shape
    oh = (xp.shape[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((x.shape[0], o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * stride[0]:i * stride[0] + dil[0] * (kh - 1) + 1:dil[0],
                     j * stride[1]:j * stride[1] + dil[1] * (kw - 1) + 1:dil[1]]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", win, w) + b
    return out


@pytest.mark.parametrize("stride,pad,dil", [((1, 1), (0, 0), (1, 1)), ((2, 1), (1, 2), (1, 1)),
                                            ((1, 2), (2, 1), (2, 1))])
def test_conv2d_matches_a_direct_loop(stride, pad, dil):
    got = F.conv2d(dynamic.tensor(X), dynamic.tensor(W), dynamic.tensor(B), stride, pad, dil)
    np.testing.assert_allclose(got.numpy(), _conv_loop(X, W, B, stride, pad, dil), atol=1e-12)


def test_conv2d_gradient_by_finite_differences():
    x = dynamic.tensor(X[:1, :, :4, :4], requires_grad=True)
    w = dynamic.tensor(W[:2], requires_grad=True)
    assert dynamic.autograd.gradcheck(lambda a, b: F.conv2d(a, b, padding=1, stride=2), (x, w))


def test_pools_match_numpy():
    x = dynamic.tensor(X)
    np.testing.assert_array_equal(F.max_pool2d(x, 2).numpy(),
                                  X[:, :, :6].reshape(2, 3, 3, 2, 3, 2).max((3, 5)))
    np.testing.assert_allclose(F.avg_pool2d(x, 2).numpy(),
                               X[:, :, :6].reshape(2, 3, 3, 2, 3, 2).mean((3, 5)), atol=1e-15)


def test_errors_name_the_fault():
    with pytest.raises(RuntimeError, match=r"expected input\[2, 3, 7, 6\] to have 5 channels"):
        F.conv2d(dynamic.tensor(X), dynamic.zeros(4, 5, 3, 3, dtype=dynamic.float64))
    with pytest.raises(RuntimeError, match="not supported for strided convolutions"):
        F.conv2d(dynamic.tensor(X), dynamic.tensor(W), stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(dynamic.tensor(X), 2, padding=2)
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(dynamic.zeros(3, 5))


def test_dropout_train_and_eval():
    d = nn.Dropout(0.25)
    x = dynamic.ones(2000)
    y = d(x).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.2 < (y == 0).mean() < 0.3
    d.eval()
    assert d(x) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()


def test_batchnorm_running_stats_and_eval():
    bn = nn.BatchNorm1d(2, momentum=0.5)
    a = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]], np.float32)
    y = bn(dynamic.tensor(a)).detach().numpy()
    np.testing.assert_allclose(y, (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5), rtol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.5 * a.mean(0), rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * a.var(0, ddof=1), rtol=1e-6)
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    np.testing.assert_allclose(bn(dynamic.tensor(a)).detach().numpy(),
                               (a - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy()
                                                                      + 1e-5), rtol=1e-6)


@pytest.mark.parametrize("case", range(6))
def test_against_pytorch(case):
    torch = pytest.importorskip("torch")
    calls = [("conv2d", (X, W, B), dict(padding="same", dilation=2)),
             ("conv2d", (X[0], W), dict(stride=(1, 2), padding=(2, 1))),
             ("max_pool2d", (X,), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
             ("max_pool2d", (X,), dict(kernel_size=2, dilation=2)),
             ("avg_pool2d", (X,), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                       count_include_pad=False)),
             ("avg_pool2d", (X,), dict(kernel_size=3, stride=2, padding=1))]
    name, arrays, kw = calls[case]
    g = RNG.standard_normal(1)
    outs = []
    for lib in (torch, dynamic):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = getattr(lib.nn.functional, name)(*ts, **kw)
        (y * lib.tensor(g)).sum().backward()
        outs.append((y.detach().numpy(), [t.grad.numpy() for t in ts], y.grad_fn.name()
                     if lib is torch else type(y.grad_fn).__name__))
    np.testing.assert_allclose(outs[1][0], outs[0][0], atol=1e-12)
    for a, b in zip(outs[1][1], outs[0][1], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert outs[1][2] == outs[0][2]

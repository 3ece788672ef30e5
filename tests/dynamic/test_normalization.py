"""``LayerNorm``, ``GroupNorm``, ``InstanceNorm`` and their functional forms: values against
numpy formulas (always), values, gradients, node names, reprs and errors against PyTorch
(where installed), and gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as F
from dynamic import nn

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 6, 4, 5))


def _numpy_norm(x, axes, eps=1e-5):
    return (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)


def test_values_match_the_formulas():
    x = dynamic.tensor(X)
    np.testing.assert_allclose(F.layer_norm(x, (4, 5)).numpy(), _numpy_norm(X, (2, 3)),
                               atol=1e-12)
    grouped = _numpy_norm(X.reshape(3, 2, -1), (2,)).reshape(X.shape)
    np.testing.assert_allclose(F.group_norm(x, 2).numpy(), grouped, atol=1e-12)
    np.testing.assert_allclose(F.instance_norm(x).numpy(), _numpy_norm(X, (2, 3)), atol=1e-12)
    w, b = RNG.standard_normal(6), RNG.standard_normal(6)
    got = F.group_norm(x, 3, dynamic.tensor(w), dynamic.tensor(b), eps=0.1).numpy()
    want = _numpy_norm(X.reshape(3, 3, -1), (2,), 0.1).reshape(X.shape) * w[:, None, None] \
        + b[:, None, None]
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda x, w, b: F.layer_norm(x, (5,), w[0, :5], b[0, :5]),
    lambda x, w, b: F.group_norm(x, 3, w[0], b[0]),
    lambda x, w, b: F.instance_norm(x, weight=w[0], bias=b[0]),
])
def test_gradients_by_finite_differences(fn):
    x = dynamic.tensor(X[:2, :, :2], requires_grad=True)
    w = dynamic.tensor(RNG.standard_normal((1, 6)), requires_grad=True)
    b = dynamic.tensor(RNG.standard_normal((1, 6)), requires_grad=True)
    assert dynamic.autograd.gradcheck(fn, (x, w, b))


MODULES = [
    ("LayerNorm", ((4, 5),), {}, X),
    ("LayerNorm", (5,), dict(elementwise_affine=False), X),
    ("LayerNorm", (5,), dict(bias=False, eps=1e-3), X[0]),
    ("GroupNorm", (3, 6), {}, X),
    ("GroupNorm", (1, 6), dict(affine=False), X[:, :, 0]),
    ("InstanceNorm1d", (6,), dict(affine=True), X[:, :, 0]),
    ("InstanceNorm2d", (6,), {}, X),
    ("InstanceNorm2d", (6,), dict(track_running_stats=True, affine=True), X),
]


@pytest.mark.parametrize("case", range(len(MODULES)))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_modules_against_pytorch(case, dtype):
    torch = pytest.importorskip("torch")
    name, args, kw, x = MODULES[case]
    outs = []
    for lib in (torch, dynamic):
        m = getattr(lib.nn, name)(*args, **kw, dtype=getattr(lib, np.dtype(dtype).name))
        for p in m.parameters():  # non-trivial affine parameters, the same in both
            p.data = lib.tensor(np.linspace(-1, 2, p.numel()).reshape(tuple(p.shape))
                                .astype(dtype))
        t = lib.tensor(x.astype(dtype), requires_grad=True)
        y = m(t)
        (y * lib.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)).astype(dtype))
         ).sum().backward()
        fn = y.grad_fn
        outs.append([y.detach().numpy(), t.grad.numpy()]
                    + [p.grad.numpy() for p in m.parameters()]
                    + [b.numpy() for b in m.buffers()]
                    + [repr(m), fn.name() if hasattr(fn, "name") else type(fn).__name__])
        if m.__dict__.get("track_running_stats"):
            m.eval()
            outs[-1].append(m(t).detach().numpy())
    tol = 1e-10 if dtype == np.float64 else 2e-5
    assert len(outs[0]) == len(outs[1])
    for a, b in zip(outs[0], outs[1], strict=True):
        if isinstance(a, str):
            assert a == b
        else:
            np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


ERRORS = [
    (lambda: nn.LayerNorm(4)(dynamic.zeros(2, 3)),
     r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of "
     r"size\[2, 3\]"),
    (lambda: F.layer_norm(dynamic.zeros(2, 3), (3,), dynamic.zeros(4)),
     r"Expected weight to be of same shape as normalized_shape, but got weight of shape \[4\] "
     r"and normalized_shape = \[3\]"),
    (lambda: nn.GroupNorm(4, 6), r"num_channels \(6\) must be divisible by num_groups \(4\)"),
    (lambda: F.group_norm(dynamic.zeros(2, 6, 3), 4),
     r"Expected number of channels in input to be divisible by num_groups, but got input of "
     r"shape \[2, 6, 3\] and num_groups=4"),
    (lambda: nn.GroupNorm(2, 6)(dynamic.zeros(2, 4, 3)),
     r"Expected weight to be a vector of size equal to the number of channels in input, but got "
     r"weight of shape \[6\] and input of shape \[2, 4, 3\]"),
    (lambda: nn.InstanceNorm1d(4)(dynamic.zeros(2, 4, 1)),
     r"Expected more than 1 spatial element when training, got input size "
     r"torch.Size\(\[2, 4, 1\]\)"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_have_pytorchs_text(case):
    fn, pattern = ERRORS[case]
    with pytest.raises((RuntimeError, ValueError), match=pattern):
        fn()


def test_reprs():
    assert repr(nn.LayerNorm([3, 4])) == \
        "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True, bias=True)"
    assert repr(nn.LayerNorm(4, elementwise_affine=False)) == \
        "LayerNorm((4,), eps=1e-05, elementwise_affine=False, bias=False)"
    assert repr(nn.GroupNorm(2, 6)) == "GroupNorm(2, 6, eps=1e-05, affine=True, bias=True)"
    assert repr(nn.InstanceNorm2d(3)) == ("InstanceNorm2d(3, eps=1e-05, momentum=0.1, "
                                          "affine=False, bias=False, track_running_stats=False)")
    assert [n for n, _ in nn.LayerNorm(3, bias=False).named_parameters()] == ["weight"]

"""The convolution family beyond ``conv2d`` (1-d, 3-d, groups, depthwise, dilation, padding
strings and modes, transposed convolutions) and the 1-d / adaptive pools: values and gradients
against PyTorch (float64 and float32, odd shapes) and against finite differences; errors with
PyTorch's texts."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as F
from dynamic import nn

RNG = np.random.default_rng(3)


def _a(*shape):
    return RNG.standard_normal(shape)


# (functional name, arrays, keyword arguments)
CALLS = [
    ("conv1d", (_a(2, 4, 9), _a(6, 2, 3), _a(6)), dict(groups=2, stride=2, padding=1)),
    ("conv1d", (_a(4, 9), _a(5, 4, 2)), dict(dilation=3, padding="same")),
    ("conv1d", (_a(1, 3, 7), _a(3, 1, 3)), dict(groups=3, padding="valid")),  # depthwise
    ("conv2d", (_a(2, 4, 7, 6), _a(8, 1, 3, 2), _a(8)), dict(groups=4, padding=(1, 2))),
    ("conv2d", (_a(2, 6, 5, 8), _a(6, 2, 2, 3)), dict(groups=3, stride=(2, 1), dilation=(2, 2))),
    ("conv3d", (_a(2, 2, 4, 5, 3), _a(3, 2, 2, 3, 1), _a(3)), dict(stride=(1, 2, 1), padding=1)),
    ("conv3d", (_a(2, 4, 3, 4), _a(4, 1, 3, 1, 2)), dict(groups=2, padding="same")),
    ("conv_transpose1d", (_a(2, 4, 5), _a(4, 3, 3), _a(6)), dict(stride=2, padding=1,
                                                                 output_padding=1, groups=2)),
    ("conv_transpose2d", (_a(2, 3, 4, 5), _a(3, 2, 3, 2)), dict(stride=(2, 3), padding=(1, 0))),
    ("conv_transpose2d", (_a(3, 4, 3), _a(3, 2, 2, 3), _a(2)), dict(dilation=2, padding=2)),
    ("conv_transpose3d", (_a(1, 2, 3, 2, 3), _a(2, 2, 2, 2, 2)), dict(stride=2)),
    ("max_pool1d", (_a(2, 3, 9),), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool1d", (_a(3, 8),), dict(kernel_size=3, stride=2, padding=1,
                                     count_include_pad=False)),
    ("adaptive_avg_pool2d", (_a(2, 3, 7, 5),), dict(output_size=(3, 2))),
    ("adaptive_avg_pool2d", (_a(3, 6, 6),), dict(output_size=(None, 4))),
    ("adaptive_avg_pool2d", (_a(2, 3, 5, 4),), dict(output_size=1)),
]


def _run(lib, name, arrays, kw, dtype, g_seed=0):
    ts = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    y = getattr(lib.nn.functional, name)(*ts, **kw)
    g = np.random.default_rng(g_seed).standard_normal(tuple(y.shape)).astype(dtype)
    (y * lib.tensor(g)).sum().backward()
    fn = y.grad_fn
    return (y.detach().numpy(), [t.grad.numpy() for t in ts],
            fn.name() if hasattr(fn, "name") else type(fn).__name__)


@pytest.mark.parametrize("case", range(len(CALLS)), ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_against_pytorch(case, dtype):
    torch = pytest.importorskip("torch")
    name, arrays, kw = CALLS[case]
    want, got = _run(torch, name, arrays, kw, dtype), _run(dynamic, name, arrays, kw, dtype)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    assert got[0].dtype == want[0].dtype and got[0].shape == want[0].shape
    np.testing.assert_allclose(got[0], want[0], rtol=tol, atol=tol)
    for a, b in zip(got[1], want[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert got[2] == want[2]


@pytest.mark.parametrize("case", [0, 3, 5, 7, 8, 11, 13])
def test_gradients_by_finite_differences(case):
    name, arrays, kw = CALLS[case]
    ts = tuple(dynamic.tensor(a, requires_grad=True) for a in arrays)
    assert dynamic.autograd.gradcheck(lambda *a: getattr(F, name)(*a, **kw), ts)


def _conv1d_loop(x, w, b, stride, pad, dil, groups):
    """A direct loop: the definition of a grouped, dilated, strided 1-d cross-correlation."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
    o, cg, k = w.shape
    out_len = (xp.shape[2] - dil * (k - 1) - 1) // stride + 1
    y = np.zeros((x.shape[0], o, out_len))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for t in range(out_len):
            win = xp[:, g * cg:(g + 1) * cg, t * stride:t * stride + dil * (k - 1) + 1:dil]
            y[:, oc, t] = (win * w[oc]).sum((1, 2)) + b[oc]
    return y


def test_grouped_conv1d_matches_a_direct_loop():
    x, w, b = _a(2, 6, 11), _a(9, 2, 3), _a(9)
    got = F.conv1d(dynamic.tensor(x), dynamic.tensor(w), dynamic.tensor(b), 2, 2, 2, groups=3)
    np.testing.assert_allclose(got.numpy(), _conv1d_loop(x, w, b, 2, 2, 2, 3), atol=1e-12)


def test_conv_transpose_is_the_gradient_of_conv():
    """<conv(x, w), y> == <x, conv_transpose(y, w)> for every x, y: the defining identity."""
    x, w = _a(2, 4, 7, 6), _a(6, 2, 3, 2)
    kw = dict(stride=2, padding=1, groups=2, dilation=(1, 2))
    fwd = F.conv2d(dynamic.tensor(x), dynamic.tensor(w), **kw).numpy()
    assert fwd.shape == (2, 6, 4, 3)
    y = _a(*fwd.shape)
    back = F.conv_transpose2d(dynamic.tensor(y), dynamic.tensor(w), output_padding=(0, 1),
                              **kw).numpy()
    assert back.shape == x.shape
    np.testing.assert_allclose((fwd * y).sum(), (x * back).sum(), rtol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_match_numpy_pad(mode):
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    conv = nn.Conv2d(2, 3, (3, 2), padding=(2, 1), padding_mode=mode, dtype=dynamic.float64)
    x = _a(2, 2, 5, 4)
    xp = np.pad(x, ((0, 0), (0, 0), (2, 2), (1, 1)), mode=np_mode)
    want = F.conv2d(dynamic.tensor(xp), conv.weight, conv.bias).detach().numpy()
    np.testing.assert_allclose(conv(dynamic.tensor(x)).detach().numpy(), want, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_against_pytorch(mode):
    torch = pytest.importorskip("torch")
    outs = []
    for lib in (torch, dynamic):
        lib.manual_seed(0)
        conv = lib.nn.Conv1d(2, 4, 3, padding="same", dilation=2, padding_mode=mode,
                             dtype=lib.float64)
        conv.weight.data = lib.tensor(np.linspace(-1, 1, 24).reshape(4, 2, 3))
        conv.bias.data = lib.tensor(np.linspace(-1, 1, 4))
        x = lib.tensor(np.linspace(-2, 3, 14).reshape(1, 2, 7), requires_grad=True)
        y = conv(x)
        (y * y).sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy(), conv.weight.grad.numpy(), repr(conv)))
    for a, b in zip(outs[0][:3], outs[1][:3], strict=True):
        np.testing.assert_allclose(b, a, atol=1e-12)
    assert outs[0][3] == outs[1][3]


ERRORS = [
    (lambda: F.conv1d(dynamic.zeros(2, 4, 9), dynamic.zeros(6, 3, 3), groups=2),
     r"Given groups=2, weight of size \[6, 3, 3\], expected input\[2, 4, 9\] to have 6 channels"),
    (lambda: F.conv1d(dynamic.zeros(2, 4, 9), dynamic.zeros(5, 2, 3), groups=2),
     r"expected weight to be divisible by 2 at dimension 0"),
    (lambda: F.conv1d(dynamic.zeros(4, 9, 9, 9), dynamic.zeros(6, 4, 3)),
     r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d, but got input of size: "
     r"\[4, 9, 9, 9\]"),
    (lambda: F.conv2d(dynamic.zeros(1, 4, 6, 7), dynamic.zeros(6, 4, 3, 3), groups=0),
     "non-positive groups is not supported"),
    (lambda: F.conv2d(dynamic.zeros(1, 4, 6, 7), dynamic.zeros(6, 4, 3, 3), stride=0),
     "non-positive stride is not supported"),
    (lambda: F.conv2d(dynamic.zeros(1, 4, 6, 7), dynamic.zeros(6, 4, 3, 3), padding=-1),
     "negative padding is not supported"),
    (lambda: F.conv2d(dynamic.zeros(1, 4, 6, 7), dynamic.zeros(6, 4, 3, 3), stride=(1, 2, 3)),
     r"expected stride to be a single integer value or a list of 2 values"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), "out_channels must be divisible by groups"),
    (lambda: nn.Conv2d(3, 6, 3, groups=2), "in_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 6, 3, padding_mode="foo"), "padding_mode must be one of"),
    (lambda: nn.Conv2d(4, 6, 3, padding=7, padding_mode="reflect")(dynamic.zeros(2, 4, 6, 7)),
     r"Padding size should be less than the corresponding input dimension, but got: padding "
     r"\(7, 7\) at dimension 3 of input \[2, 4, 6, 7\]"),
    (lambda: nn.Conv2d(4, 6, 3, padding=8, padding_mode="circular")(dynamic.zeros(2, 4, 6, 7)),
     "Padding value causes wrapping around more than once"),
    (lambda: nn.Conv1d(4, 6, 3, padding="full"), "Invalid padding string 'full'"),
    (lambda: nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"),
     'Only "zeros" padding mode is supported for ConvTranspose2d'),
    (lambda: F.conv_transpose2d(dynamic.zeros(2, 4, 6, 7), dynamic.zeros(4, 3, 3, 3), stride=2,
                                output_padding=2),
     "output padding must be smaller than either stride or dilation, but got "
     "output_padding_height: 2 output_padding_width: 2 stride_height: 2 stride_width: 2 "
     "dilation_height: 1 dilation_width: 1"),
    (lambda: F.conv_transpose2d(dynamic.zeros(2, 4, 6, 7), dynamic.zeros(5, 3, 3, 3)),
     r"Given transposed=1, weight of size \[5, 3, 3, 3\], expected input\[2, 4, 6, 7\] to have "
     "5 channels"),
    (lambda: F.max_pool1d(dynamic.zeros(9), 2),
     r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor with optional 0 dim batch size for "
     r"input, but got:\[9\]"),
    (lambda: F.adaptive_avg_pool2d(dynamic.zeros(6, 7), 3),
     r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[6, 7\]"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_have_pytorchs_text(case):
    fn, pattern = ERRORS[case]
    with pytest.raises((RuntimeError, ValueError), match=pattern):
        fn()


def test_module_reprs_and_shapes():
    assert repr(nn.Conv1d(4, 6, 3, padding=1, padding_mode="reflect", groups=2)) == (
        "Conv1d(4, 6, kernel_size=(3,), stride=(1,), padding=(1,), groups=2, "
        "padding_mode=reflect)")
    assert repr(nn.Conv3d(4, 6, (1, 2, 3), stride=2, dilation=2, bias=False)) == (
        "Conv3d(4, 6, kernel_size=(1, 2, 3), stride=(2, 2, 2), dilation=(2, 2, 2), bias=False)")
    assert repr(nn.Conv2d(4, 4, 3, groups=4, padding="same")) == (
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=same, groups=4)")
    assert repr(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)) == (
        "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "output_padding=(1, 1))")
    assert repr(nn.AdaptiveAvgPool2d((2, 3))) == "AdaptiveAvgPool2d(output_size=(2, 3))"
    assert repr(nn.AvgPool1d(3, 2, 1)) == "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))"
    assert nn.Conv2d(4, 8, 3, groups=2).weight.shape == (8, 2, 3, 3)
    assert nn.ConvTranspose1d(4, 6, 3, groups=2).weight.shape == (4, 3, 3)
    y = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)(dynamic.zeros(2, 4, 5, 5))
    assert y.shape == (2, 6, 10, 10)

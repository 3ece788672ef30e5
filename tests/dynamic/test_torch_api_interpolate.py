"""``F.interpolate`` modes ``bicubic`` (``align_corners`` both, sizes and scale factors, up and
down) and ``area`` (3-, 4-, 5-D: adaptive average pooling): values against numpy references of
PyTorch's formulas, gradients against finite differences (float64 ``gradcheck``) and torch
2.13 when installed, ``grad_fn`` names, errors, and ``dynamic.compile``."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn.functional as F

R = np.random.default_rng(11)

CUBIC = [((2, 3, 5, 6), dict(size=(9, 4))),
         ((1, 2, 5, 6), dict(scale_factor=2.5, align_corners=True)),
         ((1, 2, 4, 4), dict(scale_factor=(1.7, 0.6))),
         ((1, 1, 6, 3), dict(size=(2, 7), align_corners=True))]
AREA = [((1, 2, 7), dict(size=3)), ((2, 2, 7, 5), dict(size=(3, 4))),
        ((1, 2, 7, 5, 6), dict(size=(3, 4, 4))), ((1, 2, 4, 4, 4), dict(scale_factor=2))]


def _keys(t: float) -> list[float]:
    a = -0.75
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1  # noqa: E731
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # noqa: E731
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _src(o: int, n: int, align: bool, scale: float | None) -> list[tuple[list[int], list[float]]]:
    out = []
    for i in range(o):
        if align:
            x = i * ((n - 1) / (o - 1) if o > 1 else 0.0)
        else:
            x = (n / o if scale is None else 1 / scale) * (i + 0.5) - 0.5
        b = math.floor(x)
        out.append(([min(max(b - 1 + k, 0), n - 1) for k in range(4)], _keys(x - b)))
    return out


def _np_bicubic(a: np.ndarray, kw: dict) -> np.ndarray:
    h, w = a.shape[2:]
    if "size" in kw:
        (oh, ow), (sh, sw) = kw["size"], (None, None)
    else:
        sf = kw["scale_factor"]
        sh, sw = sf if isinstance(sf, tuple) else (sf, sf)
        oh, ow = math.floor(h * sh), math.floor(w * sw)
    align = kw.get("align_corners", False)
    rows, cols = _src(oh, h, align, sh), _src(ow, w, align, sw)
    out = np.zeros(a.shape[:2] + (oh, ow))
    for i, (ri, rw) in enumerate(rows):
        for j, (ci, cw) in enumerate(cols):
            for p, wy in zip(ri, rw, strict=True):
                for q, wx in zip(ci, cw, strict=True):
                    out[:, :, i, j] += wy * wx * a[:, :, p, q]
    return out


def _np_area(a: np.ndarray, kw: dict) -> np.ndarray:
    nd = a.ndim - 2
    if "size" in kw:
        size = kw["size"] if isinstance(kw["size"], tuple) else (kw["size"],) * nd
    else:
        size = tuple(math.floor(n * kw["scale_factor"]) for n in a.shape[2:])
    out = np.zeros(a.shape[:2] + tuple(size))
    for pos in np.ndindex(*size):
        win = tuple(slice((i * n) // o, -(-((i + 1) * n) // o))
                    for i, n, o in zip(pos, a.shape[2:], size, strict=True))
        out[(Ellipsis,) + pos] = a[(Ellipsis,) + win].mean(axis=tuple(range(2, a.ndim)))
    return out


@pytest.mark.parametrize(("shape", "kw"), CUBIC)
def test_bicubic_values_grad_fn_and_gradcheck(shape, kw):
    a = R.standard_normal(shape)
    x = torch.tensor(a, requires_grad=True)
    y = F.interpolate(x, mode="bicubic", **kw)
    np.testing.assert_allclose(y.detach().numpy(), _np_bicubic(a, kw), rtol=1e-12, atol=1e-12)
    assert type(y.grad_fn).__name__ == "UpsampleBicubic2DBackward0"
    assert torch.autograd.gradcheck(lambda t: F.interpolate(t, mode="bicubic", **kw), (x,))


@pytest.mark.parametrize(("shape", "kw"), AREA)
def test_area_values_and_gradcheck(shape, kw):
    a = R.standard_normal(shape)
    x = torch.tensor(a, requires_grad=True)
    y = F.interpolate(x, mode="area", **kw)
    np.testing.assert_allclose(y.detach().numpy(), _np_area(a, kw), rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda t: F.interpolate(t, mode="area", **kw), (x,))


def test_upsample_module_takes_the_new_modes():
    x = torch.tensor(R.standard_normal((1, 1, 3, 3)))
    np.testing.assert_array_equal(
        torch.nn.Upsample(scale_factor=2, mode="bicubic")(x).numpy(),
        F.interpolate(x, scale_factor=2, mode="bicubic").numpy())


def test_errors_name_the_mode_and_input():
    with pytest.raises(NotImplementedError, match="Got 3D input, but bicubic mode needs 4D"):
        F.interpolate(torch.zeros(1, 2, 5), size=3, mode="bicubic")
    with pytest.raises(ValueError, match="align_corners option can only be set with the "
                                         "interpolating modes"):
        F.interpolate(torch.zeros(1, 2, 5), size=3, mode="area", align_corners=True)
    with pytest.raises(NotImplementedError, match=r"mode='lanczos'.*bicubic or area"):
        F.interpolate(torch.zeros(1, 2, 5, 5), size=3, mode="lanczos")


@pytest.mark.parametrize(("mode", "shape", "kw"),
                         [("bicubic",) + c for c in CUBIC] + [("area",) + c for c in AREA])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_gradients_and_names_match_torch(mode, shape, kw, dtype):
    tt = pytest.importorskip("torch")
    a = R.standard_normal(shape).astype(dtype)
    outs = []
    for T in (torch, tt):
        x = T.tensor(a, requires_grad=True)
        y = T.nn.functional.interpolate(x, mode=mode, **kw)
        w = np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)).astype(dtype)
        (y * T.tensor(w)).sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy(), type(y.grad_fn).__name__))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=tol, atol=tol)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=tol, atol=tol)
    assert outs[0][2] == outs[1][2]


def test_compiled_values_and_grads_equal_eager():
    def fn(a):
        loss = (F.interpolate(a, scale_factor=1.5, mode="bicubic").pow(2).sum()
                + F.interpolate(a, size=(2, 3), mode="area").sin().sum())
        return loss, torch.autograd.grad(loss, (a,))[0]
    compiled = torch.compile(fn)
    for k in range(2):
        a = torch.tensor(R.standard_normal((1, 2, 4, 6)).astype(np.float32) + k,
                         requires_grad=True)
        for w, g in zip(fn(a), compiled(a), strict=True):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-5,
                                       atol=1e-6)
    assert compiled.break_reasons == []

"""``as_strided`` and ``Tensor.unfold`` as true views, ``F.fold``/``nn.Fold``: values against
numpy, gradients against finite differences (float64 ``gradcheck``) and torch 2.13 when
installed, writes through the views (and their gradients, ``CopySlices``), PyTorch's errors,
``grad_fn`` names, ``dynamic.compile``, and the records in the static mode on every executor."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn.functional as F
import staticgraph as sg
from staticgraph import ops

R = np.random.default_rng(5)
X12 = R.standard_normal(12)

STRIDED = [((3, 3), (2, 1), 1), ((2, 2, 2), (4, 1, 2), 0), ((4,), (3,), 2), ((2, 3), (0, 1), 5)]
UNFOLDS = [((10,), 0, 3, 2), ((3, 7), 1, 2, 2), ((4, 5, 2), 0, 2, 1), ((4, 5), -1, 5, 1)]
FOLDS = [dict(output_size=(5, 6), kernel_size=2),
         dict(output_size=(7, 5), kernel_size=(3, 2), dilation=(1, 2), padding=1, stride=(2, 1)),
         dict(output_size=4, kernel_size=3, padding=1, stride=2)]


def _np_strided(a: np.ndarray, size, stride, offset) -> np.ndarray:
    flat = np.ascontiguousarray(a).reshape(-1)
    return np.lib.stride_tricks.as_strided(flat[offset:], size,
                                           tuple(s * flat.itemsize for s in stride)).copy()


def _np_unfold(a: np.ndarray, dim: int, size: int, step: int) -> np.ndarray:
    d = dim % a.ndim
    wins = [np.take(a, range(i, i + size), axis=d) for i in range(0, a.shape[d] - size + 1, step)]
    return np.moveaxis(np.stack(wins, d), d + 1, -1)


def _fold_blocks(kw: dict) -> tuple:
    pair = lambda v: tuple(v) if isinstance(v, tuple) else (v, v)  # noqa: E731
    (oh, ow), (kh, kw_) = pair(kw["output_size"]), pair(kw["kernel_size"])
    (dh, dw), (ph, pw) = pair(kw.get("dilation", 1)), pair(kw.get("padding", 0))
    sh, sw = pair(kw.get("stride", 1))
    bh = (oh + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    bw = (ow + 2 * pw - dw * (kw_ - 1) - 1) // sw + 1
    return (oh, ow, kh, kw_, dh, dw, ph, pw, sh, sw, bh, bw)


def _np_fold(cols: np.ndarray, kw: dict) -> np.ndarray:
    oh, ow, kh, kw_, dh, dw, ph, pw, sh, sw, bh, bw = _fold_blocks(kw)
    n, ckk, _ = cols.shape
    c = ckk // (kh * kw_)
    img = np.zeros((n, c, oh + 2 * ph, ow + 2 * pw))
    blocks = cols.reshape(n, c, kh, kw_, bh, bw)
    for i in range(kh):
        for j in range(kw_):
            for bi in range(bh):
                for bj in range(bw):
                    img[:, :, i * dh + bi * sh, j * dw + bj * sw] += blocks[:, :, i, j, bi, bj]
    return img[:, :, ph:ph + oh, pw:pw + ow]


def _fold_input(kw: dict) -> np.ndarray:
    _, _, kh, kw_, _, _, _, _, _, _, bh, bw = _fold_blocks(kw)
    return R.standard_normal((2, 3 * kh * kw_, bh * bw))


# ------------------------------------------------------------------------------- values
@pytest.mark.parametrize("args", STRIDED)
def test_as_strided_values_grad_fn_and_gradcheck(args):
    x = torch.tensor(X12, requires_grad=True)
    y = x.as_strided(*args)
    np.testing.assert_array_equal(y.detach().numpy(), _np_strided(X12, *args))
    assert type(y.grad_fn).__name__ == "AsStridedBackward0"
    assert torch.autograd.gradcheck(lambda t: (t * 1).as_strided(*args).sin(), (x,))


@pytest.mark.parametrize("args", UNFOLDS)
def test_unfold_values_grad_fn_and_gradcheck(args):
    shape, dim, size, step = args
    a = R.standard_normal(shape)
    x = torch.tensor(a, requires_grad=True)
    y = x.unfold(dim, size, step)
    np.testing.assert_array_equal(y.detach().numpy(), _np_unfold(a, dim, size, step))
    assert type(y.grad_fn).__name__ == "UnfoldBackward0"
    assert torch.autograd.gradcheck(lambda t: t.unfold(dim, size, step).pow(2), (x,))


@pytest.mark.parametrize("kw", FOLDS)
def test_fold_values_module_and_gradcheck(kw):
    a = _fold_input(kw)
    x = torch.tensor(a, requires_grad=True)
    y = F.fold(x, **kw)
    np.testing.assert_allclose(y.detach().numpy(), _np_fold(a, kw), rtol=1e-12)
    assert type(y.grad_fn).__name__ == "Col2ImBackward0"
    np.testing.assert_array_equal(torch.nn.Fold(**kw)(x[1]).detach().numpy(),
                                  y[1].detach().numpy())
    assert torch.autograd.gradcheck(lambda t: F.fold(t, **kw).pow(2), (x,))


def test_fold_inverts_unfold_on_non_overlapping_blocks():
    a = torch.tensor(R.standard_normal((2, 3, 4, 6)))
    cols = F.unfold(a, 2, stride=2)
    np.testing.assert_array_equal(F.fold(cols, (4, 6), 2, stride=2).numpy(), a.numpy())


# --------------------------------------------------------------------------- true views
def test_unfold_writes_through_and_records_copy_slices():
    base = torch.tensor(np.zeros(8), requires_grad=True)
    b = base * 1
    w = b.unfold(0, 3, 2)
    assert w._base is b
    w[1, 0] = 5.0  # element 2 of b, shared by windows 0 and 1
    b.unfold(0, 3, 3).mul_(2.0)  # non-overlapping windows (PyTorch leaves in-place ops on
    # overlapping ones undefined): elements 0..5 double
    got = b.detach().numpy()
    tt = pytest.importorskip("torch")
    bt_leaf = tt.zeros(8, dtype=tt.float64, requires_grad=True)
    bt = bt_leaf * 1
    wt = bt.unfold(0, 3, 2)
    wt[1, 0] = 5.0
    bt.unfold(0, 3, 3).mul_(2.0)
    np.testing.assert_array_equal(got, bt.detach().numpy())
    (b * torch.arange(8.0)).sum().backward()
    (bt * tt.arange(8.0, dtype=tt.float64)).sum().backward()
    np.testing.assert_array_equal(base.grad.numpy(), bt_leaf.grad.numpy())


def test_as_strided_writes_through_and_shares_the_version():
    x = torch.tensor(np.arange(6.0))
    v = x.as_strided((2, 2), (3, 1), 1)
    v.add_(10.0)
    np.testing.assert_array_equal(x.numpy(), [0, 11, 12, 3, 14, 15])
    assert x._version == v._version


def test_as_strided_of_a_view_reads_the_base_storage():
    a = R.standard_normal((4, 3))
    x = torch.tensor(a, requires_grad=True)
    t = x.t()  # a view: as_strided indexes the base's storage, from t's storage_offset (0)
    y = t.as_strided((2, 3), (3, 1))
    np.testing.assert_array_equal(y.detach().numpy(), a.reshape(-1)[:6].reshape(2, 3))
    s = x[1:]  # storage_offset 3 by default
    np.testing.assert_array_equal(s.as_strided((2,), (1,)).detach().numpy(), a.reshape(-1)[3:5])
    torch.as_strided(s, (2, 2), (1, 1), 4).sum().backward()
    want = np.zeros(12)
    np.add.at(want, [4, 5, 5, 6], 1.0)
    np.testing.assert_array_equal(x.grad.numpy().reshape(-1), want)


# ------------------------------------------------------------------------------- errors
def test_bad_arguments_raise_pytorch_errors():
    x = torch.tensor(X12)
    with pytest.raises(RuntimeError, match="out of bounds for storage of 12 elements"):
        x.as_strided((4, 4), (4, 1))
    with pytest.raises(RuntimeError, match="mismatch in length of strides and shape"):
        x.as_strided((2, 2), (1,))
    with pytest.raises(RuntimeError, match="Negative strides"):
        x.as_strided((2,), (-1,), 3)
    with pytest.raises(RuntimeError, match="maximum size for tensor at dimension 0 is 12 but "
                                           "size is 13"):
        x.unfold(0, 13, 1)
    with pytest.raises(RuntimeError, match="step is 0 but must be > 0"):
        x.unfold(0, 2, 0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.unfold(1, 2, 1)
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F.fold(torch.zeros(1, 5, 4), (3, 3), 2)
    with pytest.raises(RuntimeError, match=r"number of sliding blocks 2 \* 2 = 4, but got "
                                           r"input.size\(2\)=5"):
        F.fold(torch.zeros(1, 4, 5), (3, 3), 2)


# ------------------------------------------------------------------------ torch 2.13 live
@pytest.mark.parametrize("kind", ["as_strided", "unfold", "fold"])
def test_values_and_gradients_match_torch(kind):
    tt = pytest.importorskip("torch")
    cases = {"as_strided": [(X12, lambda T, t, a=a: t.as_strided(*a)) for a in STRIDED],
             "unfold": [(R.standard_normal(s), lambda T, t, d=d, k=k, st=st: t.unfold(d, k, st))
                        for s, d, k, st in UNFOLDS],
             "fold": [(_fold_input(kw), lambda T, t, kw=kw: T.nn.functional.fold(t, **kw))
                      for kw in FOLDS]}[kind]
    for a, f in cases:
        outs = []
        for T in (torch, tt):
            x = T.tensor(a, requires_grad=True)
            y = f(T, x * 1)
            w = T.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)))
            (y * w).sum().backward()
            outs.append((y.detach().numpy(), x.grad.numpy(), type(y.grad_fn).__name__))
        np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
        np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)
        assert outs[0][2] == outs[1][2]


# ----------------------------------------------------------------- compile and static mode
def test_compiled_values_and_grads_equal_eager():
    def fn(a):
        loss = ((a.as_strided((3, 3), (2, 1), 1).sin() * 2).sum() + a.unfold(0, 4, 3).pow(2).sum()
                + F.fold((a[:8] * 2).reshape(1, 4, 2), (2, 3), 2).pow(3).sum())
        return loss, torch.autograd.grad(loss, (a,))[0]
    compiled = torch.compile(fn)
    for k in range(2):
        a = torch.tensor(np.linspace(-1, 1, 12).astype(np.float32) + k, requires_grad=True)
        for w, g in zip(fn(a), compiled(a), strict=True):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-5)
    assert compiled.break_reasons == []


@pytest.mark.parametrize("executor", ["reference", "numba"])
def test_records_in_the_static_mode(executor):
    x = sg.placeholder(sg.float64, [12])
    y, z = ops.as_strided(x, (3, 3), (2, 1), 1), ops.unfold(ops.reshape(x, (3, 4)), 1, 2, 1)
    loss = sg.reduce_sum(sg.sin(y)) + sg.reduce_sum(z * z)
    gx, = sg.gradients(loss, [x])
    with sg.Session(executor=executor) as s:
        lv, gv = s.run([loss, gx], {x: X12})
    ys, zs = _np_strided(X12, (3, 3), (2, 1), 1), _np_unfold(X12.reshape(3, 4), 1, 2, 1)
    np.testing.assert_allclose(lv, np.sin(ys).sum() + (zs * zs).sum(), rtol=1e-12)
    want = np.zeros(12)
    np.add.at(want, (np.arange(3)[:, None] * 2 + np.arange(3) + 1).reshape(-1),
              np.cos(ys).reshape(-1))
    idx = (np.arange(3)[:, None, None] * 4 + np.arange(3)[None, :, None]
           + np.arange(2)[None, None, :]).reshape(-1)
    np.add.at(want, idx, 2 * zs.reshape(-1))
    np.testing.assert_allclose(gv, want, rtol=1e-12)

"""``nn.functional`` additions (``normalize``, ``cosine_similarity``, ``pairwise_distance``,
``interpolate``, ``pixel_shuffle``, ``unfold``, ``embedding_bag``, ``gumbel_softmax``), their
modules, and ``optim.Adamax``/``NAdam``/``RAdam``: numpy references (run without torch),
finite-difference gradients, and torch as an optional oracle (values, gradients, names)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as dt

R = np.random.default_rng(11)


def _F(T):
    return T.nn.functional


def _np_nearest(x, out):  # PyTorch's nearest: floor(dst * in / out)
    idx = [np.minimum(np.floor(np.arange(o) * (i / o)).astype(int), i - 1)
           for o, i in zip(out, x.shape[2:], strict=True)]
    return x[:, :, idx[0]][:, :, :, idx[1]]


def _np_bilinear_ac(x, out):  # align_corners=True
    def w(o, i):
        src = np.arange(o) * ((i - 1) / (o - 1))
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, i - 1)
        return i0, i1, src - i0
    h0, h1, lh = w(out[0], x.shape[2])
    w0, w1, lw = w(out[1], x.shape[3])
    top = x[:, :, h0] * (1 - lh)[:, None] + x[:, :, h1] * lh[:, None]
    return top[..., w0] * (1 - lw) + top[..., w1] * lw


def _np_unfold(x, k):
    n, c, h, w = x.shape
    cols = [x[:, :, i:i + h - k + 1, j:j + w - k + 1].reshape(n, c, -1)
            for i in range(k) for j in range(k)]
    return np.stack(cols, 2).reshape(n, c * k * k, -1)


def _np_cos(a, b):
    na = np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-8)
    nb = np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-8)
    return ((a / na) * (b / nb)).sum(1)


# name, f(T, *xs), shapes, numpy reference or None, grad_fn
ROWS = [
    ("normalize", lambda T, a: _F(T).normalize(a, dim=1), [(3, 4)],
     lambda a: a / np.linalg.norm(a, axis=1, keepdims=True), "DivBackward0"),
    ("normalize_p1", lambda T, a: _F(T).normalize(a, p=1, dim=0), [(3, 4)],
     lambda a: a / np.abs(a).sum(0, keepdims=True), "DivBackward0"),
    ("cosine_similarity", lambda T, a, b: _F(T).cosine_similarity(a, b), [(3, 4), (3, 4)],
     _np_cos, "SumBackward1"),
    ("CosineSimilarity", lambda T, a, b: T.nn.CosineSimilarity(dim=1)(a, b), [(3, 4), (3, 4)],
     _np_cos, "SumBackward1"),
    ("pairwise_distance", lambda T, a, b: _F(T).pairwise_distance(a, b), [(3, 4), (3, 4)],
     lambda a, b: np.linalg.norm(a - b + 1e-6, axis=-1), None),
    ("nearest", lambda T, a: _F(T).interpolate(a, size=(5, 7)), [(2, 3, 3, 4)],
     lambda a: _np_nearest(a, (5, 7)), "UpsampleNearest2DBackward0"),
    ("nearest_scale", lambda T, a: _F(T).interpolate(a, scale_factor=2), [(1, 2, 3, 2)],
     lambda a: a.repeat(2, 2).repeat(2, 3), "UpsampleNearest2DBackward0"),
    ("bilinear_ac", lambda T, a: _F(T).interpolate(a, size=(5, 7), mode="bilinear",
                                                   align_corners=True), [(2, 3, 3, 4)],
     lambda a: _np_bilinear_ac(a, (5, 7)), "UpsampleBilinear2DBackward0"),
    ("bilinear", lambda T, a: _F(T).interpolate(a, scale_factor=2, mode="bilinear"),
     [(1, 2, 3, 3)], None, "UpsampleBilinear2DBackward0"),
    ("bilinear_down", lambda T, a: _F(T).interpolate(a, size=(2, 3), mode="bilinear"),
     [(1, 2, 4, 5)], None, "UpsampleBilinear2DBackward0"),
    ("linear", lambda T, a: _F(T).interpolate(a, scale_factor=2.5, mode="linear"), [(2, 3, 4)],
     None, "UpsampleLinear1DBackward0"),
    ("trilinear", lambda T, a: _F(T).interpolate(a, size=(3, 4, 5), mode="trilinear"),
     [(1, 2, 2, 3, 2)], None, "UpsampleTrilinear3DBackward0"),
    ("nearest_exact", lambda T, a: _F(T).interpolate(a, size=(5, 3), mode="nearest-exact"),
     [(1, 2, 3, 4)], None, "UpsampleNearestExact2DBackward0"),
    ("Upsample", lambda T, a: T.nn.Upsample(scale_factor=2, mode="bilinear")(a),
     [(1, 2, 3, 3)], None, "UpsampleBilinear2DBackward0"),
    ("pixel_shuffle", lambda T, a: T.nn.PixelShuffle(2)(a), [(2, 8, 3, 2)], None,
     "PixelShuffleBackward0"),
    ("pixel_unshuffle", lambda T, a: _F(T).pixel_unshuffle(a, 2), [(2, 2, 4, 6)], None,
     "PixelUnshuffleBackward0"),
    ("unfold", lambda T, a: _F(T).unfold(a, 2), [(2, 3, 4, 5)], lambda a: _np_unfold(a, 2),
     "Im2ColBackward0"),
    ("unfold_padded", lambda T, a: T.nn.Unfold((2, 3), dilation=(1, 2), padding=1,
                                               stride=(2, 1))(a), [(2, 3, 5, 6)], None,
     "Im2ColBackward0"),
    ("embedding_bag_mean", lambda T, w: _F(T).embedding_bag(
        T.tensor([1, 2, 4, 5, 4, 3, 2, 9]), w, T.tensor([0, 4, 4, 6])), [(10, 3)],
     lambda w: np.stack([w[[1, 2, 4, 5]].mean(0), np.zeros(3), w[[4, 3]].mean(0),
                         w[[2, 9]].mean(0)]), "EmbeddingBagBackward0"),
    ("embedding_bag_sum_2d", lambda T, w: _F(T).embedding_bag(T.tensor([[1, 2], [4, 4]]), w,
                                                              mode="sum"), [(10, 3)],
     lambda w: np.stack([w[1] + w[2], 2 * w[4]]), "EmbeddingBagBackward0"),
    ("embedding_bag_max", lambda T, w: _F(T).embedding_bag(
        T.tensor([1, 2, 4, 5, 4, 3]), w, T.tensor([0, 4]), mode="max"), [(10, 3)],
     lambda w: np.stack([w[[1, 2, 4, 5]].max(0), w[[4, 3]].max(0)]), "EmbeddingBagBackward0"),
    ("embedding_bag_weights", lambda T, w, p: _F(T).embedding_bag(
        T.tensor([1, 2, 4, 5, 4, 3]), w, T.tensor([0, 2]), mode="sum", per_sample_weights=p),
     [(10, 3), (6,)], None, "EmbeddingBagBackward0"),
    ("embedding_bag_padding", lambda T, w: _F(T).embedding_bag(
        T.tensor([1, 2, 4, 5, 4, 3]), w, T.tensor([0, 2]), padding_idx=4), [(10, 3)],
     lambda w: np.stack([w[[1, 2]].mean(0), w[[5, 3]].mean(0)]), "EmbeddingBagBackward0"),
]


def _run(T, row, dtype):
    rng = np.random.default_rng(abs(hash(row[0])) % 2**32)
    arrs = [rng.standard_normal(s).astype(dtype) for s in row[2]]
    ts = [T.tensor(a, requires_grad=True) for a in arrs]
    out = row[1](T, *ts)
    w = np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)).astype(dtype)
    (out * T.tensor(w)).sum().backward()
    return arrs, out, [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_values_and_names(row):
    arrs, out, grads = _run(dt, row, np.float64)
    if row[3] is not None:
        np.testing.assert_allclose(out.detach().numpy(), row[3](*arrs), rtol=1e-10, atol=1e-12)
    if row[4] is not None:
        assert type(out.grad_fn).__name__ == row[4]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_gradients_by_finite_differences(row):
    if "max" in row[0]:
        pytest.skip("piecewise (the argmax rows): checked against torch")
    rng = np.random.default_rng(2)
    ts = tuple(dt.tensor(rng.standard_normal(s), requires_grad=True) for s in row[2])
    assert dt.autograd.gradcheck(lambda *xs: row[1](dt, *xs), ts, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_against_torch(row):
    torch = pytest.importorskip("torch")
    _, a, ga = _run(dt, row, np.float32)
    _, b, gb = _run(torch, row, np.float32)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    for x, y in zip(ga, gb, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    if row[4] is not None:
        assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__


def test_gumbel_softmax_is_a_distribution_and_hard_is_one_hot():
    x = dt.tensor(R.standard_normal((4, 5)), requires_grad=True)
    y = dt.nn.functional.gumbel_softmax(x, tau=0.5)
    np.testing.assert_allclose(y.detach().numpy().sum(1), 1.0)
    h = dt.nn.functional.gumbel_softmax(x, hard=True)
    assert sorted(np.unique(h.detach().numpy())) == [0.0, 1.0]
    np.testing.assert_array_equal(h.detach().numpy().sum(1), 1.0)
    (h * dt.arange(5.0)).sum().backward()  # straight through: the soft sample's gradient
    assert np.abs(x.grad.numpy()).sum() > 0


@pytest.mark.parametrize("call,err,msg", [
    (lambda x: dt.nn.functional.interpolate(x, scale_factor=2, size=3), ValueError,
     "only one of size or scale_factor"),
    (lambda x: dt.nn.functional.interpolate(x, scale_factor=2, align_corners=True),
     ValueError, "align_corners option can only be set"),
    (lambda x: dt.nn.functional.interpolate(x[0], scale_factor=2, mode="bilinear"),
     NotImplementedError, "Got 3D input, but bilinear mode needs 4D input"),
    (lambda x: dt.nn.functional.interpolate(x, scale_factor=2, mode="lanczos"),
     NotImplementedError, "not supported by this project"),
    (lambda x: dt.nn.functional.pixel_shuffle(x, 2), RuntimeError,
     "divisible by the square of upscale_factor"),
    (lambda x: dt.nn.functional.embedding_bag(dt.tensor([1, 2]), x[0, 0], mode="avg"),
     ValueError, "mode has to be one of sum, mean or max"),
])
def test_errors(call, err, msg):
    with pytest.raises(err, match=msg):
        call(dt.zeros(1, 3, 4, 4))


def _train(T, name, kw, steps=15):
    rng = np.random.default_rng(0)
    w = T.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x = T.tensor(rng.standard_normal((5, 3)))
    opt = getattr(T.optim, name)([w], **kw)
    for _ in range(steps):
        opt.zero_grad()
        ((x @ w).tanh() ** 2).sum().backward()
        opt.step()
    return w.detach().numpy().copy(), opt


def _np_radam(w, grads, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """RAdam's published update, for the first steps (rho_t <= 5: plain momentum)."""
    m = np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        w = w - lr * m / (1 - b1 ** t)
    return w


OPTIMS = [("Adamax", {}), ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
          ("NAdam", {}), ("NAdam", dict(lr=0.01, weight_decay=0.1)),
          ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True)), ("RAdam", {}),
          ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True))]


@pytest.mark.parametrize("name,kw", OPTIMS)
def test_optimizers_against_torch(name, kw):
    torch = pytest.importorskip("torch")
    a, opt = _train(dt, name, kw)
    b, _ = _train(torch, name, kw)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert opt.state_dict()["state"][0]["step"] == 15


def test_radam_first_steps_are_momentum_steps_and_adamax_moves_by_lr():
    w0 = np.random.default_rng(0).standard_normal((3, 4))
    p = dt.tensor(w0.copy(), requires_grad=True)
    opt = dt.optim.RAdam([p])
    grads = []
    for _ in range(4):  # rho_t stays below 5 for the first steps of beta2 = 0.999
        opt.zero_grad()
        (p ** 3).sum().backward()
        grads.append(p.grad.numpy().copy())
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), _np_radam(w0, grads), rtol=1e-12)
    q = dt.tensor(w0.copy(), requires_grad=True)
    opt = dt.optim.Adamax([q], lr=0.1)
    (q * 2).sum().backward()
    opt.step()  # first step: m = 0.1 g, u = |g|, clr = lr / 0.1: w - lr * sign(g)
    np.testing.assert_allclose(q.detach().numpy(), w0 - 0.1, rtol=1e-7, atol=1e-9)


def test_optimizer_argument_errors():
    p = dt.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        dt.optim.NAdam([p], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        dt.optim.RAdam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid momentum_decay value"):
        dt.optim.NAdam([p], momentum_decay=-1)

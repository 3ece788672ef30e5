"""``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention``: values and gradients
against a numpy formula and finite differences, and against PyTorch 2.13 (when installed) with
PyTorch's state_dict copied in, including node names, masks and error texts."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as F
from dynamic import nn

RNG = np.random.default_rng(7)


def _np_attention(q, k, v, bias=None, scale=None):
    s = q @ np.swapaxes(k, -1, -2) * (scale or 1 / np.sqrt(q.shape[-1]))
    if bias is not None:
        s = s + bias
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    return (p / p.sum(-1, keepdims=True)) @ v


def _t(a, grad=True):
    return dynamic.tensor(a, requires_grad=grad)


def test_sdpa_matches_the_formula_with_bool_float_and_causal_masks():
    q, k, v = (RNG.standard_normal((2, 3, 4, 5)) for _ in range(3))
    allowed = RNG.random((4, 4)) > 0.3
    allowed[:, 0] = True
    got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=dynamic.tensor(allowed))
    want = _np_attention(q, k, v, np.where(allowed, 0.0, -np.inf))
    np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-12)
    fl = RNG.standard_normal((4, 4))
    got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=dynamic.tensor(fl),
                                         scale=0.7)
    np.testing.assert_allclose(got.detach().numpy(), _np_attention(q, k, v, fl, 0.7), atol=1e-12)
    got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), is_causal=True)
    causal = np.where(np.tril(np.ones((4, 4), bool)), 0.0, -np.inf)
    np.testing.assert_allclose(got.detach().numpy(), _np_attention(q, k, v, causal), atol=1e-12)
    assert type(got.grad_fn).__name__ == "ScaledDotProductFlashAttentionForCpuBackward0"


def test_sdpa_gradient_matches_finite_differences_and_a_dead_row_gives_zeros():
    q, k, v = (RNG.standard_normal((3, 4)) for _ in range(3))
    allowed = np.ones((3, 3), bool)
    allowed[1] = False  # row 1 sees nothing: zeros, no NaN
    ts = [_t(x) for x in (q, k, v)]
    out = F.scaled_dot_product_attention(*ts, attn_mask=dynamic.tensor(allowed))
    assert np.all(out.detach().numpy()[1] == 0)
    w = RNG.standard_normal(out.shape)
    (out * dynamic.tensor(w)).sum().backward()

    def f(qq):
        bias = np.where(allowed, 0.0, -np.inf)
        bias[1] = 0.0
        r = _np_attention(qq, k, v, bias)
        r[1] = 0.0
        return (r * w).sum()

    eps, num = 1e-6, np.zeros_like(q)
    for idx in np.ndindex(q.shape):
        d = np.zeros_like(q)
        d[idx] = eps
        num[idx] = (f(q + d) - f(q - d)) / (2 * eps)
    np.testing.assert_allclose(ts[0].grad.numpy(), num, atol=1e-7)
    assert np.isfinite(ts[1].grad.numpy()).all() and np.isfinite(ts[2].grad.numpy()).all()


def test_sdpa_bad_mask_dtype_and_shapes_raise_named_errors():
    q = dynamic.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match="attn_mask.dtype: long int and  query.dtype: float"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=dynamic.ones(3, 3, dtype=dynamic.long))
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=dynamic.ones(3, 3), is_causal=True)
    with pytest.raises(RuntimeError, match="query"):
        F.scaled_dot_product_attention(q, dynamic.zeros(2, 3, 5), q)


def test_multihead_attention_parameters_shapes_and_init():
    m = nn.MultiheadAttention(8, 2)
    assert list(m.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                    "out_proj.bias"]
    assert repr(m) == ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear("
                       "in_features=8, out_features=8, bias=True)\n)")
    assert np.all(m.in_proj_bias.detach().numpy() == 0)
    bound = np.sqrt(6 / (8 + 24))
    assert np.abs(m.in_proj_weight.detach().numpy()).max() <= bound
    sep = nn.MultiheadAttention(8, 2, kdim=5, vdim=3, add_bias_kv=True)
    assert list(sep.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight",
                                      "in_proj_bias", "bias_k", "bias_v", "out_proj.weight",
                                      "out_proj.bias"]
    assert sep.in_proj_weight is None
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(7, 2)


def test_multihead_attention_masks_padding_and_shapes():
    m = nn.MultiheadAttention(6, 3, batch_first=True)
    x = dynamic.randn(2, 4, 6)
    out, w = m(x, x, x)
    assert tuple(out.shape) == (2, 4, 6) and tuple(w.shape) == (2, 4, 4)
    np.testing.assert_allclose(w.detach().numpy().sum(-1), 1.0, atol=1e-6)
    kpm = dynamic.tensor([[False, False, True, True], [False, False, False, False]])
    _, w = m(x, x, x, key_padding_mask=kpm, average_attn_weights=False)
    assert tuple(w.shape) == (2, 3, 4, 4)
    assert np.all(w.detach().numpy()[0, :, :, 2:] == 0)
    # changing a padded key does not change the output
    y = x.clone()
    y[0, 3] = 100.0
    a = m(x, x, x, key_padding_mask=kpm, need_weights=False)[0]
    b = m(x, y, y, key_padding_mask=kpm, need_weights=False)[0]
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is"):
        m(x, x, x, attn_mask=dynamic.zeros(3, 3))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)


def _copy(tm, dm):
    dm.load_state_dict({k: dynamic.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    assert list(dm.state_dict()) == list(tm.state_dict())


@pytest.mark.parametrize("cfg", [{}, {"batch_first": True}, {"kdim": 5, "vdim": 3},
                                 {"add_bias_kv": True}, {"bias": False},
                                 {"add_zero_attn": True}])
@pytest.mark.parametrize("call", ["plain", "no_weights", "padding", "mask_per_head", "both"])
def test_multihead_attention_matches_torch(cfg, call):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(8, 2, dtype=torch.float64, **cfg)
    dm = nn.MultiheadAttention(8, 2, dtype=dynamic.float64, **cfg)
    _copy(tm, dm)
    seq, src, n = 4, 5, 3
    bf = cfg.get("batch_first", False)

    def shape(a, b, c):
        return (b, a, c) if bf else (a, b, c)

    arrays = (rng.standard_normal(shape(seq, n, 8)),
              rng.standard_normal(shape(src, n, cfg.get("kdim", 8))),
              rng.standard_normal(shape(src, n, cfg.get("vdim", 8))))
    kpm = rng.random((n, src)) < 0.3
    kpm[:, 0] = False
    am = rng.random((seq, src)) < 0.2
    am[:, 1] = False
    kw = {"plain": {}, "no_weights": {"need_weights": False}, "padding": {"key_padding_mask": kpm},
          "mask_per_head": {"attn_mask": am, "average_attn_weights": False},
          "both": {"attn_mask": am * -2.0, "key_padding_mask": kpm, "need_weights": False}}[call]
    tq = [torch.tensor(a, requires_grad=True) for a in arrays]
    dq = [dynamic.tensor(a, requires_grad=True) for a in arrays]
    to, tw = tm(*tq, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                        for k, v in kw.items()})
    do, dw = dm(*dq, **{k: dynamic.tensor(v) if isinstance(v, np.ndarray) else v
                        for k, v in kw.items()})
    np.testing.assert_allclose(do.detach().numpy(), to.detach().numpy(), atol=1e-13)
    assert type(do.grad_fn).__name__ == type(to.grad_fn).__name__
    if tw is None:
        assert dw is None
    else:
        np.testing.assert_allclose(dw.detach().numpy(), tw.detach().numpy(), atol=1e-13)
        assert type(dw.grad_fn).__name__ == type(tw.grad_fn).__name__
    g = rng.standard_normal(to.shape)
    to.backward(torch.tensor(g))
    do.backward(dynamic.tensor(g))
    for a, b in zip(dq, tq, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)
    ours = dict(dm.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(ours[name].grad.numpy(), p.grad.numpy(), atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("shape", [(2, 3, 4, 8), (3, 4, 8), (4, 8)])
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.3}])
@pytest.mark.parametrize("mask", [None, "bool", "float"])
def test_sdpa_matches_torch(shape, kw, mask):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(shape) for _ in range(3)]
    m = None if mask is None else (rng.random(shape[-2:][:1] * 2) > 0.4 if mask == "bool"
                                   else rng.standard_normal((shape[-2], shape[-2])))
    tq = [torch.tensor(a, requires_grad=True) for a in arrays]
    dq = [dynamic.tensor(a, requires_grad=True) for a in arrays]
    try:
        to = torch.nn.functional.scaled_dot_product_attention(
            *tq, attn_mask=None if m is None else torch.tensor(m), **kw)
    except RuntimeError as e:
        with pytest.raises(RuntimeError, match=str(e)):
            F.scaled_dot_product_attention(*dq, attn_mask=dynamic.tensor(m), **kw)
        return
    do = F.scaled_dot_product_attention(*dq, attn_mask=None if m is None else dynamic.tensor(m),
                                        **kw)
    np.testing.assert_allclose(do.detach().numpy(), to.detach().numpy(), atol=1e-13)
    assert type(do.grad_fn).__name__ == type(to.grad_fn).__name__
    g = rng.standard_normal(to.shape)
    to.backward(torch.tensor(g))
    do.backward(dynamic.tensor(g))
    for a, b in zip(dq, tq, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)


def test_second_derivative_of_self_attention_counts_each_path_once():
    """k and v derive from q (self-attention): create_graph must not treat them as independent
    inputs (the 4-D call gives the same as the plain 3-D ops)."""
    a = RNG.standard_normal((1, 2, 3, 4))
    res = []
    for four in (True, False):
        q = _t(a)
        qq = q if four else q[0]
        y = F.scaled_dot_product_attention(qq, qq * 2, qq, is_causal=True)
        g, = dynamic.autograd.grad((y ** 2).sum(), q, create_graph=True)
        (g ** 2).sum().backward()
        res.append((g.detach().numpy(), q.grad.numpy()))
    for x, y in zip(*res, strict=True):
        np.testing.assert_allclose(x, y, atol=1e-10)


def test_multihead_attention_double_backward_matches_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(4, 2, dtype=torch.float64)
    dm = nn.MultiheadAttention(4, 2, dtype=dynamic.float64)
    _copy(tm, dm)
    x = RNG.standard_normal((3, 2, 4))
    grads = []
    for mod, m in ((torch, tm), (dynamic, dm)):
        t = mod.tensor(x, requires_grad=True)
        out, _ = m(t, t, t)
        g, = mod.autograd.grad((out ** 2).sum(), t, create_graph=True)
        (g ** 2).sum().backward()
        grads.append((g.detach().numpy(), t.grad.numpy(), m.in_proj_weight.grad.numpy()))
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(b, a, atol=1e-11)

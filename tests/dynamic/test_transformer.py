"""``nn.Transformer*`` layers and stacks: structure (state_dict keys, reprs, masks), properties
that need no oracle (causality, padding invariance), and values/gradients against PyTorch 2.13
with its state_dict copied in (when installed)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dynamic
from dynamic import nn


def test_square_subsequent_mask_and_causal_detection():
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.dtype == dynamic.float32
    np.testing.assert_array_equal(m.numpy(), [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])
    from dynamic.nn.transformer import _detect_is_causal_mask
    assert _detect_is_causal_mask(m) and not _detect_is_causal_mask(dynamic.zeros(3, 3))
    assert _detect_is_causal_mask(None, True) and not _detect_is_causal_mask(m, False)


def test_encoder_layer_structure_and_activation_checks():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    assert list(layer.state_dict())[:6] == [
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
        "self_attn.out_proj.bias", "linear1.weight", "linear1.bias"]
    assert "(dropout2): Dropout(p=0.1, inplace=False)" in repr(layer)
    assert "(activation): GELU" in repr(nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU()))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = nn.TransformerEncoder(layer, 3)
    assert "self.use_nested_tensor is False because encoder_layer.self_attn.batch_first was not" \
        in str(caught[0].message)
    assert len(enc.layers) == 3 and enc.layers[0] is not enc.layers[1]
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight


def test_causal_mask_keeps_the_future_out_and_padding_is_invisible():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    x = dynamic.randn(2, 5, 8)
    y = x.clone()
    y[:, 3:] = 7.0
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    a, b = layer(x, src_mask=mask), layer(y, src_mask=mask)
    np.testing.assert_allclose(a.detach().numpy()[:, :3], b.detach().numpy()[:, :3], atol=1e-5)
    assert np.abs(a.detach().numpy()[:, 3:] - b.detach().numpy()[:, 3:]).max() > 1e-2
    kpm = dynamic.tensor([[False, False, False, True, True]] * 2)
    a, b = layer(x, src_key_padding_mask=kpm), layer(y, src_key_padding_mask=kpm)
    np.testing.assert_allclose(a.detach().numpy()[:, :3], b.detach().numpy()[:, :3], atol=1e-5)
    alone = layer(x[:, :3])
    np.testing.assert_allclose(a.detach().numpy()[:, :3], alone.detach().numpy(), atol=1e-5)


def test_transformer_argument_checks():
    t = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        t(dynamic.zeros(4, 2, 8), dynamic.zeros(3, 3, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to"):
        t(dynamic.zeros(4, 2, 8), dynamic.zeros(3, 2, 6))
    out = t(dynamic.randn(4, 2, 8), dynamic.randn(3, 2, 8))
    assert tuple(out.shape) == (3, 2, 8)
    assert type(out.grad_fn).__name__ == "NativeLayerNormBackward0"


def _copy(tm, dm):
    dm.load_state_dict({k: dynamic.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    assert list(dm.state_dict()) == list(tm.state_dict())
    assert repr(dm) == repr(tm)


def _check(torch, tm, dm, targs, dargs, tkw=None, dkw=None, grad=True):
    rng = np.random.default_rng(0)
    to, do = tm(*targs, **(tkw or {})), dm(*dargs, **(dkw or {}))
    np.testing.assert_allclose(do.detach().numpy(), to.detach().numpy(), atol=1e-12)
    if not grad:
        return
    assert type(do.grad_fn).__name__ == type(to.grad_fn).__name__
    g = rng.standard_normal(to.shape)
    to.backward(torch.tensor(g))
    do.backward(dynamic.tensor(g))
    ours = dict(dm.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(ours[name].grad.numpy(), p.grad.numpy(), atol=1e-11,
                                   err_msg=name)
    for a, b in zip(dargs, targs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-11)


CFGS = [{}, {"norm_first": True}, {"activation": "gelu", "batch_first": True}]


@pytest.mark.parametrize("cfg", CFGS)
def test_encoder_and_decoder_layers_match_torch(cfg):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for kind in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        torch.manual_seed(0)
        tm = getattr(torch.nn, kind)(8, 2, 16, dropout=0.0, dtype=torch.float64, **cfg)
        dm = getattr(nn, kind)(8, 2, 16, dropout=0.0, dtype=dynamic.float64, **cfg)
        _copy(tm, dm)
        bf = cfg.get("batch_first", False)
        x = rng.standard_normal((3, 5, 8) if bf else (5, 3, 8))
        mem = rng.standard_normal((3, 4, 8) if bf else (4, 3, 8))
        kpm = np.zeros((3, 5), bool)
        kpm[1, 3:] = True
        mask = np.triu(np.full((5, 5), -np.inf), 1)
        if kind == "TransformerEncoderLayer":
            tkw = {"src_mask": torch.tensor(mask), "src_key_padding_mask": torch.tensor(kpm)}
            targs, dargs = [x], [x]
        else:
            tkw = {"tgt_mask": torch.tensor(mask), "tgt_key_padding_mask": torch.tensor(kpm),
                   "tgt_is_causal": True}
            targs, dargs = [x, mem], [x, mem]
        dkw = {k: dynamic.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v
               for k, v in tkw.items()}
        _check(torch, tm, dm, [torch.tensor(a, requires_grad=True) for a in targs],
               [dynamic.tensor(a, requires_grad=True) for a in dargs], tkw, dkw)


@pytest.mark.parametrize("cfg", [{}, {"batch_first": True, "norm_first": True}])
def test_transformer_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, dtype=torch.float64, **cfg)
        dm = nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, dtype=dynamic.float64, **cfg)
    _copy(tm, dm)
    s, t = rng.standard_normal((5, 3, 8)), rng.standard_normal((4, 3, 8))
    if cfg:
        s, t = s.transpose(1, 0, 2), t.transpose(1, 0, 2)
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=dynamic.float64)
    _check(torch, tm, dm, [torch.tensor(a, requires_grad=True) for a in (s, t)],
           [dynamic.tensor(a, requires_grad=True) for a in (s, t)],
           {"tgt_mask": torch.tensor(mask.numpy())}, {"tgt_mask": mask})


def test_eval_encoder_zeroes_padded_positions_like_torchs_nested_path():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    torch.manual_seed(0)
    tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                          dtype=torch.float64)
    tm = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64))
    dl = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, dtype=dynamic.float64)
    dm = nn.TransformerEncoder(dl, 2, norm=nn.LayerNorm(8, dtype=dynamic.float64))
    _copy(tm, dm)
    tm.eval()
    dm.eval()
    x = rng.standard_normal((3, 5, 8))
    kpm = np.zeros((3, 5), bool)
    kpm[1, 3:] = kpm[2, 2:] = True
    with torch.no_grad(), dynamic.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _check(torch, tm, dm, [torch.tensor(x)], [dynamic.tensor(x)],
               {"src_key_padding_mask": torch.tensor(kpm)},
               {"src_key_padding_mask": dynamic.tensor(kpm)}, grad=False)
        kpm[0, 1] = True  # not right-padded: no nested path
        _check(torch, tm, dm, [torch.tensor(x)], [dynamic.tensor(x)],
               {"src_key_padding_mask": torch.tensor(kpm)},
               {"src_key_padding_mask": dynamic.tensor(kpm)}, grad=False)


def test_encoder_layer_with_masks_compiles_as_one_graph():
    """Masks are traced ops (no read of their values): ``fullgraph=True`` captures the layer,
    and a later call with another padding mask gets that mask's result."""
    dynamic.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    compiled = dynamic.compile(layer, fullgraph=True)
    x = dynamic.randn(5, 3, 8)
    causal = nn.Transformer.generate_square_subsequent_mask(5) != 0  # bool like kpm: no warning
    for last in (3, 2, 4):
        kpm = dynamic.zeros(3, 5, dtype=dynamic.bool)
        kpm[0, last:] = True
        got = compiled(x, src_mask=causal, src_key_padding_mask=kpm)
        want = layer(x, src_mask=causal, src_key_padding_mask=kpm)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=1e-5)

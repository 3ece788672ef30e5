"""``F.cross_entropy``'s eager fast path (``dynamic/_fast_path_loss.py``, issue #12): the same
values, gradients, graph (node names, ``next_functions``, saved-value versions) and errors as
the general frontend's two ops, which the fast path's off switch (``_fast_path.ENABLED``)
selects; the cases it does not take go the general way."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic import _fast_path
from dynamic import _fast_path_loss as L

F = torch.nn.functional


def _run(fast: bool, logits: np.ndarray, labels: np.ndarray, reduction: str = "mean",
         create_graph: bool = False):
    saved = _fast_path.ENABLED[0]
    _fast_path.ENABLED[0] = fast
    try:
        x = torch.tensor(logits, requires_grad=True)
        loss = F.cross_entropy(x, torch.tensor(labels), reduction=reduction)
        names = [type(loss.grad_fn).__name__,
                 [type(f).__name__ for f, _ in loss.grad_fn.next_functions if f is not None]]
        inner = loss.grad_fn.next_functions[0][0]
        names.append([type(f).__name__ for f, _ in inner.next_functions])
        g = torch.autograd.grad(loss.sum(), x, create_graph=create_graph)[0]
        gg = torch.autograd.grad(g.sum() + (g * g).sum(), x)[0] if create_graph else None
        return loss, g, gg, names
    finally:
        _fast_path.ENABLED[0] = saved


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fast_and_general_paths_agree_bit_for_bit(dt, reduction, monkeypatch):
    calls = []
    real = L._general
    monkeypatch.setattr(L, "_general", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((7, 5)) * 4).astype(dt)
    logits[2] = [1e30, -1e30, 0.0, -0.0, 3.0]  # extreme rows: the shift decides
    labels = rng.integers(0, 5, 7).astype(np.int64)
    fast = _run(True, logits, labels, reduction)
    assert not calls  # the fast path ran
    general = _run(False, logits, labels, reduction)
    assert calls
    for a, b in zip(fast[:2], general[:2], strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert fast[3] == general[3] == [
        "NllLossBackward0", ["LogSoftmaxBackward0"], ["AccumulateGrad"]]


def test_against_torch_with_double_backward():
    torch_ = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 6).astype(np.int64)
    loss, g, gg, _ = _run(True, logits, labels, create_graph=True)
    x = torch_.tensor(logits, requires_grad=True)
    tl = torch_.nn.functional.cross_entropy(x, torch_.tensor(labels))
    (tg,) = torch_.autograd.grad(tl, x, create_graph=True)
    (tgg,) = torch_.autograd.grad(tg.sum() + (tg * tg).sum(), x)
    np.testing.assert_allclose(loss.item(), tl.item(), rtol=1e-6)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-4, atol=1e-6)


def test_without_grad_and_errors_as_the_general_path():
    logits = np.zeros((3, 4), np.float32)
    with torch.no_grad():
        out = F.cross_entropy(torch.tensor(logits, requires_grad=True), torch.tensor([0, 1, 3]))
    assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_allclose(out.item(), np.log(4.0), rtol=1e-6)
    with torch.inference_mode():
        assert F.cross_entropy(torch.tensor(logits), torch.tensor([0, 1, 3])).is_inference()
    for fast in (True, False):
        _fast_path.ENABLED[0] = fast
        try:
            with pytest.raises(IndexError, match="Target 4 is out of bounds"):
                F.cross_entropy(torch.tensor(logits, requires_grad=True),
                                torch.tensor([0, 4, 1]))
            with pytest.raises(RuntimeError, match="Expected input batch_size"):
                F.cross_entropy(torch.tensor(logits), torch.tensor([0, 1]))
            with pytest.raises(ValueError, match="not a valid value for reduction"):
                F.cross_entropy(torch.tensor(logits), torch.tensor([0, 1, 2]), reduction="avg")
        finally:
            _fast_path.ENABLED[0] = True


def test_a_label_written_in_place_after_the_loss_fails_backward():
    x = torch.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    t = torch.tensor([0, 1, 2])
    loss = F.cross_entropy(x, t)
    t[0] = 3
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


@pytest.mark.parametrize("case", ["1d", "float16", "int32 labels", "subclass"])
def test_other_arguments_go_the_general_way(case, monkeypatch):
    calls = []
    real = L._general
    monkeypatch.setattr(L, "_general", lambda *a: calls.append(1) or real(*a))
    x = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32)
    t = np.array([0, 2, 1, 1], np.int64)
    if case == "1d":
        x, t = x[0], np.array(1, np.int64)
    elif case == "float16":
        x = x.astype(np.float16)
    elif case == "int32 labels":
        t = t.astype(np.int32)
    xt = torch.nn.Parameter(torch.tensor(x)) if case == "subclass" else \
        torch.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, torch.tensor(t))
    assert calls
    loss.backward()
    assert xt.grad is not None and xt.grad.shape == xt.shape

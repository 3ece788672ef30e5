"""``sort``/``argsort``/``topk``/``msort`` of a 0-d tensor (PyTorch: the tensor itself, index 0,
gradient 1; they raised), along any dim through the registry's ``topk_indices`` with PyTorch's
NaN order (the largest: last ascending, first descending), against PyTorch when installed."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch


def test_zero_dim_sort_family():
    x = torch.tensor(3.0, requires_grad=True)
    v, i = torch.sort(x)
    assert v.shape == () and i.shape == () and float(v) == 3.0 and int(i) == 0
    assert type(v.grad_fn).__name__ == "SortBackward0"
    v.backward()
    assert float(x.grad) == 1.0
    assert int(torch.argsort(x, descending=True)) == 0
    assert float(torch.msort(x)) == 3.0
    tv, ti = torch.topk(x, 1)
    assert tv.shape == () and int(ti) == 0
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        torch.topk(x, 2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        torch.sort(x, dim=1)


A = np.array([[3.0, np.nan, 1.0, np.nan, 2.0], [0.0, -1.0, np.nan, 0.0, 5.0]], np.float32)


def test_nan_order_along_each_dim_is_pytorchs():
    t = torch.tensor(A)
    v, i = t.sort(dim=1)
    assert i.tolist() == [[2, 4, 0, 1, 3], [1, 0, 3, 4, 2]]
    v, i = t.sort(dim=1, descending=True)
    assert i.tolist() == [[1, 3, 0, 4, 2], [2, 4, 0, 3, 1]]
    assert t.topk(2, dim=0).indices.tolist() == [[0, 0, 1, 0, 1], [1, 1, 0, 1, 0]]
    assert t.topk(1, largest=False).indices.tolist() == [[2], [1]]


def test_against_pytorch_when_installed():
    real = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a = rng.integers(-3, 3, (4, 6, 5)).astype(np.float64)
    a[rng.random(a.shape) < 0.3] = np.nan
    ours, ref = torch.tensor(a, requires_grad=True), real.tensor(a, requires_grad=True)
    for dim in (0, 1, -1):
        for desc in (False, True):
            mine, theirs = ours.sort(dim, desc), ref.sort(dim=dim, stable=True, descending=desc)
            np.testing.assert_array_equal(mine.indices.numpy(), theirs.indices.numpy())
        for largest in (False, True):
            mine, theirs = ours.topk(3, dim, largest), ref.topk(3, dim, largest)
            np.testing.assert_array_equal(mine.values.detach().numpy(),
                                          theirs.values.detach().numpy())
    np.testing.assert_array_equal(torch.msort(ours).detach().numpy(),
                                  real.msort(ref).detach().numpy())
    for f in ("sort", "argsort", "msort"):
        s0 = getattr(real, f)(real.tensor(2.0))
        m0 = getattr(torch, f)(torch.tensor(2.0))
        if f == "sort":
            s0, m0 = s0.values, m0.values
        assert m0.shape == tuple(s0.shape) and float(m0) == float(s0)

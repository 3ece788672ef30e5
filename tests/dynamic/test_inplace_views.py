"""In-place ops, item assignment and views: values, version counters and rebased history."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch


def test_inplace_ops_values_and_versions():
    a = torch.tensor([1.0, 2.0, 3.0])
    a.add_(1).mul_(2).sub_(1).div_(2)
    assert a.tolist() == [1.5, 2.5, 3.5] and a._version == 4
    a += 1
    a -= 0.5
    a *= 2
    a /= 4
    assert a.tolist() == [1.0, 1.5, 2.0] and a._version == 8
    a.clamp_(1.2, 1.8)
    assert np.allclose(a.numpy(), [1.2, 1.5, 1.8])
    a.fill_(3)
    assert a.tolist() == [3.0, 3.0, 3.0]
    a.zero_()
    assert a.tolist() == [0.0, 0.0, 0.0]
    a.copy_(torch.tensor([1, 2, 3]))
    assert a.tolist() == [1.0, 2.0, 3.0] and a.dtype is torch.float32
    a.add_(torch.tensor([1.0, 1.0, 1.0]), alpha=2)
    assert a.tolist() == [3.0, 4.0, 5.0]


def test_inplace_rebases_history():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0" and y._version == 1
    y *= x  # mul_ saves the old value of y
    assert y.tolist() == [3.0, 10.0, 21.0]
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 * 1 + 3, 2 * 2 + 5, 2 * 3 + 7])


def test_item_assignment_is_copyslices():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = torch.tensor(4.0, requires_grad=True)
    y = x * 1
    y[1] = w * 2
    assert y.grad_fn.name() == "torch::autograd::CopySlices" and y.tolist() == [1.0, 8.0, 3.0]
    (y * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 100.0] and w.grad.item() == 20.0


def test_setitem_on_untracked_tensor_with_tracked_value():
    a = torch.zeros(4)
    w = torch.tensor([2.0], requires_grad=True)
    a[1:2] = w * 3
    assert a.requires_grad and a.tolist() == [0.0, 6.0, 0.0, 0.0]
    a.sum().backward()
    assert w.grad.tolist() == [3.0]


def test_mask_and_tensor_index_assignment():
    a = torch.tensor([1.0, -2.0, 3.0, -4.0])
    a[a < 0] = 0.0
    assert a.tolist() == [1.0, 0.0, 3.0, 0.0]
    a[torch.tensor([0, 2])] = torch.tensor([9.0, 8.0])
    assert a.tolist() == [9.0, 0.0, 8.0, 0.0]


def test_views_share_storage_and_version():
    base = torch.arange(6.0).reshape(2, 3)
    row = base[1]
    row[0] = 100.0
    assert base[1, 0].item() == 100.0
    assert base._version == row._version == 1
    s = base[0, 1]  # 0-d view
    s.add_(1)
    assert base[0, 1].item() == 2.0
    base.t()[2, 0] = -1.0
    assert base[0, 2].item() == -1.0


def test_inplace_on_view_rebases_base_history():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x.clone()
    v = h[1:]
    v.mul_(3)
    assert h.tolist() == [1.0, 6.0, 9.0] and h.grad_fn.name() == "torch::autograd::CopySlices"
    (h * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 6.0, 9.0]


def test_inplace_on_view_of_leaf_errors():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[:1].mul_(2)


def test_inplace_under_no_grad_on_leaf_is_allowed():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    y = w * w
    with torch.no_grad():
        w -= 0.5
    assert w.requires_grad and w.is_leaf and w.tolist() == [0.5, 1.5] and w._version == 1
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2\]\] is at version 1; "
                                           "expected version 0 instead"):
        y.sum().backward()


def test_expanded_tensor_write_errors():
    e = torch.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e.add_(1)


def test_zero_fill_copy_give_zero_gradient_to_old_value():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    src = torch.tensor([5.0, 6.0], requires_grad=True)
    y = x * 3
    y.copy_(src)
    assert y.grad_fn.name() == "torch::autograd::CopyBackwards"
    (y * 2).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0] and src.grad.tolist() == [2.0, 2.0]
    z = x * 1
    z.zero_()
    assert z.grad_fn.name() == "ZeroBackward0"

"""``repr`` follows PyTorch's ``_tensor_str`` rules (expected strings taken from PyTorch 2.x)."""

from __future__ import annotations

import pytest

import dynamic as torch

CASES = [
    ("torch.tensor([1., 2.], requires_grad=True)", "tensor([1., 2.], requires_grad=True)"),
    ("torch.tensor(5., requires_grad=True) * 1", "tensor(5., grad_fn=<MulBackward0>)"),
    ("torch.tensor([1, 2])", "tensor([1, 2])"),
    ("torch.tensor([0.1, 0.2])", "tensor([0.1000, 0.2000])"),
    ("torch.tensor([1., 2.], dtype=torch.float64)", "tensor([1., 2.], dtype=torch.float64)"),
    ("torch.tensor([1e-5, 1.0])", "tensor([1.0000e-05, 1.0000e+00])"),
    ("torch.tensor([1e10, 1.])", "tensor([1.0000e+10, 1.0000e+00])"),
    ("torch.tensor([float('nan'), float('inf'), 1.])", "tensor([nan, inf, 1.])"),
    ("torch.tensor([-1.25, 100.5])", "tensor([ -1.2500, 100.5000])"),
    ("torch.tensor([True, False])", "tensor([ True, False])"),
    ("torch.tensor([])", "tensor([])"),
    ("torch.zeros(0, 3)", "tensor([], size=(0, 3))"),
    ("torch.tensor(3)", "tensor(3)"),
    ("torch.tensor([1, 2], dtype=torch.int32)", "tensor([1, 2], dtype=torch.int32)"),
    ("torch.tensor([[1.5, 2], [3, 4]], requires_grad=True)",
     "tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]], requires_grad=True)"),
    ("torch.arange(12).reshape(3, 4)",
     "tensor([[ 0,  1,  2,  3],\n        [ 4,  5,  6,  7],\n        [ 8,  9, 10, 11]])"),
    ("torch.ones(2, 1, 2)", "tensor([[[1., 1.]],\n\n        [[1., 1.]]])"),
    ("torch.arange(2000.)",
     "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
     "        1.9990e+03])"),
    ("torch.tensor(2.5, dtype=torch.float64, requires_grad=True) * 2",
     "tensor(5., dtype=torch.float64, grad_fn=<MulBackward0>)"),
    ("torch.float32", "torch.float32"),
    ("torch.zeros(2, 3).shape", "torch.Size([2, 3])"),
]


@pytest.mark.parametrize("expr,expected", CASES, ids=[c[0] for c in CASES])
def test_repr_matches_pytorch(expr, expected):
    assert repr(eval(expr, {"torch": torch})) == expected
    assert str(eval(expr, {"torch": torch})) == expected

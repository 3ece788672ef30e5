"""The ops added for tutorial code (no PyTorch needed): values against numpy, gradients against
finite differences (``gradcheck``, float64), and ``max(dim)``'s gradient going to the index."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic.autograd import gradcheck

R = np.random.default_rng(3)


def t64(*shape, requires_grad=True):
    return torch.tensor(R.standard_normal(shape), dtype=torch.float64, requires_grad=requires_grad)


FNS = {
    "prod": lambda x: x.prod(),
    "prod_dim": lambda x: x.prod(1, keepdim=True),
    "cumsum": lambda x: x.cumsum(0),
    "norm": lambda x: x.norm(),
    "norm_p1_dim": lambda x: x.norm(p=1, dim=1),
    "std": lambda x: x.std(0),
    "var": lambda x: x.var(unbiased=False),
    "max_dim": lambda x: x.max(1).values,
    "min_dim_keep": lambda x: x.min(0, keepdim=True)[0],
    "gather": lambda x: x.gather(1, torch.tensor([[2, 0], [1, 1], [0, 2]])),
    "repeat": lambda x: x.repeat(2, 3),
    "flip": lambda x: x.flip(0),
    "roll": lambda x: x.roll(1, 1),
    "tril": lambda x: x.tril(),
    "sort": lambda x: x.sort(1, descending=True).values,
    "topk": lambda x: x.topk(2).values,
    "masked_fill": lambda x: x.masked_fill(x > 0, 0.5),
    "index_select": lambda x: x.index_select(1, torch.tensor([2, 0])),
    "split": lambda x: x.split(1, 0)[1],
    "rsqrt": lambda x: (x * x + 1).rsqrt(),
    "log1p": lambda x: (x * x).log1p(),
    "gelu": lambda x: torch.nn.functional.gelu(x),
    "bce_logits": lambda x: torch.nn.functional.binary_cross_entropy_with_logits(
        x, torch.ones(3, 3, dtype=torch.float64) * 0.3),
    "leaky_relu": lambda x: torch.nn.functional.leaky_relu(x, 0.2),
}


@pytest.mark.parametrize("name", sorted(FNS))
def test_gradients_match_finite_differences(name):
    assert gradcheck(FNS[name], (t64(3, 3),))


def test_values_match_numpy():
    a = R.standard_normal((3, 4))
    x = torch.tensor(a)
    np.testing.assert_allclose(x.prod(1).numpy(), a.prod(1))
    np.testing.assert_allclose(x.cumsum(1).numpy(), a.cumsum(1))
    np.testing.assert_allclose(x.norm().item(), np.linalg.norm(a))
    np.testing.assert_allclose(x.std().item(), a.std(ddof=1))
    np.testing.assert_allclose(x.repeat(2, 1).numpy(), np.tile(a, (2, 1)))
    np.testing.assert_allclose(x.sort(1).values.numpy(), np.sort(a, 1))
    np.testing.assert_array_equal(x.argsort(0).numpy(), np.argsort(a, 0, kind="stable"))
    np.testing.assert_allclose(x.roll(2, 1).numpy(), np.roll(a, 2, 1))
    np.testing.assert_allclose(x.triu(1).numpy(), np.triu(a, 1))
    np.testing.assert_allclose(x[:3, :3].diag().numpy(), np.diag(a[:3, :3]))
    np.testing.assert_array_equal(torch.tensor([[0, 1], [2, 0]]).nonzero().numpy(),
                                  [[0, 1], [1, 0]])


def test_max_dim_gradient_goes_to_the_returned_index_only():
    x = torch.tensor([[1., 5., 5.], [7., 2., 7.], [3., 3., 3.]], requires_grad=True)
    values, idx = torch.max(x, 1)
    assert idx.tolist() == [1, 0, 0]  # the first of tied maxima
    values.sum().backward()
    assert x.grad.tolist() == [[0, 1, 0], [1, 0, 0], [1, 0, 0]]
    assert type(values.grad_fn).__name__ == "MaxBackward0"
    x.grad = None
    x.max().backward()  # the full reduction still splits among ties
    assert x.grad.tolist() == [[0, 0, 0], [0.5, 0, 0.5], [0, 0, 0]]


def test_prod_gradient_with_zeros_is_the_product_of_the_others():
    x = torch.tensor([2., 0., 3.], requires_grad=True)
    x.prod().backward()
    assert x.grad.tolist() == [0., 6., 0.]
    y = torch.tensor([0., 0., 3.], requires_grad=True)
    y.prod().backward()
    assert y.grad.tolist() == [0., 0., 0.]


def test_int64_with_float32_promotes_to_float32():
    assert (torch.tensor([1, 2]) + torch.tensor([0.5, 0.5])).dtype is torch.float32
    assert (torch.arange(3.) ** torch.tensor([1, 2, 3])).dtype is torch.float32


def test_inplace_setitem_on_a_leaf_names_the_view():
    w = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        w[0] = 5.0


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims"):
        torch.ones(2, 2).repeat(2)
    with pytest.raises(RuntimeError, match="gather"):
        torch.ones(2, 2).gather(1, torch.tensor([[0.5]]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        torch.nn.functional.binary_cross_entropy(torch.full((2,), 0.5), torch.ones(2),
                                                 reduction="avg")

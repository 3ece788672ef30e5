"""Gradients of ``elu``/``selu``/``hardtanh``/``relu6`` at their kinks, bounds and NaN, against
PyTorch's rules (found by the wide fuzzer, seed 673: ``F.elu``'s gradient at ``-0.0`` was 0.5,
``minimum(x, 0)`` splitting it; ``hardtanh`` and ``relu6`` passed 1 at the bounds, where
PyTorch's ``hardtanh_backward`` passes 0)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as F  # noqa: N812

X = np.array([-0.0, 0.0, 1.0, -1.0, 6.0, -6.0, 0.5, -0.5, 3.0, np.nan])
SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805


def grad(name: str, *args) -> tuple[np.ndarray, np.ndarray]:
    x = dynamic.tensor(X, requires_grad=True)
    y = getattr(F, name)(x, *args)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


def test_elu_and_selu_gradients_at_zero_are_alpha() -> None:
    y, g = grad("elu", 0.7)
    want = np.where(X <= 0, 0.7 * np.exp(X), 1.0)  # (1 at NaN, as PyTorch)
    np.testing.assert_allclose(g, want, rtol=1e-15)
    np.testing.assert_allclose(y, np.where(X > 0, X, 0.7 * np.expm1(X)), rtol=1e-15)
    _, g = grad("selu")
    np.testing.assert_allclose(g, SELU_S * np.where(X <= 0, SELU_A * np.exp(X), 1.0),
                               rtol=1e-15)


@pytest.mark.parametrize("name,args,lo,hi", [("hardtanh", (), -1.0, 1.0),
                                             ("relu6", (), 0.0, 6.0),
                                             ("hardtanh", (-0.5, 3.0), -0.5, 3.0)])
def test_hardtanh_gradient_is_zero_at_and_beyond_the_bounds(name, args, lo, hi) -> None:
    y, g = grad(name, *args)
    np.testing.assert_array_equal(y, np.clip(X, lo, hi))
    np.testing.assert_array_equal(g, np.where((X <= lo) | (X >= hi), 0.0, 1.0))


@pytest.mark.parametrize("name,args", [("elu", (0.7,)), ("selu", ()), ("hardtanh", ()),
                                       ("relu6", ()), ("hardtanh", (-0.5, 3.0))])
def test_against_torch(name, args) -> None:
    torch = pytest.importorskip("torch")
    t = torch.tensor(X, requires_grad=True)
    getattr(torch.nn.functional, name)(t, *args).sum().backward()
    np.testing.assert_allclose(grad(name, *args)[1], t.grad.numpy(), rtol=1e-15)

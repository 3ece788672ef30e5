"""Eager ``mean``'s gradient in float16 is PyTorch's: ``g / n`` divided in float32 by the exact
count, then rounded once. Dividing by ``float16(n)`` gave 0 past 65504 elements (``n`` is inf
in float16) and a rounded ``n`` past 2048."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch


@pytest.mark.parametrize(("shape", "dim"), [((70000,), None), ((3001,), None),
                                            ((70000, 2), 0), ((5, 3), 1)])
def test_float16_mean_gradient_divides_by_the_exact_count(shape, dim):
    x = torch.ones(*shape, dtype=torch.float16, requires_grad=True)
    (x.mean() if dim is None else x.mean(dim).sum()).backward()
    n = int(np.prod(shape)) if dim is None else shape[dim]
    assert x.grad.dtype == torch.float16
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, np.float16(np.float32(1) / n)))


def test_float16_mean_gradient_matches_pytorch():
    real = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal((300, 230)).astype(np.float16)
    grads = []
    for lib in (torch, real):
        x = lib.tensor(data, requires_grad=True)
        (x.mean(0) * lib.arange(230, dtype=lib.float16)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])

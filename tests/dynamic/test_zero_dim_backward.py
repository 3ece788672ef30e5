"""Backward of elementwise ops on 0-d tensors (a learner's first example: ``relu`` of one number).

numpy's ufuncs return scalars, not arrays, for 0-d operands unless given ``out=``; a numpy-level
VJP that wrote into its own first result crashed on them (``relu``'s backward raised
``TypeError: return arrays must be of ArrayType``; found by the fuzzer, seed 1522). Each op is
checked in float64 against a central difference and in float32 for its dtype, through both the
lean backward (one scalar output) and ``autograd.grad``."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn.functional as F

OPS = {
    "relu": torch.relu, "exp": torch.exp, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "sin": torch.sin, "cos": torch.cos, "neg": lambda a: -a, "abs": torch.abs,
    "square": lambda a: a * a, "log": lambda a: torch.log(a.abs() + 1), "sqrt": lambda a:
    torch.sqrt(a.abs() + 1), "softplus": F.softplus, "leaky_relu": F.leaky_relu,
    "elu": F.elu, "gelu": F.gelu, "silu": F.silu, "relu6": F.relu6, "hardtanh": F.hardtanh,
    "clamp": lambda a: a.clamp(-1.0, 1.0), "pow": lambda a: a ** 3,
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("v", [1.25, -0.75])
def test_zero_dim_backward_matches_finite_differences(name, v):
    f = OPS[name]
    x = torch.tensor(v, dtype=torch.float64, requires_grad=True)
    f(x * 2).backward()
    h = 1e-6
    fd = (float(f(torch.tensor((v + h) * 2, dtype=torch.float64))) -
          float(f(torch.tensor((v - h) * 2, dtype=torch.float64)))) / (2 * h)
    assert x.grad.shape == () and x.grad.dtype is torch.float64
    np.testing.assert_allclose(float(x.grad), fd, rtol=1e-6, atol=1e-8)
    x32 = torch.tensor(v, requires_grad=True)
    (g,) = torch.autograd.grad(f(x32 * 2), x32)
    assert g.shape == () and g.dtype is torch.float32
    np.testing.assert_allclose(float(g), fd, rtol=1e-4, atol=1e-6)

"""The new torch functions inside ``dynamic.compile``: a function using the new registry records
(``atan2``, ``hypot``, ``lgamma``, ``diagonal``...) and composites (``einsum``, ``lerp``,
``addmm``, ``F.normalize``, ``cosine_similarity``, ``F.interpolate``, ``index_add``) gives
eager's values and gradients on every call, captured without a graph break."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn.functional as F

R = np.random.default_rng(0)
A = R.standard_normal((4, 4)).astype(np.float32)
B = R.standard_normal((4, 4)).astype(np.float32)

BODIES = {
    "einsum": lambda a, b: torch.einsum("ij,jk->ik", a, b).sum(),
    "atan2_hypot": lambda a, b: (torch.atan2(a, b) * torch.hypot(a, b)).sum(),
    "special": lambda a, b: (a.exp().lgamma() + a.sinh() + b.asinh() + torch.fmod(a, 0.7)).sum(),
    "diagonal": lambda a, b: (a.diagonal() * b.diagonal(1).sum()).sum(),
    "lerp_addmm": lambda a, b: (torch.lerp(a, b, 0.3) + torch.addmm(a[0], a, b)).sum(),
    "normalize": lambda a, b: (F.normalize(a, dim=1) * F.cosine_similarity(a, b)[:, None]).sum(),
    "interpolate": lambda a, b: F.interpolate((a * b)[None, None], scale_factor=2,
                                              mode="bilinear").pow(2).sum(),
    "index_add": lambda a, b: a.index_add(0, torch.tensor([0, 2]), b[:2]).tanh().sum(),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_compiled_values_and_grads_equal_eager(name):
    body = BODIES[name]

    def fn(a, b):
        loss = body(a, b)
        ga, gb = torch.autograd.grad(loss, (a, b))
        return loss, ga, gb

    compiled = torch.compile(fn)
    for k in range(2):
        a = torch.tensor(A + k, requires_grad=True)
        b = torch.tensor(B, requires_grad=True)
        want = fn(a, b)
        got = compiled(a, b)
        for w, g in zip(want, got, strict=True):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=name)
    assert compiled.break_reasons == []

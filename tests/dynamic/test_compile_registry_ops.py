"""Index and selection ops inside ``dynamic.compile`` (issue #14): ``F.one_hot``, ``topk``,
``argmax``, ``gather``, ``scatter``, ``masked_fill``, ``where`` with a bool mask, ``clamp`` and
``cumsum`` are registry ops, so a whole training step using them is captured as one plan (no
graph break) and gives eager's loss, parameters and ``.grad`` on every call; a label out of
range in ``one_hot`` raises PyTorch's error at the user's line in a replayed call too."""

from __future__ import annotations

import traceback

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn.functional as F
from dynamic import nn

X = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
Y = np.array([0, 3, 1, 4, 2, 3])

BODIES = {
    "one_hot": lambda z, y: -(F.one_hot(y, 5).float() * F.log_softmax(z, 1)).sum(),
    "topk": lambda z, y: z.topk(2, dim=1)[0].sum() + torch.topk(z, 3)[0].mean(),
    "argmax": lambda z, y: (z * (z.argmax(1) == y).float()[:, None]).sum(),
    "gather": lambda z, y: -F.log_softmax(z, 1).gather(1, y[:, None]).mean(),
    "scatter": lambda z, y: (z.scatter(1, y[:, None], 0.0) ** 2).sum(),
    "masked_fill": lambda z, y: z.masked_fill(z > 0, 0.0).sum(),
    "where": lambda z, y: torch.where(z > 0, z, z * 2).sum(),
    "clamp": lambda z, y: z.clamp(-0.5, 0.5).sum(),
    "cumsum": lambda z, y: z.cumsum(1).sum(),
}


def _step(body):
    torch.manual_seed(0)
    m = nn.Linear(5, 5)
    opt = torch.optim.SGD(list(m.parameters()), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = body(m(x), y)
        loss.backward()
        opt.step()
        return loss
    return m, step


@pytest.mark.parametrize("name", list(BODIES))
def test_step_is_one_plan_and_matches_eager(name):
    m1, compiled = _step(BODIES[name])
    m2, eager = _step(BODIES[name])
    compiled = torch.compile(compiled)
    x, y = torch.tensor(X), torch.tensor(Y)
    for _ in range(3):
        np.testing.assert_allclose(compiled(x, y).item(), eager(x, y).item(), rtol=1e-5)
        for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
            np.testing.assert_allclose(p1.detach().numpy(), p2.detach().numpy(), rtol=1e-5,
                                       atol=1e-6)
            np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert compiled.break_reasons == [] and compiled.n_plans == 1


def test_one_hot_label_out_of_range_in_a_replay():
    m, step = _step(BODIES["one_hot"])
    compiled = torch.compile(step)
    for _ in range(3):
        compiled(torch.tensor(X), torch.tensor(Y))
    w = m.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError, match=r"^Class values must be smaller than num_classes\.$") \
            as err:
        compiled(torch.tensor(X), torch.tensor(np.array([0, 3, 1, 9, 2, 3])))
    assert any("F.one_hot(y, 5)" in (f.line or "") for f in traceback.extract_tb(err.tb))
    np.testing.assert_array_equal(m.weight.detach().numpy(), w)


def test_one_hot_loss_matches_torch():
    pt = pytest.importorskip("torch")
    z = np.random.default_rng(1).normal(size=(6, 5)).astype(np.float32)
    f = torch.compile(lambda z, y: -(F.one_hot(y, 5).float() * F.log_softmax(z, 1)).sum())
    zt = pt.tensor(z, requires_grad=True)
    want = -(pt.nn.functional.one_hot(pt.tensor(Y), 5).float()
             * pt.nn.functional.log_softmax(zt, 1)).sum()
    want.backward()
    for _ in range(3):
        zd = torch.tensor(z, requires_grad=True)
        got = f(zd, torch.tensor(Y))
        got.backward()
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-5)
        np.testing.assert_allclose(zd.grad.numpy(), zt.grad.numpy(), rtol=1e-5, atol=1e-6)

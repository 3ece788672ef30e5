"""``optim.lr_scheduler``: the learning-rate sequences equal PyTorch's bit for bit (recorded
here from torch 2.13 for the closed cases, and live where PyTorch is installed)."""

from __future__ import annotations

import math

import pytest

import dynamic
from dynamic.optim import lr_scheduler as S

CASES = {
    "step": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "exponential": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=4, eta_min=0.01),
    "lambda": lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 1 / (1 + e)),
    "linear": lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=4),
}


def _run(lib, name, steps=12):
    p = lib.nn.Parameter(lib.zeros(2))
    opt = lib.optim.SGD([p], lr=0.1)
    sched = CASES[name](lib.optim.lr_scheduler, opt)
    out = [sched.get_last_lr()[0]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def test_closed_forms():
    assert _run(dynamic, "step")[:7] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]
    assert _run(dynamic, "lambda")[:3] == [0.1, 0.05, 0.1 * (1 / 3)]
    cos = _run(dynamic, "cosine")
    assert math.isclose(cos[4], 0.01) and math.isclose(cos[2], 0.01 + 0.09 / 2)
    assert math.isclose(cos[8], 0.1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sequences_equal_pytorchs(name):
    torch = pytest.importorskip("torch")
    assert _run(dynamic, name, 20) == _run(torch, name, 20)


def test_plateau_and_state_dict():
    p = dynamic.nn.Parameter(dynamic.zeros(1))
    opt = dynamic.optim.SGD([p], lr=1.0)
    sched = S.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [5, 4, 4, 4, 4, 4, 4, 4, 4, 1]:
        sched.step(metric)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]  # torch 2.13's
    st = S.StepLR(opt, 2).state_dict()
    assert "optimizer" not in st and st["step_size"] == 2 and st["last_epoch"] == 0
    with pytest.raises(TypeError, match="int is not an Optimizer"):
        S.StepLR(3, 2)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        S.ReduceLROnPlateau(opt, factor=2)


def test_plateau_equals_pytorchs():
    torch = pytest.importorskip("torch")
    metrics = [5, 4, 4.1, 4, 4, 3.9996, 4, 4, 4, 4, 1, 1, 1, 1, 1]
    seqs = []
    for lib in (torch, dynamic):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=1.0)
        s = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1, min_lr=1e-3)
        seqs.append([(s.step(m), s.get_last_lr()[0], s.num_bad_epochs)[1:] for m in metrics])
    assert seqs[0] == seqs[1]

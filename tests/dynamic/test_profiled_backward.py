"""Under cProfile a training step's backward takes the walk it takes unprofiled (the one-pass
``lean_walk.run``), so a profile shows the real route; under a Python profile function (what
``dynamic.compile``'s whole-step capture sets to watch ``run_engine``) the general engine
runs, as before. Both give the same gradients."""

from __future__ import annotations

import cProfile
import sys

import numpy as np
import pytest

import dynamic as torch
from dynamic.autograd import engine, lean_walk


def _step() -> list:
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.standard_normal((4, 2)).astype(np.float32))
    w = torch.tensor(rng.standard_normal((2, 16)).astype(np.float32), requires_grad=True)
    b = torch.tensor(np.zeros(16, np.float32), requires_grad=True)
    loss = torch.mean(torch.tanh(torch.matmul(x, w) + b) ** 2)
    loss.backward()
    g = torch.autograd.grad(torch.mean(torch.matmul(x, w) * 3.0), [w])[0]
    return [w.grad.numpy().tobytes(), b.grad.numpy().tobytes(), g.numpy().tobytes(),
            str(w.grad.dtype)]


@pytest.fixture
def calls(monkeypatch):
    seen = {"run": 0, "run_engine": 0}
    run, run_engine = lean_walk.run, engine.run_engine

    def counting_run(*a):
        seen["run"] += 1
        return run(*a)

    def counting_engine(*a, **k):
        seen["run_engine"] += 1
        return run_engine(*a, **k)

    monkeypatch.setattr(lean_walk, "run", counting_run)
    monkeypatch.setattr(engine, "run_engine", counting_engine)
    return seen


def test_cprofile_takes_the_one_pass_walk(calls) -> None:
    want = _step()
    assert calls == {"run": 2, "run_engine": 0}
    prof = cProfile.Profile()
    prof.enable()
    try:
        got = _step()
    finally:
        prof.disable()
    assert calls == {"run": 4, "run_engine": 0}
    assert got == want and got[-1] == "torch.float32"


def test_a_python_profile_function_takes_the_general_engine(calls) -> None:
    want = _step()
    sys.setprofile(lambda frame, event, arg: None)
    try:
        got = _step()
    finally:
        sys.setprofile(None)
    assert calls == {"run": 2, "run_engine": 2}
    assert got == want

"""A replayed compiled step whose kernel rejects the call's values (issue #14, "correct or
eager"): the error is eager's, raised at the user's line with eager's (PyTorch's) message, and
parameters, ``.grad`` (object, values, version) and optimizer state are as before the call (the
failing run wrote nothing; the eager rerun's writes before the failing line are undone)."""

from __future__ import annotations

import traceback

import numpy as np
import pytest

import dynamic as torch
import dynamic.nn.functional as F
from dynamic import nn

X = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
GOOD = np.array([0, 1, 2, 0])


def _model(set_to_none: bool):
    torch.manual_seed(0)
    m = nn.Linear(2, 3)
    opt = torch.optim.SGD(list(m.parameters()), lr=0.1, momentum=0.9)

    def step(x, y):
        opt.zero_grad(set_to_none=set_to_none)
        loss = F.cross_entropy(m(x), y)  # the line at fault
        loss.backward()
        opt.step()
        return loss
    return m, opt, step


def _state(m, opt) -> list:
    out = []
    for p in m.parameters():
        out += [p.detach().numpy().copy(), p._version,
                None if p.grad is None else (p.grad.numpy().copy(), p.grad._version),
                opt.state[p]["momentum_buffer"].copy() if p in opt.state else None]
    return out


def _run(step, labels):
    try:
        step(torch.tensor(X), torch.tensor(labels))
    except Exception as e:  # noqa: BLE001 - the error itself is compared
        lines = [f.line for f in traceback.extract_tb(e.__traceback__)]
        return type(e), str(e), lines
    return None


def _same(a, b, versions: bool = True) -> None:
    assert len(a) == len(b)
    for u, v in zip(a, b, strict=True):
        if isinstance(u, tuple):
            np.testing.assert_allclose(u[0], v[0], rtol=1e-5, atol=1e-6)
            assert u[1] == v[1] or not versions
        elif isinstance(u, np.ndarray):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
        else:
            assert u == v or not versions


@pytest.mark.parametrize("set_to_none", [True, False])
@pytest.mark.parametrize("bad", [[0, 1, 5, 0], [0, -3, 1, 0]])
def test_out_of_range_label_in_a_replay_raises_eagers_error_at_the_users_line(set_to_none, bad):
    m1, o1, compiled = _model(set_to_none)
    m2, o2, eager = _model(set_to_none)
    compiled = torch.compile(compiled)
    for _ in range(4):  # capture, general run, the fast path
        assert _run(compiled, GOOD) is None and _run(eager, GOOD) is None
    before = _state(m1, o1)
    grads = [p.grad for p in m1.parameters()]
    got, want = _run(compiled, np.array(bad)), _run(eager, np.array(bad))
    assert want is not None and want[0] is IndexError
    assert got[:2] == want[:2]  # eager's type and message (PyTorch's "Target 5 is out of bounds.")
    assert any("F.cross_entropy(m(x), y)" in ln for ln in got[2])  # raised at the user's line
    _same(_state(m1, o1), before)  # untouched: values, .grad values and versions, momentum
    assert [p.grad for p in m1.parameters()] == grads  # the same .grad objects
    for p in m2.parameters():  # (eager's zero_grad did run before its error)
        assert p.grad is None if set_to_none else not p.grad.numpy().any()
    eager(torch.tensor(X), torch.tensor(GOOD))  # the eager copy catches up: one good step
    compiled(torch.tensor(X), torch.tensor(GOOD))
    _same(_state(m1, o1), _state(m2, o2), versions=set_to_none)  # (eager's failed zero_())
    for _ in range(2):  # the plan stays for good labels
        assert _run(compiled, GOOD) is None and _run(eager, GOOD) is None
        _same(_state(m1, o1), _state(m2, o2), versions=set_to_none)


def test_out_of_range_label_in_a_compiled_forward():
    torch.manual_seed(0)
    m = nn.Linear(2, 3)
    f = torch.compile(lambda x, y: F.cross_entropy(m(x), y))
    x = torch.tensor(X)
    for _ in range(3):
        f(x, torch.tensor(GOOD)).backward()
    with pytest.raises(IndexError, match=r"^Target 7 is out of bounds\.$"):
        f(x, torch.tensor(np.array([0, 7, 1, 0])))


def test_matches_torch():
    pt = pytest.importorskip("torch")
    logits = pt.tensor(X @ np.ones((2, 3), np.float32))
    with pytest.raises(IndexError) as want:
        pt.nn.functional.cross_entropy(logits, pt.tensor([0, 1, 5, 0]))
    m1, _, compiled = _model(True)
    compiled = torch.compile(compiled)
    for _ in range(3):
        _run(compiled, GOOD)
    assert _run(compiled, np.array([0, 1, 5, 0]))[:2] == (IndexError, str(want.value))


@pytest.mark.parametrize("target", [np.zeros(4, np.float32), np.zeros(4), np.zeros((3, 3)),
                                    np.zeros((4, 2), np.float32)])
def test_float_target_errors_are_pytorchs(target):
    """A float target not shaped like the input: PyTorch's message, eagerly and compiled."""
    pt = pytest.importorskip("torch")
    logits = np.ones((4, 3), np.float32)
    with pytest.raises((RuntimeError, ValueError)) as want:
        pt.nn.functional.cross_entropy(pt.tensor(logits), pt.tensor(target))
    f = torch.compile(lambda z, y: F.cross_entropy(z, y))
    for fn in (F.cross_entropy, f):
        with pytest.raises(type(want.value)) as got:
            fn(torch.tensor(logits), torch.tensor(target))
        assert str(got.value) == str(want.value)

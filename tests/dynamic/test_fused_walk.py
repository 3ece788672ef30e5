"""The one-pass backward walk (``lean_walk.run``) against the planned walk and the general loop.

``lean_walk.run`` finds the nodes as their cotangents arrive (a heap, newest first) instead of
planning them first; it declines (returns ``False`` with nothing observable done) where the
planned walk would decline, where a leaf outside the targets is reached, and on any error. Here
every program runs three ways (one-pass, planned with ``FUSED`` off, general with ``ENABLED``
off) and must give the same gradient bits, ``.grad`` states, errors and hook calls.
"""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic.autograd import lean_walk
from tests.dynamic.test_op_table import TABLE, _inputs

_MODES = {"fused": (True, True), "planned": (True, False), "general": (False, True)}


def _three(run):
    """``run()`` under each walk; returns ``{mode: result}``."""
    out = {}
    for mode, (enabled, fused) in _MODES.items():
        lean_walk.ENABLED[0], lean_walk.FUSED[0] = enabled, fused
        try:
            out[mode] = run()
        finally:
            lean_walk.ENABLED[0] = lean_walk.FUSED[0] = True
    return out


def _same(out):
    assert out["fused"] == out["planned"] == out["general"]
    return out["fused"]


def _bits(ts):
    return [None if t is None else (str(t.dtype), t.detach().numpy().tobytes()) for t in ts]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn,ref,specs,smooth", TABLE, ids=[c[0] for c in TABLE])
def test_op_table_gradients_are_the_planned_and_general_walks(name, fn, ref, specs, smooth,
                                                               dtype):
    arrays = _inputs(specs)

    def run():
        xs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        y = fn(*xs)
        w = torch.tensor(np.random.default_rng(2).standard_normal(tuple(y.shape)).astype(dtype))
        gs = torch.autograd.grad((y * w).sum(), xs, allow_unused=True, retain_graph=True)
        (y * w + y).mean().backward()
        return _bits(gs), _bits([x.grad for x in xs])

    _same(_three(run))


def _mlp_step(p, x, y):
    h = torch.tanh(torch.matmul(x, p["W1"]) + p["b1"])
    r = torch.matmul(h, p["W2"]) + p["b2"] - y
    return torch.mean(r * r)


def test_float32_training_and_seed_graph():
    """SGD steps with ``.grad`` set, accumulated and adopted; the seed graph's two gradients;
    all float32 throughout."""

    def run():
        rng = np.random.default_rng(0)
        p = {k: torch.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
             for k, s in {"W1": (2, 16), "b1": (16,), "W2": (16, 1), "b2": (1,)}.items()}
        opt = torch.optim.SGD(list(p.values()), lr=0.1)
        x = torch.tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
        y = torch.tensor(np.array([[0], [1], [1], [0]], np.float32))
        seen = []
        for step in range(5):
            if step % 2 == 0:
                opt.zero_grad()
            _mlp_step(p, x, y).backward()
            seen.append(_bits(p.values()) + _bits([q.grad for q in p.values()]))
            opt.step()
        a = torch.tensor(np.float32(2.0), requires_grad=True)
        w = torch.tensor(np.float32(3.0), requires_grad=True)
        seen.append(_bits(torch.autograd.grad((a + w) * (w + 1.0), [a, w])))
        return seen

    res = _same(_three(run))
    assert {dt for row in res for item in row if item for dt in [item[0]]} == {"torch.float32"}
    assert res[-1][0][1] == np.float32(4.0).tobytes()  # d/dx = w + 1
    assert res[-1][1][1] == np.float32(9.0).tobytes()  # d/dw = (w + 1) + (x + w)


def test_fan_in_order_and_repeated_inputs():
    """One leaf reaching a node many ways: the sums happen in the planned order, bit for bit;
    a target listed twice gets the same gradient twice."""

    def run():
        a = torch.tensor(np.linspace(-1, 1, 7, dtype=np.float32), requires_grad=True)
        b = a * 3.0
        c = b.tanh() + a.exp() * b - a / (b * b + 1.0)
        loss = (c * a).sum() + (b - a).mean()
        g = torch.autograd.grad(loss, [a, a], retain_graph=True)
        loss.backward()
        return _bits(g) + _bits([a.grad])

    res = _same(_three(run))
    assert res[0] == res[1] == res[2]


def test_uncaptured_leaves_and_an_error_off_the_needed_path():
    """``autograd.grad`` of one leaf: a branch leading only to another leaf is not run, so a
    saved tensor modified in place there raises nothing (PyTorch's engine skips it too)."""

    def run():
        a = torch.tensor([0.5, 1.5], requires_grad=True)
        w = torch.tensor([2.0, -1.0], requires_grad=True)
        s = w.sigmoid()
        loss = (a * a).sum() + (s * s).sum()
        s.add_(1.0)  # ``s * s`` saved ``s``: only w's gradient needs it
        (ga,) = torch.autograd.grad(loss, [a], retain_graph=True)
        try:
            torch.autograd.grad(loss, [w])
            err = None
        except RuntimeError as e:
            err = str(e)
        return _bits([ga]), err, w.grad is None

    res = _same(_three(run))
    assert res[0][0][1] == np.array([1.0, 3.0], np.float32).tobytes()
    assert "modified by an inplace operation" in res[1]


def test_errors_leave_the_graph_and_grads_as_the_general_walk():
    def run():
        out = []
        a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = a.exp()
        loss = (h * a).sum() + (h.tanh() * 2.0).sum()
        loss.backward(retain_graph=True)
        out.append(_bits([a.grad]))
        h.mul_(2.0)  # saved by ``h * a`` (and ``tanh``'s input is h too)
        try:
            loss.backward()
        except RuntimeError as e:
            out.append(str(e))
        out.append(_bits([a.grad]))
        e = (a * a).sum()
        e.backward()
        try:  # the graph was released after success, not before
            e.backward()
        except RuntimeError as err:
            out.append(str(err))
        return out

    res = _same(_three(run))
    assert "modified by an inplace operation" in res[1]
    assert res[0] == res[2]
    assert "second time" in res[3]


def test_hooks_deep_in_the_graph_run_once():
    """A hook the one-pass walk meets after running other nodes: it declines, and the hook
    runs exactly once (in the walk that then runs), with the general walk's value."""

    def run():
        calls = []
        a = torch.tensor([0.25, -0.5], requires_grad=True)
        h = a * 2.0
        h.register_hook(lambda g: calls.append(g.numpy().tobytes()))
        loss = ((h.tanh() * 3.0).exp()).sum()
        loss.backward()
        b = torch.tensor([1.0, 2.0], requires_grad=True)
        b.register_hook(lambda g: calls.append(("leaf", g.numpy().tobytes())) or g * 2)
        (gb,) = torch.autograd.grad(((b * b).sin()).sum(), [b])
        return calls, _bits([a.grad, gb])

    res = _same(_three(run))
    assert len(res[0]) == 2


def test_run_declines_without_touching_anything():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2.0
    h.register_hook(lambda g: g)
    loss = (h.exp() * 3.0).sum()
    node = loss.grad_fn
    pending: list = []
    assert not lean_walk.run(node, np.ones((), np.float32), None, [], pending, True, False)
    # nothing released: the general walk then runs the whole graph
    assert not node._freed and not loss.grad_fn.next_functions[0][0]._freed
    loss.backward()
    np.testing.assert_allclose(a.grad.numpy(), 6.0 * np.exp([2.0, 4.0]), rtol=1e-6)
    b = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (b * 3.0).sum()
    assert lean_walk.run(y.grad_fn, np.ones((), np.float32), None, [], pending, True, False)
    assert pending[-1][0] is b and pending[-1][1].tolist() == [3.0, 3.0]
    assert y.grad_fn._freed is False  # ``sum`` saves nothing; ``b * 3.0`` was released
    assert y.grad_fn.next_functions[0][0]._freed

"""``autograd.grad``'s targets in the one-pass walk, and 0-d float results as arrays.

The one-pass walk (``lean_walk.run``) gets ``autograd.grad``'s inputs as a list of leaf tensors
and matches each leaf it reaches by identity (no ``AccumulateGrad`` lookups per call). Here the
fused, planned and general walks must agree bit for bit on repeated, unused and partial targets,
the one-pass walk must really run (not silently decline) where it can, and 0-d float32 programs
must keep float32 arrays (not numpy scalars) through the forward and the backward.
"""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from dynamic.autograd import lean_walk
from staticgraph.ops.np_rules import ARRAY_OUT
from tests.dynamic.test_fused_walk import _bits, _same, _three


@pytest.fixture
def fused_calls(monkeypatch):
    """The results of every ``lean_walk.run`` call (``True``: the one-pass walk ran)."""
    calls: list = []
    real = lean_walk.run

    def spy(*args):
        calls.append(real(*args))
        return calls[-1]

    monkeypatch.setattr(lean_walk, "run", spy)
    return calls


def _seed(x, w):
    return (x + w) * (w + 1.0)


def test_seed_graph_runs_the_one_pass_walk_with_exact_gradients(fused_calls):
    x = torch.tensor(np.float32(2.0), requires_grad=True)
    w = torch.tensor(np.float32(3.0), requires_grad=True)
    gx, gw = torch.autograd.grad(_seed(x, w), [x, w])
    assert fused_calls == [True]
    assert gx.item() == 4.0 and gw.item() == 9.0  # d/dx = w + 1, d/dw = (w + 1) + (x + w)
    assert gx.dtype == torch.float32 and gw.dtype == torch.float32
    assert gx.grad_fn is None and not gx.requires_grad


def test_repeated_unused_and_reordered_targets_match_the_other_walks():
    def run():
        x = torch.tensor([1.0, -2.0], requires_grad=True)
        w = torch.tensor([0.5, 3.0], requires_grad=True)
        u = torch.tensor([7.0], requires_grad=True)  # not in the graph
        loss = (x * w).sum() + (w * w).mean()
        out = torch.autograd.grad(loss, [w, u, x, w], allow_unused=True, retain_graph=True)
        zeros = torch.autograd.grad(loss, [u, x], materialize_grads=True, retain_graph=True)
        try:
            torch.autograd.grad(loss, [x, u])
            err = None
        except RuntimeError as e:
            err = str(e)
        return _bits(out), _bits(zeros), err

    out, zeros, err = _same(_three(run))
    assert out[1] is None and out[0] == out[3]
    assert zeros[0][1] == np.zeros(1, np.float32).tobytes()
    assert "index 1 appears to not have been used" in err


def test_targets_are_the_leaves_themselves(fused_calls):
    """A leaf reached through the graph but not asked for makes the one-pass walk decline
    (the planned walk prunes its branch); a non-leaf target takes the general engine."""
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    h = x * w
    loss = (h * h).sum()
    (gx,) = torch.autograd.grad(loss, [x], retain_graph=True)
    assert fused_calls == [False]
    np.testing.assert_array_equal(gx.numpy(), 2 * (x * w * w).detach().numpy())
    (gh,) = torch.autograd.grad(loss, [h], retain_graph=True)
    assert fused_calls == [False]  # the general engine: ``run`` not even tried
    np.testing.assert_array_equal(gh.numpy(), 2 * h.detach().numpy())
    gx2, gw2 = torch.autograd.grad(loss, [x, w])
    assert fused_calls == [False, True]
    np.testing.assert_array_equal(gx2.numpy(), gx.numpy())
    np.testing.assert_array_equal(gw2.numpy(), 2 * (x * x * w).detach().numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_dim_results_stay_arrays_of_their_dtype(dtype):
    x = torch.tensor(dtype(2.0), requires_grad=True)
    w = torch.tensor(dtype(3.0), requires_grad=True)
    y = _seed(x, w) * x.tanh() - w / x
    for t in (y, x + w, x * 2.0, x.exp()):
        assert type(t._data) is np.ndarray and t._data.dtype == dtype and t._data.shape == ()
    gx, gw = torch.autograd.grad(y, [x, w])
    for g in (gx, gw):
        assert type(g._data) is np.ndarray and g._data.dtype == dtype and g._data.shape == ()

    def run():
        a = torch.tensor(dtype(2.0), requires_grad=True)
        b = torch.tensor(dtype(3.0), requires_grad=True)
        return _bits(torch.autograd.grad(_seed(a, b) * a.tanh() - b / a, [a, b]))

    _same(_three(run))


def test_array_out_flag_matches_this_numpy():
    a = np.zeros((), np.float32)
    if ARRAY_OUT is None:
        with pytest.raises(TypeError):
            np.add(a, a, out=...)
    else:
        assert type(np.add(a, a, out=ARRAY_OUT)) is np.ndarray


def test_one_cotangent_reaching_two_leaves_is_not_shared_by_their_grads():
    """``x + w`` sends the same array to both leaves: each ``.grad`` gets its own buffer,
    while a cotangent only the engine holds becomes ``.grad`` without a copy."""
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    (x + w).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), w.grad.numpy())
    x.grad.numpy()[0] = 5.0
    assert w.grad.numpy().tolist() == [1.0, 1.0]
    (x * w).sum().backward()  # accumulates in place into the existing ``.grad``
    assert x.grad.numpy().tolist() == [8.0, 5.0] and w.grad.numpy().tolist() == [2.0, 3.0]

"""The backward on ndarrays (no ``create_graph``) against the general paths, bit for bit.

Three ways to get one gradient: the fast path (``Op.np_vjp`` where the record has one), the
records' general rules run on ndarrays (``_fast_ok`` forced off), and the taped-tensor path
(``create_graph=True``). They must agree exactly, in float32 and float64, with hooks,
``retain_graph``, ``retain_grad``, in-place ops and views; float32 programs stay float32.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import dynamic as torch
from dynamic.autograd import array_backward
from staticgraph.ops import nn as nn_ops
from tests.dynamic.test_op_table import TABLE, _inputs


def _grads(fn, arrays, dtype, mode, monkeypatch):
    xs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    y = fn(*xs)
    w = torch.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(dtype))
    with monkeypatch.context() as m:
        if mode == "rules-on-arrays":
            m.setattr(array_backward, "_fast_ok", lambda *a: False)
        gs = torch.autograd.grad((y * w).sum(), xs, create_graph=mode == "tensors",
                                 allow_unused=True)
    return y, [None if g is None else g.detach().numpy() for g in gs]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn,ref,specs,smooth", TABLE, ids=[c[0] for c in TABLE])
def test_fast_path_matches_general_paths_bit_for_bit(name, fn, ref, specs, smooth, dtype,
                                                     monkeypatch):
    arrays = _inputs(specs)
    y, fast = _grads(fn, arrays, dtype, "fast", monkeypatch)
    _, rules = _grads(fn, arrays, dtype, "rules-on-arrays", monkeypatch)
    _, tensors = _grads(fn, arrays, dtype, "tensors", monkeypatch)
    for i, (a, b, c) in enumerate(zip(fast, rules, tensors, strict=True)):
        assert (a is None) == (b is None) == (c is None), f"{name}: input {i}"
        if a is None:
            continue
        assert a.dtype == b.dtype == c.dtype == np.dtype(dtype), f"{name}: input {i}"
        assert a.tobytes() == b.tobytes() == c.tobytes(), f"{name}: d/d input {i}"


def _program(x, w, b):
    h = (x @ w + b).relu()
    v = h.view(-1)[1:]  # a view
    z = h * 1.0
    z.add_(1.0)  # an in-place op on a non-leaf
    z.retain_grad()
    z.register_hook(lambda g: g * 2)
    return (v.tanh().sum() + z.sigmoid().mean() + (z / 3).exp().sum()), z


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hooks_views_inplace_retain_graph_same_on_both_paths(dtype):
    rng = np.random.default_rng(0)
    vals = [rng.standard_normal(s).astype(dtype) for s in ((4, 3), (3, 5), (5,))]
    results = []
    for create_graph in (False, True):
        x, w, b = (torch.tensor(v, requires_grad=i > 0) for i, v in enumerate(vals))
        loss, z = _program(x, w, b)
        seen = []
        w.register_hook(lambda g, seen=seen: seen.append(g.detach().numpy().copy()))
        loss.backward(retain_graph=True, create_graph=create_graph)
        loss.backward(create_graph=create_graph)  # accumulates into .grad
        results.append((w.grad.detach().numpy().tobytes(), b.grad.detach().numpy().tobytes(),
                        z.grad.detach().numpy().tobytes(), [s.tobytes() for s in seen],
                        x.grad, type(loss.grad_fn).__name__,
                        [type(f).__name__ for f, _ in loss.grad_fn.next_functions]))
    assert results[0] == results[1]
    assert results[0][4] is None  # no gradient for an input that does not require it


def test_fresh_gradients_are_adopted_never_shared():
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    (a + b).sum().backward()  # add hands one array to both inputs
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.add_(1)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    held = []
    c = torch.ones(3, requires_grad=True)
    c.register_hook(lambda g: held.append(g))
    (c * 2).sum().backward()
    assert not np.shares_memory(held[0].numpy(), c.grad.numpy())
    w = torch.ones(2, 2, requires_grad=True)
    g = torch.ones(2, 2)
    (w * 1.0).backward(g)  # the user's gradient is never adopted
    assert not np.shares_memory(g.numpy(), w.grad.numpy())


def test_matmul_skips_the_cotangent_of_an_input_without_grad(monkeypatch):
    calls = []
    real = np.matmul
    monkeypatch.setattr(np, "matmul", lambda *a, **k: calls.append(1) or real(*a, **k))
    real2d = nn_ops.matmul2d  # the 2-D products of the numpy-level rule (``a.dot(b)``)
    monkeypatch.setattr(nn_ops, "matmul2d", lambda *a: calls.append(1) or real2d(*a))
    x = torch.ones(4, 3)
    w = torch.ones(3, 2, requires_grad=True)
    y = (x @ w).sum()
    calls.clear()
    y.backward()
    assert len(calls) == 1  # only x.T @ g


def test_relu_keeps_nan_and_negative_zero_like_pytorch():
    x = torch.tensor([-0.0, float("nan"), -1.0, 0.0, 2.0], requires_grad=True)
    y = x.relu()
    assert np.signbit(y.detach().numpy()).tolist() == [True, False, False, False, False]
    assert np.isnan(y.detach().numpy()[1])
    y.backward(torch.tensor([-1.0, -2.0, -3.0, -4.0, -5.0]))
    g = x.grad.numpy()
    assert g[1] == -2.0 and g[4] == -5.0  # NaN passes the gradient (out <= 0 fails)
    assert [float(v) for v in g[[0, 2, 3]]] == [0.0, 0.0, 0.0]
    assert not np.signbit(g[[0, 2, 3]]).any()


def _peak(program, dtype):
    """Peak bytes numpy allocates while ``program`` runs forward and backward on a (256, 256)
    input of ``dtype``."""
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((256, 256)).astype(dtype), requires_grad=True)
    w = torch.tensor((rng.standard_normal((256, 256)) * 0.05).astype(dtype), requires_grad=True)
    tracemalloc.start()
    try:
        program(x, w).backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


PROGRAMS = {
    "relu": lambda x, w: x.relu().sum(),
    "where-scalar": lambda x, w: torch.where(x > 0.5, x, 0.0).sum(),
    "tanh-sigmoid-exp": lambda x, w: x.tanh().sigmoid().exp().mean(),
    "scalar-arith": lambda x, w: ((x * 0.5 + 1) / 3.0 - 2).sum(),
    "matmul-bias": lambda x, w: (x @ w + 1.0).mean(),
    "cross-entropy": lambda x, w: torch.nn.functional.cross_entropy(
        x, torch.tensor(np.arange(256) % 7)),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_float32_programs_never_detour_through_float64(name):
    """A float64 temporary of the input's size would bring the float32 run's peak close to the
    float64 run's; without one it is about half."""
    p32, p64 = _peak(PROGRAMS[name], np.float32), _peak(PROGRAMS[name], np.float64)
    assert p32 < 0.6 * p64, (p32, p64)

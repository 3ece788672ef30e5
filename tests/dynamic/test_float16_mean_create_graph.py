"""A float16 ``mean``'s gradient with ``create_graph=True``: PyTorch's, as without it.

The eager backward without ``create_graph`` divides ``g`` in float32 by the exact count
(``tests/dynamic/test_float16_mean.py``); with it, the record's symbolic rule ran, which divided
by ``float16(n)`` (TF's ``_MeanGrad``): 0 past 65504 elements, a rounded count past 2048. The
registry now holds one kernel with two gradients (as ``remainder``/``floormod``): ``mean``
(PyTorch's rule, the eager mode) and ``reduce_mean`` (TF's, the static frontend), so the static
mode keeps TF's values.
"""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
import staticgraph as tf

CASES = [((70000,), None), ((3001,), None), ((70000, 2), 0), ((5, 3), 1), ((2049, 3), 0)]


def _eager_grad(shape, dim, create_graph: bool) -> np.ndarray:
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float16)
    x = torch.tensor(data, requires_grad=True)
    y = x.mean() if dim is None else (x.mean(dim) * torch.arange(
        x.mean(dim).numel(), dtype=torch.float16).reshape(x.mean(dim).shape)).sum()
    g, = torch.autograd.grad(y, [x], create_graph=create_graph)
    return g.detach().numpy()


@pytest.mark.parametrize(("shape", "dim"), CASES)
def test_create_graph_gradient_divides_by_the_exact_count(shape, dim):
    got = _eager_grad(shape, dim, True)
    assert got.dtype == np.float16
    assert got.tobytes() == _eager_grad(shape, dim, False).tobytes()
    if dim is None:
        n = int(np.prod(shape))
        np.testing.assert_array_equal(got, np.full(shape, np.float16(np.float32(1) / n)))


@pytest.mark.parametrize(("shape", "dim"), CASES)
def test_create_graph_gradient_matches_pytorch(shape, dim):
    real = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float16)
    x = real.tensor(data, requires_grad=True)
    m = x.mean() if dim is None else x.mean(dim)
    y = m if dim is None else (m * real.arange(m.numel(), dtype=real.float16).reshape(
        m.shape)).sum()
    want, = real.autograd.grad(y, [x], create_graph=True)
    np.testing.assert_array_equal(_eager_grad(shape, dim, True), want.detach().numpy())


def test_create_graph_second_order_through_a_float16_mean():
    """``mean(x * x)`` differentiated twice at ones: ``2 * float16(1 / n)`` both times, with
    the exact count (70000, inf in float16: 0 before) in every mean node of the graph."""
    x = torch.ones(70000, dtype=torch.float16, requires_grad=True)
    g, = torch.autograd.grad((x * x).mean(), [x], create_graph=True)
    want = np.float16(np.float32(1) / 70000) * np.float16(2)
    assert want > 0
    np.testing.assert_array_equal(g.detach().numpy(), np.full(70000, want))
    h, = torch.autograd.grad(g.sum(), [x])
    assert h.dtype == torch.float16
    np.testing.assert_array_equal(h.numpy(), np.full(70000, want))


@pytest.mark.parametrize(("shape", "dim"), [((70000,), None), ((3001,), None), ((70000, 2), 0)])
def test_static_mode_keeps_tf_float16_count(shape, dim):
    """``tf.reduce_mean``'s gradient: ``g / float16(n)`` (0 past 65504, 1/3000 for 3001)."""
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float16, shape)
        y = tf.reduce_mean(p) if dim is None else tf.reduce_sum(tf.reduce_mean(p, dim))
        assert y.op.type in ("reduce_mean", "Sum", "sum")
        g = tf.gradients(y, [p])[0]
        with tf.Session(executor="reference") as s:
            got = s.run(g, {p: np.ones(shape, np.float16)})
    n = int(np.prod(shape)) if dim is None else shape[dim]
    with np.errstate(over="ignore"):
        want = np.float16(1) / np.float16(n)
    np.testing.assert_array_equal(got, np.full(shape, want))

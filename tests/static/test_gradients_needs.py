"""``gradients()`` asks VJP rules only for the cotangents it uses (``Op.vjp_needs``): no node
for the dX of ``X @ W`` when only W is differentiated, the same values as before."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.ops import REGISTRY

RNG = np.random.default_rng(3)


def _types(graph) -> list[str]:
    return [op.type for op in graph.get_operations() if op.name.startswith("gradients")]


def test_matmul_builds_only_the_weight_cotangent():
    g = tf.Graph()
    with g.as_default():
        X = tf.placeholder(tf.float32, [4, 3])
        Y = tf.placeholder(tf.float32, [4, 2])
        W = tf.Variable(RNG.normal(size=(3, 2)).astype(np.float32))
        r = tf.matmul(X, W) - Y
        loss = tf.reduce_mean(r * r)
        (dW,) = tf.gradients(loss, [W])
        types = _types(g)
        # one matmul (X^T g): no g W^T, no neg for Y's cotangent
        assert types.count("matmul") == 1, types
        assert "neg" not in types, types
        xv = RNG.normal(size=(4, 3)).astype(np.float32)
        yv = RNG.normal(size=(4, 2)).astype(np.float32)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            wv, got = s.run([W, dW], {X: xv, Y: yv})
    want = xv.T @ (2.0 * (xv @ wv - yv) / yv.size)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_both_cotangents_when_both_are_wanted():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float64, [2, 3])
        b = tf.placeholder(tf.float64, [3])
        y = tf.reduce_sum(tf.matmul(a, tf.reshape(b, [3, 1])) / (b[0] + 2.0))
        da, db = tf.gradients(y, [a, b])
        av, bv = RNG.normal(size=(2, 3)), RNG.normal(size=3)
        with tf.Session() as s:
            ga, gb = s.run([da, db], {a: av, b: bv})

    def f(a_, b_):
        return np.sum(a_ @ b_.reshape(3, 1) / (b_[0] + 2.0))

    eps = 1e-6
    for x, got, which in ((av, ga, 0), (bv, gb, 1)):
        num = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            d = np.zeros_like(x)
            d[i] = eps
            args_p = (av + d, bv) if which == 0 else (av, bv + d)
            args_m = (av - d, bv) if which == 0 else (av, bv - d)
            num[i] = (f(*args_p) - f(*args_m)) / (2 * eps)
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["matmul", "mul", "div", "sub"])
def test_rules_skip_unneeded_and_default_to_all(name):
    """Without ``needs`` (the eager ``create_graph`` path, JVPs) a rule returns every
    cotangent; with it, ``None`` exactly where an input wants none, the rest unchanged."""
    import dynamic as torch

    op = REGISTRY[name]
    assert op.vjp_needs
    shapes = ((2, 3), (3, 4)) if name == "matmul" else ((2, 3), (2, 3))
    a = torch.tensor(RNG.normal(size=shapes[0]) + 3.0)
    b = torch.tensor(RNG.normal(size=shapes[1]) + 3.0)
    out = torch.tensor(RNG.normal(size=(2, 4) if name == "matmul" else (2, 3)))
    g = torch.tensor(RNG.normal(size=out.shape))
    full = op.vjp(g, out, a, b)
    assert all(x is not None for x in full)
    for needs in ((True, False), (False, True)):
        part = op.vjp(g, out, a, b, needs=needs)
        for n, p, f in zip(needs, part, full, strict=True):
            if n:
                np.testing.assert_array_equal(p.numpy(), f.numpy())
            else:
                assert p is None

"""Shared graph builders for the compiler tests."""

from __future__ import annotations

import numpy as np

import staticgraph as sg
from staticgraph import ops


def both(g, fetches, feeds, init=None, steps: int = 1):
    """Run on the numba and reference executors; return (numba results, reference, session)."""
    out = {}
    for ex in ("numba", "reference"):
        s = sg.Session(graph=g, executor=ex)
        if init is not None:
            s.run(init)
        for _ in range(steps):
            r = s.run(fetches, feeds)
        out[ex] = (r, s)
    return out["numba"][0], out["reference"][0], out["numba"][1]


def assert_close(a, b, rtol=1e-5, atol=1e-6) -> None:
    if isinstance(a, (list, tuple)):
        for x, y in zip(a, b, strict=True):
            assert_close(x, y, rtol, atol)
        return
    if a is None:
        assert b is None
        return
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def mlp(D=6, H=5, C=4, seed=0):
    rng = np.random.default_rng(seed)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, D], name="x")
        y = sg.placeholder(sg.int64, [None], name="y")
        w1 = sg.Variable((rng.standard_normal((D, H)) * 0.3).astype(np.float32), name="w1")
        b1 = sg.Variable(np.full(H, 0.1, np.float32), name="b1")
        w2 = sg.Variable((rng.standard_normal((H, C)) * 0.3).astype(np.float32), name="w2")
        b2 = sg.Variable(np.zeros(C, np.float32), name="b2")
        h = sg.nn.relu(sg.matmul(x, w1) + b1)
        logits = sg.matmul(h, w2) + b2
        loss = ops.cross_entropy(logits, y)
        train = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = sg.global_variables_initializer()
    return g, x, y, loss, train, init, (w1, b1, w2, b2)

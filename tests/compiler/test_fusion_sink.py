"""Fusion refinements seen in linear regression's SGD step: an elementwise group computed
before a matmul sinks into the kernel after it that reads it, static size-1 loop dims join a
reduction so it accumulates in a register, and reductions that differ only by static size-1
dims (the loss's mean and the bias gradient's ``sum_to_like``) share one loop."""

from __future__ import annotations

import numpy as np

import staticgraph as sg

from .helpers import assert_close, both


def _linreg(n_feat: int = 4):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, n_feat], name="x")
        y = sg.placeholder(sg.float32, [None, 1], name="y")
        w = sg.Variable(np.linspace(-1, 1, n_feat, dtype=np.float32).reshape(n_feat, 1))
        b = sg.Variable(np.array([0.25], np.float32))
        r = sg.matmul(x, w) + b - y
        loss = sg.reduce_mean(r * r)
        train = sg.train.GradientDescentOptimizer(0.05).minimize(loss)
        init = sg.global_variables_initializer()
    return g, x, y, w, b, loss, train, init


def _feeds(x, y, n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {x: rng.standard_normal((n, 4)).astype(np.float32),
            y: rng.standard_normal((n, 1)).astype(np.float32)}


def test_mean_gradient_scale_sinks_past_the_matmul_into_one_kernel():
    g, x, y, w, b, loss, train, init = _linreg()
    feeds = _feeds(x, y, 9, seed=1)
    _, _, s = both(g, [train], feeds, init, steps=3)
    ref = sg.Session(graph=g, executor="reference")
    ref.run(init)
    for _ in range(3):
        ref.run(train, feeds)
    assert_close(s.run([w, b]), ref.run([w, b]), rtol=1e-5, atol=1e-6)
    plan = s._executor.plan_for(g, [], [train], feeds)
    kernels = [st for st in plan.steps if st.kind == "kernel"]
    assert len(kernels) == 3  # the residual + its gradient + bias sum; two updates
    first = kernels[0]
    ops = [n.op for n in first.nodes]
    assert ops[:2] == ["broadcast_like", "div"] and "sum_to_like" in ops
    # no step between builds the full-size 1/n array any more
    assert not any(st.kind == "kernel" and [n.op for n in st.nodes] == ["broadcast_like", "div"]
                   for st in plan.steps)


def test_unit_dims_join_the_reduction_and_accumulate_in_a_register():
    g, x, y, w, b, loss, train, init = _linreg()
    feeds = _feeds(x, y, 17, seed=2)
    _, _, s = both(g, [train], feeds, init, steps=2)
    plan = s._executor.plan_for(g, [], [train], feeds)
    red = next(ck for ck in plan.kernel_list if "sum_to_like" in ck.step.kernel.doc)
    assert red.step.kernel.reduced_dims == (0, 1)
    assert "b0 = sg_radd(b0, " in red.source and "r0[0] +=" not in red.source  # a register
    assert "n1 = 1" in red.source  # a literal trip count for the size-1 dim


def test_loss_and_bias_gradient_share_one_reduction_loop():
    """Fetching the loss with the train op (a ``dynamic.compile``d step returns it): ``mean``
    over dims (0, 1) of the (N, 1) loss and ``sum_to_like`` of its gradient to the (1,) bias
    (dim 0; dim 1 has size 1) are one kernel, not a kernel more than the train op alone."""
    g, x, y, w, b, loss, train, init = _linreg()
    feeds = _feeds(x, y, 9, seed=4)
    got, want, s = both(g, [loss, train], feeds, init, steps=3)
    assert_close(got[0], want[0])
    ref = sg.Session(graph=g, executor="reference")
    ref.run(init)
    for _ in range(3):
        ref.run(train, feeds)
    assert_close(s.run([w, b]), ref.run([w, b]), rtol=1e-5, atol=1e-6)
    X, Y = feeds[x], feeds[y]
    W, B = ref.run([w, b])
    assert_close(s.run(loss, feeds), np.mean((X @ W + B - Y) ** 2), rtol=1e-5)
    plan = s._executor.plan_for(g, [loss], [train], feeds)
    alone = s._executor.plan_for(g, [], [train], feeds)
    assert len(plan.kernel_list) == len(alone.kernel_list) == 3
    red = next(ck for ck in plan.kernel_list if "mean" in ck.step.kernel.doc)
    assert "sum_to_like" in red.step.kernel.doc
    assert [r.reduced for r in red.step.kernel.reductions] == [(0, 1), (0, 1)]


def test_keepdim_and_mean_over_unit_dims_keep_their_values():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 1, 3], name="x")
        a = sg.reduce_mean(sg.exp(x) - x, axis=0, keepdims=True)  # (1, 1, 3): dim 2 kept
        c = sg.reduce_sum(x * x, axis=[0, 2])  # (1,): dims 0, 2 reduced, dim 1 unit
        m = sg.reduce_max(sg.abs(x) * 2.0)
    X = np.random.default_rng(3).standard_normal((6, 1, 3)).astype(np.float32)
    got, want, _ = both(g, [a, c, m], {x: X})
    assert_close(got, want)
    assert_close(got, [np.mean(np.exp(X) - X, axis=0, keepdims=True),
                       np.sum(X * X, axis=(0, 2)), np.max(np.abs(X) * 2)], rtol=1e-5)


def test_static_sizes_other_than_one_stay_out_of_kernel_source():
    """Graphs that differ only in static sizes share kernels (no compile per graph)."""
    hashes = []
    for n in (5, 7):
        g = sg.Graph()
        with g.as_default():
            x = sg.placeholder(sg.float32, [3], name="x")
            b = sg.placeholder(sg.float32, [3], name="b")
            z = sg.placeholder(sg.float32, [n, 3], name="z")
            y = sg.tanh(sg.ones_like(z) * x) * b  # no loaded input spans dim 0
        X = np.linspace(-1, 1, 3).astype(np.float32)
        B = np.full(3, 2.0, np.float32)
        feeds = {x: X, b: B, z: np.zeros((n, 3), np.float32)}
        got, want, s = both(g, [y], feeds)
        assert_close(got, want)
        assert_close(got[0], np.tanh(np.broadcast_to(X, (n, 3))) * B)
        plan = s._executor.plan_for(g, [y], [], feeds)
        hashes.append([ck.hash for ck in plan.kernel_list])
    assert hashes[0] == hashes[1]

"""Pass by pass: each rewrite fires (rewrite counts / node ops in the trace) and preserves values
against the reference executor."""

from __future__ import annotations

import numpy as np

import staticgraph as sg
from staticgraph import ops
from staticgraph.compiler import compile_plan

from .helpers import assert_close, both

R = np.random.default_rng(5)


def _trace(fetches, feeds):
    plan = compile_plan(fetches, [], feeds)
    return plan, {name: n for name, n, _ in plan.trace}


def _ops(plan) -> list[str]:
    return [n.op for n in plan.prog.nodes]


def test_algebraic_rewrites_fire_and_preserve_values():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3], name="x")
        a = (x * 1.0 + 0.0) - 0.0
        b = -(-a)  # noqa: B002 - neg(neg x), on purpose
        c = sg.log(sg.exp(b))
        d = ops.permute(ops.permute(c, (1, 0)), (1, 0))
        e = ops.reshape(ops.reshape(d, (-1,)), (-1, 3))
        f = ops.sum_to_like(e, x)
    feeds = {x: R.standard_normal((4, 3)).astype(np.float32)}
    plan, counts = _trace([f], feeds)
    assert counts["algebraic_simplification"] >= 7
    assert all(op in ("feed", "reshape") for op in _ops(plan)), _ops(plan)
    got, ref, _ = both(g, [f], feeds)
    assert_close(got, ref)


def test_transpose_of_a_product_read_once_becomes_a_product_of_transposes():
    """``permute(matmul(a, b))`` -> ``matmul(b^T, a^T)`` (nn.Linear's weight gradient): no
    fallback copy is left, the transposes are flags of the product; a product read elsewhere
    too stays (it would be computed twice)."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3], name="x")
        dy = sg.placeholder(sg.float32, [None, 4], name="dy")
        w = sg.placeholder(sg.float32, [4, 3], name="w")
        once = ops.permute(ops.matmul(ops.permute(x, (1, 0)), dy), (1, 0))  # (4, 3)
        upd = w - once * 0.5  # the transposed gradient read by a kernel (SGD's update)
        shared = ops.matmul(ops.permute(x, (1, 0)), dy)
        twice = ops.permute(shared, (1, 0)) * 2.0 + 1.0
    feeds = {x: R.standard_normal((5, 3)).astype(np.float32),
             dy: R.standard_normal((5, 4)).astype(np.float32),
             w: R.standard_normal((4, 3)).astype(np.float32)}
    plan, _ = _trace([upd], feeds)
    assert [s.kind for s in plan.steps].count("fallback") == 0, [s.describe() for s in plan.steps]
    dot = next(n for n in plan.prog.nodes if n.op == "matmul")
    assert dot.inputs[0].op == "permute" and dot.inputs[0].inputs[0].op == "feed"
    assert dot.inputs[1].op == "feed"  # permute(permute(x)) is x
    got, ref, _ = both(g, [upd], feeds)
    assert_close(got, ref)
    np.testing.assert_allclose(got[0], feeds[w] - 0.5 * (feeds[x].T @ feeds[dy]).T, rtol=1e-5,
                               atol=1e-6)
    plan, _ = _trace([twice, shared], feeds)
    assert _ops(plan).count("matmul") == 1
    got, ref, _ = both(g, [twice, shared], feeds)
    assert_close(got, ref)


def test_unsafe_simplifications_do_not_fire():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        y = (x * 0.0, x - x)
    feeds = {x: np.array([np.inf, np.nan, 1.0], np.float32)}
    plan, _ = _trace(list(y), feeds)
    assert "mul" in _ops(plan) and "sub" in _ops(plan)
    got, ref, _ = both(g, list(y), feeds)
    for u, v in zip(got, ref, strict=True):
        np.testing.assert_array_equal(u, v)


def test_constant_folding_and_cse():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        c = sg.constant(2.0) * sg.constant(3.0)
        y = sg.exp(x) * c + sg.exp(x)
    feeds = {x: R.standard_normal(5).astype(np.float32)}
    plan, counts = _trace([y], feeds)
    assert counts["constant_folding"] >= 1 and counts["cse"] >= 1
    assert _ops(plan).count("exp") == 1
    got, ref, _ = both(g, [y], feeds)
    assert_close(got, ref)


def test_stable_rewrites():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 4], name="x")
        lsm = sg.log(ops.softmax(x, 1))
        lse = sg.log(ops.sum(sg.exp(x), 1))
    feeds = {x: np.array([[1000.0, 0.0, -1000.0, 3.0], [1.0, 2.0, 3.0, 4.0]], np.float32)}
    plan, counts = _trace([lsm, lse], feeds)
    assert counts["stable_rewrites"] == 2
    assert "log_softmax" in _ops(plan) and "logsumexp" in _ops(plan)
    got, _, _ = both(g, [lsm, lse], feeds)
    assert np.all(np.isfinite(got[0])) and np.all(np.isfinite(got[1]))  # no overflow to inf
    xs = feeds[x].astype(np.float64)
    ref = xs - np.log(np.exp(xs - xs.max(1, keepdims=True)).sum(1, keepdims=True)) - \
        xs.max(1, keepdims=True)
    assert_close(got[0], ref, rtol=1e-5, atol=1e-4)


def test_softmax_ce_gradient_rewrite():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 5], name="x")
        t = sg.placeholder(sg.int64, [None], name="t")
        loss = ops.cross_entropy(x, t)
        (gx,) = sg.gradients(loss, [x])
    feeds = {x: R.standard_normal((6, 5)).astype(np.float32), t: R.integers(0, 5, 6)}
    plan, counts = _trace([loss, gx], feeds)
    assert "softmax_ce_grad" in _ops(plan) and "nll_loss_grad" not in _ops(plan)
    got, ref, _ = both(g, [loss, gx], feeds)
    assert_close(got, ref, rtol=1e-5, atol=1e-6)


def test_shape_specialization_makes_gradient_identities_vanish():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3], name="x")
        b = sg.placeholder(sg.float32, [3], name="b")
        y = ops.sum(sg.tanh(x + b))
        gx, gb = sg.gradients(y, [x, b])
    feeds = {x: R.standard_normal((4, 3)).astype(np.float32),
             b: R.standard_normal(3).astype(np.float32)}
    plan, counts = _trace([gx, gb], feeds)
    assert counts["shape_specialization"] > 0
    kinds = [n.op for n in plan.prog.nodes]
    assert kinds.count("sum_to_like") == 1  # only the real un-broadcast (for b) is left
    got, ref, _ = both(g, [gx, gb], feeds)
    assert_close(got, ref)


def test_seed_of_a_per_row_loss_reads_the_target_and_keeps_its_dtype():
    """``ones_like(loss)`` (the seed of ``gradients(per-row loss)``) reads the target's shape, so
    the loss is never computed; CSE keeps it apart from ``ones_like(target)`` (an int64 tensor,
    once merged with the float seed)."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 4], name="x")
        y = sg.placeholder(sg.int64, [None], name="y")
        loss = sg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
        gx, = sg.gradients(loss, [x])
        oy = sg.ones_like(y)
    feeds = {x: R.standard_normal((5, 4)).astype(np.float32), y: R.integers(0, 4, 5)}
    plan, _ = _trace([gx], feeds)
    assert "nll_loss" not in _ops(plan), _ops(plan)
    got, ref, _ = both(g, [gx, oy], feeds)
    assert_close(got[0], ref[0])
    assert got[1].dtype == ref[1].dtype == np.int64
    np.testing.assert_array_equal(got[1], ref[1])

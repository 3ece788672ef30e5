"""The single-dispatch driver of small plans (njit_driver.py) and the per-run entry
(instance.py): agreement with the reference executor and with the Python driver, results never
overwritten by later runs, no recompiles across batch sizes, odd feed layouts."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler.cpu import jit, smallmm

from .helpers import assert_close, mlp

R = np.random.default_rng(7)


def _linear(n_in=2, n_out=1):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, n_in], name="x")
        y = sg.placeholder(sg.float32, [None, n_out], name="y")
        w = sg.Variable((R.standard_normal((n_in, n_out)) * 0.5).astype(np.float32), name="w")
        b = sg.Variable(np.zeros(n_out, np.float32), name="b")
        r = sg.matmul(x, w) + b - y
        loss = sg.reduce_mean(r * r)
        train = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = sg.global_variables_initializer()
    return g, x, y, loss, train, init, (w, b)


def _instance(sess, fetches, targets, feeds):
    plan = sess._executor.plan_for(sess.graph, fetches, targets, feeds)
    return plan.instance(tuple(a.shape for a in feeds.values()))


def _train(executor, g, init, fetches, feeds, steps):
    s = sg.Session(graph=g, executor=executor)
    s.run(init)
    out = [s.run(fetches, feeds) for _ in range(steps)]
    return s, out


def test_small_plan_runs_as_one_driver_and_matches_reference():
    g, x, y, loss, train, init, vars_ = _linear()
    feeds = {x: np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32),
             y: np.array([[0], [1], [1], [0]], np.float32)}
    s, got = _train("numba", g, init, [loss, train], feeds, 20)
    r, want = _train("reference", g, init, [loss, train], feeds, 20)
    inst = _instance(s, [loss], [train.op if hasattr(train, "op") else train], feeds)
    assert inst.small and "drv(" in inst.call_source
    assert "mm_nn(" in inst.plan.njit_src.source and "mm_tn(" in inst.plan.njit_src.source
    for a, b in zip(got, want, strict=True):
        assert_close(a[0], b[0], rtol=1e-5)
    for v in vars_:
        assert_close(s.run(v), r.run(v), rtol=1e-5)


def test_single_driver_and_python_driver_agree(monkeypatch):
    g, x, y, loss, train, init, vars_ = mlp(D=5, H=4, C=3, seed=4)
    feeds = {x: R.standard_normal((6, 5)).astype(np.float32), y: R.integers(0, 3, 6)}
    s1, a = _train("numba", g, init, [loss, train], feeds, 4)
    monkeypatch.setattr("staticgraph.compiler.cpu.instance.SMALL_DOT", 0)  # every product "large"
    s2, b = _train("numba", g, init, [loss, train], feeds, 4)
    i1 = _instance(s1, [loss], [train], feeds)
    i2 = _instance(s2, [loss], [train], feeds)
    assert i1.small and not i2.small and "np.dot" in i2.plan.driver.source
    for u, v in zip(a, b, strict=True):
        assert_close(u[0], v[0], rtol=1e-5)
    for v in vars_:
        assert_close(s1.run(v), s2.run(v), rtol=1e-5, atol=1e-6)


def test_results_held_by_the_caller_are_never_overwritten():
    g, x, y, loss, train, init, (w, b) = _linear(3, 2)
    s = sg.Session(graph=g)
    s.run(init)
    held, copies = [], []
    for i in range(6):
        feeds = {x: R.standard_normal((4, 3)).astype(np.float32),
                 y: R.standard_normal((4, 2)).astype(np.float32)}
        out = s.run([loss, w, b, train], feeds)
        if i % 2 == 0:  # keep every other result; drop the rest (their buffers may be reused)
            held.append(out)
            copies.append([np.array(o, copy=True) for o in out[:3]])
    inst = _instance(s, [loss, w, b], [train], feeds)
    assert inst.small
    for h, c in zip(held, copies, strict=True):
        for u, v in zip(h[:3], c, strict=True):
            np.testing.assert_array_equal(u, v)
    assert not np.shares_memory(held[-1][0], held[-2][0])


def test_variable_values_are_not_updated_in_place_under_the_caller():
    g, x, y, loss, train, init, (w, _) = _linear()
    s = sg.Session(graph=g)
    s.run(init)
    feeds = {x: R.standard_normal((4, 2)).astype(np.float32),
             y: R.standard_normal((4, 1)).astype(np.float32)}
    w0 = s.run(w)
    keep = np.array(w0, copy=True)
    for _ in range(5):
        s.run(train, feeds)
    np.testing.assert_array_equal(w0, keep)
    assert not np.array_equal(s.run(w), keep)


def test_batch_size_change_compiles_nothing_on_the_single_driver():
    g, x, y, loss, train, init, _ = _linear(2, 1)
    s = sg.Session(graph=g)
    s.run(init)
    s.run([loss, train], {x: np.ones((4, 2), np.float32), y: np.ones((4, 1), np.float32)})
    before = (s._executor.compiles, jit.STATS["compiled"], jit.STATS["disk_hits"])
    ref = sg.Session(graph=g, executor="reference")
    ref.run(init)
    ref.run([loss, train], {x: np.ones((4, 2), np.float32), y: np.ones((4, 1), np.float32)})
    for n in (2, 3, 7, 16):  # (1 would be a new size-1 pattern: a new plan by design)
        feeds = {x: R.standard_normal((n, 2)).astype(np.float32),
                 y: R.standard_normal((n, 1)).astype(np.float32)}
        assert_close(s.run([loss, train], feeds)[0], ref.run([loss, train], feeds)[0], rtol=1e-5)
        assert _instance(s, [loss], [train], feeds).small
    assert (s._executor.compiles, jit.STATS["compiled"], jit.STATS["disk_hits"]) == before


def test_non_contiguous_and_read_only_feeds():
    g, x, y, loss, train, init, _ = _linear(2, 1)
    s = sg.Session(graph=g)
    s.run(init)
    r = sg.Session(graph=g, executor="reference")
    r.run(init)
    base = R.standard_normal((2, 8)).astype(np.float32)
    ro = R.standard_normal((8, 1)).astype(np.float32)
    ro.flags.writeable = False
    feeds = {x: base.T, y: ro}  # a transposed view and a read-only array
    assert_close(s.run(loss, feeds), r.run(loss, feeds), rtol=1e-5)
    before = jit.STATS["compiled"]
    assert_close(s.run(loss, feeds), r.run(loss, feeds), rtol=1e-5)
    assert jit.STATS["compiled"] == before


def test_loop_matmuls_match_numpy():
    a = R.standard_normal((5, 3)).astype(np.float32)
    b = R.standard_normal((3, 4)).astype(np.float32)
    out = np.empty((5, 4), np.float32)
    for fn, x, y in ((smallmm.mm_nn, a, b), (smallmm.mm_tn, a.T.copy(), b),
                     (smallmm.mm_nt, a, b.T.copy()), (smallmm.mm_tt, a.T.copy(), b.T.copy())):
        out[...] = np.nan
        fn(x, y, out)
        np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-6)
    z = np.empty((5, 4), np.float32)
    smallmm.mm_nt(np.empty((5, 0), np.float32), np.empty((4, 0), np.float32), z)
    np.testing.assert_array_equal(z, 0.0)


def _tf1_mlp(seed=5):
    rng = np.random.default_rng(seed)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 6], name="x")
        y = sg.placeholder(sg.int64, [None], name="y")
        w = sg.Variable((rng.standard_normal((6, 4)) * 0.3).astype(np.float32), name="w")
        b = sg.Variable(np.zeros(4, np.float32), name="b")
        logits = sg.matmul(x, w) + b
        loss = sg.reduce_mean(
            sg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train = sg.train.GradientDescentOptimizer(0.5).minimize(loss)
        init = sg.global_variables_initializer()
    return g, x, y, loss, train, init, (w, b)


def test_tf1_sparse_softmax_ce_mean_is_two_row_kernels_and_matches_reference():
    g, x, y, loss, train, init, vars_ = _tf1_mlp()
    feeds = {x: R.standard_normal((200, 6)).astype(np.float32), y: R.integers(0, 4, 200)}
    s, got = _train("numba", g, init, [loss, train], feeds, 3)
    r, want = _train("reference", g, init, [loss, train], feeds, 3)
    for a, b in zip(got, want, strict=True):
        assert_close(a[0], b[0], rtol=1e-5)
    for v in vars_:
        assert_close(s.run(v), r.run(v), rtol=1e-5, atol=1e-6)
    plan = s._executor.plan_for(g, [loss], [train], feeds)
    assert [st.kernel.kind for st in plan.steps if st.kind == "row"] == ["ce_fwd", "ce_bwd"]
    assert [st.nodes[0].op for st in plan.steps if st.kind == "fallback"] in ([], ["size"])
    assert not any(n.op == "nll_loss" and n.params["reduction"] == "none"
                   for n in plan.prog.nodes)  # the per-row loss is never computed


def test_feeds_disagreeing_on_a_unified_dim_are_rejected():
    g, x, y, loss, train, init, _ = _tf1_mlp()
    s = sg.Session(graph=g)
    s.run(init)
    with pytest.raises(sg.errors.InvalidArgumentError):
        s.run(loss, {x: np.ones((5, 6), np.float32), y: np.zeros(4, np.int64)})
    assert np.isfinite(s.run(loss, {x: np.ones((4, 6), np.float32), y: np.zeros(4, np.int64)}))


def test_dim_no_feed_determines_falls_back_and_agrees():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 4], name="x")
        w = sg.constant(np.arange(6, dtype=np.float32).reshape(2, 3))
        out = sg.reshape(sg.matmul(sg.reshape(x, [-1, 2]), w), [-1])
    feeds = {x: R.standard_normal((3, 4)).astype(np.float32)}
    s = sg.Session(graph=g)
    r = sg.Session(graph=g, executor="reference")
    assert_close(s.run(out, feeds), r.run(out, feeds))
    feeds = {x: R.standard_normal((5, 4)).astype(np.float32)}
    assert_close(s.run(out, feeds), r.run(out, feeds))


def test_prepared_runner_matches_session_run_and_commits_updates():
    g, x, y, loss, train, init, (w, b) = _linear(2, 1)
    feeds = {x: R.standard_normal((4, 2)).astype(np.float32),
             y: R.standard_normal((4, 1)).astype(np.float32)}
    s = sg.Session(graph=g)
    s.run(init)
    ref = sg.Session(graph=g, executor="reference")
    ref.run(init)
    runner = s._executor.prepare(g, [loss], [train], list(feeds))
    assert s._executor.prepare(g, [loss], [train], list(feeds)) is runner  # kept per key
    for _ in range(3):
        (got,) = runner(list(feeds.values()), s._state)
        assert_close(got, ref.run([loss, train], feeds)[0], rtol=1e-5)
    assert_close(s.run(w), ref.run(w), rtol=1e-5)
    assert_close(s.run(b), ref.run(b), rtol=1e-5)

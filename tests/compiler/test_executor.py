"""The numba executor end to end: agreement with the reference executor, fusion kernel counts
and content, recompilation rules, thread safety, fallbacks."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import ops
from staticgraph.compiler import NumbaExecutor, explain
from staticgraph.compiler.cpu import jit

from .helpers import assert_close, both, mlp

R = np.random.default_rng(3)


def _plan(sess, fetches, feeds):
    return sess._executor.plan_for(sess.graph, [f for f in fetches if not hasattr(f, "type")],
                                   [f for f in fetches if hasattr(f, "type")], feeds)


def test_registered_as_numba_and_default():
    from staticgraph.session import EXECUTORS

    assert EXECUTORS["numba"] is NumbaExecutor
    assert sg.Session(graph=sg.Graph()).executor_name == "numba"


def test_seed_graph_with_gradients_is_one_kernel():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        w = sg.Variable(np.array([2.0, -1.0, 0.5], np.float32), name="w")
        y = (x + w) * (w + 1)
        gx, gw = sg.gradients(y, [x, w])
        init = sg.global_variables_initializer()
    feeds = {x: np.array([1.0, 2.0, 3.0], np.float32)}
    a, b, s = both(g, [y, gx, gw], feeds, init)
    assert_close(a, b)
    plan = _plan(s, [y, gx, gw], feeds)
    assert len(plan.kernel_list) == 1
    assert [st.kind for st in plan.steps] == ["kernel"]


def test_mlp_step_matches_reference_and_fuses(numba_tier):
    """(numba's tier: the single driver the explanation names; tests/conftest.py)"""
    g, x, y, loss, train, init, vars_ = mlp()
    feeds = {x: R.standard_normal((7, 6)).astype(np.float32), y: R.integers(0, 4, 7)}
    a, b, s = both(g, [loss, train], feeds, init, steps=3)
    assert_close(a[0], b[0], rtol=1e-5)
    ref = sg.Session(graph=g, executor="reference")
    ref.run(init)
    for _ in range(3):
        ref.run([loss, train], feeds)
    for v in vars_:
        assert_close(s.run(v), ref.run(v), rtol=1e-5, atol=1e-6)
    plan = _plan(s, [loss, train], feeds)
    kinds = [st.kind for st in plan.steps if st.kind != "view"]
    assert kinds.count("dot") == 5  # 2 forward, 3 backward (input grad of layer 1 pruned)
    rows = [st.kernel.kind for st in plan.steps if st.kind == "row"]
    assert rows == ["ce_fwd", "ce_bwd"]  # softmax-CE forward and its gradient: one kernel each
    epi = [st for st in plan.steps if st.epilogue_of is not None]
    assert any([n.op for n in st.nodes][:2] == ["add", "relu"] for st in epi)  # bias+relu
    assert len(plan.kernel_list) <= 11
    text = explain([loss, train], feeds, session=s, passes=False)
    assert "mm_nn(" in text  # this small step runs as one compiled driver, products as loops
    assert "peak intermediate bytes" in text and "compile time" in text


def test_batch_size_change_does_not_recompile():
    g, x, y, loss, train, init, _ = mlp(seed=1)
    s = sg.Session(graph=g)
    s.run(init)
    s.run(loss, {x: R.standard_normal((5, 6)).astype(np.float32), y: R.integers(0, 4, 5)})
    before = (s._executor.compiles, jit.STATS["compiled"], jit.STATS["disk_hits"])
    for n in (3, 9, 17):
        feeds = {x: R.standard_normal((n, 6)).astype(np.float32), y: R.integers(0, 4, n)}
        v = s.run(loss, feeds)
        r = sg.Session(graph=g, executor="reference")
        r.run(init)
        assert_close(v, r.run(loss, feeds), rtol=1e-5)
    assert (s._executor.compiles, jit.STATS["compiled"], jit.STATS["disk_hits"]) == before


def test_elementwise_chain_with_gradient_one_kernel():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        y = sg.sigmoid(sg.tanh(x) * 2.0) + sg.exp(x * -0.5)
        (gx,) = sg.gradients(y, [x])
    xv = np.concatenate([R.standard_normal(50) * 4, [0.0, np.inf, -np.inf, np.nan, 100.0]])
    feeds = {x: xv.astype(np.float32)}
    a, b, s = both(g, [y, gx], feeds)
    assert_close(a, b, rtol=3e-6, atol=1e-7)
    plan = _plan(s, [y, gx], feeds)
    assert len(plan.kernel_list) == 1
    src = plan.kernel_list[0].source
    assert "sg_tanh" in src and "sg_sigmoid" in src and "sg_exp" in src


def test_producer_fused_into_reduction():
    g = sg.Graph()
    with g.as_default():
        p = sg.placeholder(sg.float32, [None, 3], name="p")
        t = sg.placeholder(sg.float32, [None, 3], name="t")
        m = ops.mean(ops.square(p - t))
        cols = ops.amax(p * t, 0)
    feeds = {p: R.standard_normal((4, 3)).astype(np.float32),
             t: R.standard_normal((4, 3)).astype(np.float32)}
    a, b, s = both(g, [m, cols], feeds)
    assert_close(a, b)
    plan = _plan(s, [m], feeds)
    assert [st.kind for st in plan.steps] == ["kernel"]
    k = plan.kernel_list[0].step.kernel
    assert [r.op for r in k.reductions] == ["mean"] and not k.outputs  # no temporary


def test_nan_inf_propagate_like_numpy():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        outs = [sg.maximum(x, 0.0), x * 0.0, x - x, sg.nn.relu(x), sg.log(x), ops.amax(x)]
    feeds = {x: np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 2.0], np.float32)}
    a, b, _ = both(g, outs, feeds)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


def test_unsupported_ops_fall_back_and_agree():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 4], name="x")
        am = ops.argmax(x * 2.0, 1)
        sl = ops.getitem(sg.exp(x), (slice(None), slice(1, 3))) + 1.0
    feeds = {x: R.standard_normal((3, 4)).astype(np.float32)}
    a, b, _ = both(g, [am, sl], feeds)
    assert_close(a, b)


def test_results_are_not_overwritten_by_later_runs():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        y = x * 3.0
    s = sg.Session(graph=g)
    r1 = s.run(y, {x: np.ones(4, np.float32)})
    r2 = s.run(y, {x: np.full(4, 2.0, np.float32)})
    np.testing.assert_array_equal(r1, 3.0)
    np.testing.assert_array_equal(r2, 6.0)


def test_thread_safe_run():
    g, x, y, loss, train, init, _ = mlp(seed=2)
    s = sg.Session(graph=g)
    s.run(init)
    data = [{x: R.standard_normal((n, 6)).astype(np.float32), y: R.integers(0, 4, n)}
            for n in (4, 4, 6, 8)]
    want = [s.run(loss, f) for f in data]
    errors: list = []

    def work(i: int) -> None:
        try:
            for _ in range(50):
                np.testing.assert_allclose(s.run(loss, data[i]), want[i], rtol=1e-6)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    th = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert not errors


def test_uninitialized_variable_error():
    g = sg.Graph()
    with g.as_default():
        v = sg.Variable(np.ones(2, np.float32), name="v")
        y = v * 2.0
    with pytest.raises(sg.errors.FailedPreconditionError, match="uninitialized"):
        sg.Session(graph=g).run(y)

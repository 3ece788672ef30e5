"""Aliasing and run-time errors of the compiled executor (issue #9), on every executor: the
numba tier, the native tier (``numba-native``: saved machine code through ctypes) and the
reference interpreter.

* views (a rank-3 transpose runs as a numpy fallback returning a view) keep their buffer alive:
  no kernel writes in place over memory a view still reads (memory.py's alias analysis);
* fetched results never alias feeds, variables, updates or each other;
* out-of-range labels raise ``InvalidArgumentError`` naming the op even when only the gradient
  reads them, and leave the variables untouched;
* ``max``/``min`` over an empty axis raise; the mean softmax-CE of an empty batch is NaN.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import staticgraph as sg
from staticgraph import ops
from staticgraph.compiler.fusion import fuse
from staticgraph.compiler.lower import lower
from staticgraph.compiler.memory import plan_memory
from staticgraph.compiler.passes import Context, optimize
from staticgraph.graph.errors import InvalidArgumentError
from tests.compiler.helpers import mlp
from tests.conftest import executor_on_its_tier
from tests.static.conftest import _executors

R = np.random.default_rng(9)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(params=_executors())
def executor(request) -> str:
    return executor_on_its_tier(request)


@pytest.fixture(params=["single", "python"])
def driver(request, monkeypatch) -> str:
    """The compiled plan's driver: the single @njit one for small plans, or (every product
    counted as large) the Python one."""
    if request.param == "python":
        monkeypatch.setattr("staticgraph.compiler.cpu.instance.SMALL_DOT", 0)
    return request.param


def _transpose_chain():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3, 3], name="x")
        y = sg.transpose(sg.transpose(sg.exp(x), [0, 2, 1]) * 2.0, [0, 2, 1]) + 1.0
    return g, x, y


def test_a_view_of_a_kernel_output_is_not_overwritten(executor):
    g, x, y = _transpose_chain()
    xv = R.standard_normal((2, 3, 3)).astype(np.float32)
    s = sg.Session(graph=g, executor=executor)
    for _ in range(2):
        np.testing.assert_allclose(s.run(y, {x: xv}), np.exp(xv) * 2 + 1, rtol=1e-6)


def test_plan_keeps_a_buffer_live_while_a_view_of_it_is_read():
    g, x, y = _transpose_chain()
    prog = lower([y], [], [x])
    optimize(prog, Context([(0, 0, 0)]), [])
    steps = fuse(prog)
    assert [s.kind for s in steps] == ["kernel", "fallback", "kernel", "fallback", "kernel"]
    mem = plan_memory(prog, steps)
    exp_out, mul_out = steps[0].outputs[0], steps[2].outputs[0]
    assert mem.roots[steps[1].outputs[0].id] == {exp_out.id}
    # the mul reads exp's buffer through the transposed view: it must not write over it
    assert mem.slot_of[mul_out.id] != mem.slot_of[exp_out.id]
    assert all(i != 2 for i, _ in mem.inplace)


def test_log_softmax_of_a_transpose_gradient_and_hessian_vector_product(executor):
    xv = R.standard_normal((3, 2, 2)).astype(np.float32)
    vv = R.standard_normal((3, 2, 2)).astype(np.float32)
    out = {}
    for ex in (executor, "reference"):
        g = sg.Graph()
        with g.as_default():
            x = sg.placeholder(sg.float32, [None, 2, 2])
            v = sg.placeholder(sg.float32, [None, 2, 2])
            ls = sg.nn.log_softmax(sg.transpose(sg.exp(x), [0, 2, 1]), axis=1)
            grad = sg.gradients(-sg.reduce_sum(ls * ls), x)[0]
            hvp = sg.gradients(sg.reduce_sum(grad * v), x)[0]
        out[ex] = sg.Session(graph=g, executor=ex).run([grad, hvp], {x: xv, v: vv})
    for a, b in zip(out[executor], out["reference"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ results are copies
def test_fetched_results_never_alias_state_feeds_or_each_other(executor, driver):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3], name="x")
        v = sg.Variable(np.ones((2, 3), np.float32), name="v")
        w = sg.Variable(np.ones((2, 3), np.float32), name="w")
        inc = sg.assign_add(v, sg.ones((2, 3)))
        y = x + 1.0
        both = sg.group(sg.assign(v, x * 2.0), sg.assign(w, x * 2.0))
        ident, view_x, view_v = sg.identity(x), sg.reshape(x, [3, 2]), sg.reshape(v, [3, 2])
        t3 = sg.transpose(sg.reshape(x, [1, 2, 3]), [0, 2, 1])
        init = sg.global_variables_initializer()
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    s = sg.Session(graph=g, executor=executor)
    s.run(init)
    for _ in range(2):  # a second run reuses the instance and its buffers
        s.run(sg.assign(v, np.ones((2, 3), np.float32)))
        r = s.run(inc)
        r[...] = 100  # the fetched value of an assign is not the variable's new value
        np.testing.assert_array_equal(s.run(v), 2)
        for t in (x, ident, view_x, t3):
            assert not np.shares_memory(s.run(t, {x: a}), a)
        for t in (v, view_v):
            s.run(t)[...] = 7
            np.testing.assert_array_equal(s.run(v), 2)
        r1, r2 = s.run([y, sg.identity(y)], {x: a})  # distinct fetches, one value
        assert not np.shares_memory(r1, r2)
        r1, r2 = s.run([y, y], {x: a})  # the same tensor twice: one result, as TF and the
        assert r1 is r2  # reference executor give
        s.run(both, {x: a})
        vals = s._state
        assert not np.shares_memory(vals[v], vals[w])
        np.testing.assert_array_equal(vals[w], a * 2)


# ------------------------------------------------------------------ labels
def test_bad_labels_raise_naming_the_op_and_leave_variables(executor, driver):
    g, x, y, loss, train, init, vars_ = mlp(D=4, H=3, C=3, seed=1)
    xv = R.standard_normal((4, 4)).astype(np.float32)
    s = sg.Session(graph=g, executor=executor)
    ref = sg.Session(graph=g, executor="reference")
    s.run(init)
    ref.run(init)
    for fetches in (train, [train, loss]):  # the train step alone has no forward loss kernel
        s.run(fetches, {x: xv, y: np.array([0, 1, 1, 2])})  # compiled for these shapes
        before = [s.run(v) for v in vars_]
        for bad in (5, -1):
            feeds = {x: xv, y: np.array([0, bad, 1, 2])}
            with pytest.raises(InvalidArgumentError) as got:
                s.run(fetches, feeds)
            with pytest.raises(InvalidArgumentError) as want:
                ref.run(fetches, feeds)
            assert str(got.value) == str(want.value)
            assert f"Target {bad} is out of bounds" in str(got.value)
            assert got.value.op is want.value.op is not None
            for v, b in zip(vars_, before, strict=True):
                np.testing.assert_array_equal(s.run(v), b)


def test_nll_loss_gradient_alone_checks_its_targets(executor):
    g = sg.Graph()
    with g.as_default():
        lp = sg.placeholder(sg.float32, [None, 3])
        t = sg.placeholder(sg.int64, [None])
        grad = sg.gradients(ops.nll_loss(lp * 1.0, t), lp)[0]  # no log_softmax: no rewrite
    s = sg.Session(graph=g, executor=executor)
    lpv = R.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(s.run(grad, {lp: lpv, t: np.array([2, 0])}),
                               [[0, 0, -0.5], [-0.5, 0, 0]])
    with pytest.raises(InvalidArgumentError, match="Target -1 is out of bounds"):
        s.run(grad, {lp: lpv, t: np.array([2, -1])})


# ------------------------------------------------------------------ empty axes and batches
@pytest.mark.parametrize("op", ["reduce_max", "reduce_min"])
def test_max_min_over_an_empty_axis_raise_like_the_reference(executor, op):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3])
        m = getattr(sg, op)(x * 2.0, axis=0)
        rows = getattr(sg, op)(x * 2.0, axis=1)  # an empty result, not an error
    s = sg.Session(graph=g, executor=executor)
    empty = np.zeros((0, 3), np.float32)
    assert s.run(rows, {x: empty}).shape == (0,)
    with pytest.raises(InvalidArgumentError) as got:
        s.run(m, {x: empty})
    assert "zero-size array" in str(got.value) and got.value.op is m.op
    np.testing.assert_allclose(s.run(m, {x: np.ones((2, 3), np.float32)}), [2, 2, 2])


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")
def test_empty_batch_mlp_step_agrees_with_reference(executor, driver):
    out = {}
    for ex in (executor, "reference"):
        g, x, y, loss, train, init, vars_ = mlp(D=4, H=3, C=3, seed=2)
        s = sg.Session(graph=g, executor=ex)
        s.run(init)
        before = [s.run(v) for v in vars_]
        with g.as_default():
            tf1 = sg.reduce_mean(sg.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=sg.matmul(sg.nn.relu(sg.matmul(x, vars_[0]) + vars_[1]),
                                           vars_[2]) + vars_[3]))
            res = s.run([loss, tf1, train], {x: np.zeros((0, 4), np.float32),
                                             y: np.zeros(0, np.int64)})
            res2 = s.run([loss, train], {x: np.ones((2, 4), np.float32), y: np.array([0, 2])})
        assert np.isnan(res[0]) and np.isnan(res[1])
        out[ex] = (before, res2[0], [s.run(v) for v in vars_])
    np.testing.assert_allclose(out[executor][1], out["reference"][1], rtol=1e-5)
    for a, b in zip(out[executor][2], out["reference"][2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


CUDA_LABELS = """
import numpy as np, staticgraph as sg
from staticgraph.compiler.cuda.executor import register
from staticgraph.graph.errors import InvalidArgumentError
from tests.compiler.helpers import mlp
assert register()
g, x, y, loss, train, init, vars_ = mlp(D=4, H=3, C=3, seed=1)
s = sg.Session(graph=g, executor="cuda")
s.run(init)
xv = np.ones((3, 4), np.float32)
s.run(train, {x: xv, y: np.array([0, 1, 2])})
w = s.run(vars_[0])
try:
    s.run(train, {x: xv, y: np.array([0, 3, 2])})
except InvalidArgumentError as e:
    print("RAISED", e.op is not None, str(e).splitlines()[0])
print("UNCHANGED", bool(np.array_equal(w, s.run(vars_[0]))))
print("EMPTY", s.run(loss, {x: np.zeros((0, 4), np.float32), y: np.zeros(0, np.int64)}))
with g.as_default():
    m = sg.reduce_max(x * 2.0, axis=0)
try:
    s.run(m, {x: np.zeros((0, 4), np.float32)})
except InvalidArgumentError as e:
    print("MAX RAISED", e.op is m.op, str(e).splitlines()[0])
"""


def test_cuda_labels_empty_mean_and_empty_max_in_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    p = subprocess.run([sys.executable, "-c", CUDA_LABELS], env=env, capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    if "No module named" in p.stderr and "cuda" in p.stderr:
        pytest.skip("numba.cuda is not importable")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "RAISED True IndexError: Target 3 is out of bounds." in p.stdout, p.stdout
    assert "UNCHANGED True" in p.stdout and "EMPTY nan" in p.stdout, p.stdout
    assert "MAX RAISED True ValueError: zero-size array" in p.stdout, p.stdout

"""``tf.while_loop``, ``tf.cond`` and ``tf.case`` (issue #11): values and gradients on every
executor against numpy, finite differences and the eager mode (the same computation as a Python
loop over ``dynamic`` tensors), for trip counts 0, 1 and many; side effects; TF1's errors; a
compiled loop compiles once whatever its trip count; TensorFlow as an optional oracle."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import staticgraph as tf
from staticgraph import ops
from tests.static.conftest import central_difference as _fd
from tests.static.conftest import nested_loops

TRIPS = (0, 1, 4)
X0 = np.array([0.3, -0.7, 1.1])


def _rnn_numpy(x: np.ndarray, w: float, n: int) -> float:
    h = x.copy()
    for _ in range(n):
        h = np.sin(h * w) + h
    return float((h * h).sum())


def _loop_graph():
    x = tf.placeholder(tf.float64, [None], name="x")
    n = tf.placeholder(tf.int32, [], name="n")
    w = tf.Variable(np.float64(0.9), name="w")
    _, h = tf.while_loop(lambda i, h: i < n, lambda i, h: (i + 1, tf.sin(h * w) + h),
                         [tf.constant(0), x])
    loss = tf.reduce_sum(h * h)
    gx, gw = tf.gradients(loss, [x, w])
    return x, n, w, loss, gx, gw


def test_while_loop_values_and_gradients(executor):
    x, n, w, loss, gx, gw = _loop_graph()
    with tf.Session(executor=executor) as sess:
        sess.run(w.initializer)
        for k in TRIPS:
            lv, gxv, gwv = sess.run([loss, gx, gw], {x: X0, n: k})
            assert lv == pytest.approx(_rnn_numpy(X0, 0.9, k), rel=1e-12)
            np.testing.assert_allclose(gxv, _fd(lambda v, k=k: _rnn_numpy(v, 0.9, k), X0),
                                       rtol=1e-6, atol=1e-8)
            fdw = _fd(lambda v, k=k: _rnn_numpy(X0, float(v[0]), k), np.array([0.9]))[0]
            assert gwv == pytest.approx(fdw, rel=1e-6, abs=1e-8)


def test_while_loop_matches_the_eager_python_loop():
    dynamic = pytest.importorskip("dynamic")
    x, n, w, loss, gx, gw = _loop_graph()
    with tf.Session(executor="reference") as sess:
        sess.run(w.initializer)
        for k in TRIPS:
            xs = dynamic.tensor(X0.copy(), requires_grad=True)
            ws = dynamic.tensor(np.array(0.9), requires_grad=True)
            h = xs
            for _ in range(k):  # the same computation, eagerly
                h = ops.add(ops.sin(ops.mul(h, ws)), h)
            ops.sum(ops.mul(h, h)).backward()
            lv, gxv, gwv = sess.run([loss, gx, gw], {x: X0, n: k})
            np.testing.assert_allclose(gxv, xs.grad.numpy(), rtol=1e-12, atol=1e-14)
            want = 0.0 if ws.grad is None else float(ws.grad.numpy())  # k = 0: w unused
            assert gwv == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_nested_loops_and_second_order(executor):
    v = np.array([1.0, -2.0, 0.5])
    x, n, m, _, g, hv = nested_loops(v)

    def f(xv, k, mm):
        a = xv.copy()
        for _ in range(k):
            for _ in range(mm):
                a = a * 0.8 + np.sin(a)
        return (a * a).sum()

    with tf.Session(executor=executor) as sess:
        for k, mm in ((0, 2), (1, 0), (2, 3)):
            gv, hvv = sess.run([g, hv], {x: X0, n: k, m: mm})
            np.testing.assert_allclose(gv, _fd(lambda a, k=k, mm=mm: f(a, k, mm), X0), rtol=1e-6,
                                       atol=1e-8)
            want = _fd(lambda a, k=k, mm=mm: _fd(lambda b: f(b, k, mm), a, 1e-5) @ v, X0, 1e-4)
            np.testing.assert_allclose(hvv, want, rtol=1e-4, atol=1e-5)


def test_loop_structures_and_maximum_iterations(executor):
    x = tf.placeholder(tf.float32, [2], name="x")
    state = {"a": x, "b": (tf.constant(0.0), [x * 2.0])}
    (out,) = tf.while_loop(lambda s: s["b"][0] < 100.0,
                           lambda s: {"a": s["a"] + 1.0,
                                      "b": (s["b"][0] + 7.0, [s["b"][1][0] * 2.0])},
                           [state], maximum_iterations=5)
    k = tf.while_loop(lambda i: i < 1000, lambda i: i + 1, [tf.constant(0)],
                      maximum_iterations=tf.constant(3))
    with tf.Session(executor=executor) as sess:
        res, kv = sess.run([out, k], {x: [1.0, 2.0]})
    np.testing.assert_allclose(res["a"], [6.0, 7.0])
    assert res["b"][0] == 35.0 and kv == 3
    np.testing.assert_allclose(res["b"][1][0], [64.0, 128.0])


def test_shape_invariants_let_a_loop_variable_grow(executor):
    x = tf.placeholder(tf.float32, [None], name="x")
    _, out = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, tf.concat([v, v * 0.5], 0)),
                           [tf.constant(0), x],
                           shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])])
    assert out.shape.as_list() == [None]
    with tf.Session(executor=executor) as sess:
        np.testing.assert_allclose(sess.run(out, {x: [8.0]}),
                                   [8, 4, 4, 2, 4, 2, 2, 1])


def test_variables_in_a_loop_body_are_live_and_committed_once(executor):
    v = tf.Variable(0.0, name="v")
    n = tf.placeholder(tf.int32, [], name="n")

    def body(i, acc):
        inc = tf.assign_add(v, 1.0)
        with tf.control_dependencies([inc]):
            return i + 1, acc + tf.identity(v)  # sees this iteration's update

    _, total = tf.while_loop(lambda i, a: i < n, body, [tf.constant(0), tf.constant(0.0)])
    bad = tf.while_loop(lambda i: i < 3, lambda i: i + tf.cast(tf.assign_add(v, 1.0), tf.int32)
                        + tf.constant([1, 2])[i + 5], [tf.constant(0)])
    with tf.Session(executor=executor) as sess:
        sess.run(v.initializer)
        assert sess.run(total, {n: 3}) == 6.0 and sess.run(v) == 3.0
        assert sess.run(total, {n: 0}) == 0.0 and sess.run(v) == 3.0
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(bad)
        assert sess.run(v) == 3.0  # a failed run commits nothing


# ------------------------------------------------------------------------------------- cond
def test_cond_runs_only_the_taken_branch(executor):
    counter = tf.Variable(0, name="counter")
    x = tf.placeholder(tf.float32, [None], name="x")

    def taken():
        inc = tf.assign_add(counter, 1)
        with tf.control_dependencies([inc]):
            return tf.identity(x) * 2.0

    y = tf.cond(tf.reduce_sum(x) > 0, taken, lambda: tf.reduce_sum(x) - x)
    with tf.Session(executor=executor) as sess:
        sess.run(counter.initializer)
        np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])
        assert sess.run(counter) == 1
        np.testing.assert_allclose(sess.run(y, {x: [-1.0, -2.0]}), [-2.0, -1.0])
        assert sess.run(counter) == 1


def test_cond_gradient_flows_through_the_taken_branch_only(executor):
    x = tf.placeholder(tf.float64, [None], name="x")
    p = tf.placeholder(tf.bool, [], name="p")
    w = tf.Variable(np.float64(1.5), name="w")
    r = 1.0 / x  # used by the untaken branch only: no 0 * inf = NaN at x = 0
    y = tf.cond(p, lambda: tf.sin(r) * w, lambda: tf.tanh(x))
    gx, gw = tf.gradients(tf.reduce_sum(y), [x, w])
    (hx,) = tf.gradients(tf.reduce_sum(gx), [x])
    xv = np.array([0.0, 0.5, -1.0])
    with tf.Session(executor=executor) as sess:
        sess.run(w.initializer)
        out = sess.run([y, gx, gw, hx], {x: xv, p: False})
        np.testing.assert_allclose(out[1], 1 - np.tanh(xv) ** 2)
        assert out[2] == 0.0  # w only in the untaken branch: a zero gradient, as in TF1
        np.testing.assert_allclose(out[3], -2 * np.tanh(xv) * (1 - np.tanh(xv) ** 2))
        xv = np.array([0.5, -1.0, 2.0])
        out = sess.run([y, gx, gw], {x: xv, p: True})
        np.testing.assert_allclose(out[1], np.cos(1 / xv) * 1.5 * -1 / xv**2)
        assert out[2] == pytest.approx(np.sin(1 / xv).sum())


def test_case_picks_the_first_true_predicate(executor):
    k = tf.placeholder(tf.int32, [], name="k")
    x = tf.placeholder(tf.float32, [2], name="x")
    z = tf.case([(k < 1, lambda: x * 1.0), (k < 2, lambda: x * 2.0)], default=lambda: x * 3.0)
    z2 = tf.case({k > 5: lambda: x - 1.0})  # no default: the last pair's function
    (g,) = tf.gradients(tf.reduce_sum(z * z), [x])
    with tf.Session(executor=executor) as sess:
        for kv, f in ((0, 1.0), (1, 2.0), (2, 3.0), (7, 3.0)):
            zv, gv, z2v = sess.run([z, g, z2], {k: kv, x: [1.0, 2.0]})
            np.testing.assert_allclose(zv, [f, 2 * f])
            np.testing.assert_allclose(gv, [2 * f * f, 4 * f * f])
            np.testing.assert_allclose(z2v, [0.0, 1.0])


# ----------------------------------------------------------------------------------- errors
def test_build_time_errors_name_the_loop_the_variable_and_the_line():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(ValueError, match=r"enters the loop with shape \(2,\), but has shape "
                                         r"\(4,\) after one iteration.*shape_invariants.*"
                                         r"loop_vars\[1\].*test_control_flow.py"):
        tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, tf.concat([v, v], 0)),
                      [tf.constant(0), x])
    with pytest.raises(ValueError, match="not compatible with the initial shape"):
        tf.while_loop(lambda v: True, lambda v: v, [x], shape_invariants=[tf.TensorShape([3])])
    with pytest.raises(TypeError, match=r"body returns int32 for loop variable loop_vars\[0\]"):
        tf.while_loop(lambda v: True, lambda v: tf.cast(v, tf.int32), [x])
    with pytest.raises(ValueError, match="same nested structure"):
        tf.while_loop(lambda a, b: True, lambda a, b: (a,), [x, x])
    with pytest.raises(TypeError, match="cond must return a scalar bool tensor"):
        tf.while_loop(lambda v: tf.reduce_sum(v), lambda v: v, [x])
    with pytest.raises(ValueError, match="Shape must be rank 0 but is rank 1"):
        tf.while_loop(lambda v: v > 0, lambda v: v, [x])
    with pytest.raises(TypeError, match=r"Using a `tf.Tensor` as a Python `bool` is not "
                                        r"allowed.*test_control_flow.py"):
        tf.while_loop(lambda v: True, lambda v: v * 2 if v[0] > 0 else v, [x])
    with pytest.raises(ValueError, match="same type of outputs"):
        tf.cond(tf.constant(True), lambda: (x, x), lambda: x)
    with pytest.raises(ValueError, match="must have the same type: float32, int32"):
        tf.cond(tf.constant(True), lambda: x, lambda: tf.constant([1, 2]))


def test_run_time_errors_in_a_body_name_the_node(executor):
    i = tf.placeholder(tf.int32, [], name="i")
    table = tf.constant([1.0, 2.0])
    out = tf.while_loop(lambda k, a: k < 2, lambda k, a: (k + 1, a + table[k + i]),
                        [tf.constant(0), tf.constant(0.0)])
    with tf.Session(executor=executor) as sess:
        assert sess.run(out, {i: 0})[1] == 3.0
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(out, {i: 5})


# ------------------------------------------------------------------------------- compiling
def test_a_compiled_loop_compiles_once_for_every_trip_count(caplog):
    if "numba" not in tf.EXECUTORS:
        pytest.skip("no compiler")
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.full((3, 3), 0.1, np.float32), name="w")
    n = tf.shape(x)[0]

    def body(i, h, acc):
        h = tf.tanh(tf.matmul(tf.expand_dims(h, 0), w)[0] + x[i])
        return i + 1, h, acc + tf.reduce_sum(h * h)

    _, _, loss = tf.while_loop(lambda i, h, a: i < n, body,
                               [tf.constant(0), tf.zeros([3]), tf.constant(0.0)])
    (gw,) = tf.gradients(loss, [w])
    with tf.Session(executor="numba") as sess, caplog.at_level(logging.INFO,
                                                              "staticgraph.compiler"):
        sess.run(w.initializer)
        sess.run([loss, gw], {x: np.ones((2, 3), np.float32)})
        before = sess._executor.compiles
        caplog.clear()
        for k in range(2, 22):  # 20 trip counts (and sequence lengths)
            lv, gv = sess.run([loss, gw], {x: np.ones((k, 3), np.float32)})
            assert np.isfinite(lv) and gv.shape == (3, 3)
        assert sess._executor.compiles == before
        assert not [r for r in caplog.records if "plan for" in r.getMessage()]
        assert not [r for r in caplog.records if "reference executor" in r.getMessage()]


# ------------------------------------------------------------------------ TF1 as an oracle
def test_against_tensorflow_when_installed():
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    tf1.disable_v2_behavior()
    results = []
    for lib in (tf1, tf):
        g = lib.Graph()
        with g.as_default():
            x = lib.placeholder(lib.float64, [None])
            n = lib.placeholder(lib.int32, [])
            _, h = lib.while_loop(lambda i, h, n=n: i < n,
                                  lambda i, h, lib=lib: (i + 1, lib.sin(h) + h),
                                  [lib.constant(0), x])
            y = lib.cond(lib.reduce_sum(h) > 0, lambda h=h: h * 2.0,
                         lambda h=h, lib=lib: lib.tanh(h))
            (gx,) = lib.gradients(lib.reduce_sum(y * y), [x])
            with lib.Session(graph=g) as sess:
                results.append([sess.run([y, gx], {x: X0 * s, n: k})
                                for k in TRIPS for s in (1.0, -1.0)])
    for (a, ga), (b, gb) in zip(*results, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10)
        np.testing.assert_allclose(gb, ga, rtol=1e-10)


def test_rows_read_in_a_body_and_their_gradients(executor):
    """``x[i]`` at the loop counter is a row the driver feeds; ``x[n - 1 - i]`` a TensorArray
    read in the body; both differentiate back to ``x``."""
    x = tf.placeholder(tf.float64, [None, 2], name="x")
    n = tf.shape(x)[0]

    def body(i, a):
        return i + 1, a * 0.5 + x[i] * x[n - 1 - i]

    _, a = tf.while_loop(lambda i, a: i < n, body, [tf.constant(0), tf.zeros([2], tf.float64)])
    (g,) = tf.gradients(tf.reduce_sum(a * a), [x])

    def f(xv):
        a = np.zeros(2)
        for i in range(len(xv)):
            a = a * 0.5 + xv[i] * xv[len(xv) - 1 - i]
        return (a * a).sum()

    with tf.Session(executor=executor) as sess:
        for k in TRIPS:
            xv = np.random.default_rng(k).normal(size=(k, 2))
            av, gv = sess.run([a, g], {x: xv})
            assert (av * av).sum() == pytest.approx(f(xv), rel=1e-12)
            np.testing.assert_allclose(gv, _fd(f, xv), rtol=1e-6, atol=1e-8)

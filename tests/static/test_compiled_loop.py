"""The compiled loop driver (``compiler/cpu/njit_loop.py``): a ``While`` region run as one
``@njit`` call gives the reference executor's values and gradients (nested loops, trip counts
0, 1 and many, ``maximum_iterations``, scans forwards and backwards, rows read at the counter),
falls back to the Python driver where it must (a loop variable changing shape, an out-of-range
row: the same error), and compiles once whatever the trip count or sequence length."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import staticgraph as tf
from tests.static.conftest import nested_loops

pytestmark = pytest.mark.skipif("numba" not in tf.EXECUTORS, reason="no compiler")


def _whiles(ops) -> list:
    """Every ``While`` op of ``ops``, the ones inside loop bodies included."""
    out = []
    for op in ops:
        if op.type == "While":
            out.append(op)
            out += _whiles(op.host.body._ops) + _whiles(op.host.cond._ops)
            step = op.host.__dict__.get("_step")  # the body + condition graph that ran
            if step is not None:
                out += _whiles(step[1][0]._ops)
    return out


def _compiled(graph) -> set[str]:
    """The loops whose whole loop ran as one compiled call."""
    from staticgraph.compiler.cpu.njit_loop import _Entry

    return {op.name for op in _whiles(graph.get_operations())
            if any(isinstance(e, _Entry) and e.ready and e.fn.disp is not None
                   for e in op.host.__dict__.get("_njit_loop", {}).values())}


def _both(fetches, feeds_list, init=()):
    """(reference results, compiled results) for each feed dict: the compiled session runs each
    feed once, waits for numba's code (the native tier hands over), then runs it again."""
    from staticgraph.compiler import block_until_ready

    with tf.Session(executor="reference") as ref, tf.Session(executor="numba") as sess:
        ref.run(list(init))
        sess.run(list(init))
        want = [ref.run(fetches, f) for f in feeds_list]
        for _ in range(2):  # numba's code (the native tier hands over), then the loops' compiles
            for f in feeds_list:
                sess.run(fetches, f)
            block_until_ready()
        got = [sess.run(fetches, f) for f in feeds_list]
    return want, got


def _close(want, got, rtol=1e-10):
    for w, g in zip(want, got, strict=True):
        for a, b in zip(w, g, strict=True):
            np.testing.assert_allclose(b, a, rtol=rtol, atol=1e-12)


def test_an_rnn_loop_and_its_gradient_run_compiled_for_every_trip_count():
    x = tf.placeholder(tf.float64, [None, 3], name="x")
    h0 = tf.placeholder(tf.float64, [1, 4], name="h0")
    rng = np.random.default_rng(0)
    W = tf.Variable(rng.normal(0, 0.5, (4, 4)), name="W")
    U = tf.Variable(rng.normal(0, 0.5, (3, 4)), name="U")
    n = tf.shape(x)[0]

    def body(t, h):
        return t + 1, tf.tanh(tf.matmul(tf.expand_dims(x[t], 0), U) + tf.matmul(h, W))

    _, h = tf.while_loop(lambda t, h: t < n, body, [tf.constant(0), h0])
    loss = tf.reduce_sum(h * h)
    fetches = [loss, h, *tf.gradients(loss, [W, U, h0])]
    feeds = [{x: rng.normal(size=(k, 3)), h0: rng.normal(size=(1, 4))} for k in (0, 1, 3, 9)]
    want, got = _both(fetches, feeds, [tf.global_variables_initializer()])
    _close(want, got)
    assert _compiled(tf.get_default_graph()) == {"while", "gradients/while_grad"}
    # the rows' gradient makes the backward body a plan with a numpy step (no single driver):
    # that loop runs the Python driver, the forward one stays compiled
    (gx,) = tf.gradients(loss, [x])
    want, got = _both([loss, gx], feeds, [tf.global_variables_initializer()])
    _close(want, got)


def test_nested_loops_values_and_gradients():
    x, n, m, y, g, hv = nested_loops(np.array([1.0, -2.0, 0.5]))
    xv = np.array([0.3, -0.7, 1.1])
    feeds = [{x: xv, n: k, m: mm} for k, mm in ((0, 2), (1, 0), (2, 3), (3, 1))]
    want, got = _both([y, g, hv], feeds)
    _close(want, got)
    assert "while/while" in _compiled(tf.get_default_graph())  # the inner loop, in the body


def test_a_data_dependent_stop_and_maximum_iterations():
    x = tf.placeholder(tf.float32, [2], name="x")
    _, h = tf.while_loop(lambda i, h: tf.reduce_sum(h) < 50.0,
                         lambda i, h: (i + 1, h * 1.5 + 1.0), [tf.constant(0), x],
                         maximum_iterations=6)
    k = tf.while_loop(lambda i: i < 1000, lambda i: i + 1, [tf.constant(0)],
                      maximum_iterations=tf.constant(3))
    (g,) = tf.gradients(tf.reduce_sum(h), [x])
    feeds = [{x: v} for v in ([1.0, 2.0], [30.0, 30.0], [0.1, 0.0], [-5.0, 1.0])]
    want, got = _both([h, k, g], feeds)
    _close(want, got, rtol=1e-6)
    assert [int(w[1]) for w in got] == [3, 3, 3, 3]


def test_scans_forwards_and_backwards_with_gradients():
    xs = tf.placeholder(tf.float64, [None, 2], name="xs")
    ys = tf.scan(lambda a, x: tf.tanh(a * 0.9 + x), xs, initializer=tf.zeros([2], tf.float64))
    r = tf.foldr(lambda a, x: a * 0.5 + x * x, xs, initializer=tf.zeros([2], tf.float64))
    (g,) = tf.gradients(tf.reduce_sum(ys) + tf.reduce_sum(r * r), [xs])
    rng = np.random.default_rng(1)
    feeds = [{xs: rng.normal(size=(k, 2))} for k in (1, 2, 7)]
    want, got = _both([ys, r, g], feeds)
    _close(want, got)
    assert len(_compiled(tf.get_default_graph())) >= 2


def test_a_loop_variable_changing_shape_runs_the_python_driver():
    x = tf.placeholder(tf.float32, [None], name="x")
    _, out = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, tf.concat([v, v * 0.5], 0)),
                           [tf.constant(0), x],
                           shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])])
    want, got = _both([out], [{x: [8.0]}, {x: [2.0, 4.0]}])
    _close(want, got)
    np.testing.assert_allclose(got[0][0], [8, 4, 4, 2, 4, 2, 2, 1])


def test_a_row_out_of_range_raises_the_python_drivers_error():
    x = tf.placeholder(tf.float64, [None, 2], name="x")
    n = tf.placeholder(tf.int32, [], name="n")
    _, a = tf.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * 0.5 + x[i]),
                         [tf.constant(0), tf.zeros([2], tf.float64)])
    xv = np.ones((3, 2))
    want, got = _both([a], [{x: xv, n: 3}])
    _close(want, got)
    assert _compiled(tf.get_default_graph()) == {"while"}
    with tf.Session(executor="reference") as ref, tf.Session(executor="numba") as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as e_ref:
            ref.run(a, {x: xv, n: 5})
        sess.run(a, {x: xv, n: 3})
        with pytest.raises(tf.errors.InvalidArgumentError) as e_got:
            sess.run(a, {x: xv, n: 5})
    assert str(e_got.value) == str(e_ref.value)


def test_the_compiled_loop_compiles_once_for_every_trip_count_and_length(caplog):
    from staticgraph.compiler import block_until_ready

    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.full((3, 3), 0.1, np.float32), name="w")
    n = tf.shape(x)[0]

    def body(i, h, acc):  # as dynamic_rnn's cell: no numpy step in the body's plans
        h = tf.tanh(tf.matmul(h, w) + tf.expand_dims(x[i], 0))
        return i + 1, h, acc + tf.reduce_sum(h * h)

    _, _, loss = tf.while_loop(lambda i, h, a: i < n, body,
                               [tf.constant(0), tf.zeros([1, 3]), tf.constant(0.0)])
    (gw,) = tf.gradients(loss, [w])
    rng = np.random.default_rng(2)
    with tf.Session(executor="numba") as sess, caplog.at_level(logging.INFO,
                                                              "staticgraph.compiler"):
        sess.run(w.initializer)
        sess.run([loss, gw], {x: np.ones((2, 3), np.float32)})
        block_until_ready()  # numba's code for the step plans
        sess.run([loss, gw], {x: np.ones((2, 3), np.float32)})  # queues the loops' compiles
        block_until_ready()  # the loops compiled on the loader thread
        sess.run([loss, gw], {x: np.ones((2, 3), np.float32)})
        assert _compiled(tf.get_default_graph()) == {"while", "gradients/while_grad"}
        caplog.clear()
        with tf.Session(executor="reference") as ref:
            ref.run(w.initializer)
            for k in range(3, 23):  # 20 trip counts and sequence lengths
                xv = rng.normal(size=(k, 3)).astype(np.float32)
                got = sess.run([loss, gw], {x: xv})
                want = ref.run([loss, gw], {x: xv})
                np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
                np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-6)
        messages = [r.getMessage() for r in caplog.records]
        assert not [m for m in messages if "(loop '" in m or "plan for" in m], messages
        assert not [m for m in messages if "Python driver" in m], messages

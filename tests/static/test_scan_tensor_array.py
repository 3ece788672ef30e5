"""``tf.scan``, ``tf.map_fn``, ``tf.foldl``/``tf.foldr`` and ``tf.TensorArray`` on the loop op
(issue #11): values against numpy, gradients against finite differences, on every executor,
for sequences of length 0, 1 and many."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf
from tests.static.conftest import central_difference as _fd

LENGTHS = (0, 1, 3)


def _data(n: int) -> np.ndarray:
    return np.random.default_rng(n).normal(size=(n, 2))


def test_scan_map_fold_values_and_gradients(executor):
    x = tf.placeholder(tf.float64, [None, 2], name="x")
    w = tf.Variable(np.float64(0.5), name="w")
    s = tf.scan(lambda a, r: a * w + r, x, initializer=tf.zeros([2], tf.float64))
    m = tf.map_fn(lambda r: tf.reduce_sum(tf.sin(r)), x)
    fl = tf.foldl(lambda a, r: a * 0.5 + r, x, initializer=tf.ones([2], tf.float64))
    fr = tf.foldr(lambda a, r: a * 0.5 + r * r, x, initializer=tf.ones([2], tf.float64))
    loss = tf.reduce_sum(s * s) + tf.reduce_sum(m) + tf.reduce_sum(fl * fr)
    gx, gw = tf.gradients(loss, [x, w])

    def f(xv, wv=0.5):
        a, rows = np.zeros(2), []
        for r in xv:
            a = a * wv + r
            rows.append(a)
        fl, fr = np.ones(2), np.ones(2)
        for r in xv:
            fl = fl * 0.5 + r
        for r in xv[::-1]:
            fr = fr * 0.5 + r * r
        return (np.square(rows).sum() + np.sin(xv).sum() + (fl * fr).sum(),
                np.array(rows).reshape(-1, 2), np.sin(xv).sum(1))

    with tf.Session(executor=executor) as sess:
        sess.run(w.initializer)
        for n in LENGTHS:
            xv = _data(n)
            lv, sv, mv, gxv, gwv = sess.run([loss, s, m, gx, gw], {x: xv})
            want, rows, msum = f(xv)
            assert lv == pytest.approx(want, rel=1e-12)
            assert sv.shape == (n, 2) and mv.shape == (n,)
            np.testing.assert_allclose(sv, rows)
            np.testing.assert_allclose(mv, msum)
            np.testing.assert_allclose(gxv, _fd(lambda v: f(v)[0], xv), rtol=1e-6, atol=1e-8)
            fdw = _fd(lambda v, xv=xv: f(xv, float(v[0]))[0], np.array([0.5]))[0]
            assert gwv == pytest.approx(fdw, rel=1e-6, abs=1e-8)


def test_scan_without_initializer_and_reversed(executor):
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    fwd = tf.scan(lambda a, r: a + r, x)
    bwd = tf.scan(lambda a, r: a + r, x, reverse=True)
    pair = tf.map_fn(lambda p: (p[0] * 2.0, p[1] + 1.0), (x, x))
    with tf.Session(executor=executor) as sess:
        xv = np.arange(6, dtype=np.float32).reshape(3, 2)
        a, b, (p0, p1) = sess.run([fwd, bwd, pair], {x: xv})
    np.testing.assert_allclose(a, np.cumsum(xv, 0))
    np.testing.assert_allclose(b, np.cumsum(xv[::-1], 0)[::-1])
    np.testing.assert_allclose(p0, xv * 2)
    np.testing.assert_allclose(p1, xv + 1)


def test_tensor_array_in_a_loop_with_gradients(executor):
    x = tf.placeholder(tf.float64, [None, 2], name="x")
    n = tf.shape(x)[0]
    w = tf.Variable(np.float64(0.7), name="w")
    inputs = tf.TensorArray(tf.float64, size=n).unstack(x)
    outputs = tf.TensorArray(tf.float64, size=n, element_shape=[2])

    def body(i, h, ta):
        h = tf.tanh(h * w + inputs.read(i))
        return i + 1, h, ta.write(i, h)

    _, h_last, ta = tf.while_loop(lambda i, h, ta: i < n, body,
                                  [tf.constant(0), tf.zeros([2], tf.float64), outputs])
    ys = ta.stack()
    assert ys.shape.as_list() == [None, 2]
    loss = tf.reduce_sum(ys * ys) + tf.reduce_sum(h_last)
    gx, gw = tf.gradients(loss, [x, w])

    def f(xv, wv=0.7):
        h, total = np.zeros(2), 0.0
        for r in xv:
            h = np.tanh(h * wv + r)
            total += (h * h).sum()
        return total + h.sum()

    with tf.Session(executor=executor) as sess:
        sess.run(w.initializer)
        for k in LENGTHS:
            xv = _data(k)
            lv, yv, size, gxv, gwv = sess.run([loss, ys, ta.size(), gx, gw], {x: xv})
            assert lv == pytest.approx(f(xv), rel=1e-12) and yv.shape == (k, 2) and size == k
            np.testing.assert_allclose(gxv, _fd(f, xv), rtol=1e-6, atol=1e-8)
            fdw = _fd(lambda v, xv=xv: f(xv, float(v[0])), np.array([0.7]))[0]
            assert gwv == pytest.approx(fdw, rel=1e-6, abs=1e-8)


def test_tensor_array_outside_loops_and_its_errors(executor):
    ta = tf.TensorArray(tf.float32, size=3)
    ta = ta.write(0, [1.0, 2.0]).write(2, tf.constant([5.0, 6.0]))
    grown = tf.TensorArray(tf.float32, size=0, dynamic_size=True).write(1, [3.0])
    twice = ta.write(0, [0.0, 0.0])
    with pytest.raises(TypeError, match="TensorArray dtype is float32 but Op is trying to write "
                                        "dtype int32"):
        ta.write(1, tf.constant([1, 2]))
    with tf.Session(executor=executor) as sess:
        np.testing.assert_allclose(sess.run(ta.stack()), [[1, 2], [0, 0], [5, 6]])
        np.testing.assert_allclose(sess.run(ta.read(2)), [5, 6])
        assert sess.run(grown.size()) == 2
        with pytest.raises(tf.errors.InvalidArgumentError, match="already been written"):
            sess.run(twice.stack())
        with pytest.raises(tf.errors.InvalidArgumentError, match="index 3"):
            sess.run(ta.read(3))

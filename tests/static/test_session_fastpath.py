"""Session.run caches per (fetch structure, feed keys, graph version): the cache must never skip a
check that a first call would make, nor serve a stale plan after the graph grows."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import staticgraph as tf


def _model():
    x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
    w = tf.Variable(np.array([[1.0], [2.0]], np.float32), name="w")
    y = tf.reduce_sum(tf.matmul(x, w))
    return x, w, y


def test_cached_plan_still_validates_every_feed(executor):
    x, w, y = _model()
    train = tf.assign_add(w, tf.ones_like(w))
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        good = np.ones((3, 2), np.float32)
        assert sess.run([y, train], {x: good})[0] == pytest.approx(9.0)
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(3, 4\) for Tensor "
                                             r"'x:0', which has shape '\(\?, 2\)'"):
            sess.run([y, train], {x: np.ones((3, 4), np.float32)})
        with pytest.raises(TypeError, match="cannot be cast safely"):
            sess.run([y, train], {x: np.full((3, 2), "a")})
        np.testing.assert_array_equal(sess.run(w), [[2.0], [3.0]])  # failed runs changed nothing
        # a safe cast (float64 feed of a float32 placeholder) still works on the cached plan
        assert sess.run(y, {x: np.ones((1, 2), np.float64)}) == pytest.approx(5.0)


def test_plan_follows_graph_changes_and_feed_sets(executor):
    x, w, y = _model()
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        feed = {x: np.ones((2, 2), np.float32)}
        assert sess.run(y, feed) == pytest.approx(6.0)
        z = y * 10.0  # the graph grows: cached plans are rebuilt, new fetches work
        assert sess.run([y, z], feed) == [pytest.approx(6.0), pytest.approx(60.0)]
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value for "
                                                                 "placeholder tensor 'x'"):
            sess.run(y)  # another feed-key set: checked afresh
        assert sess.run({"a": y, "b": (z,)}, feed) == {"a": pytest.approx(6.0),
                                                       "b": (pytest.approx(60.0),)}


def test_failed_precheck_is_not_cached(executor):
    x, w, y = _model()
    sess = tf.Session(executor=executor)
    feed = {x: np.ones((1, 2), np.float32)}
    with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value w"):
        sess.run(y, feed)
    sess.run(w.initializer)
    assert sess.run(y, feed) == pytest.approx(3.0)


def test_named_numba_executor_works_in_a_fresh_process():
    code = ("import staticgraph as tf\n"
            "s = tf.Session(executor='numba')\n"
            "print(s.executor_name, s.run(tf.constant(2.0) * 3.0))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["numba", "6.0"]


def test_session_explain_reports_the_compiled_plan():
    x = tf.placeholder(tf.float32, shape=[None], name="x")
    y = tf.reduce_sum(tf.exp(x) * 2.0 + 1.0)
    sess = tf.Session()
    text = sess.explain(y, {"x:0": np.ones(3, np.float32)})
    assert "== after prune" in text and "== driver ==" in text and "buffer plan" in text
    assert "sg_exp" in text  # the fused kernel's generated source is shown

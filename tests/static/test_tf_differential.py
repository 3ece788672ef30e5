"""Differential test against TensorFlow's ``compat.v1`` (skips when TensorFlow is absent): the
same TF1 program text run with ``tf`` = tensorflow and ``tf`` = staticgraph prints the same."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

PROGRAM_INPUT = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], np.float32)


def _program(tf):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.array([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]], np.float32), name="w")
    b = tf.Variable(np.zeros(2, np.float32), name="b")
    labels = tf.constant([1, 0], dtype=tf.int64)
    with tf.name_scope("layer1"):
        logits = tf.matmul(tf.nn.tanh(x), w) + b
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                          logits=logits))
    gw, gb = tf.gradients(loss, [w, b])
    train = tf.train.AdamOptimizer(0.1).minimize(loss)
    out = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            out.append(sess.run([loss, gw, gb], {x: PROGRAM_INPUT}))
            sess.run(train, {x: PROGRAM_INPUT})
        out.append(sess.run([w, b, tf.argmax(logits, 1)], {x: PROGRAM_INPUT}))
    return out, logits.op.name


def test_same_values_as_tensorflow_v1():
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    tf1.disable_eager_execution()
    ref, ref_name = _program(tf1)
    got, got_name = _program(sg)
    assert got_name == ref_name
    for r_step, g_step in zip(ref, got, strict=True):
        for r, g in zip(r_step, g_step, strict=True):
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


def test_same_errors_as_tensorflow_v1():
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    tf1.disable_eager_execution()
    for tf in (tf1, sg):
        tf.reset_default_graph()
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        with pytest.raises(ValueError):
            tf.matmul(x, tf.ones([4, 5]))
        with pytest.raises(TypeError):
            tf.multiply(x, tf.placeholder(tf.float64, [None, 3]))
        y = tf.reduce_sum(x)
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError):
                sess.run(y)
            with pytest.raises(ValueError):
                sess.run(y, {x: np.ones((2, 4))})

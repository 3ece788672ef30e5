"""variable_scope/get_variable (with TF1's reuse errors), tf.layers.dense and tf.losses."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf


def test_get_variable_reuse_rules():
    with tf.variable_scope("enc"):
        w = tf.get_variable("w", [2, 3], initializer=tf.zeros_initializer())
    with tf.variable_scope("enc", reuse=True):
        assert tf.get_variable("w") is w
    with tf.variable_scope("enc"), pytest.raises(ValueError, match="enc/w already exists"):
        tf.get_variable("w", [2, 3])
    with tf.variable_scope("enc", reuse=True), pytest.raises(ValueError, match="does not exist"):
        tf.get_variable("v", [1])
    with tf.variable_scope("enc", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("w", [2, 3]) is w
        v = tf.get_variable("v", [1], initializer=tf.ones_initializer())
    assert w.name == "enc/w:0" and v.name == "enc/v:0"


def test_dense_layers_and_mse_loss_train_step(executor):
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    y = tf.placeholder(tf.float32, [None, 1], name="y")
    h = tf.layers.dense(x, 3, activation=tf.nn.relu,
                        kernel_initializer=tf.constant_initializer(0.5))
    out = tf.layers.dense(h, 1, kernel_initializer=tf.constant_initializer(-1.0))
    loss = tf.losses.mean_squared_error(labels=y, predictions=out)
    train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    assert h.op.name == "dense/Relu" and out.op.name == "dense_1/BiasAdd"
    assert [v.name for v in tf.trainable_variables()] == [
        "dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "dense_1/bias:0"]
    xv = np.array([[1.0, 2.0], [-1.0, 0.5]], np.float32)
    yv = np.array([[1.0], [0.0]], np.float32)
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        l0 = sess.run(loss, {x: xv, y: yv})
        sess.run(train, {x: xv, y: yv})
        k2 = sess.run(tf.trainable_variables()[2])
    hv = np.maximum(xv @ np.full((2, 3), 0.5), 0)
    pred = hv @ np.full((3, 1), -1.0)
    assert np.isclose(l0, np.mean((pred - yv) ** 2))
    grad_k2 = hv.T @ (2 * (pred - yv) / 2)
    np.testing.assert_allclose(k2, -1.0 - 0.01 * grad_k2, rtol=1e-5)


def test_softmax_losses_match_numpy():
    logits = tf.constant([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    labels = tf.constant([1, 2])
    onehot = tf.one_hot(labels, 3)
    with tf.Session() as sess:
        sparse, dense, oh = sess.run([
            tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits),
            tf.losses.softmax_cross_entropy(onehot_labels=onehot, logits=logits), onehot])
    z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    lse = np.log(np.exp(z).sum(1))
    expected = np.mean(lse - z[[0, 1], [1, 2]])
    assert np.isclose(sparse, expected, rtol=1e-6) and np.isclose(dense, expected, rtol=1e-6)
    np.testing.assert_array_equal(oh, [[0, 1, 0], [0, 0, 1]])

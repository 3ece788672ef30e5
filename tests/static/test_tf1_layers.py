"""tf.layers conv2d/pooling/flatten/dropout/batch_normalization, tf.nn.conv2d_transpose and
tf.train.ExponentialMovingAverage: values against numpy formulas (TF's own outputs are the
corpus programs in tf1_corpus_conv.py), variable names, reuse, checkpoints and errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

import staticgraph as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()
    yield


def _np_conv(x: np.ndarray, w: np.ndarray, stride: int, padding: str) -> np.ndarray:
    """Plain-loop NHWC cross-correlation with TF's SAME/VALID padding rule."""
    n, h, wd, _ = x.shape
    kh, kw, _, co = w.shape
    if padding == "SAME":
        oh, ow = -(-h // stride), -(-wd // stride)
        ph = max((oh - 1) * stride + kh - h, 0)
        pw = max((ow - 1) * stride + kw - wd, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, oh, ow, co), x.dtype)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


@pytest.mark.parametrize("stride,padding,size", [(2, "SAME", 6), (2, "SAME", 5), (2, "VALID", 7),
                                                 (3, "VALID", 8), (1, "SAME", 4),
                                                 (3, "SAME", 7)])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(stride, padding, size):
    rng = np.random.RandomState(stride + size)
    w = rng.randn(3, 3, 2, 3).astype(np.float64)  # [kh, kw, out=2, in=3]
    y_shape = _np_conv(np.zeros((1, size, size, 2)), w, stride, padding).shape
    x = rng.randn(1, size, size, 2)
    y = rng.randn(*y_shape)
    t = tf.nn.conv2d_transpose(tf.constant(y), tf.constant(w), [1, size, size, 2],
                               [1, stride, stride, 1], padding=padding)
    assert t.shape.as_list()[1:] == [size, size, 2]
    with tf.Session() as sess:
        got = sess.run(t)
    # <conv(x), y> == <x, conv_transpose(y)> for every x, y
    np.testing.assert_allclose(np.sum(_np_conv(x, w, stride, padding) * y), np.sum(x * got),
                               rtol=1e-10)
    basis = np.zeros_like(x)
    basis[0, size // 2, 1, 1] = 1.0
    np.testing.assert_allclose(got[0, size // 2, 1, 1],
                               np.sum(_np_conv(basis, w, stride, padding) * y), rtol=1e-10)


def test_conv2d_transpose_gradients_match_finite_differences():
    rng = np.random.RandomState(0)
    y0, w0 = rng.randn(1, 2, 2, 2), rng.randn(2, 2, 3, 2)
    y, w = tf.Variable(y0), tf.Variable(w0)
    t = tf.nn.conv2d_transpose(y, w, [1, 4, 4, 3], [1, 2, 2, 1], padding="SAME")
    loss = tf.reduce_sum(tf.sin(t))
    gy, gw = tf.gradients(loss, [y, w])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_y, got_w = sess.run([gy, gw])
        eps = 1e-6
        for var, val, got in ((y, y0, got_y), (w, w0, got_w)):
            idx = tuple(int(i) for i in np.unravel_index(3, val.shape))
            for sign in (1, -1):
                bumped = val.copy()
                bumped[idx] += sign * eps
                var.load(bumped, sess)
                if sign == 1:
                    up = sess.run(loss)
                else:
                    down = sess.run(loss)
            var.load(val, sess)
            np.testing.assert_allclose(got[idx], (up - down) / (2 * eps), rtol=1e-5)


def test_conv2d_transpose_errors():
    x, w = tf.zeros([1, 3, 3, 2]), tf.zeros([3, 3, 4, 2])
    with pytest.raises(ValueError, match="Size of out_backprop doesn't match computed: "
                                         "actual = 3, computed = 5"):
        tf.nn.conv2d_transpose(x, w, [1, 9, 9, 4], [1, 2, 2, 1], padding="SAME")
    with pytest.raises(ValueError, match="input depth 2 must equal the filter's in_channels 4"):
        tf.nn.conv2d_transpose(x, tf.zeros([3, 3, 2, 4]), [1, 6, 6, 2], [1, 2, 2, 1])
    with pytest.raises(ValueError, match="output_shape's depth 5"):
        tf.nn.conv2d_transpose(x, w, [1, 6, 6, 5], [1, 2, 2, 1])


def test_conv2d_layer_values_names_and_reuse():
    rng = np.random.RandomState(1)
    X = rng.randn(2, 5, 5, 3).astype(np.float32)
    k = rng.randn(3, 3, 3, 4).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 5, 5, 3])
    y = tf.layers.conv2d(x, 4, 3, strides=2, padding="same", activation=tf.nn.relu,
                         kernel_initializer=tf.constant_initializer(k),
                         bias_initializer=tf.constant_initializer(0.1), name="c")
    with tf.variable_scope(tf.get_variable_scope(), reuse=True):
        y2 = tf.layers.conv2d(x * 2.0, 4, 3, strides=2, padding="same", name="c")
    assert [v.name for v in tf.trainable_variables()] == ["c/kernel:0", "c/bias:0"]
    assert y.name == "c/Relu:0" and y.shape.as_list() == [None, 3, 3, 4]
    layer = tf.layers.Conv2D(2, (2, 2), name="obj")
    a, b = layer(x), layer(x)
    assert (a.name, b.name) == ("obj/BiasAdd:0", "obj/BiasAdd_1:0")
    assert layer.kernel.shape.as_list() == [2, 2, 3, 2] and len(tf.trainable_variables()) == 4
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got, got2 = sess.run([y, y2], {x: X})
    np.testing.assert_allclose(got, np.maximum(_np_conv(X, k, 2, "SAME") + 0.1, 0), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(got2, _np_conv(2 * X, k, 2, "SAME") + 0.1, rtol=1e-5, atol=1e-5)


def test_layer_errors_name_the_layer():
    with pytest.raises(ValueError, match='Input 0 of layer "conv2d" is incompatible'):
        tf.layers.conv2d(tf.zeros([3, 4]), 2, 3)
    with pytest.raises(ValueError, match="The `padding` argument must be"):
        tf.layers.max_pooling2d(tf.zeros([1, 4, 4, 1]), 2, 2, padding="wide")
    with pytest.raises(NotImplementedError, match="channels_last"):
        tf.layers.conv2d(tf.zeros([1, 4, 4, 1]), 2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match='layer "up" is incompatible'):
        tf.layers.conv2d_transpose(tf.placeholder(tf.float32, [None, None, 4, 1]), 2, 3,
                                   name="up")
    with pytest.raises(AttributeError, match="tf.layers.conv3d is not supported"):
        tf.layers.conv3d  # noqa: B018


def test_pooling_flatten_and_dropout():
    X = np.arange(32, dtype=np.float32).reshape(1, 4, 4, 2)
    x = tf.constant(X)
    mp = tf.layers.max_pooling2d(x, 2, 2)
    ap = tf.layers.average_pooling2d(x, [3, 3], 1, padding="same")
    flat = tf.layers.flatten(mp)
    flag = tf.placeholder(tf.bool, [])
    d_off = tf.layers.dropout(x, 0.5)
    d_on = tf.layers.dropout(tf.ones([100, 100]), rate=0.25, training=True)
    d_fed = tf.layers.dropout(x + 1.0, rate=0.5, training=flag)
    assert (mp.name, ap.name, flat.name) == ("max_pooling2d/MaxPool:0",
                                             "average_pooling2d/AvgPool:0", "flatten/Reshape:0")
    assert d_off.name == "dropout/Identity:0" and flat.shape.as_list() == [1, 8]
    with tf.Session() as sess:
        m, a, f, off, on = sess.run([mp, ap, flat, d_off, d_on])
        fed_off = sess.run(d_fed, {flag: False})
        fed_on = sess.run(d_fed, {flag: True})
    np.testing.assert_array_equal(m, X.reshape(1, 2, 2, 2, 2, 2).max(axis=(2, 4)))
    pad = np.pad(X, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=np.nan)
    want = np.stack([np.nanmean(pad[:, i:i + 3, j:j + 3], axis=(1, 2)) for i in range(4)
                     for j in range(4)], 1).reshape(1, 4, 4, 2)
    np.testing.assert_allclose(a, want, rtol=1e-6)
    np.testing.assert_array_equal(f, m.reshape(1, 8))
    np.testing.assert_array_equal(off, X)
    assert set(np.unique(on)) <= {0.0, np.float32(1 / 0.75)} and 0.7 < (on > 0).mean() < 0.8
    np.testing.assert_array_equal(fed_off, X + 1.0)
    assert set(np.unique(fed_on)) <= set(np.unique(np.concatenate([[0.0], 2 * (X.ravel() + 1)])))


@pytest.mark.parametrize("rank,known_batch", [(2, True), (4, True), (4, False)])
def test_batch_normalization_training_and_moving_statistics(rank, known_batch):
    rng = np.random.RandomState(rank)
    shape = (6, 3) if rank == 2 else (2, 3, 2, 3)
    X = (rng.randn(*shape) * 2 + 1).astype(np.float32)
    x = tf.placeholder(tf.float32, shape if known_batch else (None,) + shape[1:])
    training = tf.placeholder(tf.bool, [])
    y = tf.layers.batch_normalization(x, momentum=0.8, epsilon=1e-3, training=training,
                                      gamma_initializer=tf.constant_initializer(2.0),
                                      beta_initializer=tf.constant_initializer(0.5))
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert [v.name for v in tf.global_variables()] == [
        "batch_normalization/gamma:0", "batch_normalization/beta:0",
        "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"]
    assert len(tf.trainable_variables()) == 2 and len(updates) == 2
    loss = tf.reduce_sum(y * y)
    with tf.control_dependencies(updates):
        train = tf.train.GradientDescentOptimizer(0.0).minimize(loss)
    axes = tuple(range(rank - 1))
    mean, var = X.mean(axis=axes), X.var(axis=axes)
    n = X.size // 3
    target_var = var * n / (n - 1) if rank == 4 else var  # TF's fused kernel: Bessel's rule
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_eval = sess.run(y, {x: X, training: False})
        np.testing.assert_allclose(got_eval, 2 * X / np.sqrt(1 + 1e-3) + 0.5, rtol=1e-5)
        got_train = sess.run(y, {x: X, training: True})  # no update without the idiom
        np.testing.assert_allclose(got_train, 2 * (X - mean) / np.sqrt(var + 1e-3) + 0.5,
                                   rtol=1e-4, atol=1e-5)
        mm = tf.global_variables()[2]
        np.testing.assert_array_equal(sess.run(mm), np.zeros(3))
        sess.run(train, {x: X, training: False})  # the updates run but keep the statistics
        np.testing.assert_array_equal(sess.run(mm), np.zeros(3))
        sess.run(train, {x: X, training: True})
        m1, v1 = sess.run(tf.global_variables()[2:4])
    np.testing.assert_allclose(m1, 0.2 * mean, rtol=1e-5)
    np.testing.assert_allclose(v1, 0.8 + 0.2 * target_var, rtol=1e-5)


def test_batch_normalization_which_variance_the_moving_one_follows():
    """Checked against TF 2.21: a 4-D float32 input along axis -1 or 1 takes the fused
    kernel's Bessel-corrected variance; float64, or another axis, the biased one."""
    X = np.array([1.0, 1.002, 0.5, 0.7], np.float32).reshape(2, 1, 2, 1)
    cases = [(np.float32, -1), (np.float64, -1), (np.float32, 2), (np.float32, 1)]
    for dtype, axis in cases:
        tf.layers.batch_normalization(tf.constant(X.astype(dtype)), axis=axis, momentum=0.0,
                                      training=True)
    moving = [v for v in tf.global_variables() if "moving_variance" in v.name]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
        got = sess.run(moving)
    biased = X.astype(np.float64).var()
    np.testing.assert_allclose(got[0], [biased * 4 / 3], rtol=1e-6)
    np.testing.assert_allclose(got[1], [biased], rtol=1e-12)
    np.testing.assert_allclose(got[2], [0.0625, 0.022800982], rtol=1e-6)
    np.testing.assert_allclose(got[3], [biased * 4 / 3], rtol=1e-6)  # axis 1: NCHW, fused


def test_dense_object_later_calls_stay_in_its_name_scope():
    x = tf.placeholder(tf.float32, [None, 3])
    layer = tf.layers.Dense(2, name="obj")
    assert (layer(x).name, layer(x).name) == ("obj/BiasAdd:0", "obj/BiasAdd_1:0")
    assert tf.layers.Dense(2)(x).name == "dense/BiasAdd:0" and len(tf.global_variables()) == 4


def test_batch_normalization_python_flags_axis_reuse_and_checkpoint(tmp_path):
    X = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10.0
    x = tf.constant(X)
    off = tf.layers.batch_normalization(x, axis=1, name="bn", training=False)
    assert tf.get_collection(tf.GraphKeys.UPDATE_OPS) == []  # TF: no updates when False
    on = tf.layers.batch_normalization(x, axis=1, name="bn", training=True, reuse=True,
                                       center=True)
    assert len(tf.global_variables()) == 4 and len(tf.get_collection(
        tf.GraphKeys.UPDATE_OPS)) == 2
    with pytest.raises(ValueError, match="already exists"):
        tf.layers.batch_normalization(x, axis=1, name="bn")
    mean, var = X.mean(axis=(0, 2)), X.var(axis=(0, 2))
    saver = tf.train.Saver()
    path = os.path.join(str(tmp_path), "bn")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_on = sess.run(on)
        np.testing.assert_allclose(
            got_on, (X - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-3),
            rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(sess.run(off), X / np.sqrt(1 + 1e-3), rtol=1e-6)
        sess.run(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
        moved = sess.run(tf.global_variables()[2:4])
        saver.save(sess, path)
    tf.reset_default_graph()
    layer = tf.layers.BatchNormalization(axis=1, name="bn")
    y = layer(tf.constant(X), training=False)
    assert [v.name for v in layer.variables][2:] == ["bn/moving_mean:0",
                                                     "bn/moving_variance:0"]
    with tf.Session() as sess:
        tf.train.Saver().restore(sess, path)
        np.testing.assert_allclose(sess.run([layer.moving_mean, layer.moving_variance]), moved)
        np.testing.assert_allclose(
            sess.run(y), (X - moved[0][None, :, None]) / np.sqrt(moved[1][None, :, None] + 1e-3),
            rtol=1e-5)


def test_exponential_moving_average_restores_averages_into_the_model(tmp_path):
    w = tf.Variable([1.0, -1.0], name="w")
    other = tf.Variable(7.0, name="other", trainable=False)
    ema = tf.train.ExponentialMovingAverage(0.5)
    step = tf.assign_add(w, [2.0, 2.0])
    with tf.control_dependencies([step]):
        train = ema.apply([w])
    assert train.name == "ExponentialMovingAverage" and ema.average(other) is None
    assert ema.variables_to_restore() == {"w/ExponentialMovingAverage": w, "other": other}
    path = os.path.join(str(tmp_path), "ema")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(ema.average(w)), [1.0, -1.0])
        shadow = np.array([1.0, -1.0])
        for i in range(3):
            sess.run(train)
            shadow = shadow - (shadow - (np.array([1.0, -1.0]) + 2 * (i + 1))) * 0.5
            np.testing.assert_allclose(sess.run(ema.average(w)), shadow, rtol=1e-6)
        tf.train.Saver().save(sess, path)
    tf.reset_default_graph()
    w = tf.Variable([0.0, 0.0], name="w")
    other = tf.Variable(0.0, name="other", trainable=False)
    restore = tf.train.ExponentialMovingAverage(0.5).variables_to_restore()
    with tf.Session() as sess:
        tf.train.Saver(restore).restore(sess, path)
        np.testing.assert_allclose(sess.run(w), shadow, rtol=1e-6)
        assert sess.run(other) == 7.0
    with pytest.raises(TypeError, match="must be half, float, or double: step"):
        tf.train.ExponentialMovingAverage(0.9).apply([tf.Variable(0, name="step")])

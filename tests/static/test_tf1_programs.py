"""TF1-style programs, written as a TF1 user would (``import staticgraph as tf``), checked
against hand-written numpy versions of the same training loops (TF's update formulas)."""

from __future__ import annotations

import numpy as np

import staticgraph as tf

R = np.random.default_rng(7)


def test_linear_regression_gradient_descent(executor):
    X = np.linspace(-1, 1, 16, dtype=np.float32).reshape(-1, 1)
    Y = (3 * X + 2 + 0.05 * R.standard_normal(X.shape)).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 1], name="x")
    y_ = tf.placeholder(tf.float32, [None, 1], name="y")
    W = tf.Variable(tf.zeros([1, 1]), name="W")
    b = tf.Variable(tf.zeros([1]), name="b")
    pred = tf.matmul(x, W) + b
    loss = tf.reduce_mean(tf.square(pred - y_))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    w_np, b_np = np.zeros((1, 1), np.float32), np.zeros(1, np.float32)
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(60):
            _, l_val = sess.run([train, loss], {x: X, y_: Y})
            r = X @ w_np + b_np - Y
            assert np.isclose(l_val, np.mean(r * r), rtol=1e-5)
            w_np = w_np - np.float32(0.1) * (2 * X.T @ r / len(X))
            b_np = b_np - np.float32(0.1) * (2 * r.sum(0) / len(X))
        W_v, b_v = sess.run([W, b])
    np.testing.assert_allclose(W_v, w_np, rtol=1e-5)
    np.testing.assert_allclose(b_v, b_np, rtol=1e-5)
    assert abs(W_v[0, 0] - 3) < 0.2 and abs(b_v[0] - 2) < 0.1


def _np_log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def test_softmax_classifier_with_adam(executor):
    n, d, k = 12, 4, 3
    X = R.standard_normal((n, d)).astype(np.float32)
    labels = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    x = tf.placeholder(tf.float32, [None, d], name="x")
    y = tf.placeholder(tf.int64, [None], name="labels")
    W = tf.Variable(np.full((d, k), 0.1, np.float32), name="W")
    b = tf.Variable(np.zeros(k, np.float32), name="b")
    logits = tf.matmul(x, W) + b
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    opt = tf.train.AdamOptimizer(learning_rate=0.05)
    gv = opt.compute_gradients(loss)
    train = opt.apply_gradients(gv)
    acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
    # numpy Adam with TF's ApplyAdam formula
    params = [np.full((d, k), 0.1), np.zeros(k)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1p, b2p = 0.9, 0.999
    losses = []
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(25):
            _, lv, grads = sess.run([train, loss, [g for g, _ in gv]], {x: X, y: labels})
            losses.append(lv)
            logp = _np_log_softmax(X @ params[0] + params[1])
            p = np.exp(logp)
            p[np.arange(n), labels] -= 1
            np.testing.assert_allclose(grads[0], X.T @ p / n, rtol=1e-3, atol=1e-5)
            alpha = 0.05 * np.sqrt(1 - b2p) / (1 - b1p)
            for i, g in enumerate(grads):
                m[i] += (g - m[i]) * (1 - 0.9)
                v[i] += (g * g - v[i]) * (1 - 0.999)
                params[i] -= m[i] * alpha / (np.sqrt(v[i]) + 1e-8)
            b1p, b2p = b1p * 0.9, b2p * 0.999
        W_v, b_v, acc_v = sess.run([W, b, acc], {x: X, y: labels})
        b1p_v = sess.run(opt._non_slot["beta1_power"])
    np.testing.assert_allclose(W_v, params[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b_v, params[1], rtol=1e-4, atol=1e-5)
    assert np.isclose(b1p_v, 0.9 ** 26, rtol=1e-5)
    assert losses[-1] < losses[0] and acc_v >= 0.75
    assert isinstance(acc_v, np.float32)


def test_counter_with_assign_add_and_control_dependencies(executor):
    counter = tf.Variable(0, name="counter")
    inc = tf.assign_add(counter, 1)
    with tf.control_dependencies([inc]):
        read = tf.identity(counter)
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        seen = [sess.run(read) for _ in range(3)]
        final = sess.run(counter)
    assert seen == [1, 2, 3]
    assert final == 3 and isinstance(final, np.int32)
    assert counter.dtype == tf.int32


def test_momentum_and_nesterov_match_tf_formula(executor):
    target = np.array([1.0, -2.0], np.float32)
    outs = {}
    for nesterov in (False, True):
        tf.reset_default_graph()
        w = tf.Variable(np.zeros(2, np.float32), name="w")
        loss = tf.reduce_sum(tf.square(w - target))
        step = tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=nesterov).minimize(loss)
        with tf.Session(executor=executor) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(5):
                sess.run(step)
            outs[nesterov] = sess.run(w)
        wn, acc = np.zeros(2), np.zeros(2)
        for _ in range(5):
            g = 2 * (wn - target)
            acc = acc * 0.9 + g
            wn = wn - (g * 0.1 + acc * 0.9 * 0.1 if nesterov else acc * 0.1)
        np.testing.assert_allclose(outs[nesterov], wn, rtol=1e-5)
    assert not np.allclose(outs[False], outs[True])


def test_global_step_and_compute_apply_gradients(executor):
    w = tf.Variable(np.float32(4.0), name="w")
    unused = tf.Variable(np.float32(1.0), name="unused")
    loss = w * w
    gs = tf.train.get_or_create_global_step()
    opt = tf.train.GradientDescentOptimizer(0.25)
    gv = opt.compute_gradients(loss, [w, unused])
    assert gv[1][0] is None and gv[1][1] is unused
    train = opt.apply_gradients(gv, global_step=gs)
    assert isinstance(train, tf.Operation)
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(train) is None
        sess.run(train)
        w_v, step = sess.run([w, gs])
    assert w_v == np.float32(1.0)  # 4 -> 4 - 0.25*8 = 2 -> 2 - 0.25*4 = 1
    assert step == 2 and isinstance(step, np.int64)


def test_seed_example_built_once_fed_many_times(executor):
    x = tf.placeholder(tf.float32, shape=[None], name="x")
    w = tf.Variable(2.0, name="w")
    y = (x + w) * (w + 1)
    dy_dw, dy_dx = tf.gradients(y, [w, x])
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        for xs in ([1.0], [0.0, 1.0, 2.0], np.arange(5)):
            xs = np.asarray(xs, np.float32)
            yv, gw, gx = sess.run([y, dy_dw, dy_dx], feed_dict={x: xs})
            np.testing.assert_allclose(yv, (xs + 2) * 3)
            np.testing.assert_allclose(gw, np.sum(3 + (xs + 2)))
            np.testing.assert_allclose(gx, np.full_like(xs, 3))

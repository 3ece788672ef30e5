"""``tf.random_shuffle``/``tf.random.shuffle`` and ``tf.multinomial``/``tf.random.categorical``:
new draws on every run (hashed uniforms, seeded by ``set_random_seed``/``seed``), so values
cannot match TF's stream; shapes, dtypes, distributions, fresh draws per run, seeded
repeatability and gradients are checked, the shapes and dtypes against TensorFlow's
``compat.v1`` where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg


def test_shuffle_permutes_rows_reproducibly_and_passes_gradients(executor):
    x = sg.placeholder(sg.float64, [6, 2])
    y = sg.random_shuffle(x, seed=4)
    w = np.arange(12.0).reshape(6, 2)
    (gx,) = sg.gradients(sg.reduce_sum(y * w), [x])
    xv = np.arange(6.0)[:, None] * np.array([1.0, 10.0])
    with sg.Session(executor=executor) as sess:
        got, g = sess.run([y, gx], {x: xv})
        later = [sess.run(y, {x: xv})[:, 0].tolist() for _ in range(5)]
    assert any(p != got[:, 0].tolist() for p in later)  # a new order on every run, as in TF
    assert all(sorted(p) == sorted(got[:, 0].tolist()) for p in later)
    perm = (got[:, 0]).astype(int)
    assert sorted(perm) == list(range(6)) and np.array_equal(got, xv[perm])
    want = np.zeros_like(w)
    want[perm] = w  # row i of y is row perm[i] of x
    np.testing.assert_array_equal(g, want)
    sg.reset_default_graph()
    x2 = sg.placeholder(sg.float64, [6, 2])
    y2 = sg.random.shuffle(x2, seed=4)
    with sg.Session(executor=executor) as sess:
        np.testing.assert_array_equal(sess.run(y2, {x2: xv}), got)  # same seed, same orders


def _freqs(samples: np.ndarray, k: int) -> np.ndarray:
    return np.stack([np.bincount(r, minlength=k) / r.size for r in samples])


def test_multinomial_follows_the_fed_logits(executor):
    sg.set_random_seed(7)
    lg = sg.placeholder(sg.float32, [2, 3])
    s = sg.multinomial(lg, 20000, seed=1)
    p1 = np.array([[0.2, 0.3, 0.5], [0.9, 0.1, 0.0]])
    p2 = np.array([[0.6, 0.2, 0.2], [0.0, 0.0, 1.0]])
    with sg.Session(executor=executor) as sess:
        with np.errstate(divide="ignore"):
            a = sess.run(s, {lg: np.log(p1)})
            b = sess.run(s, {lg: np.log(p2)})
            again = sess.run(s, {lg: np.log(p1)})
    assert a.shape == (2, 20000) and a.dtype == np.int64
    np.testing.assert_allclose(_freqs(a, 3), p1, atol=0.015)
    np.testing.assert_allclose(_freqs(b, 3), p2, atol=0.015)
    assert not (a[1] == 2).any() and (b[1] == 2).all()  # zero-probability classes never drawn
    assert (a != again).mean() > 0.3  # a new draw on every run, as in TF
    np.testing.assert_allclose(_freqs(again, 3), p1, atol=0.015)


def test_categorical_dtype_and_empty_draw(executor):
    lg = sg.constant([[1.0, 2.0, 0.5]])
    c = sg.random.categorical(lg, 4, dtype=sg.int32)
    e = sg.multinomial(lg, 0)
    with sg.Session(executor=executor) as sess:
        cv, ev = sess.run([c, e])
    assert cv.dtype == np.int32 and cv.shape == (1, 4) and ((0 <= cv) & (cv < 3)).all()
    assert ev.shape == (1, 0)


@pytest.mark.parametrize("build,exc,text", [
    (lambda tf: tf.multinomial(tf.zeros([3]), 2), ValueError, "logits should be a matrix"),
    (lambda tf: tf.multinomial(tf.zeros([2, 3], tf.int32), 2), TypeError, "DataType int32"),
    (lambda tf: tf.random_shuffle(tf.constant(1.0)), ValueError, "rank >= 1"),
])
def test_build_errors(build, exc, text):
    with pytest.raises(exc, match=text):
        build(sg)


@pytest.mark.parametrize("build", [
    lambda tf, x: tf.random_shuffle(x, seed=1),
    lambda tf, x: tf.random.shuffle(x),
    lambda tf, x: tf.multinomial(x, 5, seed=2),
    lambda tf, x: tf.random.categorical(x, 3, dtype=tf.int32),
])
def test_shapes_and_dtypes_match_tensorflow(build):
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    tf1.disable_eager_execution()
    seen = []
    for tf in (tf1, sg):
        tf.reset_default_graph()
        out = build(tf, tf.placeholder(tf.float32, [4, 3]))
        with tf.Session() as sess:
            v = sess.run(out, {"Placeholder:0": np.ones((4, 3), np.float32)})
        seen.append((out.shape.as_list(), out.dtype.name, v.shape, v.dtype))
    assert seen[0] == seen[1]

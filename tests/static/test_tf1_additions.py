"""Behaviour of the TF1 additions that the TensorFlow corpus cannot pin down exactly (random
masks, files, rejected programs), plus regressions found while building the corpus."""

from __future__ import annotations

import os

import numpy as np
import pytest

import staticgraph as tf


def test_dropout_masks_are_fresh_scaled_and_differentiable(executor):
    x = tf.placeholder(tf.float32, [None, 8], name="x")
    keep_prob = tf.placeholder(tf.float32)  # shapeless, as the TF tutorials declare it
    h = tf.nn.dropout(x, keep_prob)
    g = tf.gradients(tf.reduce_sum(h * 3.0), x)[0]
    assert h.shape.as_list() == [None, 8] and tf.global_variables() == []
    xv = np.ones((64, 8), np.float32)
    with tf.Session(executor=executor) as sess:
        np.testing.assert_array_equal(sess.run(h, {x: xv, keep_prob: 1.0}), xv)
        a, b = sess.run(h, {x: xv, keep_prob: 0.25}), sess.run(h, {x: xv, keep_prob: 0.25})
        gv = sess.run(g, {x: xv, keep_prob: 0.5})
    assert set(np.unique(a)) <= {0.0, 4.0} and not np.array_equal(a, b)
    assert abs((a > 0).mean() - 0.25) < 0.06  # 512 draws
    assert set(np.unique(gv)) <= {0.0, 6.0} and abs((gv > 0).mean() - 0.5) < 0.08
    with pytest.raises(ValueError, match="keep_prob"):
        tf.nn.dropout(x, 1.5)
    assert tf.nn.dropout(x, rate=0.0).op.type == "Identity"


def test_saver_keeps_the_last_checkpoints_and_reports_missing_ones(tmp_path):
    v = tf.Variable([1.0, 2.0], name="v")
    step = tf.assign_add(v, [1.0, 1.0])
    saver = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(v.initializer)
        paths = []
        for i in range(3):
            sess.run(step)
            paths.append(saver.save(sess, str(tmp_path / "m"), global_step=i))
        assert not os.path.exists(paths[0] + ".index") and os.path.exists(paths[2] + ".index")
        assert tf.train.latest_checkpoint(str(tmp_path)) == paths[2]
        saver.restore(sess, paths[1])
        np.testing.assert_array_equal(sess.run(v), [3.0, 4.0])
        with pytest.raises(ValueError, match="not a valid checkpoint"):  # TF's class and text
            saver.restore(sess, str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="No variables to save"):
        tf.train.Saver([])


def test_cond_rejects_mismatched_outputs_and_non_scalar_predicates():
    w = tf.Variable(1.0, name="w")
    p = tf.constant(True)
    with pytest.raises(ValueError, match="same type of outputs"):
        tf.cond(p, lambda: (w, w), lambda: (w,))
    with pytest.raises(TypeError, match="scalar bool"):
        tf.cond(tf.constant([True, False]), lambda: w, lambda: w)


def test_summaries_write_event_files(tmp_path, executor):
    """Issue #15 changed this from "discarded": see tests/static/test_summary.py."""
    loss = tf.constant(2.0)
    assert tf.summary.merge_all() is None
    tf.summary.scalar("loss", loss)
    merged = tf.summary.merge_all()
    writer = tf.summary.FileWriter(str(tmp_path / "logs"), tf.get_default_graph())
    with tf.Session(executor=executor) as sess:
        out, val = sess.run([merged, loss])
    writer.add_summary(out, 0)
    writer.close()
    assert out == b"\n\x0b\n\x04loss\x15\x00\x00\x00@" and val == 2.0
    assert len(os.listdir(tmp_path / "logs")) == 1


def test_in_top_k_counts_ties_as_in(executor):
    p = tf.constant([[0.5, 0.5, 0.1], [0.2, 0.9, 0.3]])
    t = tf.constant([1, 2])
    with tf.Session(executor=executor) as sess:
        top1, top2 = sess.run([tf.nn.in_top_k(p, t, 1), tf.nn.in_top_k(p, t, 2)])
    assert top1.tolist() == [True, False] and top2.tolist() == [True, True]


def test_nested_list_fetch_keeps_its_structure(executor):
    a, b = tf.constant(1.0), tf.constant([2.0])
    with tf.Session(executor=executor) as sess:
        for _ in range(2):  # the second call takes the cached plan
            out = sess.run([[a], [b]])
            assert isinstance(out[0], list) and out[0][0] == 1.0 and out[1][0].tolist() == [2.0]


def test_unknown_rank_placeholder_errors_name_the_tensor():
    x = tf.placeholder(tf.float32, name="x")  # transpose, keepdims build as in TF (#15)
    t, s = tf.transpose(x), tf.reduce_sum(x, keepdims=True)
    assert str(t.shape) == str(s.shape) == "<unknown>"
    with tf.Session() as sess:
        tv, sv = sess.run([t, s], {x: [[1.0, 3.0]]})
        assert tv.tolist() == [[1.0], [3.0]] and sv.tolist() == [[4.0]]
        with pytest.raises(tf.errors.InvalidArgumentError, match="with dtype float\n"):
            sess.run(x * 2.0)
        assert sess.run(tf.reduce_mean(x), {x: [[1.0, 3.0]]}) == 2.0


def test_matrix_inverse_value_and_gradient(executor):
    A = np.array([[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, 0.0, 1.0]], np.float32)  # pivots
    W = np.arange(9.0).reshape(3, 3)
    a = tf.Variable(A, name="a")
    inv = tf.matrix_inverse(a)
    g = tf.gradients(tf.reduce_sum(inv * W.astype(np.float32)), a)[0]
    with tf.Session(executor=executor) as sess:
        sess.run(a.initializer)
        iv, gv = sess.run([inv, g])
    Ai = np.linalg.inv(A.astype(np.float64))
    np.testing.assert_allclose(iv, Ai, atol=1e-5)
    np.testing.assert_allclose(gv, -(Ai.T @ W @ Ai.T), atol=1e-4)  # d tr(W^T A^-1) / dA
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3"):  # TF's text
        tf.matrix_inverse(tf.ones([2, 3]))

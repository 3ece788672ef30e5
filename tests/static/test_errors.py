"""Each bad input gets a clear error naming the thing at fault, and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf


def test_incompatible_matmul_names_op_inputs_and_shapes():
    a = tf.placeholder(tf.float32, [None, 3], name="a")
    b = tf.constant(np.ones((4, 5), np.float32), name="b")
    with pytest.raises(ValueError) as e:
        tf.matmul(a, b)  # the traceback points at this line
    msg = str(e.value)
    assert "Dimensions must be equal, but are 3 and 4" in msg
    assert "'MatMul'" in msg and "[?,3]" in msg and "[4,5]" in msg
    assert "a:0" in msg and "b:0" in msg
    assert str(e.traceback[-1].path).endswith("frontend.py")  # raised during build
    assert any(str(t.path) == __file__ for t in e.traceback)


def test_incompatible_broadcast_names_both_shapes():
    x = tf.placeholder(tf.float32, [3], name="x")
    y = tf.placeholder(tf.float32, [4], name="y")
    with pytest.raises(ValueError, match=r"but are 3 and 4 for 'add' .*\[3\], \[4\]"):
        _ = x + y


def test_mixed_dtypes_are_a_type_error_like_tf():
    x = tf.placeholder(tf.float32, [2], name="x")
    y = tf.placeholder(tf.float64, [2], name="y")
    with pytest.raises(TypeError, match="Input 'y' of 'Mul' Op has type float64 that does not "
                                        "match type float32 of argument 'x'"):
        tf.multiply(x, y)
    i = tf.placeholder(tf.int32, [2], name="i")
    with pytest.raises(TypeError, match="Expected int32 passed to parameter 'y'"):
        _ = i * 1.5
    assert (i * 2).dtype == tf.int32 and (x * 2).dtype == tf.float32  # scalars adopt the dtype


def _feed_graph():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.ones(3, np.float32), name="w")
    return x, w, tf.reduce_sum(x * w)


def test_missing_feed_names_placeholder_dtype_and_shape(executor):
    x, w, y = _feed_graph()
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"You must feed a value for placeholder tensor 'x' with dtype "
                                 r"float and shape \[\?,3\]"):
            sess.run(y)


def test_wrong_feed_shape_and_rank(executor):
    x, w, y = _feed_graph()
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(2, 4\) for Tensor "
                                             r"'x:0', which has shape '\(\?, 3\)'"):
            sess.run(y, {x: np.ones((2, 4))})
        with pytest.raises(ValueError, match=r"shape \(3,\) for Tensor 'x:0'"):
            sess.run(y, {x: np.ones(3)})


def test_unsafe_feed_dtype():
    i = tf.placeholder(tf.int32, [2], name="i")
    y = i + 1
    with tf.Session() as sess:
        with pytest.raises(TypeError, match="Cannot feed value of dtype float64 for Tensor 'i:0'"):
            sess.run(y, {i: np.array([1.5, 2.0])})
        with pytest.raises(TypeError, match="i:0"):
            sess.run(y, {i: np.array([2**40, 1])})
        with pytest.raises(ValueError, match="could not convert"):  # TF: ValueError
            sess.run(y, {i: ["a", "b"]})
        with pytest.raises(TypeError, match="cannot be cast safely"):
            sess.run(y, {i: ["a", "b"]})
        # exact casts are fine (float values that are integers, float64 -> float32)
        assert sess.run(y, {i: np.array([1.0, 2.0])}).tolist() == [2, 3]


def test_feed_key_not_a_graph_tensor():
    x, w, y = _feed_graph()
    other = tf.Graph()
    with other.as_default():
        z = tf.placeholder(tf.float32, [3], name="z")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(TypeError, match="Cannot interpret feed_dict key as Tensor"):
            sess.run(y, {z: np.ones(3), x: np.ones((1, 3))})
        with pytest.raises(TypeError, match="Cannot interpret feed_dict key as Tensor"):
            sess.run(y, {3: np.ones(3)})
        with pytest.raises(TypeError, match="Cannot interpret feed_dict key as Tensor"):
            sess.run(y, {"nope:0": np.ones(3)})


def test_uninitialized_variable_is_named(executor):
    x, w, y = _feed_graph()
    with tf.Session(executor=executor) as sess:
        with pytest.raises(tf.errors.FailedPreconditionError,
                           match="Attempting to use uninitialized value w"):
            sess.run(y, {x: np.ones((1, 3))})


def test_fetch_from_another_graph():
    x, w, y = _feed_graph()
    other = tf.Graph()
    with other.as_default():
        z = tf.constant(1.0)
    with tf.Session() as sess, pytest.raises(ValueError, match="not an element of this graph"):
        sess.run(z)
    with tf.Session() as sess, pytest.raises(TypeError, match="Fetch argument None"):
        sess.run([y, None])


def test_failing_run_leaves_variables_unchanged(executor):
    w = tf.Variable(np.array([1.0, 2.0], np.float32), name="w")
    labels = tf.placeholder(tf.int64, [None], name="labels")
    inc = tf.assign_add(w, [10.0, 10.0])
    with tf.control_dependencies([inc]):  # runs after the update, then fails at run time
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=tf.reshape(w, [1, 2]))
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(loss, {labels: [5]})  # label out of range
        np.testing.assert_array_equal(sess.run(w), [1.0, 2.0])
        sess.run(loss, {labels: [1]})
        np.testing.assert_array_equal(sess.run(w), [11.0, 12.0])


def test_closed_session_and_bad_executor():
    sess = tf.Session()
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(tf.constant(1.0))
    with pytest.raises(ValueError, match="Unknown executor 'nope'"):
        tf.Session(executor="nope")


def test_bad_placeholder_and_assign():
    p = tf.placeholder(tf.float32, name="p")  # unknown rank: every op builds, as in TF
    assert str(p) == 'Tensor("p:0", dtype=float32)' and p.shape.ndims is None
    assert str((p * 2.0).shape) == "<unknown>" and tf.reduce_sum(p).shape.as_list() == []
    assert str(tf.matmul(p, tf.ones([2, 2])).shape) == "<unknown>"  # checked when fed (#15)
    assert str(tf.reduce_sum(p, axis=0).shape) == "<unknown>"
    with pytest.raises(ValueError, match="as_list"):
        p.shape.as_list()
    w = tf.Variable(np.zeros(3, np.float32), name="w")
    with pytest.raises(ValueError, match="variable 'w' of shape"):
        tf.assign(w, np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="needs a Variable"):
        tf.assign(tf.constant(1.0), 2.0)

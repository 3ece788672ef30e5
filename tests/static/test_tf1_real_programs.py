"""What real TF1 programs need beyond the corpus's printed output (issue #15): the inverse's
accuracy, checkpoint helpers and meta graphs, the "not supported" errors, event files."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf


def _normal_equation_matrix() -> np.ndarray:
    """X^T X of a 9-column design with columns of very different scales (condition ~1e12),
    as in the book example that solves the normal equation for housing data."""
    rng = np.random.RandomState(42)
    X = np.c_[np.ones(20), rng.rand(20, 8) * np.array([1, 10, 100, 1000, 1, 10, 100, 1000])]
    return (X.T @ X).astype(np.float32)


def test_matrix_inverse_is_accurate_on_an_ill_conditioned_matrix(executor):
    A = _normal_equation_matrix()
    want = np.linalg.inv(A.astype(np.float64))
    a = tf.constant(A)
    inv = tf.matrix_inverse(a)
    W = np.linspace(-1.0, 1.0, 81).reshape(9, 9)
    g = tf.gradients(tf.reduce_sum(inv * W.astype(np.float32)), a)[0]
    with tf.Session(executor=executor) as sess:
        iv, gv = sess.run([inv, g])
    assert np.abs(iv - want).max() / np.abs(want).max() < 1e-6  # TF: 4.5e-7; unrolled: 1.2e-4
    gw = -(want.T @ W @ want.T)
    assert np.abs(gv - gw).max() / np.abs(gw).max() < 1e-5


def test_matrix_inverse_batches_adjoint_and_singular(executor):
    A = np.array([[[2.0, 1.0], [0.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]], np.float32)
    with tf.Session(executor=executor) as sess:
        np.testing.assert_allclose(sess.run(tf.linalg.inv(A)), np.linalg.inv(A), rtol=1e-6)
        np.testing.assert_allclose(sess.run(tf.matrix_inverse(A, adjoint=True)),
                                   np.linalg.inv(A.transpose(0, 2, 1)), rtol=1e-6)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Input is not invertible."):
            sess.run(tf.matrix_inverse(tf.zeros([2, 2])))
    with pytest.raises(ValueError, match="Shape must be at least rank 2 but is rank 1"):
        tf.matrix_inverse(tf.ones([3]))


@pytest.mark.parametrize("path", ["nn.raw_rnn", "contrib.rnn.LSTMCell", "data.Dataset", "foo",
                                  "train.MonitoredTrainingSession", "losses.get_total_loss",
                                  "math.no_such", "layers.conv3d", "summary.audio"])
def test_a_missing_api_says_it_is_not_supported(path):
    obj = tf
    with pytest.raises(AttributeError) as info:
        for part in path.split("."):
            obj = getattr(obj, part)
    assert type(info.value).__name__ == "UnsupportedError"
    assert "is not supported by staticgraph" in str(info.value)
    assert str(info.value).startswith("tf." + path.split(".")[0])
    if path in ("nn.raw_rnn", "data.Dataset", "layers.conv3d"):
        assert " Instead: " in str(info.value)
    assert not hasattr(tf.nn, "no_such_name") and getattr(tf.train, "nope", 7) == 7


def test_old_aliases():
    x = tf.constant([[1.0, 3.0], [4.0, 2.0]])
    with pytest.raises(TypeError):
        tf.arg_max(x)  # TF1: dimension is required
    with tf.Session() as sess:
        assert sess.run(tf.arg_max(x, 1)).tolist() == [1, 0]
        assert sess.run(tf.arg_min(x, 0, output_type=tf.int32)).tolist() == [0, 1]
        np.testing.assert_allclose(sess.run(tf.log_sigmoid(x)), -np.log1p(np.exp(-x.eval())),
                                   rtol=1e-6)
    assert tf.arg_max(x, 1).name == "ArgMax_1:0" and tf.lin_space is tf.linspace
    assert tf.all_variables is tf.global_variables


def test_string_constants_from_numpy_arrays():
    c = tf.constant(np.array([["a", "bc"], ["d", "é"]]))
    assert str(c) == 'Tensor("Const:0", shape=(2, 2), dtype=string)'
    with tf.Session() as sess:
        out = sess.run(c)
    assert out.tolist() == [[b"a", b"bc"], [b"d", "é".encode()]]

"""float16 graphs on the compiled executor: numba has no float16 type on the CPU, so nodes that
read or make float16 values stay numpy steps (no fused group, row kernel or dot step); before,
a float16 reduction, softmax or their gradients raised numba's ``NotImplementedError: float16``
from inside the plan. Values must match the reference executor on every kernel tier."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf


def _cases():
    rng = np.random.default_rng(0)
    p = tf.placeholder(tf.float16, [None, 6])
    b = tf.placeholder(tf.float32, [None, 6])
    t = tf.placeholder(tf.int64, [None])
    w = tf.Variable(rng.standard_normal((6, 3)).astype(np.float16))
    sm = tf.nn.softmax(tf.nn.relu(tf.matmul(p, w)))
    logits = tf.matmul(p, w)
    ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=t, logits=logits))
    cases = {
        "mean": tf.reduce_mean(p), "sum_axis": tf.reduce_sum(p, 1), "max": tf.reduce_max(p, 0),
        "grad_mean": tf.gradients(tf.reduce_mean(p), [p])[0],
        "grad_square": tf.gradients(tf.reduce_sum(p * p), [p])[0],
        "softmax_mlp": tf.reduce_mean(sm), "grad_softmax_mlp": tf.gradients(tf.reduce_mean(sm * sm), [w])[0],
        "cross_entropy": ce, "grad_cross_entropy": tf.gradients(ce, [w])[0],
        "mixed": tf.reduce_sum(tf.cast(p, tf.float32) * b), "to_half": tf.cast(b, tf.float16) + p,
        "broadcast": tf.broadcast_to(tf.reduce_sum(p, 0), [3, 6]),
    }
    feeds = {p: rng.standard_normal((4, 6)).astype(np.float16),
             b: rng.standard_normal((4, 6)).astype(np.float32), t: np.array([0, 2, 1, 2])}
    return cases, feeds


@pytest.mark.parametrize("tier", ["llvm_tier", "numba_tier"])
def test_float16_graphs_match_the_reference(tier, request):
    request.getfixturevalue(tier)
    with tf.Graph().as_default():
        cases, feeds = _cases()
        runs = []
        for ex in ("reference", None):
            with tf.Session(executor=ex) as sess:
                sess.run(tf.global_variables_initializer())
                runs.append(sess.run(cases, feeds))
    want, got = runs
    for name in cases:
        assert got[name].dtype == want[name].dtype, name
        np.testing.assert_allclose(got[name].astype(np.float64), want[name].astype(np.float64),
                                   rtol=2e-3, atol=1e-3, err_msg=name)

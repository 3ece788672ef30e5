"""A caller that keeps every result of a compiled run (a training loop appending the loss, a
loop driver stacking per-iteration values): the escaping-buffer pool stops tracking a kept buffer
by identity (``list.remove`` compared arrays with ``==`` and raised once five were kept)."""

from __future__ import annotations

import numpy as np

import staticgraph as tf


def test_results_kept_by_the_caller_stay_distinct_and_correct():
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None], name="x")
    y = tf.sin(x) * 2.0
    kept = []
    with tf.Session() as sess:
        for k in range(12):
            kept.append(sess.run(y, {x: np.full(5, k, np.float32)}))
    for k, r in enumerate(kept):
        np.testing.assert_allclose(r, np.sin(np.full(5, k, np.float32)) * 2.0, rtol=1e-6)
    assert len({id(r) for r in kept}) == len(kept)

"""TF's run-time check of ``tf.math.unsorted_segment_*``'s ids: an id at or past
``num_segments`` raises ``InvalidArgumentError`` naming it (TF 2.21's text), on every executor;
negative ids are still dropped, and the session runs on afterwards."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

FNS = ["unsorted_segment_sum", "unsorted_segment_max", "unsorted_segment_min",
       "unsorted_segment_prod", "unsorted_segment_mean", "unsorted_segment_sqrt_n"]


def _numpy(fn: str, data: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
    rows = data.reshape((-1,) + data.shape[ids.ndim:])
    flat = ids.reshape(-1)
    out = []
    for s in range(n):
        hit = rows[flat == s]
        if fn.endswith("sum"):
            out.append(hit.sum(0))
        elif fn.endswith("max"):
            out.append(hit.max(0) if len(hit) else np.full(rows.shape[1:], np.finfo(
                data.dtype).min))
        elif fn.endswith("min"):
            out.append(hit.min(0) if len(hit) else np.full(rows.shape[1:], np.finfo(
                data.dtype).max))
        elif fn.endswith("prod"):
            out.append(hit.prod(0))
        elif fn.endswith("mean"):
            out.append(hit.sum(0) / max(len(hit), 1))
        else:
            out.append(hit.sum(0) / np.sqrt(max(len(hit), 1)))
    return np.stack(out)


@pytest.mark.parametrize("fn", FNS)
def test_ids_past_num_segments_raise_tfs_error(fn, executor):
    data = sg.placeholder(sg.float64, [2, 2, 3])
    ids = sg.placeholder(sg.int32, [2, 2])
    out = getattr(sg.math, fn)(data, ids, 3)
    dv = np.arange(12.0).reshape(2, 2, 3) - 4.0
    good = np.array([[0, 2], [-1, 0]])
    with sg.Session(executor=executor) as sess:
        with pytest.raises(sg.errors.InvalidArgumentError,
                           match=r"segment_ids\[1,0\] = 5 is out of range \[0, 3\)"):
            sess.run(out, {data: dv, ids: np.array([[0, 1], [5, -1]])})
        with pytest.raises(sg.errors.InvalidArgumentError,
                           match=r"segment_ids\[0,1\] = 3 is out of range \[0, 3\)"):
            sess.run(out, {data: dv, ids: np.array([[0, 3], [7, 1]])})
        got = sess.run(out, {data: dv, ids: good})  # negative ids dropped, the session runs on
    np.testing.assert_allclose(got, _numpy(fn, dv, good, 3), rtol=1e-12)


def test_the_gradient_still_reaches_the_rows_of_valid_ids(executor):
    data = sg.placeholder(sg.float64, [4, 2])
    out = sg.math.unsorted_segment_sum(data, [0, 2, -1, 2], 3)
    (g,) = sg.gradients(sg.reduce_sum(out * np.array([[1.0], [2.0], [3.0]])), [data])
    with sg.Session(executor=executor) as sess:
        got = sess.run(g, {data: np.ones((4, 2))})
    np.testing.assert_array_equal(got, [[1.0, 1.0], [3.0, 3.0], [0.0, 0.0], [3.0, 3.0]])


def test_matches_live_tensorflow():
    tf = pytest.importorskip("tensorflow")
    with tf.Graph().as_default():  # graph mode either way (another test may disable eager)
        t = tf.math.unsorted_segment_sum(tf.ones([2, 2]), [[0, 1], [5, -1]], 3)
        with tf.compat.v1.Session() as s, pytest.raises(tf.errors.InvalidArgumentError) as theirs:
            s.run(t)
    with sg.Graph().as_default():
        out = sg.math.unsorted_segment_sum(sg.ones([2, 2]), [[0, 1], [5, -1]], 3)
        with sg.Session() as sess, pytest.raises(sg.errors.InvalidArgumentError) as ours:
            sess.run(out)
    want = "segment_ids[1,0] = 5 is out of range [0, 3)"
    assert want in theirs.value.message and want in str(ours.value)

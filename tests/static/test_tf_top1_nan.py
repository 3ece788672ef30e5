"""``tf.nn.top_k(x, 1)`` on rows holding NaN: TF's ``k == 1`` path is an Eigen max reduction
(AVX packets whose lanes keep their value at a NaN, a one-by-one tail where a NaN replaces the
running max), then the first position equal to it (``staticgraph/ops/tf_topk_order.py``).
Pinned TF 2.21 answers, and the TF oracle on random rows when it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.ops.tf_topk_order import tf_topk_row

NAN, INF = float("nan"), float("inf")
PINNED = [  # (row, dtype, TF 2.21's index); NaN-skipping max would say 8, 9, 8, 8 for the four
    ([-2.0, NAN, NAN, NAN, 1.0, 0.0, 0.0, -1.0, 3.0, NAN, 2.0], np.float32, 10),
    ([NAN, 2.0, 0.0, NAN, -1.0, -2.0, 2.0, NAN, NAN, 3.0, NAN, -2.0, 0.0, NAN, -1.0],
     np.float32, 1),
    ([1.0, NAN, 1.0, NAN, 2.0, 1.0, 0.0, NAN, 3.0, NAN, 0.0], np.float64, 4),
    ([0.0, NAN, -3.0, 2.0, -2.0, -2.0, 2.0, 1.0, 3.0, NAN, 1.0], np.float64, 3),
    ([-1.0, 3.0, NAN, 2.0], np.float32, 3),  # short rows: the one-by-one tail only
    ([NAN, 0.0, NAN], np.float32, 0),        # a NaN result: position 0
    ([NAN, -INF], np.float32, 1),            # the reduction starts at -inf
]


@pytest.mark.parametrize("row,dtype,want", PINNED)
def test_top1_index_is_tfs(row, dtype, want):
    assert tf_topk_row(np.array(row, dtype), 1) == [want]


@pytest.mark.parametrize("executor", ["reference", None])
def test_top_k_1_through_a_session(executor):
    rows = [r for r, d, _ in PINNED[:4]]
    n = max(len(r) for r in rows)
    x = np.full((len(rows), n), -INF, np.float64)  # padding never wins: -inf after a NaN
    want = []
    for i, (r, _, _) in enumerate(PINNED[:4]):
        x[i, :len(r)] = r
        want.append(tf_topk_row(x[i], 1)[0])
    p = tf.placeholder(tf.float64, [None, n])
    values, indices = tf.nn.top_k(p, 1)
    with tf.Session(executor=executor) as sess:
        v, i = sess.run([values, indices], {p: x})
    np.testing.assert_array_equal(i[:, 0], want)
    np.testing.assert_array_equal(v[:, 0], x[np.arange(len(rows)), want])


def test_against_tensorflow_on_random_rows_when_installed():
    tf2 = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(5)
    for trial in range(300):
        n = int(rng.integers(2, 70))
        dt = (np.float32, np.float64)[trial % 2]
        row = rng.integers(-3, 4, n).astype(dt)
        u = rng.random(n)
        row[u < rng.choice([0.05, 0.2, 0.5])] = np.nan
        row[(u > 0.9) & (rng.random(n) < 0.5)] = rng.choice([INF, -INF])
        theirs = int(tf2.math.top_k(row[None], k=1).indices.numpy()[0, 0])
        assert tf_topk_row(row, 1) == [theirs], row.tolist()

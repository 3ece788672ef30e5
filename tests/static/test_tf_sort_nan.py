"""``tf.sort``/``tf.argsort``/``tf.math.top_k`` on rows holding NaN give TF's positions (TF's
introsort with a comparator NaN breaks: a NaN lands mid-row, not first or last), on every
executor; rows without NaN keep the stable order. TF 2.21 is the oracle when installed; the
constants below are its answers."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.ops.sorting import _topk_kernel

X = np.array([3.0, np.nan, 1.0, np.nan, 2.0, -np.inf, np.inf], np.float32)
# TF 2.21 (CPU): tf.argsort(X), tf.argsort(X, direction="DESCENDING") (== tf.math.top_k(X, 7))
TF_ASC = [5, 2, 0, 1, 3, 4, 6]
TF_DESC = [6, 0, 1, 2, 3, 4, 5]
# TF 2.21, a 20-entry row (longer than libstdc++'s 16-entry insertion-sort cut, so a quicksort
# partition runs first): tf.argsort(Y)
Y = np.array([2, np.nan, -1, 0, np.nan, 3, 3, -4, np.nan, 1, 0, -2, np.nan, 5, -1, 2, np.nan,
              4, -3, 0], np.float64)
Y_TF_ASC = [7, 18, 2, 10, 19, 16, 14, 12, 11, 9, 0, 8, 15, 5, 6, 13, 4, 3, 17, 1]


def test_sort_argsort_top_k_nan_positions_are_tfs(executor):
    x = tf.placeholder(tf.float32, [None])
    with tf.Session(executor=executor) as sess:
        asc, desc, vals, top = sess.run(
            [tf.argsort(x), tf.argsort(x, direction="DESCENDING"), tf.sort(x),
             tf.math.top_k(x, 7).indices], {x: X})
    assert asc.tolist() == TF_ASC
    assert desc.tolist() == TF_DESC
    assert top.tolist() == TF_DESC
    np.testing.assert_array_equal(vals, X[TF_ASC])


def test_rows_without_nan_keep_the_stable_order(executor):
    x = tf.placeholder(tf.float64, [None, 5])
    a = np.array([[2.0, 1.0, 2.0, -0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    with tf.Session(executor=executor) as sess:
        asc, desc = sess.run([tf.argsort(x), tf.argsort(x, direction="DESCENDING")], {x: a})
    np.testing.assert_array_equal(asc, np.argsort(a, axis=-1, kind="stable"))
    np.testing.assert_array_equal(desc, [[0, 2, 1, 3, 4], [0, 1, 2, 3, 4]])


def _tf_answers(rows: list[np.ndarray]) -> list[tuple[list, list]]:
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    out = []
    g = tf1.Graph()
    with g.as_default(), tf1.Session(graph=g) as sess:
        for r in rows:
            c = tf1.constant(r)
            out.append(tuple(v.tolist() for v in sess.run(
                [tf1.argsort(c), tf1.argsort(c, direction="DESCENDING")])))
    return out


def test_against_tensorflow_on_random_rows_when_installed():
    rng = np.random.default_rng(7)
    rows = [Y]
    for n in (2, 3, 5, 7, 16, 17, 20, 33, 64, 100):
        for p in (0.1, 0.4, 0.8):
            r = rng.integers(-4, 4, n).astype(np.float32)
            r[rng.random(n) < p] = np.nan
            rows.append(r)
    for r, (asc, desc) in zip(rows, _tf_answers(rows), strict=True):
        assert _topk_kernel(-r, -1, "int32").tolist() == asc, r.tolist()
        assert _topk_kernel(r, -1, "int32").tolist() == desc, r.tolist()


def test_long_row_matches_tensorflow_constant():
    """The 20-entry row: TF's answer (tf.argsort(Y) in TF 2.21) runs the quicksort partition."""
    got = _topk_kernel(-Y, -1, "int32").tolist()
    assert got == Y_TF_ASC

"""Segment max/min/prod (sorted and unsorted), unsorted mean/sqrt_n and ``tf.unique``: values
against numpy, gradients against central differences and TF's tie rule (a segment's cotangent
shared evenly among its tied extremes), run-time id checks, and TensorFlow's ``compat.v1``
where it is installed (the corpus program ``bag_of_words_unique_segments`` holds a recorded
run)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import staticgraph as sg

from .conftest import central_difference

IDS = [0, 0, 2, 2, 2]
UIDS = [2, -1, 0, 2, 2]
DATA = np.random.default_rng(7).permutation(10).reshape(5, 2) / 3.0 - 1.0  # no ties


def _np_segments(data: np.ndarray, ids: list[int], n: int, fn: Callable, empty: float):
    out = np.full((n,) + data.shape[1:], empty, dtype=data.dtype)
    for s in range(n):
        rows = [r for r, i in zip(data, ids, strict=True) if i == s]
        if rows:
            out[s] = fn(np.stack(rows), axis=0)
    return out


LOW, HIGH = np.finfo(np.float64).min, np.finfo(np.float64).max
CASES: dict[str, tuple[Callable, Callable]] = {
    "segment_max": (lambda x: sg.segment_max(x, IDS),
                    lambda x: _np_segments(x, IDS, 3, np.max, 0.0)),
    "segment_min": (lambda x: sg.math.segment_min(x, IDS),
                    lambda x: _np_segments(x, IDS, 3, np.min, 0.0)),
    "segment_prod": (lambda x: sg.segment_prod(x, IDS),
                     lambda x: _np_segments(x, IDS, 3, np.prod, 1.0)),
    "unsorted_segment_max": (lambda x: sg.unsorted_segment_max(x, UIDS, 4),
                             lambda x: _np_segments(x, UIDS, 4, np.max, LOW)),
    "unsorted_segment_min": (lambda x: sg.unsorted_segment_min(x, UIDS, 4),
                             lambda x: _np_segments(x, UIDS, 4, np.min, HIGH)),
    "unsorted_segment_prod": (lambda x: sg.unsorted_segment_prod(x, UIDS, 4),
                              lambda x: _np_segments(x, UIDS, 4, np.prod, 1.0)),
    "unsorted_segment_mean": (lambda x: sg.unsorted_segment_mean(x, UIDS, 4),
                              lambda x: _np_segments(x, UIDS, 4, np.mean, 0.0)),
    "unsorted_segment_sqrt_n": (
        lambda x: sg.math.unsorted_segment_sqrt_n(x, UIDS, 4),
        lambda x: _np_segments(x, UIDS, 4, lambda r, axis: r.sum(axis) / np.sqrt(len(r)), 0.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_numpy(name, executor):
    build, np_fn = CASES[name]
    x = sg.placeholder(sg.float64, DATA.shape)
    out = build(x)
    want = np_fn(DATA)
    w = np.where(np.abs(want) > 1e300, 0.0, np.arange(1.0, want.size + 1).reshape(want.shape))
    g, = sg.gradients(sg.reduce_sum(out * w), [x])
    with sg.Session(executor=executor) as sess:
        got, gx = sess.run([out, g], {x: DATA})
    np.testing.assert_allclose(got, want, rtol=1e-12)

    def f(v):
        r = np_fn(v)
        return float((np.where(np.abs(r) > 1e300, 0.0, r) * w).sum())
    np.testing.assert_allclose(gx, central_difference(f, DATA), rtol=1e-6, atol=1e-7)


def test_ties_share_the_gradient_and_zeros_in_products(executor):
    """TF's rules: tied maxima split their segment's cotangent; a product's gradient is the
    product of the others, also where the segment holds one or two zeros."""
    x = sg.constant([[1., 5.], [5., 2.], [3., 3.], [3., 1.], [-1., 0.]])
    w = sg.constant([[1., 2.], [3., 4.], [5., 6.]])
    gmax, = sg.gradients(sg.reduce_sum(sg.segment_max(x, IDS) * w), x)
    z = sg.constant([[0., 2.], [3., 0.], [0., 1.], [4., 0.]])
    gprod, = sg.gradients(sg.reduce_sum(sg.segment_prod(z, [0, 0, 0, 1])), z)
    with sg.Session(executor=executor) as sess:
        a, b = sess.run([gmax, gprod])
    np.testing.assert_array_equal(a, [[0, 2], [1, 0], [2.5, 6], [2.5, 0], [0, 0]])
    np.testing.assert_array_equal(b, [[0, 0], [0, 2], [0, 0], [1, 1]])


def test_integer_segments_and_run_time_checks(executor):
    ids = sg.placeholder(sg.int32, [None])
    top = sg.segment_max(sg.constant([1, 5, 2]), ids)
    low = sg.unsorted_segment_min(sg.constant([1, 5, 2]), [0, 0, 3], 5)
    assert top.shape.as_list() == [None] and low.shape.as_list() == [5]
    with sg.Session(executor=executor) as sess:
        np.testing.assert_array_equal(sess.run(top, {ids: [0, 0, 3]}), [5, 0, 0, 2])
        np.testing.assert_array_equal(sess.run(low), [1, 2**31 - 1, 2**31 - 1, 2, 2**31 - 1])
        with pytest.raises(sg.errors.InvalidArgumentError, match="not increasing"):
            sess.run(top, {ids: [0, 2, 1]})


def test_unique_and_counts(executor):
    x = sg.placeholder(sg.float32, [None])
    y, idx = sg.unique(x)
    uc = sg.unique_with_counts(x, out_idx=sg.int64)
    assert (y.name, idx.name, uc.count.name) == ("Unique:0", "Unique:1", "UniqueWithCounts:2")
    assert (y.shape.as_list(), idx.dtype, uc.idx.dtype) == ([None], sg.int32, sg.int64)
    doubled = sg.gather(y * 2, idx)  # values computed after the host op are compiled
    with sg.Session(executor=executor) as sess:
        for xv in ([3., 1., 3., 2., 1.], [7.], []):
            got = sess.run([y, idx, uc, doubled], {x: xv})
            np.testing.assert_array_equal(got[0], list(dict.fromkeys(xv)))
            np.testing.assert_array_equal(got[1], [list(dict.fromkeys(xv)).index(v) for v in xv])
            np.testing.assert_array_equal(got[2].count, [xv.count(v) for v in dict.fromkeys(xv)])
            np.testing.assert_array_equal(got[3], 2 * np.asarray(xv, np.float32))


def test_unique_errors_are_tensorflows():
    with pytest.raises(ValueError, match="Shape must be rank 1 but is rank 2"):
        sg.unique(sg.zeros([2, 3]))
    with pytest.raises(LookupError, match=r"No gradient defined for operation'Unique"
                                          r".* \(op type: Unique\)"):
        x = sg.placeholder(sg.float32, [3])
        sg.gradients(sg.unique(x).y, x)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_values_and_gradients_match_tensorflow(name):
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    tf1.disable_eager_execution()
    build, np_fn = CASES[name]
    results = []
    for tf in (tf1, sg):
        tf.reset_default_graph()
        x = tf.placeholder(tf.float32, DATA.shape)
        fn = getattr(tf.math, name)
        out = fn(x, IDS) if name.startswith("segment") else fn(x, UIDS, 4)
        w = np.arange(1.0, 9.0, dtype=np.float32)[:out.shape.as_list()[0] * 2].reshape(-1, 2) \
            if out.shape.as_list()[0] else None
        g = tf.gradients(tf.reduce_sum(out * (w if w is not None else 1.0)), x)[0] \
            if w is not None else tf.gradients(tf.reduce_sum(tf.gather(out, [0, 2])), x)[0]
        with tf.Session() as sess:
            results.append((out.name, out.shape.as_list(),
                            sess.run([out, g], {x: DATA.astype(np.float32)})))
    (tn, ts, tv), (gn, gs, gv) = results
    assert (gn, gs) == (tn, ts)
    for t, v in zip(tv, gv, strict=True):
        np.testing.assert_allclose(v, t, rtol=2e-6)

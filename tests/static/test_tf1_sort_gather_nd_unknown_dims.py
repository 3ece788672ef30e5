"""``tf.sort``, ``tf.argsort`` and ``tf.gather_nd`` on inputs with unknown (``None``) dims,
the sorted axis and the indexed dims included: shapes when built, values against numpy and
gradients against the scatter numpy gives, on every executor, for two fed sizes of one graph."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

R = np.random.default_rng(77)


def test_sort_and_argsort_along_an_axis_of_unknown_size(executor):
    x = sg.placeholder(sg.float64, [None, None])
    v = sg.placeholder(sg.float64, [None])
    outs = [sg.sort(x), sg.sort(x, axis=0, direction="DESCENDING"), sg.argsort(x, axis=0),
            sg.argsort(v, direction="DESCENDING"), sg.sort(v)]
    assert [o.shape.as_list() for o in outs] == [[None, None]] * 3 + [[None]] * 2
    assert outs[2].dtype == sg.int32
    weights = sg.placeholder(sg.float64, [None, None])
    (g,) = sg.gradients(sg.reduce_sum(outs[0] * weights), [x])
    with sg.Session(executor=executor) as sess:
        for rows, cols in ((3, 5), (4, 2)):
            xv = R.standard_normal((rows, cols))
            xv[0, 0] = xv[0, -1]  # a tie: equal entries by position
            vv = np.round(R.standard_normal(cols + 1), 1)
            wv = R.standard_normal((rows, cols))
            got = sess.run(outs + [g], {x: xv, v: vv, weights: wv})
            np.testing.assert_array_equal(got[0], np.sort(xv, 1))
            np.testing.assert_array_equal(got[1], -np.sort(-xv, 0))
            np.testing.assert_array_equal(got[2], np.argsort(xv, 0, kind="stable"))
            np.testing.assert_array_equal(got[3], np.argsort(-vv, kind="stable"))
            np.testing.assert_array_equal(got[4], np.sort(vv))
            want = np.zeros_like(xv)
            np.put_along_axis(want, np.argsort(xv, 1, kind="stable"), wv, 1)
            np.testing.assert_allclose(got[5], want, rtol=1e-12)


def test_gather_nd_with_unknown_indexed_and_batch_dims(executor):
    p = sg.placeholder(sg.float64, [None, None, 3])
    idx = sg.placeholder(sg.int32, [None, None, 2])
    full = sg.placeholder(sg.int64, [None, 3])
    out, scalars = sg.gather_nd(p, idx), sg.gather_nd(p, full)
    assert out.shape.as_list() == [None, None, 3] and scalars.shape.as_list() == [None]
    (g,) = sg.gradients(sg.reduce_sum(out * out) + sg.reduce_sum(scalars), [p])
    with sg.Session(executor=executor) as sess:
        for shape, batch in (((3, 4, 3), (2, 3)), ((2, 5, 3), (4, 1))):
            pv = R.standard_normal(shape)
            iv = np.stack([R.integers(0, shape[0], batch), R.integers(0, shape[1], batch)], -1)
            fv = np.stack([R.integers(0, d, 4) for d in shape], -1)
            got, sv, gv = sess.run([out, scalars, g], {p: pv, idx: iv, full: fv})
            want = pv[iv[..., 0], iv[..., 1]]
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(sv, pv[fv[:, 0], fv[:, 1], fv[:, 2]])
            gw = np.zeros_like(pv)
            np.add.at(gw, (iv[..., 0], iv[..., 1]), 2 * want)
            np.add.at(gw, (fv[:, 0], fv[:, 1], fv[:, 2]), 1.0)
            np.testing.assert_allclose(gv, gw, rtol=1e-12)


@pytest.mark.parametrize("build,exc,text", [
    (lambda: sg.gather_nd(sg.placeholder(sg.float32, [None, None, None]), [[0, 1]]),
     NotImplementedError, r"tf.gather_nd of Placeholder.*unknown dims both among the 2 indexed"),
    (lambda: sg.nn.top_k(sg.placeholder(sg.float32, [None]), -1), ValueError,
     "Need k >= 0, got -1"),
    (lambda: sg.sort(sg.placeholder(sg.bool, [None])), TypeError, "DataType bool"),
])
def test_what_is_not_covered_says_so(build, exc, text):
    with sg.Graph().as_default(), pytest.raises(exc, match=text):
        build()

"""The new registry records in the static mode: ``tf.atan2``, ``tf.sinh``, ``tf.cosh``,
``tf.asinh``, ``tf.lgamma``, ``tf.digamma``, ``tf.math.erfinv``, ``tf.truncatemod`` build TF's
nodes, agree with numpy on the reference and the compiled executor (unfused numpy steps there),
and their ``tf.gradients`` are the records' VJPs (``TruncateMod``'s is PyTorch's ``fmod``
gradient; TF registers none)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import staticgraph as tf

X = np.array([0.3, -1.2, 2.0, 0.7], np.float32)
Y = np.array([1.0, 0.5, -2.0, 0.1], np.float32)
_lgamma = np.vectorize(math.lgamma)


def _erfinv(v: float) -> float:
    lo, hi = -6.0, 6.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erf(mid) < v else (lo, mid)
    return (lo + hi) / 2


# name, build(x, y), numpy value, numpy d/dx of the sum (None: no gradient)
ROWS = [
    ("Atan2", lambda x, y: tf.atan2(x, y), np.arctan2(X, Y), Y / (X * X + Y * Y)),
    ("Sinh", lambda x, y: tf.sinh(x), np.sinh(X), np.cosh(X)),
    ("Cosh", lambda x, y: tf.math.cosh(x), np.cosh(X), np.sinh(X)),
    ("Asinh", lambda x, y: tf.asinh(x), np.arcsinh(X), 1 / np.sqrt(X * X + 1)),
    ("Lgamma", lambda x, y: tf.lgamma(x + 3), _lgamma(X.astype(np.float64) + 3), None),
    ("Digamma", lambda x, y: tf.math.digamma(x + 3), None, None),
    ("erfinv/Erfinv", lambda x, y: tf.math.erfinv(x * 0.3), None,
     math.sqrt(math.pi) / 2 * 0.3 * np.exp(np.asarray(
         [v for v in map(lambda t: _erfinv(t), X * 0.3)]) ** 2)),
    ("TruncateMod", lambda x, y: tf.truncatemod(x * 3, y), np.fmod(X * 3, Y), np.full(4, 3.0)),
]


@pytest.mark.parametrize("executor", ["reference", "numba"])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_static_values_names_and_gradients(row, executor):
    name, build, value, grad = row
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [4])
        y = tf.placeholder(tf.float32, [4])
        out = build(x, y)
        assert out.op.name == name
        (g,) = tf.gradients(tf.reduce_sum(out), [x])
        if isinstance(grad, str):
            assert g is None
            fetch = [out]
        else:
            fetch = [out, g]
        with tf.Session(executor=executor) as s:
            got = s.run(fetch, {x: X, y: Y})
    assert got[0].dtype == np.float32
    if value is not None:
        np.testing.assert_allclose(got[0], value, rtol=1e-5, atol=1e-6)
    if grad is not None and not isinstance(grad, str):
        np.testing.assert_allclose(got[1], grad, rtol=1e-4, atol=1e-6)


def test_static_dtype_check():
    with tf.Graph().as_default():
        i = tf.placeholder(tf.int32, [2])
        with pytest.raises(TypeError, match="not in list of allowed values"):
            tf.atan2(i, i)

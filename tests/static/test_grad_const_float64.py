"""A float64 0-d constant input of an elementwise op keeps float64 in its gradient (fuzz seeds
8498, 9591: ``atan2(x, c)``'s rule squared the constant as a weak Python float, in float32,
and the float64 gradient was 3e-8 off)."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf
from staticgraph import ops


@pytest.mark.parametrize("executor", ["reference", None])
def test_atan2_gradient_with_a_float64_constant_is_float64_exact(executor):
    c = -0.739118253136676
    xv = np.array([-1.156910491105935, -1.4349570838455152])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None])
        y = ops.atan2(x, tf.constant(np.float64(c)))
        (g,) = tf.gradients([y], [x])
        (h,) = tf.gradients([g], [x])
        with tf.Session(executor=executor) as sess:
            gv, hv = sess.run([g, h], {x: xv})
    d = xv * xv + c * c
    np.testing.assert_allclose(gv, c / d, rtol=1e-15)
    np.testing.assert_allclose(hv, -2 * c * xv / d**2, rtol=1e-14)
    assert gv.dtype == np.float64


def test_pow_with_a_float64_constant_exponent_keeps_its_constant_form():
    """The constant still reaches the rule as a Python number (``pow``'s constant-exponent
    form: no ``log(x)`` term, so a negative base has a finite gradient)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None])
        (g,) = tf.gradients([ops.pow(x, tf.constant(np.float64(3.0)))], [x])
        with tf.Session(executor="reference") as sess:
            gv = sess.run(g, {x: np.array([-2.0, 0.5])})
    np.testing.assert_allclose(gv, 3 * np.array([-2.0, 0.5]) ** 2, rtol=1e-15)

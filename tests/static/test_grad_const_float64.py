"""Gradient values the fuzzer found off (triage10). A float64 0-d constant input of an
elementwise op keeps float64 in its gradient (fuzz seeds 8498, 9591: ``atan2(x, c)``'s rule
squared the constant as a weak Python float, in float32, and the float64 gradient was 3e-8
off); ``tf.nn.elu``'s second derivative at 0 is TF's 0 (seed 43332)."""

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


@pytest.mark.parametrize("executor", ["reference", None])
def test_elu_second_derivative_at_zero_is_tfs(executor):
    """Fuzz seed 43332: TF's ``_EluGradGrad`` gives 0 at ``x = 0`` (``where(y < 0)``), and 1 as
    the first derivative there; elsewhere ``exp(x)`` below 0 and 0 above."""
    xv = np.array([0.0, -0.0, -0.5, 0.5])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None])
        y = tf.nn.elu(x)
        (g,) = tf.gradients([y], [x])
        (h,) = tf.gradients([g], [x])
        with tf.Session(executor=executor) as sess:
            yv, gv, hv = sess.run([y, g, h], {x: xv})
    np.testing.assert_array_equal(yv, [0.0, -0.0, np.expm1(-0.5), 0.5])
    np.testing.assert_allclose(gv, [1.0, 1.0, np.exp(-0.5), 1.0], rtol=1e-15)
    np.testing.assert_allclose(hv, [0.0, 0.0, np.exp(-0.5), 0.0], rtol=1e-15)

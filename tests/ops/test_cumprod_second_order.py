"""cumprod's second derivative against finite differences of its (exact) first derivative.

Fuzz seed 26773 (`python -m tests.fuzz --seed 26700 --edge 0.1 --max-nodes 14`): at a zero input
the registry's first-order rule is exact (PyTorch's ``cumprod_backward``), but it drops the
terms ``g_j * out_j`` of outputs whose only zero factor is that input, whose derivative with
respect to the zero is not zero. So the second derivative there is 0 in both modes, where
PyTorch and finite differences give the true value. Known and open (the rule's docstring says
so); the strict xfail turns red when the rule is fixed, so the marker goes with the fix.
"""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf
from staticgraph import ops


def _second_order(x: np.ndarray, gv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the rule's d/dx <g(x), gv>, central differences of it), g = d sum(cumprod_rev(x)) / dx."""
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float64, [None, 3, 2])
        q = tf.placeholder(tf.float64, [None, 3, 2])
        g = tf.gradients(ops.cumprod(p, 1, reverse=True), [p])[0]
        h = tf.gradients(g, [p], grad_ys=q)[0]
        with tf.Session(executor="reference") as sess:
            got = sess.run(h, {p: x, q: gv})
            fd = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                a, b = x.copy(), x.copy()
                a[i] += 1e-6
                b[i] -= 1e-6
                fd[i] = ((sess.run(g, {p: a}) - sess.run(g, {p: b})) * gv).sum() / 2e-6
    return got, fd


GV = np.array([[[0.7, -0.4], [1.1, 0.3], [-0.9, 0.8]]])


def test_second_order_without_zeros_matches_finite_differences():
    x = np.array([[[0.6, 0.5], [0.32, -1.2], [1.87, 1.93]]])
    got, fd = _second_order(x, GV)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6)


@pytest.mark.xfail(strict=True, reason="cumprod's rule drops zero-factor terms whose derivative "
                   "at the zero is not zero (fuzz seed 26773)")
def test_second_order_at_a_zero_matches_finite_differences():
    x = np.array([[[-0.0, 0.5], [0.32, 0.0], [1.87, 1.93]]])
    got, fd = _second_order(x, GV)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6)

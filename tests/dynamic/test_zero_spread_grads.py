"""Gradients at the origin of roots: ``std``/``var`` at zero spread, ``norm``/``vector_norm``
of a zero vector and ``p < 1`` norms at zero entries are 0 in the eager mode (PyTorch masks
them), NaN in the static mode (TF does not: ``tf.norm``, ``tf.math.reduce_std``); both through
``ops.root_zero_grad``/``ops.abs_pow_zero_grad`` or the plain ops, against PyTorch when
installed."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
import staticgraph as tf

CASES = {
    "std": (lambda m, x: x.std(), [2.0, 2.0, 2.0]),
    "std_dim": (lambda m, x: x.reshape(1, 3).std(1).sum(), [2.0, 2.0, 2.0]),
    "std_biased": (lambda m, x: x.std(unbiased=False), [-1.0, -1.0, -1.0]),
    "norm": (lambda m, x: x.norm(), [0.0, 0.0, 0.0]),
    "vector_norm_3": (lambda m, x: m.linalg.vector_norm(x, 3), [0.0, 0.0, 0.0]),
    "vector_norm_half": (lambda m, x: m.linalg.vector_norm(x, 0.5), [0.0, 0.0, 0.0]),
    "vector_norm_half_partial": (lambda m, x: m.linalg.vector_norm(x, 0.5), [0.0, 4.0, 0.0]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_eager_gradient_is_zero_where_pytorch_masks(name):
    f, at = CASES[name]
    x = torch.tensor(at, dtype=torch.float64, requires_grad=True)
    f(torch, x).backward()
    assert np.isfinite(x.grad.numpy()).all()
    if name == "vector_norm_half_partial":  # d/dx1 (sqrt|x1|)^2 = 1 at x1 = 4; the zeros give 0
        np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 0.0])
    else:
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_pytorch_when_installed(name):
    real = pytest.importorskip("torch")
    f, at = CASES[name]
    ours = torch.tensor(at, dtype=torch.float64, requires_grad=True)
    ref = real.tensor(at, dtype=real.float64, requires_grad=True)
    f(torch, ours).backward()
    f(real, ref).backward()
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy())


def test_values_away_from_zero_unchanged():
    a = np.array([1.0, -2.0, 4.0])
    x = torch.tensor(a, requires_grad=True)
    s = x.std()
    s.backward()
    np.testing.assert_allclose(float(s), np.std(a, ddof=1))
    np.testing.assert_allclose(x.grad.numpy(), (a - a.mean()) / (2 * np.std(a, ddof=1)))


def test_static_gradients_are_nan_as_tf():
    """TF 2.21: ``tf.gradients(tf.norm(x), x)`` at 0 and of ``reduce_std`` at zero spread are
    NaN (its sqrt gradient is ``g / (2 * 0)``); the 1-norm's is 0."""
    x = tf.placeholder(tf.float64, [3])
    gn, gs, g1 = (tf.gradients(f(x), [x])[0] for f in
                  (tf.norm, tf.math.reduce_std, lambda v: tf.norm(v, ord=1)))
    with tf.Session() as sess:
        at_zero = sess.run([gn, g1], {x: np.zeros(3)})
        at_spread = sess.run(gs, {x: np.full(3, 2.0)})
    assert np.isnan(at_zero[0]).all() and np.isnan(at_spread).all()
    np.testing.assert_array_equal(at_zero[1], np.zeros(3))

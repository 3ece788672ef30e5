"""``tf.linalg.qr``/``tf.linalg.svd`` (and ``tf.qr``/``tf.svd``), differentiable through the
registry's QR/SVD records shared with ``torch.linalg``: values against numpy, gradients against
central differences on every executor and against TF 2.21 when installed (singular vectors
through sign-invariant functions); ``tf.gradients`` of ``slogdet``'s sign is zeros (TF)."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf

RNG = np.random.default_rng(9)


def _qr_loss(lib, a, full, w):
    q, r = lib.linalg.qr(a, full_matrices=full)
    return lib.reduce_sum(q * w[0]) + lib.reduce_sum(r * w[1])


def _svd_loss(lib, a, full, w):
    s, u, v = lib.linalg.svd(a, full_matrices=full)
    k = w[1].shape[-1]
    recon = lib.matmul(u[..., :k] * w[3][..., None, :], v[..., :k], transpose_b=True)
    return (lib.reduce_sum(u * u * w[0]) + lib.reduce_sum(s * w[1])
            + lib.reduce_sum(v * v * w[2]) + lib.reduce_sum(recon * w[4]))


def _qr_weights(shape, full):
    q, r = np.linalg.qr(np.zeros(shape), mode="complete" if full else "reduced")
    return [RNG.standard_normal(q.shape), RNG.standard_normal(r.shape)]


def _svd_weights(shape, full):
    u, s, vh = np.linalg.svd(RNG.standard_normal(shape), full_matrices=full)
    v = np.swapaxes(vh, -1, -2)  # TF's third output
    return [RNG.standard_normal(x) for x in (u.shape, s.shape, v.shape, s.shape, shape)]


CASES = [("qr", (4, 3), False), ("qr", (3, 5), False), ("qr", (2, 3, 3), True),
         ("qr", (2, 3, 4), True), ("svd", (4, 3), False), ("svd", (3, 5), False),
         ("svd", (2, 3, 3), True), ("svd", (2, 4, 2), False), ("svd", (4, 3), True),
         ("svd", (3, 4), True), ("svd", (2, 3, 2), True)]
"""A full SVD of a non-square matrix is differentiable when ``|m - n| == 1`` (TF's
``_SvdGrad``: the extra singular vector is fixed up to sign by the others)."""


def _run(lib, kind, a_val, full, w, **session):
    g = lib.Graph()
    with g.as_default():
        a = lib.placeholder(lib.float64, a_val.shape)
        loss = (_qr_loss if kind == "qr" else _svd_loss)(lib, a, full, w)
        (ga,) = lib.gradients(loss, [a])
        with lib.Session(graph=g, **session) as sess:
            f = lambda v: float(sess.run(loss, {a: v}))  # noqa: E731
            return f, sess.run(ga, {a: a_val})


@pytest.mark.parametrize("kind,shape,full", CASES)
def test_gradient_matches_finite_differences(executor, kind, shape, full):
    a = RNG.standard_normal(shape)
    w = (_qr_weights if kind == "qr" else _svd_weights)(shape, full)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, shape)
        loss = (_qr_loss if kind == "qr" else _svd_loss)(tf, x, full, w)
        (gx,) = tf.gradients(loss, [x])
        with tf.Session(graph=g, executor=executor) as sess:
            got = sess.run(gx, {x: a})
            fd = np.zeros_like(a)
            for i in np.ndindex(shape):
                e = np.zeros_like(a)
                e[i] = 1e-6
                fd[i] = (sess.run(loss, {x: a + e}) - sess.run(loss, {x: a - e})) / 2e-6
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-7)


def test_values_and_names():
    a = RNG.standard_normal((2, 4, 3))
    q, r = tf.qr(tf.constant(a))
    s, u, v = tf.svd(tf.constant(a))
    s_only = tf.linalg.svd(tf.constant(a), compute_uv=False)
    with tf.Session() as sess:
        qv, rv, sv, uv, vv, so = sess.run([q, r, s, u, v, s_only])
    np.testing.assert_allclose(qv @ rv, a, atol=1e-12)
    np.testing.assert_allclose(uv @ (sv[..., None] * np.swapaxes(vv, -1, -2)), a, atol=1e-12)
    np.testing.assert_allclose(so, np.linalg.svd(a, compute_uv=False), rtol=1e-12)
    assert q.op.name == "Qr" and s.op.name == "Svd"


def test_refused_gradients_and_slogdet_sign():
    a = tf.placeholder(tf.float64, [4, 3])
    q, _ = tf.linalg.qr(a, full_matrices=True)
    with pytest.raises(NotImplementedError, match="not differentiable"):
        tf.gradients(tf.reduce_sum(q), [a])
    wide = tf.placeholder(tf.float64, [2, 4])  # |m - n| > 1: TF's NotImplementedError
    _, u, v = tf.linalg.svd(wide, full_matrices=True)
    for f in (u, v):
        with pytest.raises(NotImplementedError, match=r"abs\(m - n\) > 1.*2x4"):
            tf.gradients(tf.reduce_sum(f), [wide])
    sq = tf.placeholder(tf.float64, [3, 3])
    sign, _ = tf.linalg.slogdet(sq)
    (gs,) = tf.gradients(sign, [sq])
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(gs, {sq: RNG.standard_normal((3, 3))}),
                                      np.zeros((3, 3)))


@pytest.mark.parametrize("kind,shape,full", CASES)
def test_against_tensorflow_when_installed(kind, shape, full):
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    a = RNG.standard_normal(shape)
    w = (_qr_weights if kind == "qr" else _svd_weights)(shape, full)
    _, ours = _run(tf, kind, a, full, w)
    _, theirs = _run(tf1, kind, a, full, w)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)

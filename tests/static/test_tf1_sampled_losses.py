"""``tf.nn.sampled_softmax_loss``, ``tf.nn.nce_loss`` and ``tf.nn.log_uniform_candidate_sampler``:
with given ``sampled_values`` the losses are deterministic, checked against a numpy reference,
central differences and TensorFlow's ``compat.v1`` (where installed); the sampler's draws (not
TF's numbers) for range, distinctness, freshness per run and frequency order."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

from .conftest import central_difference

R = np.random.default_rng(5)
W, B, X = R.standard_normal((10, 4)), R.standard_normal(10), R.standard_normal((3, 4))
LABELS = np.array([[1, 2], [0, 5], [7, 7]])
SAMPLED = np.array([2, 3, 8, 0])  # 2 and 0 hit true classes of rows 0 and 1
# float32 values (the expected counts are float32, as TF's)
Q_TRUE = R.uniform(0.1, 0.9, (3, 2)).astype(np.float32).astype(np.float64)
Q_SAMPLED = R.uniform(0.1, 0.9, 4).astype(np.float32).astype(np.float64)


def _np_logits(x: np.ndarray, hits: bool) -> tuple[np.ndarray, np.ndarray]:
    """TF's ``_compute_sampled_logits`` in numpy (num_true = 2)."""
    true = np.einsum("bd,btd->bt", x, W[LABELS]) + B[LABELS] - np.log(Q_TRUE)
    samp = x @ W[SAMPLED].T + B[SAMPLED] - np.log(Q_SAMPLED)
    if hits:
        samp = np.where((LABELS[:, :, None] == SAMPLED).any(1), -np.finfo(x.dtype).max, samp)
    return np.concatenate([true, samp], 1), np.concatenate([np.full((3, 2), 0.5),
                                                            np.zeros((3, 4))], 1)


def _np_softmax_loss(x: np.ndarray) -> np.ndarray:
    logits, lab = _np_logits(x, True)
    m = logits.max(1, keepdims=True)
    return -(lab * (logits - m - np.log(np.exp(logits - m).sum(1, keepdims=True)))).sum(1)


def _np_nce(x: np.ndarray) -> np.ndarray:
    z, lab = _np_logits(x, False)
    return (np.maximum(z, 0) - z * lab + np.log1p(np.exp(-np.abs(z)))).sum(1)


def _losses(tf, dtype):
    cast = (lambda a: a.astype(np.float64)) if dtype == tf.float64 else \
        (lambda a: a.astype(np.float32))
    w, b = tf.constant(cast(W)), tf.constant(cast(B))
    x = tf.placeholder(dtype, [3, 4])
    sv = (tf.constant(SAMPLED.astype(np.int64)), tf.constant(Q_TRUE.astype(np.float32)),
          tf.constant(Q_SAMPLED.astype(np.float32)))
    s = tf.nn.sampled_softmax_loss(w, b, LABELS, x, 4, 10, num_true=2, sampled_values=sv)
    n = tf.nn.nce_loss(w, b, LABELS, x, 4, 10, num_true=2, sampled_values=sv)
    return x, w, b, s, n


def test_losses_match_numpy_and_central_differences(executor):
    x, w, b, s, n = _losses(sg, sg.float64)
    gs, gn = (sg.gradients(sg.reduce_sum(t), [x])[0] for t in (s, n))
    gw = sg.gradients(sg.reduce_sum(s) + sg.reduce_sum(n), [w])[0]
    assert isinstance(gw, sg.IndexedSlices)  # rows of w are looked up: TF's sparse gradient
    gw = sg.convert_to_tensor(gw)
    with sg.Session(executor=executor) as sess:
        sv, nv, gsv, gnv, gwv = sess.run([s, n, gs, gn, gw], {x: X})
    np.testing.assert_allclose(sv, _np_softmax_loss(X), rtol=1e-12)
    np.testing.assert_allclose(nv, _np_nce(X), rtol=1e-12)
    np.testing.assert_allclose(gsv, central_difference(lambda v: _np_softmax_loss(v).sum(), X),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gnv, central_difference(lambda v: _np_nce(v).sum(), X),
                               rtol=1e-6, atol=1e-8)
    assert gwv.shape == W.shape and not gwv[[4, 6, 9]].any()  # classes never looked up


def test_losses_match_tensorflow():
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    tf1.disable_eager_execution()
    got = []
    for tf in (tf1, sg):
        tf.reset_default_graph()
        x, w, b, s, n = _losses(tf, tf.float32)
        grads = [tf.convert_to_tensor(g) for g in
                 tf.gradients(tf.reduce_sum(s) * 2.0 + tf.reduce_sum(n), [x, w, b])]
        with tf.Session() as sess:
            got.append(sess.run([s, n] + grads, {x: X.astype(np.float32)}))
    for t, m in zip(*got, strict=True):
        np.testing.assert_allclose(m, t, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("unique", [True, False])
def test_log_uniform_sampler_draws(unique, executor):
    true = sg.constant(np.array([[0], [3]], np.int64))
    sampled, q_true, q_sampled = sg.nn.log_uniform_candidate_sampler(true, 1, 20, unique, 50,
                                                                     seed=3)
    with sg.Session(executor=executor) as sess:
        draws = [sess.run([sampled, q_true, q_sampled]) for _ in range(200)]
    ids = np.stack([d[0] for d in draws])
    assert ids.dtype == np.int64 and ids.shape == (200, 20)
    assert ((0 <= ids) & (ids < 50)).all()
    if unique:
        assert all(len(set(r)) == 20 for r in ids)
    assert len({tuple(r) for r in ids}) > 150  # new on every run
    counts = np.bincount(ids.ravel(), minlength=50)
    assert counts[:5].sum() > counts[-5:].sum() * 3  # frequent (low) ids first
    p = np.log((np.arange(50) + 2) / (np.arange(50) + 1)) / np.log(51)
    want = -np.expm1(20 * np.log1p(-p)) if unique else 20 * p
    np.testing.assert_allclose(draws[0][1][:, 0], want[[0, 3]], rtol=1e-6)
    np.testing.assert_allclose(draws[0][2], want[draws[0][0]], rtol=1e-6)


def test_default_sampler_trains_a_word2vec_style_model():
    """The default path (sampled_values=None) in a small training loop: the loss falls."""
    sg.set_random_seed(1)
    emb = sg.Variable(sg.random_uniform([30, 8], -1.0, 1.0, seed=1))
    w = sg.Variable(sg.truncated_normal([30, 8], stddev=0.3, seed=2))
    b = sg.Variable(sg.zeros([30]))
    words = sg.placeholder(sg.int32, [16])
    ctx = sg.placeholder(sg.int64, [16, 1])
    x = sg.nn.embedding_lookup(emb, words)
    loss = sg.reduce_mean(sg.nn.nce_loss(w, b, ctx, x, 5, 30))
    s_loss = sg.reduce_mean(sg.nn.sampled_softmax_loss(w, b, ctx, x, 5, 30))
    step = sg.train.GradientDescentOptimizer(0.5).minimize(loss + s_loss)
    wv = np.arange(16) % 30
    cv = ((wv + 1) % 30)[:, None]
    with sg.Session() as sess:
        sess.run(sg.global_variables_initializer())
        first = np.mean([sess.run(loss, {words: wv, ctx: cv}) for _ in range(5)])
        for _ in range(300):
            sess.run(step, {words: wv, ctx: cv})
        last = np.mean([sess.run(loss, {words: wv, ctx: cv}) for _ in range(5)])
    assert np.isfinite(last) and last < 0.5 * first

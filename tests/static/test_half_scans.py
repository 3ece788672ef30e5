"""float16 scans and products on every executor: computed in float32 and rounded once, as
PyTorch's CPU kernels (fuzz cases ``f16-cumsum``, ``f16-cumprod``, ``f16-prod-outer-axis``).
numpy's float16 ``cumsum`` adds in float16 (3000 ones end at 2048), ``cumprod`` and ``prod``
over an outer axis multiply in float16 (1 ulp per step). The compiled plans run float16 nodes
as numpy steps (generated code has no float16): the same kernel, the same bits."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf


def _data() -> np.ndarray:
    a = np.ones((3000, 3), np.float16)
    a[:, 1] = np.float16(1.00098)  # one ulp above 1: its float16 running product drifts
    a[:, 2] = np.random.default_rng(5).uniform(0.5, 1.5, 3000).astype(np.float16)
    return a


def _float32_once(fn, a: np.ndarray, **kw) -> np.ndarray:
    return fn(a.astype(np.float32), axis=0, **kw).astype(np.float16)


def test_float16_scans_and_prod_round_once_on_every_executor(executor):
    a = _data()
    x = tf.placeholder(tf.float16, [None, 3])
    outs = [tf.cumsum(x, 0), tf.cumsum(x, 0, exclusive=True, reverse=True) * 1.0,
            tf.cumprod(x, 0), tf.cumprod(x, 0, exclusive=True) + 0.0, tf.reduce_prod(x, 0)]
    with tf.Session(executor=executor) as sess:
        got = sess.run(outs, {x: a})
    ones = np.ones((1, 3), np.float16)
    want = [_float32_once(np.cumsum, a),
            np.concatenate([_float32_once(np.cumsum, a[::-1])[::-1][1:], 0 * ones]),
            _float32_once(np.cumprod, a),
            np.concatenate([ones, _float32_once(np.cumprod, a)[:-1]]),
            _float32_once(np.prod, a)]
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.float16
        np.testing.assert_array_equal(g, w)
    assert got[0][-1, 0] == 3000 and got[2][-1, 1] == np.float16(18.69)  # float16 steps: 2048


def test_float16_scans_match_torch_bit_for_bit():
    """PyTorch's float16 cumsum/cumprod accumulate in float32 (its opmath) and round each
    output once: the same bits, also past an overflow that a later factor brings back."""
    torch = pytest.importorskip("torch")
    a = _data()
    b = np.asarray([6e4, 6e4, 1e-5, 1e-5], np.float16)  # float16 steps: inf, inf, inf
    x = tf.placeholder(tf.float16, [None, 3])
    y = tf.placeholder(tf.float16, [None])
    with tf.Session() as sess:
        cs, cp, cpb = sess.run([tf.cumsum(x, 0), tf.cumprod(x, 0), tf.cumprod(y, 0)],
                               {x: a, y: b})
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    np.testing.assert_array_equal(cs, torch.cumsum(ta, 0).numpy())
    np.testing.assert_array_equal(cp, torch.cumprod(ta, 0).numpy())
    np.testing.assert_array_equal(cpb, torch.cumprod(tb, 0).numpy())
    assert np.isinf(cpb[1]) and np.isfinite(cpb[2])

"""A shared table of programs, written once with the registry's public op functions, run as a
static graph through ``Session`` (every executor), against an independent numpy formula, with
gradients (``tf.gradients``) against central finite differences, and against the eager mode
(``dynamic``) when it imports.

One ``Session.run`` per program and executor fetches the output and all gradients, so a
compiling executor compiles each graph once.
"""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf
from staticgraph import ops

R = np.random.default_rng(42)


def _a(*shape, lo=-1.5, hi=1.5):
    return R.uniform(lo, hi, shape)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


LABELS = np.array([2, 0, 1])
# name, program over registry ops, the same in plain numpy, inputs (the first gets a None dim)
TABLE = [
    ("seed", lambda x, w: ops.mul(ops.add(x, w), ops.add(w, 1.0)),
     lambda x, w: (x + w) * (w + 1), {"x": _a(2, 3), "w": _a(3)}),
    ("dense_relu", lambda x, W, b: ops.relu(ops.add(ops.matmul(x, W), b)),
     lambda x, W, b: np.maximum(x @ W + b, 0), {"x": _a(3, 4), "W": _a(4, 2), "b": _a(2)}),
    ("softmax_ce", lambda x, W: ops.nll_loss(ops.log_softmax(ops.matmul(x, W), 1), LABELS),
     lambda x, W: -_log_softmax(x @ W, 1)[np.arange(3), LABELS].mean(),
     {"x": _a(3, 4), "W": _a(4, 3)}),
    ("reductions", lambda x: ops.sub(ops.sum(ops.div(ops.exp(x), ops.add(ops.abs(x), 1.0)), 0),
                                     ops.amax(x, 0)),
     lambda x: (np.exp(x) / (np.abs(x) + 1)).sum(0) - x.max(0), {"x": _a(3, 4)}),
    ("broadcast", lambda x, w: ops.sub(ops.mul(x, w), ops.sqrt(ops.add(ops.mul(w, w), 1.0))),
     lambda x, w: x * w - np.sqrt(w * w + 1), {"x": _a(3, 1), "w": _a(4)}),
    ("sigmoid_pow_tanh", lambda x, w: ops.add(ops.pow(ops.sigmoid(x), 2.0),
                                              ops.mul(ops.tanh(x), w)),
     lambda x, w: _sig(x) ** 2 + np.tanh(x) * w, {"x": _a(2, 3), "w": _a(2, 3)}),
    ("where_maximum", lambda x, w: ops.add(ops.where(ops.gt(x, 0.0), x, ops.mul(x, 0.1)),
                                           ops.maximum(x, w)),
     lambda x, w: np.where(x > 0, x, 0.1 * x) + np.maximum(x, w),
     {"x": _a(2, 3), "w": _a(2, 3)}),
    ("shapes", lambda x, w: ops.mul(ops.reshape(ops.permute(ops.cat([x, w], 0), (1, 0)), (-1,)),
                                    ops.reshape(ops.stack([w, w], 0), (-1,))),
     lambda x, w: np.concatenate([x, w], 0).T.reshape(-1) * np.stack([w, w]).reshape(-1),
     {"x": _a(1, 3), "w": _a(1, 3)}),
    ("softmax_logsumexp", lambda x, w: ops.add(ops.mul(ops.softmax(x, 1), w),
                                               ops.logsumexp(x, 1, keepdim=True)),
     lambda x, w: np.exp(_log_softmax(x, 1)) * w + np.log(np.exp(x).sum(1, keepdims=True)),
     {"x": _a(2, 3), "w": _a(3)}),
    ("log_div_mean", lambda x, w: ops.mean(ops.div(ops.log(ops.add(ops.square(x), 1.0)),
                                                   ops.add(ops.mul(w, w), 1.0)), 1),
     lambda x, w: (np.log(x * x + 1) / (w * w + 1)).mean(1), {"x": _a(2, 3), "w": _a(2, 3)}),
]
IDS = [t[0] for t in TABLE]


def _finite_diff(np_fn, inputs, name, weights, eps=1e-6):
    base = {k: v.copy() for k, v in inputs.items()}
    x = base[name]
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        fp = np.sum(np_fn(**base) * weights)
        x[idx] = old - eps
        fm = np.sum(np_fn(**base) * weights)
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * eps)
    return grad


def _build(prog, inputs, dtype=tf.float64):
    phs = {}
    for i, (k, v) in enumerate(inputs.items()):
        shape = [None] + list(v.shape[1:]) if i == 0 and v.ndim else list(v.shape)
        phs[k] = tf.placeholder(dtype, shape, name=k)
    y = prog(**phs)
    return phs, y


@pytest.mark.parametrize("name,prog,np_fn,inputs", TABLE, ids=IDS)
def test_static_matches_numpy_and_finite_differences(name, prog, np_fn, inputs, executor):
    phs, y = _build(prog, inputs)
    expected = np_fn(**inputs)
    weights = R.standard_normal(np.shape(expected))
    loss = tf.reduce_sum(y * weights)
    grads = tf.gradients(loss, list(phs.values()))
    assert all(g is not None for g in grads), f"{name}: every input reaches the output"
    with tf.Session(executor=executor) as sess:
        out, *gvals = sess.run([y, *grads], {phs[k]: v for k, v in inputs.items()})
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    for k, gv in zip(phs, gvals, strict=True):
        assert gv.shape == inputs[k].shape, f"{name}: gradient of {k} has the input's shape"
        np.testing.assert_allclose(gv, _finite_diff(np_fn, inputs, k, weights), rtol=1e-5,
                                   atol=1e-6, err_msg=f"{name}: d/d{k}")


def _dynamic():
    try:
        import dynamic
    except Exception:  # the eager mode is built in parallel; compare once it imports
        return None
    return dynamic if hasattr(dynamic, "tensor") else None


@pytest.mark.parametrize("name,prog,np_fn,inputs", TABLE, ids=IDS)
def test_static_matches_eager_mode(name, prog, np_fn, inputs):
    dyn = _dynamic()
    if dyn is None:
        pytest.skip("the eager mode (dynamic) is not importable yet")
    ts = {k: dyn.tensor(v, requires_grad=True) for k, v in inputs.items()}
    out = prog(**ts)
    weights = R.standard_normal(tuple(out.shape))
    ops.sum(ops.mul(out, dyn.tensor(weights))).backward()
    phs, y = _build(prog, inputs)
    grads = tf.gradients(tf.reduce_sum(y * weights), list(phs.values()))
    with tf.Session(executor="reference") as sess:
        s_out, *s_grads = sess.run([y, *grads], {phs[k]: v for k, v in inputs.items()})
    np.testing.assert_allclose(s_out, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for k, g in zip(ts, s_grads, strict=True):
        np.testing.assert_allclose(g, ts[k].grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=f"{name}: d/d{k}")


def test_float32_graph_keeps_float32(executor):
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.constant(np.array([1.0, 2.0, 3.0], np.float32))
    y = tf.nn.softmax(x * w + 1.0)
    (g,) = tf.gradients(tf.reduce_sum(y * y), [x])
    assert y.dtype == tf.float32 and g.dtype == tf.float32
    xv = _a(2, 3).astype(np.float32)
    with tf.Session(executor=executor) as sess:
        out, gv = sess.run([y, g], {x: xv})
    assert out.dtype == np.float32 and gv.dtype == np.float32
    z = xv * np.array([1, 2, 3], np.float32) + 1
    e = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(1, keepdims=True), rtol=1e-5)

"""TF1's ``tf.nn.conv1d``, ``conv2d`` with ``dilations``, ``conv3d`` and ``depthwise_conv2d``:
values and gradients on the compiled executor and the reference executor against a direct
numpy loop (always) and against TensorFlow's ``compat.v1`` (where installed)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import staticgraph as sg

RNG = np.random.default_rng(11)
X1, W1 = RNG.standard_normal((2, 9, 4)), RNG.standard_normal((3, 4, 5))
X2, W2 = RNG.standard_normal((2, 7, 6, 3)), RNG.standard_normal((3, 2, 3, 4))
WD = RNG.standard_normal((3, 3, 3, 2))
X3, W3 = RNG.standard_normal((1, 4, 5, 3, 2)), RNG.standard_normal((2, 2, 3, 2, 3))


def _loop(x, w, strides, padding, dilation, depthwise=False):
    """Channels-last cross-correlation by its definition, TF's SAME/VALID padding."""
    nd = x.ndim - 2
    k = w.shape[:nd]
    if depthwise:  # [..., in, mult] -> block-diagonal [..., in, in*mult]
        cin, mult = w.shape[-2:]
        full = np.zeros(k + (cin, cin * mult))
        for c in range(cin):
            full[..., c, c * mult:(c + 1) * mult] = w[..., c, :]
        w = full
    pads, outs = [], []
    for n, ki, s, d in zip(x.shape[1:-1], k, strides, dilation, strict=True):
        eff = d * (ki - 1) + 1
        o = -(-n // s) if padding == "SAME" else (n - eff) // s + 1
        total = max((o - 1) * s + eff - n, 0) if padding == "SAME" else 0
        pads.append((total // 2, total - total // 2))
        outs.append(o)
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    y = np.zeros((x.shape[0],) + tuple(outs) + (w.shape[-1],))
    for pos in itertools.product(*(range(o) for o in outs)):
        for tap in itertools.product(*(range(ki) for ki in k)):
            idx = tuple(p * s + t * d for p, s, t, d in zip(pos, strides, tap, dilation,
                                                            strict=True))
            y[(slice(None),) + pos] += xp[(slice(None),) + idx] @ w[tap]
    return y


def _program(tf, values_only=()):
    """Each conv, its value and its gradients (input and filter) of a weighted sum (the value
    alone for the cases in ``values_only``: TF's CPU kernels have no gradient of a dilated
    ``Conv2D``)."""
    tf.reset_default_graph()
    cases = [
        (lambda x, w: tf.nn.conv1d(x, w, stride=2, padding="SAME"), X1, W1),
        (lambda x, w: tf.nn.conv1d(x, w, stride=1, padding="VALID", dilations=2), X1, W1),
        (lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME", dilations=[1, 2, 1, 1]), X2, W2),
        (lambda x, w: tf.nn.conv3d(x, w, [1, 1, 2, 1, 1], "SAME"), X3, W3),
        (lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "VALID"), X2, WD),
        (lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME", rate=[2, 1]), X2, WD),
    ]
    fetches = []
    for i, (fn, x, w) in enumerate(cases):
        xt, wt = tf.constant(x), tf.Variable(w)
        y = fn(xt, wt)
        g = tf.constant(np.cos(np.arange(np.prod(y.shape.as_list()))).reshape(
            y.shape.as_list()))
        grads = [] if i in values_only else tf.gradients(tf.reduce_sum(y * g), [xt, wt])
        fetches.append([y] + grads)
    return fetches


def _run(tf, fetches, **session_kw):
    with tf.Session(**session_kw) as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches)


@pytest.mark.parametrize("executor", ["reference", None])
def test_values_match_a_direct_loop(executor):
    got = _run(sg, _program(sg), **({"executor": executor} if executor else {}))
    wants = [_loop(X1, W1, (2,), "SAME", (1,)), _loop(X1, W1, (1,), "VALID", (2,)),
             _loop(X2, W2, (1, 1), "SAME", (2, 1)), _loop(X3, W3, (1, 2, 1), "SAME", (1, 1, 1)),
             _loop(X2, WD, (2, 2), "VALID", (1, 1), True),
             _loop(X2, WD, (1, 1), "SAME", (2, 1), True)]
    for (y, _gx, _gw), want in zip(got, wants, strict=True):
        np.testing.assert_allclose(y, want, atol=1e-12)


def test_compiled_gradients_match_the_reference():
    fetches = _program(sg)
    ref, got = _run(sg, fetches, executor="reference"), _run(sg, fetches)
    for r, g in zip(itertools.chain(*ref), itertools.chain(*got), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


def test_same_values_and_gradients_as_tensorflow_v1():
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    tf1.disable_eager_execution()
    ref = _run(tf1, _program(tf1, values_only=(1, 2)))
    got = _run(sg, _program(sg, values_only=(1, 2)))
    for r, g in zip(itertools.chain(*ref), itertools.chain(*got), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10)


def test_errors_name_the_fault():
    sg.reset_default_graph()
    with pytest.raises(ValueError, match=r"Depth of input \(3\) is not a multiple of input depth "
                                         r"of filter \(2\) for 'Conv3D'"):
        sg.nn.conv3d(sg.zeros([1, 2, 2, 2, 3]), sg.zeros([1, 1, 1, 2, 2]), [1] * 5, "SAME")
    with pytest.raises(ValueError, match="filter must be"):
        sg.nn.conv1d(sg.zeros([1, 5, 2]), sg.zeros([2, 2]), 1, "SAME")
    with pytest.raises(ValueError, match="strides must have 1, 3 or 5 entries"):
        sg.nn.conv3d(sg.zeros([1, 2, 2, 2, 2]), sg.zeros([1, 1, 1, 2, 2]), [1, 1], "SAME")

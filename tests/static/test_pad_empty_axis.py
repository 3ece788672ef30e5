"""Constant padding of an axis that is empty when run (found by the fuzzer, seed 323 of the
wide families: ``tf.pad`` of a ``(1, 0)`` feed by ``[[0, 0], [0, 3]]``). The border block was a
one-wide slice of the input, empty along an empty axis: ``tf.pad`` returned ``(1, 0)`` instead
of ``(1, 3)`` zeros, and ``dynamic``'s ``F.pad`` raised a broadcasting error. Both now pad as
TensorFlow and PyTorch do; gradients stay shaped like the input."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as F  # noqa: N812
import staticgraph as tf


@pytest.mark.parametrize("executor", ["reference", None])
@pytest.mark.parametrize("shape,static", [((1, 0), [1, None]), ((1, 0), [1, 0]),
                                           ((0, 2), [None, 2])])
def test_tf_pad_of_an_empty_axis(tmp_path, monkeypatch, executor, shape, static) -> None:
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    pads = [[1, 2], [0, 3]]
    x = np.zeros(shape)
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float64, static)
        y = tf.pad(p, pads, "CONSTANT", constant_values=1.5)
        (dx,) = tf.gradients(tf.reduce_sum(y * y), [p])
        with tf.Session(graph=g, executor=executor) as s:
            got, grad = s.run([y, dx], {p: x})
    np.testing.assert_array_equal(got, np.pad(x, pads, constant_values=1.5))
    assert grad.shape == shape


@pytest.mark.parametrize("shape,pad", [((1, 0), (0, 3)), ((2, 0, 3), (1, 1, 2, 0)),
                                        ((0, 2), (1, 0, 2, 1))])
def test_dynamic_pad_of_an_empty_axis(shape, pad) -> None:
    x = dynamic.zeros(*shape, requires_grad=True)
    y = F.pad(x, pad, value=2.0)
    widths = [(0, 0)] * len(shape)
    for j in range(len(pad) // 2):
        widths[len(shape) - 1 - j] = (pad[2 * j], pad[2 * j + 1])
    np.testing.assert_array_equal(y.detach().numpy(), np.pad(np.zeros(shape), widths,
                                                              constant_values=2.0))
    (y * y).sum().backward()
    assert tuple(x.grad.shape) == shape
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.pad(torch.zeros(shape), pad, value=2.0)
    np.testing.assert_array_equal(y.detach().numpy(), want.numpy())

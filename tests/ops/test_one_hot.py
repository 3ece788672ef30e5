"""The ``one_hot`` registry op (PyTorch's ``F.one_hot``): values, dtype and shape in the numpy
path, eagerly and on the static reference and compiled executors; PyTorch's errors for labels
out of range and non-int64 labels (torch 2.13 as the oracle where installed)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic
import dynamic.nn.functional as F
import staticgraph as tf
from staticgraph import ops
from staticgraph.graph.errors import InvalidArgumentError

LABELS = np.array([[0, 3], [2, 2], [1, 0]])


def _want(labels: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((*labels.shape, n), np.int64)
    for idx in np.ndindex(labels.shape):
        out[idx + (labels[idx],)] = 1
    return out


def test_numpy_path_and_eager():
    np.testing.assert_array_equal(ops.one_hot(LABELS, 5), _want(LABELS, 5))
    t = F.one_hot(dynamic.tensor(LABELS), 5)
    assert t.dtype == dynamic.int64 and tuple(t.shape) == (3, 2, 5)
    np.testing.assert_array_equal(t.numpy(), _want(LABELS, 5))
    np.testing.assert_array_equal(F.one_hot(dynamic.tensor(LABELS)).numpy(), _want(LABELS, 4))
    assert F.one_hot(dynamic.tensor(np.zeros(0, np.int64)), 3).shape == (0, 3)


@pytest.mark.parametrize("executor", ["reference", "numba"])
def test_static_graph_with_unknown_batch(executor, tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.int64, [None, 2])
        y = ops.one_hot(x, 4)
        assert tuple(y.aval.shape) == (None, 2, 4) and y.dtype.np_dtype == np.int64
        with tf.Session(graph=g, executor=executor) as s:
            np.testing.assert_array_equal(s.run(y, {x: LABELS}), _want(LABELS, 4))
            with pytest.raises(InvalidArgumentError, match="smaller than num_classes"):
                s.run(y, {x: np.array([[0, 4]])})


@pytest.mark.parametrize(("labels", "n"), [
    (np.array([0, 5]), 3), (np.array([-1, 0]), 3), (np.array([0, 1], np.int32), 3),
    (np.array([0, 1]), -2), (np.zeros(0, np.int64), -1)])
def test_errors_are_pytorchs(labels, n):
    with pytest.raises(RuntimeError) as got:
        F.one_hot(dynamic.tensor(labels), n)
    pt = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as want:
        pt.nn.functional.one_hot(pt.tensor(labels), n)
    assert str(got.value) == str(want.value)


def test_matches_torch():
    pt = pytest.importorskip("torch")
    for n in (-1, 4, 6):
        np.testing.assert_array_equal(F.one_hot(dynamic.tensor(LABELS), n).numpy(),
                                      pt.nn.functional.one_hot(pt.tensor(LABELS), n).numpy())

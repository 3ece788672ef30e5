"""``tf.scatter_update`` / ``scatter_add`` / ``scatter_sub`` and ``Variable.scatter_*`` on every
executor against numpy (duplicates add up; the last update of a repeated index wins, TF's CPU
order), TF's run-time range error with the variable left intact, bad input named at build time,
a sparse SGD step written with ``scatter_sub`` of an ``IndexedSlices`` gradient equal to
``GradientDescentOptimizer``'s, and live TensorFlow when installed."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

V0 = np.arange(15, dtype=np.float32).reshape(5, 3) / 4.0


def _numpy(kind: str, v: np.ndarray, idx: np.ndarray, upd: np.ndarray) -> np.ndarray:
    out = v.copy()
    flat, rows = idx.reshape(-1), upd.reshape((-1,) + v.shape[1:])
    for i, r in zip(flat, rows, strict=True):  # in order: the last write of an index wins
        if kind == "scatter_update":
            out[i] = r
        elif kind == "scatter_add":
            out[i] += r
        else:
            out[i] -= r
    return out


CASES = {
    "unique": np.array([4, 0, 2]),
    "duplicates": np.array([1, 3, 1, 1]),
    "matrix_ids": np.array([[0, 4], [4, 2]]),
}


def _program(tf, kind: str, idx: np.ndarray, feed_ids: bool):
    v = tf.Variable(V0)
    ids = tf.placeholder(tf.int32, [None] * idx.ndim) if feed_ids else idx.astype(np.int32)
    upd = tf.placeholder(tf.float32, list(idx.shape) + [3])
    return v, ids, upd, getattr(tf, kind)(v, ids, upd)


@pytest.mark.parametrize("kind", ["scatter_update", "scatter_add", "scatter_sub"])
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("feed_ids", [True, False])
def test_values_match_numpy_for_two_steps(kind, case, feed_ids, executor):
    idx = CASES[case]
    v, ids, upd, op = _program(sg, kind, idx, feed_ids)
    rng = np.random.default_rng(len(idx))
    want = V0.copy()
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        for _ in range(2):
            u = rng.standard_normal(idx.shape + (3,)).astype(np.float32)
            feed = {upd: u, **({ids: idx.astype(np.int32)} if feed_ids else {})}
            want = _numpy(kind, want, idx, u)
            np.testing.assert_allclose(s.run(op, feed), want, rtol=1e-6)
        np.testing.assert_allclose(s.run(v), want, rtol=1e-6)


@pytest.mark.parametrize("kind", ["scatter_update", "scatter_add", "scatter_sub", "scatter_mul",
                                  "scatter_div"])
@pytest.mark.parametrize("bad", [5, -1])
def test_index_out_of_range_names_it_and_leaves_the_variable(kind, bad, executor):
    v, ids, upd, op = _program(sg, kind, np.array([0, 1]), True)
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        with pytest.raises(Exception, match=rf"indices\[1\] = {bad} is not in \[0, 5\)"):
            s.run(op, {ids: np.array([0, bad], np.int32), upd: np.ones((2, 3), np.float32)})
        np.testing.assert_array_equal(s.run(v), V0)


def test_bad_arguments_name_the_thing_at_fault():
    v = sg.Variable(V0)
    with pytest.raises(TypeError, match="'ref' must be a Variable"):
        sg.scatter_add(sg.constant(V0), [0], np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match="'indices' must be int32 or int64"):
        sg.scatter_add(v, sg.constant([0.0]), np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match="'updates' of type float64"):
        sg.scatter_update(v, [0], sg.constant(np.ones((1, 3), np.float64)))
    with pytest.raises(ValueError, match=r"indices.shape \+ ref.shape\[1:\]"):
        sg.scatter_sub(v, [0, 1], np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match="sparse_delta must be a tf.IndexedSlices"):
        v.scatter_add(np.ones((1, 3), np.float32))


def _sparse_sgd(tf, manual: bool, steps: list) -> list:
    g = tf.Graph()
    with g.as_default():
        ids = tf.placeholder(tf.int32, [None])
        E = tf.Variable(V0)
        loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(E, ids) - 1.0))
        if manual:
            grad = tf.gradients(loss, [E])[0]
            assert isinstance(grad, tf.IndexedSlices)
            train = tf.scatter_sub(E, grad.indices, grad.values * 0.1)
        else:
            train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = tf.global_variables_initializer()
    out = []
    with tf.Session(graph=g) as s:
        s.run(init)
        for st in steps:
            s.run(train, {ids: np.asarray(st, np.int32)})
        out.append(s.run(E))
    return out


STEPS = [[0, 2, 2], [4, 1], [2, 2, 2, 0]]


def test_scatter_sub_of_indexed_slices_is_the_sparse_sgd_step():
    got, want = _sparse_sgd(sg, True, STEPS), _sparse_sgd(sg, False, STEPS)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)


@pytest.mark.parametrize("kind", ["scatter_update", "scatter_add", "scatter_sub"])
def test_variable_methods_take_indexed_slices(kind, executor):
    v = sg.Variable(V0)
    sl = sg.IndexedSlices(sg.constant(np.full((3, 3), 2.0, np.float32)),
                          sg.constant(np.array([3, 0, 3])))
    op = getattr(v, kind)(sl)
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        np.testing.assert_allclose(s.run(op), _numpy(kind, V0, np.array([3, 0, 3]),
                                                       np.full((3, 3), 2.0, np.float32)))


def _tf_program(tf, kind: str) -> list:
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(V0)
        ids = tf.placeholder(tf.int64, [None])
        upd = tf.placeholder(tf.float32, [None, 3])
        op = getattr(tf, kind)(v, ids, upd)
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as s:
        s.run(init)
        rng = np.random.default_rng(3)
        out = []
        for ix in ([0, 4, 2], [1, 3, 1, 1] if kind != "scatter_update" else [1, 3, 2]):
            u = rng.standard_normal((len(ix), 3)).astype(np.float32)
            out.append(s.run(op, {ids: np.asarray(ix), upd: u}))
        out.append(s.run(v))
    return out


@pytest.mark.parametrize("kind", ["scatter_update", "scatter_add", "scatter_sub"])
def test_matches_live_tensorflow(kind):
    tf = pytest.importorskip("tensorflow.compat.v1")
    tf.disable_eager_execution()
    for a, b in zip(_tf_program(sg, kind), _tf_program(tf, kind), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)

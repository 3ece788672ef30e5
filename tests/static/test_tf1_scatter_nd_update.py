"""``tf.scatter_nd_update`` on every executor against a numpy replay of TF's CPU kernel (index
tuples on the last axis of ``indices`` address slices, written in order: the last of a repeated
tuple wins), TF's run-time ``does not index into shape`` error with the variable intact, bad
input named at build time, and live TensorFlow when installed."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

V0 = np.arange(24, dtype=np.float32).reshape(4, 3, 2) / 4.0

CASES = {  # indices, and the shape of updates they need (indices.shape[:-1] + V0.shape[K:])
    "rows": ([[1], [3], [1]], (3, 3, 2)),
    "pairs": ([[1, 2], [3, 0], [1, 2]], (3, 2)),
    "full_tuples": ([[0, 0, 1], [3, 2, 0], [0, 0, 1], [2, 1, 1]], (4,)),
    "matrix_of_tuples": ([[[0, 1], [2, 2]], [[0, 1], [3, 1]]], (2, 2, 2)),
    "one_tuple": ([[2, 1]], (1, 2)),
    "empty": (np.zeros((0, 2), np.int64), (0, 2)),
}


def tf_kernel(v: np.ndarray, idx: np.ndarray, upd: np.ndarray) -> np.ndarray:
    out = v.copy()
    k = idx.shape[-1]
    for t, u in zip(idx.reshape(-1, k), upd.reshape((-1,) + v.shape[k:]), strict=True):
        out[tuple(t)] = u  # in order: the last write of a tuple wins
    return out


def _program(idx: np.ndarray, feed: bool):
    v = sg.Variable(V0)
    ids = sg.placeholder(sg.int32, list(idx.shape)) if feed else idx.astype(np.int32)
    k = idx.shape[-1]
    upd = sg.placeholder(sg.float32, list(idx.shape[:-1]) + list(V0.shape[k:]))
    return v, ids, upd, sg.scatter_nd_update(v, ids, upd)


@pytest.mark.parametrize("feed", [True, False])
@pytest.mark.parametrize("case", sorted(CASES))
def test_values_match_tf_kernel_for_two_steps(case, feed, executor):
    raw, ushape = CASES[case]
    idx = np.asarray(raw, np.int64)
    v, ids, upd, op = _program(idx, feed)
    assert op.op.type == "Assign" and op.op.name.startswith("ScatterNdUpdate")
    rng = np.random.default_rng(idx.size)
    want = V0.copy()
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        for _ in range(2):
            u = rng.standard_normal(ushape).astype(np.float32)
            want = tf_kernel(want, idx, u)
            got = s.run(op, {upd: u, **({ids: idx.astype(np.int32)} if feed else {})})
            assert got.tobytes() == want.tobytes()
        assert s.run(v).tobytes() == want.tobytes()


@pytest.mark.parametrize(("bad", "msg"), [
    ([[0, 1], [4, 0]], r"indices\[1\] = \[4, 0\] does not index into shape \[4,3,2\]"),
    ([[0, -1]], r"indices\[0\] = \[0, -1\] does not index into shape \[4,3,2\]"),
    ([[[0, 1], [1, 3]]], r"indices\[0,1\] = \[1, 3\] does not index into shape \[4,3,2\]"),
])
def test_index_outside_the_shape_names_it_and_leaves_the_variable(bad, msg, executor):
    idx = np.asarray(bad, np.int32)
    v, ids, upd, op = _program(idx, True)
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        with pytest.raises(Exception, match=msg):
            s.run(op, {ids: idx, upd: np.ones(idx.shape[:-1] + (2,), np.float32)})
        assert s.run(v).tobytes() == V0.tobytes()


def test_bad_arguments_name_the_thing_at_fault():
    v = sg.Variable(V0)
    with pytest.raises(TypeError, match="tf.scatter_nd_update: 'ref' must be a Variable"):
        sg.scatter_nd_update(sg.constant(V0), [[0]], np.ones((1, 3, 2), np.float32))
    with pytest.raises(TypeError, match="'indices' must be int32 or int64"):
        sg.scatter_nd_update(v, sg.constant([[0.0]]), np.ones((1, 3, 2), np.float32))
    with pytest.raises(ValueError, match=r"'indices' must have rank >= 2"):
        sg.scatter_nd_update(v, [2, 1], np.ones((2,), np.float32))
    with pytest.raises(ValueError, match=r"last dim of 'indices' must be known and in \[1, 3\]"):
        sg.scatter_nd_update(v, [[0, 0, 0, 0]], np.ones((1,), np.float32))
    with pytest.raises(ValueError, match=r"indices.shape\[:-1\] \+ ref.shape\[2:\]"):
        sg.scatter_nd_update(v, [[0, 1]], np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match="'updates' of type float64"):
        sg.scatter_nd_update(v, [[0]], sg.constant(np.ones((1, 3, 2), np.float64)))


def test_matches_live_tensorflow():
    tf = pytest.importorskip("tensorflow.compat.v1")
    tf.disable_eager_execution()
    out = []
    for lib in (sg, tf):
        res = []
        for case in sorted(CASES):
            raw, ushape = CASES[case]
            g = lib.Graph()
            with g.as_default():
                v = lib.Variable(V0)
                op = lib.scatter_nd_update(v, np.asarray(raw, np.int64),
                                           np.random.default_rng(1).standard_normal(
                                               ushape).astype(np.float32))
                init = lib.global_variables_initializer()
            with lib.Session(graph=g) as s:
                s.run(init)
                res.append(s.run(op))
        out.append(res)
    for a, b in zip(*out, strict=True):
        assert a.tobytes() == b.tobytes()

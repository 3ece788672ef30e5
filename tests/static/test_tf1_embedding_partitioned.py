"""``tf.nn.embedding_lookup`` over sharded params, ``partition_strategy`` 'mod' and 'div' with
uneven shards: values against numpy, each shard's gradient an ``IndexedSlices`` of exactly the
ids it served (sparse optimizers leave the other rows alone), range and argument errors, every
executor, and live TensorFlow when installed."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg

SIZES = (3, 3, 2)  # 8 ids over 3 shards (div: the first 8 % 3 = 2 shards hold 3 rows)
RNG = np.random.default_rng(7)
SHARDS = [RNG.standard_normal((k, 4)).astype(np.float32) for k in SIZES]
IDS = np.array([[0, 7], [5, 5], [1, 2], [4, 6]])


def _table(strategy: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The full table in id order and each id's (shard, row)."""
    n = len(SHARDS)
    if strategy == "mod":
        where = [(k % n, k // n) for k in range(sum(SIZES))]
    else:
        where = [(s, r) for s, k in enumerate(SIZES) for r in range(k)]
    return np.stack([SHARDS[s][r] for s, r in where]), where


def _build(tf, strategy: str):
    shards = [tf.Variable(s) for s in SHARDS]
    ids = tf.placeholder(tf.int32, [None, 2])
    out = tf.nn.embedding_lookup(shards, ids, partition_strategy=strategy)
    w = tf.constant(np.arange(8, dtype=np.float32).reshape(2, 4))
    loss = tf.reduce_sum(out * out * w)
    return shards, ids, out, loss


@pytest.mark.parametrize("strategy", ["mod", "div"])
def test_values_and_shard_gradients_match_numpy(strategy, executor):
    shards, ids, out, loss = _build(sg, strategy)
    grads = sg.gradients(loss, shards)
    assert all(isinstance(g, sg.IndexedSlices) for g in grads)
    table, where = _table(strategy)
    w = np.arange(8, dtype=np.float32).reshape(2, 4)
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        o, *gv = s.run([out] + grads, {ids: IDS.astype(np.int32)})
    np.testing.assert_array_equal(o, table[IDS])
    dense = [np.zeros_like(x) for x in SHARDS]
    served = [set() for _ in SHARDS]
    for pos, k in np.ndenumerate(IDS):
        sh, r = where[k]
        dense[sh][r] += 2 * table[k] * w[pos[1]]
        served[sh].add(r)
    for i, g in enumerate(gv):
        assert set(g.indices.tolist()) == served[i]
        got = np.zeros_like(SHARDS[i])
        np.add.at(got, g.indices, g.values)
        np.testing.assert_allclose(got, dense[i], rtol=1e-5)


def test_sparse_momentum_moves_only_the_rows_served():
    shards, ids, out, loss = _build(sg, "mod")
    train = sg.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
    with sg.Session() as s:
        s.run(sg.global_variables_initializer())
        for _ in range(2):
            s.run(train, {ids: np.array([[0, 3]], np.int32)})  # shard 0, rows 0 and 1
        after = s.run(shards)
    np.testing.assert_array_equal(after[0][2], SHARDS[0][2])
    np.testing.assert_array_equal(after[1], SHARDS[1])
    assert not np.allclose(after[0][:2], SHARDS[0][:2])


@pytest.mark.parametrize("bad", [8, -1])
def test_an_id_out_of_range_is_named(bad, executor):
    shards, ids, out, _ = _build(sg, "div")
    with sg.Session(executor=executor) as s:
        s.run(sg.global_variables_initializer())
        with pytest.raises(Exception, match=rf"ids\[1\] = {bad} is not in \[0, 8\)"):
            s.run(out, {ids: np.array([[0, bad]], np.int32)})


def test_bad_arguments_are_named():
    a, b = sg.Variable(SHARDS[0]), sg.Variable(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="Unrecognized partition strategy: modulo"):
        sg.nn.embedding_lookup([a, a], [0], partition_strategy="modulo")
    with pytest.raises(ValueError, match="the shards' rows must have one shape"):
        sg.nn.embedding_lookup([a, b], [0])
    with pytest.raises(NotImplementedError, match="row count known"):
        sg.nn.embedding_lookup([a, sg.placeholder(sg.float32, [None, 4])], [0])


def _tf_program(tf, strategy: str) -> list:
    g = tf.Graph()
    with g.as_default():
        shards, ids, out, loss = _build(tf, strategy)
        dense = [tf.convert_to_tensor(x) for x in tf.gradients(loss, shards)]
        train = tf.train.AdagradOptimizer(0.1).minimize(loss)
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as s:
        s.run(init)
        res = s.run([out] + dense, {ids: IDS.astype(np.int32)})
        for _ in range(3):
            s.run(train, {ids: IDS.astype(np.int32)})
        return res + s.run(shards)


@pytest.mark.parametrize("strategy", ["mod", "div"])
def test_matches_live_tensorflow(strategy):
    tf = pytest.importorskip("tensorflow.compat.v1")
    tf.disable_eager_execution()
    for a, b in zip(_tf_program(sg, strategy), _tf_program(tf, strategy), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

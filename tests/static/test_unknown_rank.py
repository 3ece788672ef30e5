"""Placeholders of unknown rank (``tf.placeholder(tf.float32)``, ``shape=None``), issue #15.

TF1 builds every op on them, with the shapes its inference gives (mostly ``<unknown>``), and
checks the ranks when the graph is fed. Here:

* ``TF_TABLE``: TF1 functions on unknown-rank inputs. Their static ``.shape`` must print what
  TensorFlow prints (recorded below from TF 2.21 ``compat.v1``; re-checked live when TF is
  installed); fed, they must give numpy's values and finite-difference gradients on every
  executor, the compiled ones compiling the graph (not falling back) at the fed ranks.
* The registry's program table (``test_program_table.TABLE``) with every input of unknown rank.
* A wrong rank fed fails at run time with TF's error class, naming the op.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.graph.errors import InvalidArgumentError

from .test_program_table import IDS, TABLE, _finite_diff

R = np.random.default_rng(15)


def _a(*shape):
    return R.uniform(-1.5, 1.5, shape)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


LAB = np.array([2, 0, 1])
# name, TF1 program (tf, inputs...), numpy, inputs, the static shape TF prints
TF_TABLE = [
    ("matmul", lambda tf, x, y: tf.matmul(x, y), lambda x, y: x @ y,
     {"x": _a(3, 4), "y": _a(4, 2)}, "<unknown>"),
    ("matmul_known", lambda tf, x: tf.matmul(x, tf.constant(np.eye(4, 2))),
     lambda x: x @ np.eye(4, 2), {"x": _a(3, 4)}, "<unknown>"),
    ("matmul_transpose", lambda tf, x, y: tf.matmul(x, y, transpose_a=True, transpose_b=True),
     lambda x, y: x.T @ y.T, {"x": _a(4, 3), "y": _a(2, 4)}, "<unknown>"),
    ("batch_matmul", lambda tf, x, y: tf.matmul(x, y), lambda x, y: x @ y,
     {"x": _a(2, 3, 4), "y": _a(2, 4, 2)}, "<unknown>"),
    ("reduce_sum_axis", lambda tf, x: tf.reduce_sum(x, axis=1), lambda x: x.sum(1),
     {"x": _a(3, 4)}, "<unknown>"),
    ("reduce_sum_neg_keep", lambda tf, x: tf.reduce_sum(x, axis=-1, keepdims=True),
     lambda x: x.sum(-1, keepdims=True), {"x": _a(2, 3, 4)}, "<unknown>"),
    ("reduce_sum_all_keep", lambda tf, x: tf.reduce_sum(x, keepdims=True),
     lambda x: x.sum(keepdims=True), {"x": _a(3, 4)}, "<unknown>"),
    ("reduce_sum_all", lambda tf, x: tf.reduce_sum(x), lambda x: x.sum(), {"x": _a(3, 4)}, "()"),
    ("reduce_mean_axes", lambda tf, x: tf.reduce_mean(x, axis=[0, 2]),
     lambda x: x.mean((0, 2)), {"x": _a(2, 3, 4)}, "<unknown>"),
    ("reduce_max", lambda tf, x: tf.reduce_max(x, 1), lambda x: x.max(1), {"x": _a(3, 4)},
     "<unknown>"),
    ("reduce_min", lambda tf, x: tf.reduce_min(x, 0), lambda x: x.min(0), {"x": _a(3, 4)},
     "<unknown>"),
    ("logsumexp", lambda tf, x: tf.reduce_logsumexp(x, 1),
     lambda x: np.log(np.exp(x).sum(1)), {"x": _a(3, 4)}, "<unknown>"),
    ("argmax_mul", lambda tf, x: tf.cast(tf.argmax(x, 1), tf.float64) * tf.reduce_sum(x, 1),
     lambda x: x.argmax(1) * x.sum(1), {"x": _a(3, 4)}, "<unknown>"),
    ("argmin_default", lambda tf, x: tf.cast(tf.argmin(x), tf.float64) * x[0],
     lambda x: x.argmin(0) * x[0], {"x": _a(3, 4)}, "<unknown>"),
    ("softmax", lambda tf, x: tf.nn.softmax(x), _softmax, {"x": _a(3, 4)}, "<unknown>"),
    ("log_softmax", lambda tf, x: tf.nn.log_softmax(x), lambda x: np.log(_softmax(x)),
     {"x": _a(2, 3, 4)}, "<unknown>"),
    ("transpose", lambda tf, x: tf.transpose(x), lambda x: x.T, {"x": _a(2, 3, 4)},
     "<unknown>"),
    ("transpose_perm", lambda tf, x: tf.transpose(x, [1, 0]), lambda x: x.T, {"x": _a(3, 4)},
     "(?, ?)"),
    ("concat", lambda tf, x, y: tf.concat([x, y], 1), lambda x, y: np.concatenate([x, y], 1),
     {"x": _a(3, 4), "y": _a(3, 2)}, "<unknown>"),
    ("concat_known", lambda tf, x: tf.concat([x, tf.constant(np.ones((1, 4)))], 0),
     lambda x: np.concatenate([x, np.ones((1, 4))], 0), {"x": _a(3, 4)}, "(?, 4)"),
    ("concat_neg", lambda tf, x, y: tf.concat([x, y], -1),
     lambda x, y: np.concatenate([x, y], -1), {"x": _a(2, 3), "y": _a(2, 1)}, "<unknown>"),
    ("stack", lambda tf, x, y: tf.stack([x, y], 1), lambda x, y: np.stack([x, y], 1),
     {"x": _a(3, 4), "y": _a(3, 4)}, "<unknown>"),
    ("expand_squeeze", lambda tf, x: tf.squeeze(tf.expand_dims(x, 1), [1]),
     lambda x: x, {"x": _a(3, 4)}, "<unknown>"),
    ("squeeze_all", lambda tf, x: tf.squeeze(x), lambda x: x.squeeze(), {"x": _a(3, 1, 4)},
     "<unknown>"),
    ("cumsum", lambda tf, x: tf.cumsum(x, 1), lambda x: x.cumsum(1), {"x": _a(3, 4)},
     "<unknown>"),
    ("reshape", lambda tf, x: tf.reshape(x, [-1, 2]), lambda x: x.reshape(-1, 2),
     {"x": _a(3, 4)}, "(?, 2)"),
    ("sparse_ce", lambda tf, x: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.constant(LAB), logits=x),
     lambda x: -np.log(_softmax(x))[np.arange(3), LAB], {"x": _a(3, 4)}, "(3,)"),
    ("sparse_ce_both", lambda tf, x, y: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(tf.argmax(y, -1), tf.int32), logits=x),
     lambda x, y: -np.log(_softmax(x))[np.arange(3), y.argmax(-1)],
     {"x": _a(3, 4), "y": _a(3, 4)}, "<unknown>"),
    ("softmax_ce_v2", lambda tf, x, y: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=tf.nn.softmax(y), logits=x),
     lambda x, y: -(_softmax(y) * np.log(_softmax(x))).sum(-1),
     {"x": _a(3, 4), "y": _a(3, 4)}, "<unknown>"),
    ("sigmoid_ce", lambda tf, x, y: tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.sigmoid(y), logits=x),
     lambda x, y: np.maximum(x, 0) - x / (1 + np.exp(-y)) + np.log1p(np.exp(-np.abs(x))),
     {"x": _a(3, 4), "y": _a(3, 4)}, "<unknown>"),
    ("gather", lambda tf, x: tf.gather(x, [2, 0]), lambda x: x[[2, 0]], {"x": _a(3, 4)},
     "<unknown>"),
    ("gather_neg_axis", lambda tf, x: tf.gather(x, [1, 0, 1], axis=-1),
     lambda x: x[..., [1, 0, 1]], {"x": _a(2, 3, 4)}, "<unknown>"),
    ("embedding_lookup", lambda tf, x: tf.nn.embedding_lookup(x, [1, 1, 0]),
     lambda x: x[[1, 1, 0]], {"x": _a(3, 4)}, "<unknown>"),
    ("tile", lambda tf, x: tf.tile(x, [2, 1]), lambda x: np.tile(x, (2, 1)), {"x": _a(3, 4)},
     "(?, ?)"),
    ("tile3", lambda tf, x: tf.tile(x, [1, 3, 2]), lambda x: np.tile(x, (1, 3, 2)),
     {"x": _a(2, 3, 2)}, "(?, ?, ?)"),
    ("slice", lambda tf, x: tf.slice(x, [1, 0], [2, 3]), lambda x: x[1:3, 0:3],
     {"x": _a(3, 4)}, "(2, 3)"),
    ("slice_to_end", lambda tf, x: tf.slice(x, [1, 1], [-1, -1]), lambda x: x[1:, 1:],
     {"x": _a(3, 4)}, "(?, ?)"),
    ("split_even", lambda tf, x: tf.split(x, 2, axis=1)[1], lambda x: x[:, 2:],
     {"x": _a(3, 4)}, "<unknown>"),
    ("split_neg_axis", lambda tf, x: tf.split(x, 3, axis=-1)[0] * tf.split(x, 3, -1)[2],
     lambda x: x[..., :2] * x[..., 4:], {"x": _a(2, 3, 6)}, "<unknown>"),
    ("split_sizes", lambda tf, x: tf.split(x, [1, -1, 2], 1)[1], lambda x: x[:, 1:3],
     {"x": _a(3, 5)}, "<unknown>"),
    ("unstack", lambda tf, x: tf.unstack(x, num=3)[1], lambda x: x[1], {"x": _a(3, 4)},
     "<unknown>"),
    ("unstack_neg_axis", lambda tf, x: tf.unstack(x, num=4, axis=-1)[3], lambda x: x[..., 3],
     {"x": _a(2, 3, 4)}, "<unknown>"),
    ("reverse", lambda tf, x: tf.reverse(x, [1, -1]), lambda x: x[:, ::-1, ::-1],
     {"x": _a(2, 3, 4)}, "<unknown>"),
    ("reduce_prod", lambda tf, x: tf.reduce_prod(x, -1), lambda x: x.prod(-1), {"x": _a(3, 4)},
     "<unknown>"),
    ("reduce_prod_axes", lambda tf, x: tf.reduce_prod(x, [0, -1]), lambda x: x.prod((0, 2)),
     {"x": _a(2, 3, 2)}, "<unknown>"),
    ("reduce_prod_all", lambda tf, x: tf.reduce_prod(x), lambda x: x.prod(), {"x": _a(2, 3)},
     "()"),
    ("one_hot_axis0", lambda tf, x: tf.one_hot(tf.cast(x, tf.int32), 3, axis=0, dtype=tf.float64)
     * tf.reduce_sum(x), lambda x: (np.arange(3)[:, None, None] == x.astype(int)) * x.sum(),
     {"x": _a(2, 4)}, "<unknown>"),
    ("pad", lambda tf, x: tf.pad(x, [[1, 0], [0, 2]]), lambda x: np.pad(x, [(1, 0), (0, 2)]),
     {"x": _a(3, 4)}, "(?, ?)"),
    ("pad_reflect", lambda tf, x: tf.pad(x, [[2, 1], [1, 2]], "REFLECT"),
     lambda x: np.pad(x, [(2, 1), (1, 2)], "reflect"), {"x": _a(3, 4)}, "(?, ?)"),
    ("pad_symmetric", lambda tf, x: tf.pad(x, [[0, 0], [2, 1]], "SYMMETRIC", constant_values=0),
     lambda x: np.pad(x, [(0, 0), (2, 1)], "symmetric"), {"x": _a(3, 4)}, "(?, ?)"),
    ("pad_value", lambda tf, x: tf.pad(x, [[1, 1]], constant_values=2.5),
     lambda x: np.pad(x, 1, constant_values=2.5), {"x": _a(4)}, "(?,)"),
    ("dense_chain", lambda tf, x, y: tf.nn.relu(tf.matmul(tf.nn.tanh(x), y) + 0.5),
     lambda x, y: np.maximum(np.tanh(x) @ y + 0.5, 0), {"x": _a(3, 4), "y": _a(4, 2)},
     "<unknown>"),
]
TF_IDS = [t[0] for t in TF_TABLE]
REFERENCE_ONLY = {"squeeze_all"}
"""Programs the compilers leave to the reference executor, with a logged reason: which dims
``squeeze()`` drops depends on sizes a plan does not fix (only its feeds' size-1 dims)."""


def _unknown(inputs: dict) -> dict:
    return {k: tf.placeholder(tf.float64, name=k) for k in inputs}


def _compiled(sess, fetches: list, feeds: dict) -> bool:
    """Whether a compiling executor runs these fetches compiled (not on the reference)."""
    from staticgraph.compiler.executor_base import REFERENCE

    ex = sess._executor
    if not hasattr(ex, "plan_for"):
        return True
    return ex.plan_for(sess.graph, [f for f in fetches if f is not None], [], feeds) \
        is not REFERENCE


def _check(name, y, phs, np_fn, inputs, executor) -> None:
    expected = np.asarray(np_fn(**inputs))
    weights = R.standard_normal(expected.shape)
    grads = tf.gradients(tf.reduce_sum(y * weights), list(phs.values()))
    feeds = {phs[k]: v for k, v in inputs.items()}
    fetch = [y] + [g for g in grads if g is not None]
    with tf.Session(executor=executor) as sess:
        out, *gvals = sess.run(fetch, feeds)
        if executor != "reference":
            assert _compiled(sess, fetch, feeds) != (name in REFERENCE_ONLY), \
                f"{name}: compiled at the fed ranks"
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12, err_msg=name)
    gvals = iter(gvals)
    for k, g in zip(phs, grads, strict=True):
        if g is None:
            continue
        np.testing.assert_allclose(next(gvals), _finite_diff(np_fn, inputs, k, weights),
                                   rtol=1e-5, atol=1e-6, err_msg=f"{name}: d/d{k}")


@pytest.mark.parametrize("name,prog,np_fn,inputs,tf_shape", TF_TABLE, ids=TF_IDS)
def test_tf_ops_on_unknown_rank(name, prog, np_fn, inputs, tf_shape, executor):
    phs = _unknown(inputs)
    y = prog(tf, **phs)
    assert str(y.shape) == tf_shape, f"{name}: TF prints {tf_shape}"
    _check(name, y, phs, np_fn, inputs, executor)


@pytest.mark.parametrize("name,prog,np_fn,inputs", TABLE, ids=IDS)
def test_program_table_on_unknown_rank(name, prog, np_fn, inputs, executor):
    phs = _unknown(inputs)
    _check(name, prog(**phs), phs, np_fn, inputs, executor)


_LIVE = """
import sys, numpy as np, tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
sys.path.insert(0, {root!r})
from tests.static.test_unknown_rank import TF_TABLE
for name, prog, _, inputs, _ in TF_TABLE:
    print(name, prog(tf, **{{k: tf.placeholder(tf.float64) for k in inputs}}).shape)
"""


def test_recorded_shapes_match_live_tensorflow():
    try:
        import tensorflow  # noqa: F401
    except Exception:  # noqa: BLE001 - TF absent: the recorded shapes stand
        pytest.skip("TensorFlow is not installed: the recorded shapes are asserted")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_USE_LEGACY_KERAS": "1"}
    out = subprocess.run([sys.executable, "-c", _LIVE.format(root=root)], env=env,
                         capture_output=True, text=True, timeout=600, check=True).stdout
    live = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert live == {name: shape for name, *_, shape in TF_TABLE}


def test_wrong_rank_fails_when_fed_naming_the_op(executor, caplog):
    x = tf.placeholder(tf.float32, name="x")
    am = tf.argmax(x, 1, name="pick")
    mm = tf.matmul(x, tf.ones([3, 2]), name="mm")
    with tf.Session(executor=executor) as sess:
        assert sess.run(am, {x: np.eye(3, dtype=np.float32)}).tolist() == [0, 1, 2]
        with caplog.at_level(logging.INFO, logger="staticgraph.compiler"), \
                pytest.raises(InvalidArgumentError, match=r"(?s)Dimension out of range.*pick"):
            sess.run(am, {x: np.ones(3, np.float32)})
        if executor != "reference":  # the compiler says why it did not compile this rank
            assert "at the fed ranks" in caplog.text and "pick" in caplog.text
        with pytest.raises(InvalidArgumentError) as e:  # a wrong size: the compilers' bind
            sess.run(mm, {x: np.ones((2, 4), np.float32)})  # check names the feed, not the op
        assert "mm" in str(e.value) if executor == "reference" else "'x'" in str(e.value)
        np.testing.assert_allclose(sess.run(mm, {x: np.ones((2, 3), np.float32)}),
                                   np.full((2, 2), 3.0))


def test_build_time_errors_still_name_the_op():
    x = tf.placeholder(tf.float32, name="x")
    with pytest.raises(ValueError, match="Dimension out of range.*'c'"):
        tf.concat([x, tf.ones([3])], 2, name="c")  # the vector has no axis 2
    with pytest.raises(ValueError, match=r"(?s)no rank.*op: 'NllLoss'.*<unknown>, \[2,2,2\]"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.ones([2, 2, 2], tf.int32),
                                                       logits=x)  # labels of rank 3: never
    t = tf.transpose(x, [2, 0, 1])
    assert str(t.shape) == "(?, ?, ?)"
    assert str(tf.nn.softmax(tf.placeholder(tf.float32, [None, 3])).shape) == "(?, 3)"


def test_embedding_lookup_with_ids_of_unknown_rank(executor):
    """``ids = tf.placeholder(tf.int32)`` (word2vec style): rows shaped as the fed ids."""
    table = _a(5, 3)
    emb = tf.Variable(table)
    ids = tf.placeholder(tf.int32, name="ids")
    rows = tf.nn.embedding_lookup(emb, ids)
    assert str(rows.shape) == "<unknown>"
    g = tf.gradients(tf.reduce_sum(rows * rows), emb)[0]
    assert isinstance(g, tf.IndexedSlices)  # TF's sparse gradient: one row per id
    dense = tf.convert_to_tensor(g)
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        for fed in ([4, 0, 4], [[1, 2], [3, 3]], 2):
            out, grad, sparse = sess.run([rows, dense, g], {ids: fed})
            np.testing.assert_array_equal(out, table[np.asarray(fed)])
            flat = np.asarray(fed).ravel()
            want = np.zeros_like(table)
            np.add.at(want, flat, 2 * table[flat])
            np.testing.assert_allclose(grad, want, rtol=1e-12)
            np.testing.assert_array_equal(sparse.indices, flat)
            np.testing.assert_allclose(sparse.values, 2 * table[flat], rtol=1e-12)


def test_split_and_tile_along_unknown_dims_of_known_rank(executor):
    x = tf.placeholder(tf.float64, [None, None])
    a, b = tf.split(x, 2, axis=1)
    t = tf.tile(x, [2, 3])
    assert str(a.shape) == str(t.shape) == "(?, ?)"
    v = _a(3, 4)
    with tf.Session(executor=executor) as sess:
        got = sess.run([a, b, t], {x: v})
    for g, w in zip(got, [v[:, :2], v[:, 2:], np.tile(v, (2, 3))], strict=True):
        np.testing.assert_array_equal(g, w)


def test_shape_dependent_functions_of_unknown_rank_say_so():
    x = tf.placeholder(tf.float32)
    for fn, what in ((tf.rank, "tf.rank"), (lambda t: tf.range(tf.size(t)), "tf.range")):
        with pytest.raises(NotImplementedError, match=f"{what}.*not supported by staticgraph"):
            fn(x)

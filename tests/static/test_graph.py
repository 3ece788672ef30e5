"""Graph building (names, scopes, inference, dtypes), symbolic gradients, Session fetch
structures, inspection and serialization."""

from __future__ import annotations

import collections
import shutil

import numpy as np
import pytest

import staticgraph as tf
from staticgraph import serialize, viz
from staticgraph.ops import REGISTRY


def test_node_names_like_tf():
    a = tf.placeholder(tf.float32, [None, 3])
    b = tf.placeholder(tf.float32, [None, 3])
    x = tf.placeholder(tf.float32, [3, 2], name="x")
    x1 = tf.placeholder(tf.float32, [3, 2], name="x")
    with tf.name_scope("layer1") as scope:
        h = tf.matmul(a, x)
    with tf.name_scope("layer1"):
        h2 = tf.matmul(b, x1, name="out")
    assert (a.name, b.name, x.name, x1.name) == ("Placeholder:0", "Placeholder_1:0", "x:0",
                                                 "x_1:0")
    assert scope == "layer1/" and h.op.name == "layer1/MatMul" and h2.op.name == "layer1_1/out"
    assert (a + b).op.name == "add" and (a + b).op.name == "add_1"
    g = tf.get_default_graph()
    assert g.get_tensor_by_name("layer1/MatMul:0") is h
    assert g.get_operation_by_name("x_1") is x1.op
    assert [op.name for op in g.get_operations()][:4] == ["Placeholder", "Placeholder_1", "x",
                                                          "x_1"]


def test_shape_and_dtype_inference_with_unknown_dims():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    W = tf.Variable(np.zeros((3, 5), np.float32))
    h = tf.nn.relu(tf.matmul(x, W) + 1.0)
    assert h.shape.as_list() == [None, 5] and str(h.shape) == "(?, 5)"
    assert h.get_shape()[1].value == 5 and h.shape[0].value is None
    assert tf.reduce_sum(h, axis=1, keepdims=True).shape.as_list() == [None, 1]
    assert tf.transpose(tf.zeros([2, 3, 4]), perm=[2, 0, 1]).shape.as_list() == [4, 2, 3]
    assert tf.reshape(x, [-1]).shape.as_list() == [None]
    assert tf.concat([x, x], axis=1).shape.as_list() == [None, 6]
    assert tf.argmax(h, 1).dtype == tf.int64 and tf.equal(h, 0.0).dtype == tf.bool
    assert repr(tf.float32) == "tf.float32" and str(tf.float32) == "<dtype: 'float32'>"
    assert tf.float64.as_numpy_dtype is np.float64
    assert tf.int32 == np.int32 and tf.bool.is_bool and tf.as_dtype("float32") is tf.float32
    with pytest.raises(ValueError, match="Can not squeeze dim"):
        tf.squeeze(h, axis=1)


def test_tf_integer_semantics():
    i = tf.constant([1, 2, 4])
    assert i.dtype == tf.int32
    with tf.Session() as sess:
        mean, total, quot, am = sess.run([tf.reduce_mean(i), tf.reduce_sum(i), i / 2,
                                          tf.argmax(tf.constant([[1, 5], [3, 0]]))])
    assert mean == 2 and isinstance(mean, np.int32)  # integer mean, as TF
    assert total == 7 and isinstance(total, np.int32)
    assert quot.dtype == np.float64 and quot.tolist() == [0.5, 1.0, 2.0]  # truediv of int32
    assert am.tolist() == [1, 0]  # argmax defaults to axis 0


def test_gradients_are_registry_nodes_and_unconnected_is_none():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable(np.ones((2, 1), np.float32), name="w")
    u = tf.Variable(1.0, name="u")
    n = tf.placeholder(tf.int32, [2], name="n")
    y = tf.reduce_mean(tf.square(tf.matmul(x, w)))
    gw, gu, gn = tf.gradients(y, [w, u, n])
    assert gu is None and gn is None
    new = tf.get_default_graph().get_operations()
    grad_ops = [op for op in new if op.name.startswith("gradients/")]
    assert grad_ops and all(op.type in REGISTRY or op.type == "Const" for op in grad_ops)
    assert gw.shape.as_list() == [2, 1]


def test_repeated_inputs_shared_subexpressions_and_stop_gradient():
    x = tf.placeholder(tf.float64, [3], name="x")
    s = tf.sin(x)
    y = s * s + x * x + tf.stop_gradient(x * 3.0) * x
    (g,) = tf.gradients(tf.reduce_sum(y), x)
    (g_stop,) = tf.gradients(tf.reduce_sum(y), x, stop_gradients=[s])
    xv = np.array([0.1, -0.5, 2.0])
    with tf.Session() as sess:
        gv, gs = sess.run([g, g_stop], {x: xv})
    np.testing.assert_allclose(gv, 2 * np.sin(xv) * np.cos(xv) + 2 * xv + 3 * xv)
    np.testing.assert_allclose(gs, 2 * xv + 3 * xv)


def test_second_order_and_hessians(executor):
    x = tf.placeholder(tf.float64, [3], name="x")
    y = tf.reduce_sum(x * x * x) + x[0] * x[1]
    (g,) = tf.gradients(y, x)
    v = tf.constant([1.0, 0.5, -1.0], tf.float64)
    (hvp,) = tf.gradients(tf.reduce_sum(g * v), x)
    (h,) = tf.hessians(y, x)
    xv = np.array([1.0, 2.0, -1.0])
    H = np.diag(6 * xv)
    H[0, 1] = H[1, 0] = 1.0
    with tf.Session(executor=executor) as sess:
        hv, hh = sess.run([hvp, h], {x: xv})
    np.testing.assert_allclose(hh, H)
    np.testing.assert_allclose(hv, H @ np.array([1.0, 0.5, -1.0]))


def test_fetch_structures_and_scalars():
    a = tf.constant(2.0)
    b = tf.constant([1, 2], dtype=tf.int64)
    noop = tf.no_op()
    Pair = collections.namedtuple("Pair", "x y")
    with tf.Session() as sess:
        out = sess.run({"a": a, "nested": [b, (a, noop)], "pair": Pair(a, b)})
        by_name = sess.run(["Const:0", b.name])
    assert isinstance(out["a"], np.float32) and out["a"] == 2.0
    assert isinstance(out["nested"], list) and isinstance(out["nested"][1], tuple)
    assert out["nested"][1][1] is None and out["nested"][0].dtype == np.int64
    assert isinstance(out["pair"], Pair) and out["pair"].y.tolist() == [1, 2]
    assert by_name[0] == 2.0 and by_name[1].tolist() == [1, 2]


def test_only_the_needed_subgraph_runs_and_feeding_intermediates():
    x = tf.placeholder(tf.float32, [2], name="x")
    unfed = tf.placeholder(tf.float32, [2], name="unfed")
    a = x * 2.0
    b = unfed + 1.0
    c = a + 1.0
    with tf.Session() as sess:
        assert sess.run(c, {x: [1.0, 2.0]}).tolist() == [3.0, 5.0]  # `unfed` not needed
        assert sess.run(c, {a: [0.0, 0.0]}).tolist() == [1.0, 1.0]  # x not needed when a fed
        with pytest.raises(tf.errors.InvalidArgumentError, match="unfed"):
            sess.run([b, c], {x: [1.0, 2.0]})


def test_eval_and_run_with_default_session_and_variable_api():
    w = tf.Variable([1.0, 2.0], name="w")
    up = w.assign(w * 2.0)
    with tf.Session() as sess:
        sess.run(w.initializer)
        np.testing.assert_array_equal(up.eval(), [2.0, 4.0])
        assert (w + 1.0).eval().tolist() == [3.0, 5.0]
        w.load([5.0, 6.0], sess)
        assert w.eval().tolist() == [5.0, 6.0]
        tf.group(up, w.assign_sub([1.0, 1.0])).run()
    assert w.name == "w:0" and w in tf.trainable_variables() and w.shape.as_list() == [2]


def test_two_sessions_keep_separate_state():
    c = tf.Variable(0, name="c")
    inc = tf.assign_add(c, 5)
    s1, s2 = tf.Session(), tf.Session()
    for s in (s1, s2):
        s.run(tf.global_variables_initializer())
    s1.run(inc)
    assert s1.run(c) == 5 and s2.run(c) == 0


def _model():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable(np.array([[1.0], [-1.0]], np.float32), name="w")
    with tf.name_scope("head"):
        y = tf.nn.sigmoid(tf.matmul(x, w))
    loss = tf.reduce_mean(tf.square(y - 1.0))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    return x, w, y, loss, train, tf.global_variables_initializer()


def test_json_round_trip_runs_and_matches(executor):
    x, w, y, loss, train, init = _model()
    text = serialize.to_json(tf.get_default_graph())
    g2 = serialize.from_json(text)
    assert [op.name for op in g2.get_operations()] == \
        [op.name for op in tf.get_default_graph().get_operations()]
    assert serialize.to_json(g2) == text
    xv = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
    results = []
    for g in (tf.get_default_graph(), g2):
        with tf.Session(graph=g, executor=executor) as sess:
            sess.run(init.name)
            for _ in range(3):
                sess.run(train.name, {x.name: xv})
            results.append(sess.run([loss.name, w.name], {x.name: xv}))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert [v.name for v in g2.get_collection("trainable_variables")] == ["w:0"]


def test_dot_and_text_listing(tmp_path):
    x, w, y, loss, train, init = _model()
    g = tf.get_default_graph()
    dot = g.as_dot(loss)
    assert dot.startswith("digraph") and '"head/MatMul"' in dot and '"x" -> "head/MatMul"' in dot
    assert "gradients" not in dot  # only the subgraph the fetch needs
    full = viz.to_dot(g)
    assert "style=dashed" in full  # control edges (the initializer group)
    listing = g.as_text()
    assert "head/MatMul = MatMul(x:0, w:0) -> [?,1] float32" in listing
    if shutil.which("dot"):
        assert viz.render(dot, str(tmp_path / "g.svg"))

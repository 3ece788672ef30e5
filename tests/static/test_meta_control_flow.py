"""Meta graphs with control flow (issue #15): ``Saver.save`` writes a ``.meta`` holding
``While``/``If`` nodes with their function graphs (nested loops, TensorArrays, ``dynamic_rnn``,
``scan``, gradient loops, Variables read live in a body), and ``import_meta_graph`` rebuilds a
graph that trains exactly as the original did, on every executor, and can be differentiated
again."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.serialize import from_json, to_json

FEED = {"x:0": np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]], np.float32), "n:0": 3,
        "lens:0": [2, 1]}


def _build() -> tuple:
    """A graph with a while loop, a cond, a nested loop, a scan and a GRU ``dynamic_rnn``,
    trained by Adam (whose gradient holds the reverse loops)."""
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    n = tf.placeholder(tf.int32, [], name="n")
    w = tf.Variable(np.full((3,), 0.5, np.float32), name="w")
    i, h = tf.while_loop(lambda i, h: i < n, lambda i, h: (i + 1, tf.tanh(h * w + 1.0)), [0, x])
    c = tf.cond(tf.reduce_sum(h) > 0, lambda: h * 2.0, lambda: h - w)

    def outer_body(k, acc):  # a loop inside a loop, reading w live
        _, inner = tf.while_loop(lambda j, a: j < k, lambda j, a: (j + 1, a * w), [0, acc])
        return k + 1, inner + 0.1

    _, nested = tf.while_loop(lambda k, a: k < 2, outer_body, [0, c])
    cell = tf.nn.rnn_cell.GRUCell(4, kernel_initializer=tf.constant_initializer(0.3))
    out, _ = tf.nn.dynamic_rnn(cell, tf.expand_dims(nested, 1) * tf.ones([1, 2, 1]),
                               sequence_length=tf.placeholder(tf.int32, [None], name="lens"),
                               dtype=tf.float32)
    sc = tf.scan(lambda a, e: a + e, tf.transpose(h), initializer=tf.zeros([2]))
    loss = tf.add(tf.reduce_sum(out ** 2) + tf.reduce_sum(sc), tf.reduce_sum(nested),
                  name="loss")
    train = tf.train.AdamOptimizer(0.1).minimize(loss, name="train")
    tf.add_to_collection("train_op", train)
    return loss, train


def test_control_flow_round_trips_through_the_meta_graph(tmp_path, executor):
    loss, train = _build()
    saver = tf.train.Saver()
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train, FEED)
        prefix = saver.save(sess, str(tmp_path / "m"))
        text = tf.get_default_graph().as_text()
        want = [sess.run([loss, train], FEED)[0] for _ in range(3)]
        x = tf.get_default_graph().get_tensor_by_name("x:0")
        gx_want = sess.run(tf.gradients(loss, x)[0], FEED)
    tf.reset_default_graph()
    restored = tf.train.import_meta_graph(prefix + ".meta")
    g = tf.get_default_graph()
    assert g.as_text() == text
    assert [op.type for op in g.get_operations()].count("While") >= 4
    new_train = tf.get_collection("train_op")[0]
    gx, = tf.gradients(g.get_tensor_by_name("loss:0"), g.get_tensor_by_name("x:0"))
    with tf.Session(executor=executor) as sess:
        restored.restore(sess, prefix)
        got = [sess.run(["loss:0", new_train], FEED)[0] for _ in range(3)]
        restored.restore(sess, prefix)
        for _ in range(3):
            sess.run(new_train, FEED)
        gx_got = sess.run(gx, FEED)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(gx_got, gx_want, rtol=1e-5, atol=1e-7)


def test_to_json_keeps_function_graphs_captures_and_opaque_values():
    x = tf.placeholder(tf.float32, [None], name="x")
    ta = tf.TensorArray(tf.float32, size=3)
    _, ta = tf.while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t.write(i, x * 2.0)),
                          [0, ta])
    y = tf.cond(x[0] > 0, lambda: ta.stack(), lambda: -ta.stack())
    doc = to_json(tf.get_default_graph())
    json.loads(doc)  # plain JSON
    g = from_json(doc)
    assert g.as_text() == tf.get_default_graph().as_text()
    body = g.get_operation_by_name("while").host.body
    assert [(s.name, i.name) for s, i in body.captures] == [("x:0", "while/x:0")]
    with tf.Session() as s1, tf.Session(graph=g) as s2:
        for xv in ([1.0, 2.0], [-1.0]):
            np.testing.assert_array_equal(s1.run(y, {x: xv}),
                                          s2.run(g.get_tensor_by_name(y.name), {"x:0": xv}))


def test_a_host_op_that_cannot_travel_still_says_so():
    """An object that is not one of this package's exported classes is refused by name."""
    from staticgraph.serialize import _enc

    with pytest.raises(TypeError, match="cannot serialize parameter value"):
        _enc(object())


def test_a_meta_graph_with_a_host_op_that_cannot_travel_fails_on_import(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class LocalHost:  # not one of the exported classes
        def run(self, inputs: list, prepare: object = None, compiled: bool = False) -> list:
            return [inputs[0]]

    x = tf.placeholder(tf.float32, [2], name="x")
    spec = LocalHost()
    g = tf.get_default_graph()
    g.create_op("LocalHost", [x], {"spec": spec}, [x.op.outputs[0].aval], "local").host = spec
    v = tf.Variable(1.0, name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        prefix = tf.train.Saver().save(sess, str(tmp_path / "m"))
    tf.reset_default_graph()
    with pytest.raises(ValueError, match="a node of the graph is not exportable.*LocalHost"):
        tf.train.import_meta_graph(prefix + ".meta")

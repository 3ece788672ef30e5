"""``tf.summary`` and ``tf.summary.FileWriter``: summary ops return TF's serialized protos
(byte-for-byte, recorded from TF 2.21), and the event files decode back: with this project's
reader always, and with TensorFlow's ``summary_iterator`` and ``GraphDef`` parser where
TensorFlow is installed."""

from __future__ import annotations

import glob
import os
import struct

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.summary_proto import histogram_value, parse, scalar_value
from staticgraph.summary_writer import crc32c, masked_crc

# sess.run(tf.summary.merge_all()) under TF for x = [1, 2, 3.5]: scalar "loss" (the mean),
# histogram "w"
TF_MERGED = (
    b"\n\x0b\n\x04loss\x15\xab\xaa\n@\n\xa7\x01\n\x01w*\xa1\x01\t\x00\x00\x00\x00\x00\x00\xf0?"
    b"\x11\x00\x00\x00\x00\x00\x00\x0c@\x19\x00\x00\x00\x00\x00\x00\x08@!\x00\x00\x00\x00\x00"
    b"\x00\x1a@)\x00\x00\x00\x00\x00@1@28\x08\x99i\x19\x15Z\xed?+\x14\xfa\xcd\xbe$\xf0?\xdc\x94"
    b"\xcd.\x8du\xff?\xe0\x11\xf1\x0ctM\x01@u\xf8r\xca\xad\xdd\x0b@\x81DK\xf8\x0b\xa7\x0e@\xff"
    b"\xff\xff\xff\xff\xff\xef\x7f:8" + b"\x00" * 14 + b"\xf0?" + b"\x00" * 14 + b"\xf0?"
    + b"\x00" * 14 + b"\xf0?" + b"\x00" * 8)
# TF's histogram of no values
TF_EMPTY_HISTO = (b"\n+\n\x01w*&\t\xff\xff\xff\xff\xff\xff\xef\x7f\x11\xff\xff\xff\xff\xff\xff"
                  b"\xef\xff2\x08\xff\xff\xff\xff\xff\xff\xef\x7f:\x08" + b"\x00" * 8)


def test_crc32c_and_masking():
    assert crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert crc32c(b"") == 0
    c = crc32c(b"abc")
    assert masked_crc(b"abc") == (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_protos_are_tensorflows_bytes():
    x = np.array([1, 2, 3.5], np.float32)
    assert scalar_value("loss", x.mean()) + histogram_value("w", x) == TF_MERGED
    assert histogram_value("w", np.zeros(0)) == TF_EMPTY_HISTO


def test_summary_ops_names_tags_and_errors(executor):
    x = tf.placeholder(tf.float32, [None], name="x")
    s = tf.summary.scalar("loss", tf.reduce_mean(x))
    h = tf.summary.histogram("w", x)
    with tf.name_scope("train"):
        s2 = tf.summary.scalar("a b", x[0], family="fam")
    merged = tf.summary.merge_all()
    assert [t.name for t in (s, h, s2, merged)] == [
        "loss:0", "w:0", "train/fam/a_b:0", "Merge/MergeSummary:0"]
    assert s.op.tf_type == "ScalarSummary" and str(s.dtype) == "<dtype: 'string'>"
    with tf.Session(executor=executor) as sess:
        got = sess.run(merged, {x: [1, 2, 3.5]})
        assert isinstance(got, bytes)
        assert got == TF_MERGED + scalar_value("fam/train/fam/a_b", 1.0)
        summary = tf.Summary.FromString(got)
        assert [v.tag for v in summary.value] == ["loss", "w", "fam/train/fam/a_b"]
        assert summary.value[1].histo.num == 3 and summary.value[1].histo.max == 3.5
        for fetch, value, text in [
                (tf.summary.merge([s, s]), [1.0], "Duplicate tag loss found in summary inputs"),
                (tf.summary.scalar("v", x), [1.0, 2.0],
                 "tags and values are not the same shape: [] != [2] (tag 'v')"),
                (h, [1.0, np.inf], "Infinity in Histogram for: w"),
                (h, [np.nan], "Nan in summary histogram for: w")]:
            with pytest.raises(tf.errors.InvalidArgumentError, match=text.replace("[", "\\[")
                               .replace("(", "\\(").replace(")", "\\)")):
                sess.run(fetch, {x: value})
    assert tf.summary.merge_all("nothing") is None
    with pytest.raises(AttributeError, match="tf.summary.image is not supported"):
        tf.summary.image  # noqa: B018


def _training_loop(tf_mod, logdir: str) -> list:
    """A TensorBoard-logging loop: scalar and histogram summaries, a graph, steps 0..2."""
    tf_mod.reset_default_graph()
    x = tf_mod.placeholder(tf_mod.float32, [None, 2], name="x")
    w = tf_mod.Variable(np.array([[0.5], [-0.25]], np.float32), name="w")
    loss = tf_mod.reduce_mean(tf_mod.square(tf_mod.matmul(x, w) - 1.0))
    tf_mod.summary.scalar("loss", loss)
    tf_mod.summary.histogram("weights", w)
    merged = tf_mod.summary.merge_all()
    train = tf_mod.train.GradientDescentOptimizer(0.1).minimize(loss)
    data = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    losses = []
    with tf_mod.Session() as sess:
        sess.run(tf_mod.global_variables_initializer())
        writer = tf_mod.summary.FileWriter(logdir, sess.graph)
        for step in range(3):
            s, lv, _ = sess.run([merged, loss, train], {x: data})
            writer.add_summary(s, step)
            losses.append(float(lv))
        writer.add_summary(tf_mod.Summary(value=[tf_mod.Summary.Value(tag="manual",
                                                                      simple_value=0.25)]), 7)
        writer.flush()
        writer.close()
    return losses


def _decoded(iterate, path: str) -> list:
    out = []
    for e in iterate(path):
        what = e.WhichOneof("what")
        if what == "summary":
            out.append((e.step, [(v.tag, round(v.simple_value, 6) if v.WhichOneof("value") ==
                                  "simple_value" else (v.histo.num, v.histo.min, v.histo.max))
                                 for v in e.summary.value]))
        else:
            out.append((e.step, what))
    return out


def test_file_writer_event_file_reads_back(tmp_path):
    losses = _training_loop(tf, str(tmp_path))
    files = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    assert len(files) == 1
    events = _decoded(tf.train.summary_iterator, files[0])
    # TF writes the meta graph after the graph (issue #15: the TF1 corpus showed it)
    assert events[:3] == [(0, "file_version"), (0, "graph_def"), (0, "meta_graph_def")]
    assert [e[0] for e in events[3:]] == [0, 1, 2, 7]
    assert [e[1][0] for e in events[3:6]] == [("loss", round(v, 6)) for v in losses]
    assert events[3][1][1] == ("weights", (2.0, -0.25, 0.5))
    assert events[6][1] == [("manual", 0.25)]
    meta = next(e for e in tf.train.summary_iterator(files[0]) if e.meta_graph_def)
    assert dict(parse(meta.meta_graph_def))[2] == next(
        e for e in tf.train.summary_iterator(files[0]) if e.graph_def).graph_def
    first = next(tf.train.summary_iterator(files[0]))
    assert first.file_version == "brain.Event:2" and first.wall_time > 1e9
    graph = next(e for e in tf.train.summary_iterator(files[0]) if e.graph_def).graph_def
    nodes = [dict((f, v) for f, v in parse(n) if f in (1, 2)) for f, n in parse(graph) if f == 1]
    assert {b"x", b"w", b"MatMul"} <= {n[1] for n in nodes}
    assert (b"MatMul", b"MatMul") in {(n[1], n[2]) for n in nodes}


def test_a_corrupted_event_file_is_reported(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path))
    writer.add_summary(scalar_value("a", 1.0), 3)
    writer.close()
    path = glob.glob(str(tmp_path / "events.*"))[0]
    data = bytearray(open(path, "rb").read())
    data[-6] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(ValueError, match="data CRC mismatch"):
        list(tf.train.summary_iterator(path))
    with pytest.raises(TypeError, match="add_summary needs a serialized Summary"):
        tf.summary.FileWriter(str(tmp_path)).add_summary(1.5)
    (n,) = struct.unpack("<Q", bytes(data[:8]))  # the first record: the version event
    assert dict(parse(bytes(data[12:12 + n])))[3] == b"brain.Event:2"


def test_tensorflow_reads_our_event_files(tmp_path):
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    losses = _training_loop(tf, str(ours))
    tf1.disable_eager_execution()
    tf_losses = _training_loop(tf1, str(theirs))
    np.testing.assert_allclose(losses, tf_losses, rtol=1e-6)
    mine = glob.glob(str(ours / "events.*"))[0]
    ref = glob.glob(str(theirs / "events.*"))[0]
    read = tf1.train.summary_iterator
    got, want = _decoded(read, mine), _decoded(read, ref)
    assert want == got  # the meta graph event too
    graph = tf1.GraphDef.FromString(next(e for e in read(mine) if e.graph_def).graph_def)
    assert {"x", "w", "MatMul", "loss", "weights"} <= {n.name for n in graph.node}
    meta = tf1.MetaGraphDef.FromString(next(e for e in read(mine) if e.meta_graph_def)
                                       .meta_graph_def)
    assert meta.graph_def == graph
    assert os.path.getsize(mine) > 0


def test_summary_ops_export_and_import_with_the_meta_graph(tmp_path, executor):
    """A ``.meta`` holding summary ops imports (issue #15): the summaries run in the new graph
    and stay in the ``summaries`` collection for ``merge_all``."""
    x = tf.placeholder(tf.float32, [None], name="x")
    w = tf.Variable(2.0, name="w")
    tf.summary.scalar("loss", tf.reduce_mean(x * w))
    tf.summary.histogram("x", x)
    merged = tf.summary.merge_all()
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        want = sess.run(merged, {x: [1.0, 2.0, 3.5]})
        prefix = tf.train.Saver().save(sess, str(tmp_path / "m"))
    tf.reset_default_graph()
    saver = tf.train.import_meta_graph(prefix + ".meta")
    g = tf.get_default_graph()
    assert [t.name for t in tf.get_collection("summaries")] == ["loss:0", "x_1:0"]
    with tf.Session(executor=executor) as sess:
        saver.restore(sess, prefix)
        got = sess.run(g.get_tensor_by_name(merged.name), {"x:0": [1.0, 2.0, 3.5]})
        again = sess.run(tf.summary.merge_all(), {"x:0": [1.0, 2.0, 3.5]})
    assert bytes(got) == bytes(want) == bytes(again)
    values = tf.Summary.FromString(got).value
    assert [v.WhichOneof("value") for v in values] == ["simple_value", "histo"]
    assert values[0].simple_value == pytest.approx(13 / 3)


def test_exported_parameters_name_only_this_packages_exportable_classes():
    from staticgraph.serialize import _dec

    with pytest.raises(ValueError, match="not one of staticgraph's"):
        _dec({"__obj__": "os:system", "fields": {}})
    with pytest.raises(ValueError, match="not exportable"):
        _dec({"__obj__": "staticgraph.graph.core:Graph", "fields": {}})


def test_a_zero_simple_value_is_set():
    """protobuf's oneof: a ``simple_value`` of 0.0 is set (TF's ``HasField`` is True)."""
    v = tf.Summary.FromString(scalar_value("a", 0.0)).value[0]
    assert v.HasField("simple_value") and v.WhichOneof("value") == "simple_value"
    assert not v.HasField("histo")
    assert tf.Summary.Value(tag="t").WhichOneof("value") is None
    assert tf.Summary.Value(tag="t").SerializeToString() == b"\n\x01t"
    assert tf.Summary.Value(tag="t", simple_value=0.0).SerializeToString() == \
        scalar_value("t", 0.0)[2:]

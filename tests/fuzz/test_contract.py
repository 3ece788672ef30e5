"""The fuzzer's contract checks (:mod:`tests.fuzz.contract`) catch each kind of breach they are
for (on stand-in sessions that commit it), and a real Session passes them, failed runs
included."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as tf
from tests.fuzz import contract as C


class _CachedSession:
    """Returns the same buffer on every run (a result that is the session's own memory)."""

    def __init__(self) -> None:
        self.buf = np.arange(3.0)

    def run(self, fetch, feeds=None):
        return {k: self.buf for k in fetch}


def test_written_feed_and_shared_results_are_reported():
    x = np.arange(4.0)
    kept = C.copies({"x": x})
    x[0] = -1.0
    assert C.written_feeds(kept, {"x": x}) == ["the run wrote into the caller's feed array x"]
    a, b = object(), object()
    out = {"y0": x[:2], "y1": x[1:], "y2": np.zeros(2)}
    bad = C.shared_results(out, {"y0": a, "y1": b, "y2": b}, {"x": x})
    assert "result y0 shares memory with the caller's feed x" in bad
    assert "results y0 and y1 (distinct tensors) share memory" in bad
    assert not any("y2" in line for line in bad)
    same = C.shared_results({"y0": out["y2"], "y1": out["y2"]}, {"y0": a, "y1": a}, {})
    assert same == []  # the same tensor fetched twice may be one object


def test_a_result_that_is_a_cached_buffer_is_reported():
    sess = _CachedSession()
    out = sess.run({"y0": None})
    assert C.scribble_rerun(sess, {"y0": None}, {}, out) == [
        "writing into result y0 changed the next run's value of y0"]


def _train_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, [None, 3], name="x0")
        w = tf.Variable(np.ones(3), name="w")
        loss = tf.reduce_mean(x * w)
        train = tf.train.AdamOptimizer(0.1).minimize(loss)  # slots must not move either
        bad = tf.placeholder(tf.int64, [None])
        ns = {"FEED_OF": {"x0": x}, "TRAIN": train, "BAD_IDX": bad,
              "CHECK": tf.gather(tf.reshape(loss, [1]), bad),
              "INIT": tf.global_variables_initializer()}
    return g, ns, x, loss


@pytest.mark.parametrize("executor", ["reference", None])
def test_a_real_session_keeps_state_through_failed_runs(executor):
    g, ns, x, loss = _train_graph()
    with tf.Session(graph=g, executor=executor) as sess:
        sess.run(ns["INIT"])
        feeds = {x: np.ones((2, 3))}
        assert C.failed_runs(sess, [ns["TRAIN"], loss], ns, feeds, ["x0"]) == []


class _Answers:
    """A session whose training runs never fail: each one commits a step with good feeds."""

    def __init__(self, sess, train, good: dict) -> None:
        self.sess, self.graph, self.train, self.good = sess, sess.graph, train, good

    def run(self, fetches, feeds=None):
        if fetches and fetches[0] is self.train:
            return self.sess.run(self.train, self.good)
        return self.sess.run(fetches, feeds)


def test_runs_that_answer_or_commit_are_reported():
    g, ns, x, loss = _train_graph()
    good = {x: np.ones((2, 3))}
    with tf.Session(graph=g, executor="reference") as sess:
        sess.run(ns["INIT"])
        bad = C.failed_runs(_Answers(sess, ns["TRAIN"], good), [ns["TRAIN"], loss], ns, good,
                            ["x0"])
    for what in ("a missing feed", "an extra axis", "a feed of strings", "gather out of range"):
        assert any(what in b and "answered" in b for b in bad), (what, bad)
        assert any(what in b and "changed variables" in b for b in bad), (what, bad)


@pytest.mark.parametrize("op", ["exp", "add"])
def test_eager_backward_after_inplace_raises_or_agrees(op):
    """``exp`` saves its output (the backward raises: ``.grad`` stays 0.5), ``add`` saves
    nothing (the backward answers with a clean backward's gradients)."""
    import dynamic
    from tests.fuzz.program import Input, Node, Program

    prog = Program(dtype="float64", inputs=[Input([3], kind="var")],
                   nodes=[Node(op, [0] if op == "exp" else [0, 0])], outputs=[1], batches=[1])
    w = dynamic.tensor(np.arange(3.0), requires_grad=True)

    def forward():
        return {"v0": w, "v1": w.exp() if op == "exp" else w + w}
    assert C.inplace_backward(forward, prog, {0: w}, dynamic) == []
    assert w.grad is None


"""The region driver (``compiler/regions.py``) runs every op of a graph with host ops exactly once
and where the reference executor runs it: a value a later stage needs from an earlier one is
passed, never recomputed (so a dropout mask is drawn once: the fetched loss and the gradient
come from the same draw), and a variable read before a loop that assigns it sees the old value."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.compiler import regions
from staticgraph.graph.core import needed_ops

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture
def stage_ops(monkeypatch: pytest.MonkeyPatch) -> list:
    """The ops each compiled stage of a region runs, as the stages are built."""
    seen: list = []
    orig = regions.RegionRunner._stage

    def spy(self, fetch, targets, keys):
        if ("stage", tuple(fetch), tuple(targets), tuple(keys)) not in self._calls:
            seen.append(needed_ops(fetch, targets, keys))  # a new stage (not a rerun)
        return orig(self, fetch, targets, keys)

    monkeypatch.setattr(regions.RegionRunner, "_stage", spy)
    return seen


def _run_twice(build, feeds_of, n_runs: int = 2) -> dict:
    out = {}
    for ex in ("reference", "numba"):
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(7)
            fetches, init = build()
            with tf.Session(executor=ex) as s:
                s.run(init)
                out[ex] = [s.run(fetches, feeds_of(g)) for _ in range(n_runs)]
    return out


def _recomputed(stages: list) -> list:
    owner: dict = {}
    twice = []
    for k, ops in enumerate(stages):
        for op in ops:
            if op.type in ("Const", "VariableV2", "Placeholder"):
                continue
            if op in owner:
                twice.append(op.name)
            owner[op] = k
    return twice


def _assert_close(a, b) -> None:
    for x, y in zip(a, b, strict=True):
        if x is None:
            assert y is None
        else:
            np.testing.assert_allclose(x, y, rtol=2e-6, atol=1e-6)


def test_loss_and_train_op_around_loops_run_the_forward_once(stage_ops):
    """``[loss, train]`` where the loss reads a value computed before the forward loop (not one
    of its inputs) and the gradient is a second loop: three stages, no op in two of them."""
    xv = np.arange(6, dtype=np.float32).reshape(3, 2) / 6

    def build():
        x = tf.placeholder(tf.float32, [3, 2], name="x")
        w = tf.Variable(np.full((2, 2), 0.3, np.float32), name="w")
        z = tf.matmul(x, w)
        _, a = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 0.5 + 1.0),
                             [0, tf.tanh(z)])
        loss = tf.reduce_sum(a) + tf.reduce_sum(z * z)
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        return [loss, train, w.value()], tf.global_variables_initializer()

    got = _run_twice(build, lambda g: {g.get_tensor_by_name("x:0"): xv})
    for r, c in zip(got["reference"], got["numba"], strict=True):
        _assert_close(r, c)
    assert len(stage_ops) >= 3
    assert _recomputed(stage_ops) == []


def test_a_variable_read_before_a_loop_that_assigns_it_sees_the_old_value():
    def build():
        v = tf.Variable(1.0, name="v")
        before = v * 3.0

        def body(i, acc):
            with tf.control_dependencies([tf.assign_add(v, 1.0)]):
                return i + 1, acc + 1.0

        _, acc = tf.while_loop(lambda i, a: i < 3, body, [0, 0.0])
        after = acc + v * 1.0
        return [before, acc, after, v], v.initializer

    got = _run_twice(build, lambda g: {})
    assert [float(x) for x in got["reference"][0]] == [3.0, 3.0, 7.0, 1.0]
    for r, c in zip(got["reference"], got["numba"], strict=True):
        _assert_close(r, c)


def test_dropout_before_a_loop_draws_once_per_run_and_is_compiled(stage_ops, caplog):
    """The loss, the dropped activations and the gradient come from one mask per run (checked
    by recomputing the gradient from the fetched activations), as on the reference executor;
    the region is compiled, not handed to the reference executor."""
    xv = np.linspace(0.1, 1.0, 12, dtype=np.float32).reshape(4, 3)
    keep = 0.5

    def build():
        x = tf.placeholder(tf.float32, [4, 3], name="x")
        w = tf.Variable(np.full((3, 3), 0.3, np.float32), name="w")
        d = tf.nn.dropout(tf.matmul(x, w), keep_prob=keep)
        _, a = tf.while_loop(lambda i, a: i < 2, lambda i, a: (i + 1, a * 0.5), [0, d])
        loss = tf.reduce_sum(a * a)
        gw, = tf.gradients(loss, [w])
        return [loss, d, gw], tf.global_variables_initializer()

    with caplog.at_level(logging.INFO, logger="staticgraph.compiler"):
        got = _run_twice(build, lambda g: {g.get_tensor_by_name("x:0"): xv}, n_runs=3)
    assert "reference executor runs this key" not in caplog.text
    masks = set()
    for r, c in zip(got["reference"], got["numba"], strict=True):
        _assert_close(r, c)
        loss, d, gw = c
        np.testing.assert_allclose(loss, np.sum((d * 0.25) ** 2), rtol=1e-5)
        dz = 2 * d * 0.0625 * (d != 0) / keep
        np.testing.assert_allclose(gw, xv.T @ dz, rtol=1e-5, atol=1e-6)
        masks.add(tuple((d != 0).ravel()))
    assert len(masks) > 1  # a new mask each run
    assert _recomputed(stage_ops) == []


def test_allreduced_gradients_with_dropout_fetch_the_loss_of_the_same_draw(stage_ops, caplog):
    """``[loss, train]`` with each gradient allreduced (a host op each, as DistributedOptimizer
    does with several ranks; here a world of one): the forward, its mask and the gradients run
    once, in the first stage; the final stage gets the loss from it."""
    pytest.importorskip("mpi4py")
    import staticgraph.distributed as hvd

    hvd.init()
    xv = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)

    def build():
        x = tf.placeholder(tf.float32, [4, 3], name="x")
        w1 = tf.Variable(np.full((3, 3), 0.3, np.float32), name="w1")
        w2 = tf.Variable(np.full((3, 1), -0.2, np.float32), name="w2")
        h = tf.nn.dropout(tf.tanh(tf.matmul(x, w1)), keep_prob=0.7)
        loss = tf.reduce_mean(tf.square(tf.matmul(h, w2)))
        grads = tf.gradients(loss, [w1, w2])
        train = tf.train.GradientDescentOptimizer(0.5).apply_gradients(
            [(hvd.allreduce(g), v) for g, v in zip(grads, [w1, w2], strict=True)])
        return [loss, train, w1.value()], tf.global_variables_initializer()

    with caplog.at_level(logging.INFO, logger="staticgraph.compiler"):
        got = _run_twice(build, lambda g: {g.get_tensor_by_name("x:0"): xv}, n_runs=3)
    assert "reference executor runs this key" not in caplog.text
    for r, c in zip(got["reference"], got["numba"], strict=True):
        _assert_close(r, c)
    assert len(stage_ops) >= 2
    assert _recomputed(stage_ops) == []


def test_a_control_edge_back_across_a_loop_runs_the_op_once(caplog):
    """An op after the loop with a control input on an assign before it: the assign runs once,
    before the loop (which reads the variable); such a key runs on the reference executor."""
    def build():
        v = tf.Variable(1.0, name="v")
        bump = tf.assign_add(v, 1.0)
        _, acc = tf.while_loop(lambda i, a: i < 2, lambda i, a: (i + 1, a + v), [0, 0.0])
        with tf.control_dependencies([bump]):
            out = acc * 1.0
        return [out, v], v.initializer

    with caplog.at_level(logging.INFO, logger="staticgraph.compiler"):
        got = _run_twice(build, lambda g: {})
    assert [float(x) for x in got["reference"][0]] == [4.0, 1.0]
    for r, c in zip(got["reference"], got["numba"], strict=True):
        _assert_close(r, c)
    assert "needed through a control edge" in caplog.text

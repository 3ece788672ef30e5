"""TF1-API modes: ``static`` (``staticgraph``, default executor: the numba compiler),
``static-reference`` (``staticgraph``, ``Session(executor="reference")``) and the ``tf1`` peer
(``tensorflow.compat.v1``).

All three run the same builder, written as TF1 user code: ``tf.placeholder``, ``tf.Variable``,
``tf.gradients``, ``tf.train.GradientDescentOptimizer(lr).minimize``, ``tf.Session().run``.
The graph is built once; the data-dependent loop (``dyn`` kind) is a ``tf.while_loop`` whose
trip count comes from the fed sequence. The ``static-unrolled`` mode keeps the picture of a static
graph without control flow: each call builds a graph for that example's length and runs it.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..oracle import example_values, train_outputs
from ..workloads import Problem, Workload
from . import Bench, Unavailable, Unsupported

_tf: Any = None
_session_kwargs: dict[str, Any] = {}
_unrolled = False  # static-unrolled: dyn-loop builds a graph per example (no tf.while_loop)
_mode = ""


def setup(mode: str, threads: int) -> dict:
    """Import the TF1 API for ``mode`` and choose the Session options (executor, threads)."""
    global _tf, _unrolled, _mode
    _mode = mode
    info: dict[str, Any] = {"threads": threads}
    if mode == "tf1":
        try:
            import tensorflow as tf_root
            import tensorflow.compat.v1 as tf
        except Exception as e:
            raise Unavailable(f"cannot import tensorflow: {type(e).__name__}: {e}") from None
        tf.disable_v2_behavior()
        _session_kwargs["config"] = tf.ConfigProto(intra_op_parallelism_threads=threads,
                                                   inter_op_parallelism_threads=threads)
        info["version"] = tf_root.__version__
    else:
        try:
            import staticgraph as tf
        except Exception as e:
            raise Unavailable(f"cannot import staticgraph: {type(e).__name__}: {e}") from None
        for attr in ("placeholder", "Variable", "gradients", "Session", "train", "Graph"):
            if not hasattr(tf, attr):
                raise Unavailable(f"staticgraph has no tf.{attr} yet")
        info["version"] = getattr(tf, "__version__", "?")
        _unrolled = mode == "static-unrolled"
        if mode == "static-reference":
            _session_kwargs["executor"] = "reference"
            info["executor"] = "reference"
        else:
            info["executor"] = _default_executor()
            if info["executor"] == "reference":
                info["notes"] = "compiler not available yet: Session() runs the reference executor"
    _tf = tf
    return info


def _default_executor() -> str:
    try:
        from staticgraph.session import default_executor_name

        return default_executor_name()
    except Exception as e:  # report, do not fail: the Session decides anyway
        return f"unknown ({type(e).__name__})"


def ops(tf: Any) -> SimpleNamespace:
    """The workloads' op vocabulary on the TF1 API."""

    def softmax_ce(logits: Any, labels: Any) -> Any:
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))

    # looked up at call time: an API one workload needs may be missing without failing the rest
    return SimpleNamespace(
        tanh=lambda x: tf.tanh(x), sigmoid=lambda x: tf.sigmoid(x), exp=lambda x: tf.exp(x),
        relu=lambda x: tf.nn.relu(x), sum=lambda x: tf.reduce_sum(x),
        mean=lambda x: tf.reduce_mean(x), matmul=lambda a, b: tf.matmul(a, b),
        softmax_ce=softmax_ce)


def _settle(mode: str) -> Any:
    """The compiled mode's wait for its background switch from the native tier to numba's
    dispatchers (a warm process answers its first call before numba has loaded)."""
    if mode != "static":
        return None
    try:
        from staticgraph.compiler import block_until_ready
    except ImportError:
        return None
    return block_until_ready


def _placeholder(tf: Any, name: str, a: np.ndarray) -> Any:
    dtype = tf.int64 if a.dtype == np.int64 else tf.float32
    return tf.placeholder(dtype, shape=a.shape, name=name)


def build(mode: str, wl: Workload, problem: Problem) -> Bench:
    """Build the graph once (per example for ``dyn``) and return the Session.run calls."""
    tf = _tf
    F = ops(tf)
    vals = problem.values
    if _unrolled and wl.kind != "dyn":
        raise Unsupported("the same as static: static-unrolled differs on dyn-loop only")
    if wl.kind == "dyn":
        return _build_dyn(tf, F, wl, problem)
    graph = tf.Graph()
    with graph.as_default():
        ph = {n: _placeholder(tf, n, vals[n]) for n in problem.inputs}
        var = {n: tf.Variable(vals[n], name=n) for n in problem.params}
        v = {**ph, **var}
        feed = {ph[n]: vals[n] for n in problem.inputs}
        out = wl.forward(F, v)
        if wl.kind == "grad":
            grads = tf.gradients(out, [v[n] for n in problem.wrt])
            names = ["y"] + ["d_" + n for n in problem.wrt]
            fetches = [out, *grads]
        elif wl.kind == "grad2":
            (g,) = tf.gradients(out, [v[problem.wrt[0]]])
            names, fetches = ["dd_x"], tf.gradients(tf.reduce_sum(g), [v[problem.wrt[0]]])
        elif wl.kind == "train":
            train_op = tf.train.GradientDescentOptimizer(problem.lr).minimize(out)
        else:
            raise ValueError(f"unknown workload kind {wl.kind!r}")
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph, **_session_kwargs)
    sess.run(init)

    if wl.kind in ("grad", "grad2"):
        return Bench(lambda: sess.run(fetches, feed_dict=feed),
                     lambda: dict(zip(names, sess.run(fetches, feed_dict=feed), strict=True)),
                     settle=_settle(mode))

    def train() -> None:
        for _ in range(problem.steps):
            sess.run(train_op, feed_dict=feed)

    def step() -> None:
        if problem.reset:
            sess.run(init)
        train()

    def check() -> dict:
        sess.run(init)
        train()
        final = dict(zip(problem.params, sess.run([var[n] for n in problem.params]), strict=True))
        return train_outputs(problem, final, sess.run(out, feed_dict=feed))

    return Bench(step, check, settle=_settle(mode))


def _build_dyn(tf: Any, F: Any, wl: Workload, problem: Problem) -> Bench:
    """The loop length comes from the data: one graph whose ``tf.while_loop`` reads it (as
    TF1's ``dynamic_rnn`` does), built and differentiated once; the ``static-unrolled`` mode
    instead builds, differentiates (and compiles) a graph per example."""
    if _unrolled or not hasattr(tf, "while_loop") or wl.cell is None:
        return _build_dyn_unrolled(tf, F, wl, problem)
    v0, _ = example_values(problem, 0)
    names = (*problem.inputs, *problem.params)
    graph = tf.Graph()
    with graph.as_default():
        ph = {n: _placeholder(tf, n, v0[n]) for n in names}
        ph["xs"] = tf.placeholder(tf.float32, [None, v0["xs"].shape[1]], name="xs")
        xs = ph["xs"]
        steps = tf.shape(xs)[0]

        def body(t: Any, h: Any) -> tuple:
            return t + 1, wl.cell(F, tf.expand_dims(xs[t], 0), h, ph)

        _, h = tf.while_loop(lambda t, h: t < steps, body, [tf.constant(0), ph["h0"]])
        loss = F.sum(h * h)
        grads = tf.gradients(loss, [ph[n] for n in problem.wrt])
    sess = tf.Session(graph=graph, **_session_kwargs)
    fetches = [loss, *grads]
    counter = itertools.count()

    def run_example(index: int) -> dict:
        v, _ = example_values(problem, index)
        res = sess.run(fetches, feed_dict={ph[n]: v[n] for n in ph})
        return dict(zip(["loss"] + ["d_" + n for n in problem.wrt], res, strict=True))

    return Bench(lambda: run_example(next(counter)), lambda: run_example(0),
                 settle=_settle(_mode))


def _build_dyn_unrolled(tf: Any, F: Any, wl: Workload, problem: Problem) -> Bench:
    """The graph-per-example picture of a static graph without control flow: each call builds a
    graph for that example's length (a Python loop), differentiates it and runs it."""
    counter = itertools.count()

    def run_example(index: int) -> dict:
        v, length = example_values(problem, index)
        graph = tf.Graph()
        with graph.as_default():
            ph = {n: _placeholder(tf, n, v[n]) for n in (*problem.inputs, *problem.params, "xs")}
            loss = wl.forward(F, ph, length)
            grads = tf.gradients(loss, [ph[n] for n in problem.wrt])
        with tf.Session(graph=graph, **_session_kwargs) as sess:
            res = sess.run([loss, *grads], feed_dict={ph[n]: v[n] for n in ph})
        return dict(zip(["loss"] + ["d_" + n for n in problem.wrt], res, strict=True))

    return Bench(lambda: run_example(next(counter)), lambda: run_example(0))

"""Session.run caches per (fetch structure, feed keys, graph version): the cache must never skip a
check that a first call would make, nor serve a stale plan after the graph grows."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import namedtuple

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.session_plan import _feed_value


def _model():
    x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
    w = tf.Variable(np.array([[1.0], [2.0]], np.float32), name="w")
    y = tf.reduce_sum(tf.matmul(x, w))
    return x, w, y


def test_cached_plan_still_validates_every_feed(executor):
    x, w, y = _model()
    train = tf.assign_add(w, tf.ones_like(w))
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        good = np.ones((3, 2), np.float32)
        assert sess.run([y, train], {x: good})[0] == pytest.approx(9.0)
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(3, 4\) for Tensor "
                                             r"'x:0', which has shape '\(\?, 2\)'"):
            sess.run([y, train], {x: np.ones((3, 4), np.float32)})
        with pytest.raises(TypeError, match="cannot be cast safely"):
            sess.run([y, train], {x: np.full((3, 2), "a")})
        np.testing.assert_array_equal(sess.run(w), [[2.0], [3.0]])  # failed runs changed nothing
        # a safe cast (float64 feed of a float32 placeholder) still works on the cached plan
        assert sess.run(y, {x: np.ones((1, 2), np.float64)}) == pytest.approx(5.0)


def test_plan_follows_graph_changes_and_feed_sets(executor):
    x, w, y = _model()
    with tf.Session(executor=executor) as sess:
        sess.run(tf.global_variables_initializer())
        feed = {x: np.ones((2, 2), np.float32)}
        assert sess.run(y, feed) == pytest.approx(6.0)
        z = y * 10.0  # the graph grows: cached plans are rebuilt, new fetches work
        assert sess.run([y, z], feed) == [pytest.approx(6.0), pytest.approx(60.0)]
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value for "
                                                                 "placeholder tensor 'x'"):
            sess.run(y)  # another feed-key set: checked afresh
        assert sess.run({"a": y, "b": (z,)}, feed) == {"a": pytest.approx(6.0),
                                                       "b": (pytest.approx(60.0),)}


def test_failed_precheck_is_not_cached(executor):
    x, w, y = _model()
    sess = tf.Session(executor=executor)
    feed = {x: np.ones((1, 2), np.float32)}
    with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value w"):
        sess.run(y, feed)
    sess.run(w.initializer)
    assert sess.run(y, feed) == pytest.approx(3.0)


def test_named_numba_executor_works_in_a_fresh_process():
    code = ("import staticgraph as tf\n"
            "s = tf.Session(executor='numba')\n"
            "print(s.executor_name, s.run(tf.constant(2.0) * 3.0))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["numba", "6.0"]


def test_session_explain_reports_the_compiled_plan():
    x = tf.placeholder(tf.float32, shape=[None], name="x")
    y = tf.reduce_sum(tf.exp(x) * 2.0 + 1.0)
    sess = tf.Session()
    text = sess.explain(y, {"x:0": np.ones(3, np.float32)})
    assert "== after prune" in text and "== driver ==" in text and "buffer plan" in text
    assert "sg_exp" in text  # the fused kernel's generated source is shown


# ------------------------------------------------------ the generated per-plan fast path
def _feeds_model():
    z = tf.placeholder(tf.float32, shape=(), name="z")
    x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
    i = tf.placeholder(tf.int32, shape=[2], name="i")
    u = tf.placeholder(tf.float32, name="u")  # unknown rank
    w = tf.Variable(np.float32(1.0), name="w")
    y = (z * w + tf.reduce_sum(x) + tf.cast(tf.reduce_sum(i), tf.float32)
         + tf.reduce_sum(u))
    return z, x, i, u, w, y


_GOOD = {"z": np.float32(1.0), "x": np.ones((1, 2), np.float32), "i": np.array([1, 2], np.int32),
         "u": np.float32(1.0)}
_BAD = [  # (placeholder, bad value): each must raise what the general path raises
    ("z", np.ones(2, np.float32)), ("z", "a"), ("z", np.array([[1.0]])), ("z", tf.constant(1.0)),
    ("x", np.ones((3, 4), np.float32)), ("x", np.ones(2, np.float32)), ("x", [[1.0], [2.0]]),
    ("x", np.full((1, 2), "a")), ("i", np.array([1.5, 2.0])), ("i", np.array([2**40, 1])),
    ("i", np.ones(3, np.int32)), ("i", np.array([1, 2], np.float32) + 0.5),
]


def _general_error(t, value):
    """The error the general (first-run) feed path raises for ``value``, as (type, message)."""
    with pytest.raises(Exception) as info:
        _feed_value(t, value)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("name,bad", _BAD, ids=[f"{n}-{k}" for k, (n, _) in enumerate(_BAD)])
def test_cached_fast_path_raises_the_general_paths_errors(executor, name, bad):
    z, x, i, u, w, y = _feeds_model()
    ph = {"z": z, "x": x, "i": i, "u": u}
    n = tf.Variable(0, name="n")
    step = tf.assign_add(n, 1)  # counts the runs (independent of y: no read/write race)
    with tf.Session(executor=executor) as sess:
        sess.run([w.initializer, n.initializer])
        feed = {ph[k]: v for k, v in _GOOD.items()}
        assert sess.run([y, step], feed)[0] == pytest.approx(7.0)  # caches the plan
        want_type, want_msg = _general_error(ph[name], bad)
        with pytest.raises(want_type) as info:
            sess.run([y, step], {**feed, ph[name]: bad})
        assert type(info.value) is want_type and str(info.value) == want_msg
        assert f"'{ph[name].name}'" in want_msg or "graph Tensor" in want_msg  # names the tensor
        assert sess.run([w, n]) == [np.float32(1.0), np.int32(1)]  # the failed run changed nothing


@pytest.mark.parametrize("name,value", [
    ("z", 2.0), ("z", np.float64(2.0)), ("z", np.array(2.0)), ("z", np.int64(2)),
    ("z", np.array(2.0, ">f4")), ("x", np.ones((1, 2), ">f4")), ("x", np.ones((1, 2), np.int64)),
    ("x", [[2.0, 1.0]]), ("i", [2, 1]), ("i", np.array([2.0, 1.0])), ("u", np.ones((2, 1))),
])
def test_cached_fast_path_casts_safe_feeds(executor, name, value):
    z, x, i, u, w, y = _feeds_model()
    ph = {"z": z, "x": x, "i": i, "u": u}
    with tf.Session(executor=executor) as sess:
        sess.run(w.initializer)
        feed = {ph[k]: v for k, v in _GOOD.items()}
        assert sess.run([y], feed) == [pytest.approx(7.0)]
        want = 7.0 + float(np.sum(np.asarray(value, np.float64))) - float(
            np.sum(np.asarray(_GOOD[name], np.float64)))
        got = sess.run([y], {**feed, ph[name]: value})[0]
        assert type(got) is np.float32 and got == pytest.approx(want)


def test_exact_feeds_skip_the_general_check(monkeypatch):
    """The fast path's precomputed tests admit exact ndarray (and numpy scalar) feeds directly."""
    from staticgraph import session_plan

    calls = []
    real = session_plan._check_feed
    monkeypatch.setattr(session_plan, "_check_feed", lambda s, v: calls.append(s) or real(s, v))
    z, x, i, u, w, y = _feeds_model()
    sess = tf.Session()
    sess.run(w.initializer)
    feed = {z: np.float32(1.0), x: np.ones((5, 2), np.float32), i: np.array([1, 2], np.int32),
            u: np.ones(3, np.float32)}
    for _ in range(3):
        assert sess.run([y], feed)[0] == pytest.approx(17.0)
    assert [s[0] for s in calls] == [u] * 3  # only the unknown-rank placeholder
    calls.clear()
    assert sess.run([y], {**feed, z: 1.0, x: np.ones((5, 2))})[0] == pytest.approx(17.0)
    assert sorted(s[0].name for s in calls) == ["u:0", "x:0", "z:0"]


def test_fast_path_results_have_tf1_types(executor):
    """0-d results are numpy scalars of the tensor's dtype (``bytes`` for strings), others are
    writeable arrays not shared with later runs; ops give None; every structure is kept."""
    x = tf.placeholder(tf.float32, shape=[None], name="x")
    s = tf.reduce_sum(x)
    n = tf.size(x)  # int32 scalar
    v = x * 2.0
    c = tf.constant(np.arange(3, dtype=np.float32))
    b = tf.constant(b"abc")
    Pair = namedtuple("Pair", "a b")
    with tf.Session(executor=executor) as sess:
        for k in range(1, 4):  # the first call makes the plan, the others use its fast path
            feed = {x: np.full(k, 2.0, np.float32)}
            got = sess.run([s, n, v, s.op, c, b, s], feed)
            assert [type(r) for r in got] == [np.float32, np.int32, np.ndarray, type(None),
                                              np.ndarray, bytes, np.float32]
            assert got[0] == 2.0 * k and got[1] == k and got[5] == b"abc"
            assert got[2].flags.writeable and got[4].flags.writeable
            got[4][:] = -1.0  # the caller's copy: the next run's constant is unchanged
            np.testing.assert_array_equal(sess.run(c), [0.0, 1.0, 2.0])
            nested = sess.run({"p": Pair(s, [n]), "t": (v,), "o": s.op}, feed)
            assert type(nested["p"]) is Pair and type(nested["p"].b) is list
            assert type(nested["p"].a) is np.float32 and nested["o"] is None
            assert type(nested["t"]) is tuple and nested["t"][0].shape == (k,)
            assert type(sess.run(s, feed)) is np.float32 and sess.run(s.op, feed) is None
            assert type(sess.run((s,), feed)) is tuple and type(sess.run([s], feed)) is list
            assert type(sess.run([Pair(s, s)], feed)[0]) is Pair  # not the [(s, s)] plan
            assert type(sess.run([(s, s)], feed)[0]) is tuple


def test_graph_growth_invalidates_the_flat_plan_cache(executor):
    x, w, y = _model()
    with tf.Session(executor=executor) as sess:
        sess.run(w.initializer)
        feed = {x: np.ones((2, 2), np.float32)}
        fetch = [y]
        assert sess.run(fetch, feed) == [pytest.approx(6.0)]
        key = (tuple(fetch), tuple(feed))
        old = sess._flat_plans[key]
        assert sess.run(fetch, feed) == [pytest.approx(6.0)] and sess._flat_plans[key] is old
        z = y + 1.0  # the graph grows: the cached plan is stale and made again
        assert sess.run(fetch, feed) == [pytest.approx(6.0)]
        assert sess._flat_plans[key] is not old
        assert sess._flat_plans[key].version == sess.graph.version
        assert len(sess._plans) == 2  # the initializer's plan too: new nodes leave it valid
        fetch.append(z)  # the same list object, mutated: another key, another plan
        assert sess.run(fetch, feed) == [pytest.approx(6.0), pytest.approx(7.0)]
        with pytest.raises(TypeError, match="cannot be interpreted as a Tensor"):
            sess.run([y, np.ones(2)], feed)  # unhashable leaf: the general path's error


def test_fast_path_is_thread_safe(executor):
    x = tf.placeholder(tf.float32, shape=[None], name="x")
    s = tf.reduce_sum(x * 2.0)
    sess = tf.Session(executor=executor)
    sess.run(s, {x: np.ones(1, np.float32)})
    errors: list = []

    def work(k: int) -> None:
        for j in range(200):
            n = 1 + (k + j) % 3
            got = sess.run([s], {x: np.full(n, k, np.float32)})[0]
            if got != 2.0 * k * n:
                errors.append((k, n, got))

    th = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert errors == []


def test_plan_survives_graph_growth_without_a_new_preparation(executor):
    """New nodes change no existing one: the plan is restamped, keeping its generated fast path
    and the executor's prepared runner (no new compile)."""
    x, w, y = _model()
    with tf.Session(executor=executor) as sess:
        sess.run(w.initializer)
        feed = {x: np.ones((2, 2), np.float32)}
        assert sess.run([y], feed) == [pytest.approx(6.0)]
        key = ((y,), (x,))
        old = sess._plans[key]
        compiles = getattr(sess._executor, "compiles", None)
        for k in range(3):
            y * float(k)  # the graph grows
            assert sess.run([y], feed) == [pytest.approx(6.0)]
        new = sess._plans[key]
        assert new is not old and new.version == sess.graph.version
        assert new.fast is old.fast and new.runner is old.runner
        assert getattr(sess._executor, "compiles", None) == compiles


def test_set_shape_remakes_the_plan(executor):
    """An edit of an existing node (a refined placeholder shape) is not growth: the cached plan
    is made again and checks feeds against the new shape."""
    x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
    y = tf.reduce_sum(x)
    with tf.Session(executor=executor) as sess:
        assert sess.run(y, {x: np.ones((5, 2), np.float32)}) == pytest.approx(10.0)
        x.set_shape([3, 2])
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(5, 2\) for Tensor "
                                             r"'x:0', which has shape '\(3, 2\)'"):
            sess.run(y, {x: np.ones((5, 2), np.float32)})
        assert sess.run(y, {x: np.ones((3, 2), np.float32)}) == pytest.approx(6.0)


def test_plan_cache_is_bounded_and_keeps_plans_in_use():
    from staticgraph.session_cache import MAX_PLANS

    x = tf.placeholder(tf.float32, shape=[2], name="x")
    y = tf.reduce_sum(x)
    sess = tf.Session(executor="reference")
    feed = {x: np.ones(2, np.float32)}
    for k in range(1, 3 * MAX_PLANS):
        assert sess.run([y] * k, feed) == [pytest.approx(2.0)] * k  # a new plan each time
        assert sess.run(y, feed) == pytest.approx(2.0)  # one plan in constant use
        assert len(sess._plans) <= MAX_PLANS
    assert sess._plans[(y, (x,))] is not None
    assert len(sess._plans) >= MAX_PLANS // 2

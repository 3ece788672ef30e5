"""The whole-plan cache (:mod:`staticgraph.compiler.cpu.plan_cache`): a graph compiled before
loads its plan without the pipeline, the loaded plan is the compiled one field for field and
runs to the same values, and any change to the graph, the fetches or the feed signature is
another key (a miss)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler.cpu import plan_cache
from staticgraph.compiler.executor_base import plan_key

R = np.random.default_rng(13)
W = R.standard_normal((4, 3)).astype(np.float32)
X = R.standard_normal((5, 4)).astype(np.float32)
Y = R.integers(0, 3, 5)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    return str(tmp_path)


def build(act: str = "relu", bias: float = 0.0, lr: float = 0.1, wname: str = "w",
          xdtype: object = sg.float32, ctrl: bool = False) -> tuple:
    """A small training step; each argument changes the graph in one place."""
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(xdtype, [None, 4], name="x")
        y = sg.placeholder(sg.int64, [None], name="y")
        w = sg.Variable(W, name=wname)
        h = sg.matmul(sg.cast(x, sg.float32), w) + bias
        h = getattr(sg.nn, act)(h)
        loss = sg.reduce_mean(sg.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                             logits=h))
        train = sg.train.GradientDescentOptimizer(lr).minimize(loss)
        if ctrl:
            with sg.control_dependencies([train]):
                loss = sg.identity(loss)
        init = sg.global_variables_initializer()
    return g, x, y, loss, train, init


def run_twice(parts: tuple, xv: np.ndarray = X) -> tuple:
    g, x, y, loss, train, init = parts
    s = sg.Session(graph=g)
    s.run(init)
    before = s._executor.plan_loads
    out = [s.run([loss, train], {x: xv, y: Y})[0] for _ in range(2)]
    s.step_loads = s._executor.plan_loads - before  # the training step's plan: 0 or 1
    wv = s.run(g.get_operation_by_name(g.get_collection("variables")[0].op.name).outputs[0]) \
        if g.get_collection("variables") else None
    return s, out, wv


def the_plan(s: sg.Session, parts: tuple, xv: np.ndarray = X) -> object:
    g, x, y, loss, train, _ = parts
    return s._executor.plan_for(g, [loss], [train], {x: xv, y: Y})


def test_second_build_loads_the_same_plan_and_values(fresh_cache):
    a = build()
    s1, out1, w1 = run_twice(a)
    assert s1._executor.plan_loads == 0
    b = build()  # the same program in a new Graph (as a new process builds it)
    s2, out2, w2 = run_twice(b)
    assert s2.step_loads == 1
    np.testing.assert_array_equal(out1, out2)
    np.testing.assert_array_equal(w1, w2)
    p1, p2 = the_plan(s1, a), the_plan(s2, b)
    assert p1.prog.text() == p2.prog.text()
    assert p1.driver.source == p2.driver.source
    assert [ck.module_source for ck in p1.kernel_list] == \
        [ck.module_source for ck in p2.kernel_list]
    assert [ck.hash for ck in p1.kernel_list] == [ck.hash for ck in p2.kernel_list]
    assert repr(p1.mem.slots) == repr(p2.mem.slots) and p1.mem.escape == p2.mem.escape
    assert repr(p1.mem.slot_of) == repr(p2.mem.slot_of)
    assert (p1.njit_src is None) == (p2.njit_src is None)
    if p1.njit_src is not None:
        assert p1.njit_src.source == p2.njit_src.source
    assert p1.trace == p2.trace
    # the loaded plan's variables are the new graph's, not the first one's
    assert {v.op.graph for v, _ in p2.prog.variables} == {b[0]}


@pytest.mark.parametrize("change", [
    {"act": "tanh"}, {"bias": 0.5}, {"lr": 0.2}, {"wname": "w2"}, {"xdtype": sg.float64},
    {"ctrl": True}])
def test_any_graph_change_misses(fresh_cache, change):
    base = build()
    run_twice(base)
    other = build(**change)
    xv = X.astype(np.float64) if "xdtype" in change else X
    s, out, wv = run_twice(other, xv)
    assert s.step_loads == 0
    fd = {base[1]: X, base[2]: Y}
    assert plan_cache.plan_cache_key([base[3]], [base[4]], fd) != \
        plan_cache.plan_cache_key([other[3]], [other[4]], {other[1]: xv, other[2]: Y})
    ref = sg.Session(graph=other[0], executor="reference")
    ref.run(other[5])
    g, x, y, loss, train, _ = other
    want = [ref.run([loss, train], {x: xv, y: Y})[0] for _ in range(2)]
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


def test_key_covers_feed_signature_and_fetches(fresh_cache):
    g, x, y, loss, train, _ = build()
    k = plan_cache.plan_cache_key
    base = k([loss], [train], {x: X, y: Y})
    assert base == k([loss], [train], {x: X.copy(), y: Y})  # values are not in the key
    assert base == k([loss], [train], {x: X[:3], y: Y[:3]})  # nor sizes, as in the plan key
    assert base != k([loss], [train], {x: X[:1], y: Y[:1]})  # size-1 dims are
    assert base != k([loss], [], {x: X, y: Y})
    assert base != k([loss, loss], [train], {x: X, y: Y})
    # the cache key distinguishes at least what the in-memory plan key does
    assert plan_key(g, [loss], [train], {x: X, y: Y}) != plan_key(g, [loss], [],
                                                                  {x: X, y: Y})


def test_damaged_entry_is_removed_and_recompiled(fresh_cache):
    a = build()
    _, out1, _ = run_twice(a)
    files = [os.path.join(r, f) for r, _, fs in os.walk(fresh_cache) for f in fs
             if f.startswith("plan_")]
    assert files
    for fp in files:
        with open(fp, "r+b") as f:
            f.seek(-3, os.SEEK_END)
            f.write(b"\x00\x00\x00")
    s, out2, _ = run_twice(build())
    assert s.step_loads == 0
    np.testing.assert_array_equal(out1, out2)


def test_unstable_parameter_has_no_key(fresh_cache):
    g, x, y, loss, train, _ = build()
    op = loss.op
    op.params["opaque"] = object()  # printed by address: no canonical text
    try:
        assert plan_cache.plan_cache_key([loss], [train], {x: X, y: Y}) is None
    finally:
        del op.params["opaque"]


def test_disabled_by_environment(fresh_cache, monkeypatch):
    monkeypatch.setattr(plan_cache, "ENABLED", False)
    run_twice(build())
    s, _, _ = run_twice(build())
    assert s._executor.plan_loads == 0 and s.step_loads == 0


def test_a_fed_tensors_static_shape_is_in_the_key(fresh_cache):
    """Two graphs alike but for the static shape of a fed tensor that nothing reads (a loop
    body's pass-through variable): the feed node carries that shape, so they must not share a
    plan (found by tests/compiler/test_regions.py's dropout-before-a-loop case)."""
    def graph(n: int) -> tuple:
        g = sg.Graph()
        with g.as_default():
            i = sg.placeholder(sg.int32, [], name="i")
            a = sg.placeholder(sg.float32, [n, 3], name="a")
            lt = sg.less(i, 2)
        return g, i, a, lt

    _, i1, a1, lt1 = graph(3)
    _, i2, a2, lt2 = graph(4)
    k1 = plan_cache.plan_cache_key([lt1], [], {i1: np.int32(0), a1: np.zeros((3, 3), np.float32)})
    k2 = plan_cache.plan_cache_key([lt2], [], {i2: np.int32(0), a2: np.zeros((4, 3), np.float32)})
    assert k1 != k2
    for g, i, a, lt, n in (graph(3) + (3,), graph(4) + (4,)):
        s = sg.Session(graph=g)
        assert s.run(lt, {i: 1, a: np.zeros((n, 3), np.float32)})


def test_a_loaded_plan_uses_numpys_own_dtype_objects(fresh_cache):
    """Unpickled dtypes (and arrays) carry fresh dtype objects, not numpy's canonical ones, and
    every array made from them does too: identity guards (``a.dtype is float32``: the session's
    and ``dynamic.compile``'s fast paths) then missed on every run of a plan loaded from the
    cache (found as ``dynamic.compile`` never swapping parameters on a warm cache)."""
    run_twice(build())
    b = build()
    s, out, wv = run_twice(b)
    assert s.step_loads == 1
    p = the_plan(s, b)
    for shape, dt in p.mem.slots:
        assert dt is np.dtype(dt.str), dt
    for a in [*out, wv]:
        assert a.dtype is np.dtype(a.dtype.str)
    for ck in p.kernel_list:
        for c in getattr(ck.step, "consts", ()) or ():
            if isinstance(c, np.ndarray):
                assert c.dtype is np.dtype(c.dtype.str)


def test_canonical_reducers_round_trip_values():
    import io

    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.asfortranarray(W),
              np.zeros((0, 3), np.int64), np.array(3.5), np.array([b"ab", b"c"]),
              np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]), W[:, 1:]]
    for a in arrays:
        buf = io.BytesIO()
        plan_cache._Pickler(buf, None).dump((a, a.dtype))
        b, d = plan_cache._Unpickler(io.BytesIO(buf.getvalue()), None).load()
        np.testing.assert_array_equal(a, b)
        assert b.dtype == a.dtype and b.shape == a.shape and d == a.dtype
        if np.dtype(a.dtype.str).isbuiltin:
            assert b.dtype is np.dtype(a.dtype.str) and d is np.dtype(a.dtype.str)

"""Arrays whose dtype equals numpy's but is not numpy's own object (unpickled arrays: ``pickle``
makes a fresh ``float32`` descriptor) take the fast paths: the session's feed check hands the
executor a view with numpy's descriptor, constants (a ``tf.Variable``'s initial value) are
stored with it, and ``dynamic``'s creation functions wrap such arrays with it. Before, the
values were right but every run missed the identity guards (``a.dtype is float32``, the packed
``sg_seq`` call's descriptor check, ``dynamic.compile``'s fast path) and ran the slow way."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import dynamic
import staticgraph as sg
from staticgraph import session_plan


def unpickled(a: np.ndarray) -> np.ndarray:
    b = pickle.loads(pickle.dumps(a))
    assert b.dtype == a.dtype and b.dtype is not np.dtype(a.dtype.str)  # the premise
    return b


def test_the_feed_check_passes_an_unpickled_array_as_a_view_with_numpys_dtype() -> None:
    x = unpickled(np.arange(6, dtype=np.float32).reshape(2, 3))
    f32 = np.dtype(np.float32)
    got = session_plan._check_feed((None, f32, (None, 3), False), x)
    assert got.dtype is f32 and np.shares_memory(got, x)
    np.testing.assert_array_equal(got, x)
    own = np.ones((2, 3), np.float32)
    assert session_plan._check_feed((None, f32, (None, 3), False), own) is own


def test_a_constant_from_an_unpickled_array_has_numpys_dtype() -> None:
    with sg.Graph().as_default():
        c = sg.constant(unpickled(np.ones(3, np.float64)))
        assert c.op.params["value"].dtype is np.dtype(np.float64)
        assert c.aval.dtype is np.dtype(np.float64)


def test_unpickled_feeds_and_initial_values_run_packed(packed_returns) -> None:
    """The packed call (``sg_seq``) accepts every stretch on every run (it returned 1, the
    slow way, for each stretch reading an unpickled feed or variable)."""
    rets = packed_returns
    rng = np.random.default_rng(3)
    X = unpickled(rng.standard_normal((6, 5)).astype(np.float32))
    Y = unpickled(rng.integers(0, 3, 6))
    W = unpickled((rng.standard_normal((5, 3)) * 0.5).astype(np.float32))
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 5], name="x")
        y = sg.placeholder(sg.int64, [None], name="y")
        w = sg.Variable(W, name="w")
        loss = sg.reduce_mean(sg.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=sg.matmul(x, w)))
        train = sg.train.GradientDescentOptimizer(0.5).minimize(loss)
        init = sg.global_variables_initializer()
    got = []
    for ex in ("numba-llvm", "reference"):
        s = sg.Session(graph=g, executor=ex)
        s.run(init)
        rets.clear()
        got.append([float(s.run([loss, train], {x: X, y: Y})[0]) for _ in range(3)])
        if ex == "numba-llvm":
            assert rets and all(r == 0 for r in rets), rets
    np.testing.assert_allclose(got[0], got[1], rtol=1e-5)


@pytest.mark.parametrize("make", [dynamic.tensor, dynamic.from_numpy, dynamic.as_tensor])
def test_dynamic_tensors_from_unpickled_arrays_have_numpys_dtype(make) -> None:
    a = unpickled(np.arange(4.0, dtype=np.float32))
    t = make(a)
    assert t._data.dtype is np.dtype(np.float32)
    np.testing.assert_array_equal(t.numpy(), a)
    if make is dynamic.from_numpy:  # still shares memory
        a[0] = 7.0
        assert t.numpy()[0] == 7.0


def test_dynamic_compile_takes_its_fast_path_for_unpickled_inputs(tmp_path, monkeypatch) -> None:
    """The compiled function's generated fast path answers (it returned MISS, and the call
    took the general path, on every call with an unpickled input)."""
    from dynamic._compile.fastpath import MISS

    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    f = dynamic.compile(lambda a, b: (a * b + 1.0).sum(1))
    a = dynamic.tensor(unpickled(np.arange(6.0, dtype=np.float32).reshape(2, 3)))
    b = dynamic.from_numpy(unpickled(np.full((2, 3), 2.0, np.float32)))
    first = f(a, b)
    f(a, b)
    assert f._hot is not None
    out = f._hot((a, b))
    assert out is not MISS
    np.testing.assert_allclose(out.numpy(), first.numpy())
    np.testing.assert_allclose(first.numpy(), (np.arange(6.0).reshape(2, 3) * 2 + 1).sum(1))

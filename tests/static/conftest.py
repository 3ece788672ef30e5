"""Fixtures for the static-graph tests: a fresh default graph per test, and every registered
executor (the reference interpreter, plus ``numba`` once ``staticgraph.compiler`` registers it)."""

from __future__ import annotations

import functools
import sys

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.session import EXECUTORS, default_executor_name
from tests.conftest import executor_on_its_tier


def _executors() -> list[str]:
    default_executor_name()  # imports staticgraph.compiler when present (registers "numba")
    if "numba" in EXECUTORS and sys.platform.startswith("linux"):
        # the compiler's native tier: kernels run from their saved machine code through
        # ctypes, as a warm process does before numba loads (test-only name)
        EXECUTORS.setdefault("numba-native", functools.partial(EXECUTORS["numba"],
                                                               native_only=True))
        # the LLVM renderer's kernels (numba compiles only what it declines)
        EXECUTORS.setdefault("numba-llvm", functools.partial(EXECUTORS["numba"],
                                                             llvm_only=True))
    return sorted(EXECUTORS)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


@pytest.fixture(params=_executors())
def executor(request) -> str:
    """Each executor; ``numba`` on numba's tier (not the native one while numba loads)."""
    return executor_on_its_tier(request)


def central_difference(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The gradient of the scalar function ``f`` at ``x`` by central differences."""
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        out.flat[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return out


def _case_graph(tf, case: tuple, dtype) -> tuple[list, object, object, np.ndarray]:
    """Placeholders, ``case``'s output and d sum(out * w)/d inputs (w fixed per case);
    ``case`` is ``(build(tf, *xs), numpy_fn(*arrays), arrays)``."""
    build, np_fn, arrays = case
    xs = [tf.placeholder(dtype, a.shape, name=f"in{k}") for k, a in enumerate(arrays)]
    out = build(tf, *xs)
    w = np.random.default_rng(1).uniform(0.5, 1.5, np.shape(np_fn(*arrays)))
    wt = tf.constant(w.astype(np.float64 if dtype == tf.float64 else np.float32))
    grads = tf.gradients(tf.reduce_sum(out * wt), xs)
    return xs, out, grads, w


def check_case_against_numpy(case: tuple, executor: str, rtol: float) -> None:
    """``case`` in float64 on ``executor``: its value against numpy (``rtol``, atol 1e-12), its
    gradients against central differences of the numpy function."""
    _, np_fn, arrays = case
    xs, out, grads, w = _case_graph(tf, case, tf.float64)
    feed = dict(zip(xs, arrays, strict=True))
    with tf.Session(executor=executor) as sess:
        got, *gs = sess.run([out] + grads, feed)
    np.testing.assert_allclose(got, np_fn(*arrays), rtol=rtol, atol=1e-12)
    for k, g in enumerate(gs):
        def f(v, k=k):
            args = list(arrays)
            args[k] = v
            return float((np_fn(*args) * w).sum())
        np.testing.assert_allclose(g, central_difference(f, arrays[k]), rtol=1e-6, atol=1e-7)


def check_case_against_tensorflow(case: tuple, rtol: float, atol: float) -> None:
    """``case`` in float32 built with TF's ``tf.compat.v1`` and with staticgraph: the same
    static shape and dtype, values and gradients within ``rtol``/``atol`` (skips without TF)."""
    tf1 = pytest.importorskip("tensorflow.compat.v1")
    tf1.disable_eager_execution()
    arrays = case[2]
    results = []
    for lib in (tf1, tf):
        lib.reset_default_graph()
        xs, out, grads, _ = _case_graph(lib, case, lib.float32)
        feed = dict(zip(xs, [a.astype(np.float32) for a in arrays], strict=True))
        with lib.Session() as sess:
            results.append((out.shape.as_list(), out.dtype.name, sess.run([out] + grads, feed)))
    (ts, td, tv), (gs, gd, gv) = results
    assert (gs, gd) == (ts, td)
    for t, g in zip(tv, gv, strict=True):
        np.testing.assert_allclose(g, t, rtol=rtol, atol=atol)


def nested_loops(v: np.ndarray) -> tuple:
    """A loop whose body holds a loop: ``y`` = ``x`` through ``n`` outer iterations of ``m``
    inner steps ``b * 0.8 + sin(b)``; ``g`` = d sum(y*y)/dx and ``hv`` = d (g . v)/dx (a
    gradient through the gradient's loops). Returns (x, n, m, y, g, hv)."""
    x = tf.placeholder(tf.float64, [None], name="x")
    n = tf.placeholder(tf.int32, [], name="n")
    m = tf.placeholder(tf.int32, [], name="m")

    def outer(i, a):
        _, b = tf.while_loop(lambda j, b: j < m, lambda j, b: (j + 1, b * 0.8 + tf.sin(b)),
                             [tf.constant(0), a])
        return i + 1, b

    _, y = tf.while_loop(lambda i, a: i < n, outer, [tf.constant(0), x])
    (g,) = tf.gradients(tf.reduce_sum(y * y), [x])
    (hv,) = tf.gradients(tf.reduce_sum(g * v), [x])
    return x, n, m, y, g, hv

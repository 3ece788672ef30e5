"""Fixtures for the static-graph tests: a fresh default graph per test, and every registered
executor (the reference interpreter, plus ``numba`` once ``staticgraph.compiler`` registers it)."""

from __future__ import annotations

import functools
import sys

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.session import EXECUTORS, default_executor_name


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
    return request.param


def central_difference(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The gradient of the scalar function ``f`` at ``x`` by central differences."""
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        out.flat[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return out


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

"""Results taken out of the escape pool (``Runner.instance(F).taker``, issue #14): a caller that
keeps a result as storage others may view (``dynamic.compile``'s parameters) takes it out of
its pool; the instance then holds no reference to it and never writes into it again, on the
single driver and on the Python driver, with or without an array given back in its place."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import staticgraph as tf
from staticgraph.compiler import block_until_ready
from staticgraph.compiler.cpu import instance as instance_mod
from staticgraph.compiler.cpu.executor import NumbaExecutor


class _State:
    """No variables: what a runner needs of a session's store."""

    view: dict = {}

    def commit(self, updates: dict) -> None:
        assert not updates


def _runner(n: int):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [n], name="x")
    y1 = tf.tanh(x) * 2.0
    y2 = tf.exp(x) + tf.reduce_sum(x * x)  # a reduction: two steps (the single driver)
    runner = NumbaExecutor().prepare(tf.get_default_graph(), [y1, y2], [], [x])
    return runner


def _want(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.tanh(a) * np.float32(2.0), np.exp(a) + np.sum(a * a)


@pytest.fixture(params=["single", "python"])
def driver(request, monkeypatch):
    if request.param == "python":  # every plan below the threshold: the Python driver
        monkeypatch.setattr(instance_mod, "SINGLE_MIN_STEPS", 99)
    return request.param


def test_a_taken_result_is_never_written_again(driver):
    runner, state = _runner(7), _State()
    rng = np.random.default_rng(0)
    kept: list[tuple[np.ndarray, np.ndarray]] = []  # (taken array, the values it had)
    take = None
    for k in range(40):
        a = rng.standard_normal(7).astype(np.float32)
        r = runner([a], state)
        if take is None:
            inst = runner.instance([a])  # first the native tier's Python driver
            take = inst.taker([0])
        if k == 20:  # the hand-over to numba's driver, with results taken before and after
            block_until_ready()
        w1, w2 = _want(a)
        np.testing.assert_allclose(r[0], w1, rtol=1e-6)
        np.testing.assert_allclose(r[1], w2, rtol=1e-6)
        # every third run gives back an array of its own (unreferenced elsewhere)
        g = np.empty(7, np.float32) if k % 3 == 0 else None
        take(r, [g])
        g = None
        kept.append((r[0], r[0].copy()))
        assert all(r[0] is not t for t, _ in kept[:-1])
        r = None
    assert inst.tier == "numba" and inst.small == (driver == "single")
    for t, v in kept:  # no later run wrote into a taken array
        np.testing.assert_array_equal(t, v)


def test_after_take_the_instance_holds_no_reference(driver):
    runner, state = _runner(5), _State()
    a = np.linspace(-1, 1, 5, dtype=np.float32)
    r = runner([a], state)
    runner.instance([a]).taker([0, 1])(r, [None, None])
    t0, t1 = r
    r = None
    assert sys.getrefcount(t0) == 2 and sys.getrefcount(t1) == 2  # ``t``, the argument
    before = (t0.copy(), t1.copy())
    for _ in range(5):
        runner([a * 3], state)
    np.testing.assert_array_equal(t0, before[0])
    np.testing.assert_array_equal(t1, before[1])


def test_a_given_array_becomes_the_next_result_buffer(driver):
    runner, state = _runner(6), _State()
    a = np.ones(6, np.float32)
    r = runner([a], state)
    take = runner.instance([a]).taker([0])
    mine = np.empty(6, np.float32)
    ident = id(mine)
    take(r, [mine])
    mine = None
    taken = r[0]
    r = runner([a * 2], state)
    assert id(r[0]) == ident and r[0] is not taken  # the pool writes the given array now
    np.testing.assert_allclose(r[0], _want(a * 2)[0], rtol=1e-6)
    np.testing.assert_allclose(taken, _want(a)[0], rtol=1e-6)


def test_positions_that_are_copies_are_left_alone():
    """A value fetched twice: the second result is a copy, never in a pool."""
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [4], name="x")
    y = tf.sin(x) * 3.0
    runner = NumbaExecutor().prepare(tf.get_default_graph(), [y, tf.identity(y)], [], [x])
    a = np.arange(4, dtype=np.float32)
    r = runner([a], _State())
    runner.instance([a]).taker([0, 1])(r, [None, None])
    t0, t1 = r
    r = None
    for _ in range(3):
        runner([a + 1], _State())
    np.testing.assert_allclose(t0, np.sin(a) * 3, rtol=1e-6)
    np.testing.assert_allclose(t1, np.sin(a) * 3, rtol=1e-6)


def test_no_instance_before_a_run_or_for_the_reference():
    runner = _runner(3)
    assert runner.instance([np.zeros(3, np.float32)]) is None

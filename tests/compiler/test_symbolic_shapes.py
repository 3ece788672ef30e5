"""Symbolic shapes through slicing and concatenation (issue #9): a full slice keeps the batch
symbol, a partial slice or a concatenation gets a derived symbol computed when the plan is bound
to feed shapes; one Session runs several batch sizes (0 and 1 included) against the reference."""

from __future__ import annotations

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler import compile_plan
from staticgraph.compiler.passes.shapes import Sym
from staticgraph.graph.errors import InvalidArgumentError

from .helpers import assert_close

SIZES = (3, 0, 1, 2, 5)


def _sessions(g):
    return sg.Session(graph=g), sg.Session(graph=g, executor="reference")


def _no_unknown_dims(plan) -> None:
    for n in plan.prog.nodes:
        assert all(isinstance(d, (int, Sym)) for d in n.shape), (n, n.shape)


def test_slice_reduce_and_gradient_with_grad_ys():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3, 3])
        gy = sg.placeholder(sg.float32, [None])
        y = sg.reduce_sum(x[:, :, 1:2], axis=[1, 2])
        dx, = sg.gradients(y, [x], grad_ys=gy)
    rng = np.random.default_rng(0)
    plan = compile_plan([y, dx], [], {x: np.ones((2, 3, 3), np.float32),
                                       gy: np.ones(2, np.float32)})
    _no_unknown_dims(plan)
    fast, ref = _sessions(g)
    for n in SIZES:
        xv = rng.standard_normal((n, 3, 3)).astype(np.float32)
        gv = rng.standard_normal(n).astype(np.float32)
        got = fast.run([y, dx], {x: xv, gy: gv})
        assert_close(got, ref.run([y, dx], {x: xv, gy: gv}))
        assert_close(got[0], xv[:, :, 1:2].sum(axis=(1, 2)))
        want = np.zeros_like(xv)
        want[:, :, 1] = gv[:, None]
        assert_close(got[1], want)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's mean of an empty batch
def test_concat_of_batches_elementwise_reduce_and_gradients():
    g = sg.Graph()
    with g.as_default():
        a = sg.placeholder(sg.float32, [None, 3])
        b = sg.placeholder(sg.float32, [None, 3])
        gz = sg.placeholder(sg.float32, [None])
        c = sg.concat([a, b], 0)
        z = sg.reduce_sum(c * c + 1.0, axis=1)
        m = sg.reduce_mean(sg.tanh(c))
        da, db = sg.gradients(z, [a, b], grad_ys=gz)
        dm = sg.gradients(m, [a, b])
    fetches = [z, m, da, db] + dm
    rng = np.random.default_rng(1)
    _no_unknown_dims(compile_plan(fetches, [], {a: np.ones((2, 3), np.float32),
                                                b: np.ones((3, 3), np.float32),
                                                gz: np.ones(5, np.float32)}))
    fast, ref = _sessions(g)
    for n in SIZES:
        k = (n * 2) % 7  # b's batch differs from a's
        av = rng.standard_normal((n, 3)).astype(np.float32)
        bv = rng.standard_normal((k, 3)).astype(np.float32)
        gv = rng.standard_normal(n + k).astype(np.float32)
        feed = {a: av, b: bv, gz: gv}
        got = fast.run(fetches, feed)
        assert_close(got, ref.run(fetches, feed))
        assert_close(got[2], 2 * av * gv[:n, None])
        assert_close(got[3], 2 * bv * gv[n:, None])


def test_partial_slices_derive_sizes_and_check_them():
    g = sg.Graph()
    with g.as_default():
        w = sg.placeholder(sg.float32, [None, 3])
        a = sg.placeholder(sg.float32, [None, 3])
        q = sg.reduce_sum(w[1:] * a[:-1])
        dq = sg.gradients(q, [w, a])
        flat = sg.reshape(a, [-1]) * 2.0  # reshape(-1) of a batch: a derived size too
    fetches = [q, flat] + dq
    fast, ref = _sessions(g)
    rng = np.random.default_rng(2)
    for n in (4, 1, 0, 2, 6):
        wv = rng.standard_normal((n, 3)).astype(np.float32)
        av = rng.standard_normal((n, 3)).astype(np.float32)
        got = fast.run(fetches, {w: wv, a: av})
        assert_close(got, ref.run(fetches, {w: wv, a: av}))
    # w[1:] and a[:-1] must agree: a clean error naming the slice, and the session still runs
    with pytest.raises(InvalidArgumentError, match="getitem"):
        fast.run(fetches, {w: np.ones((5, 3), np.float32), a: np.ones((3, 3), np.float32)})
    got = fast.run(q, {w: np.ones((3, 3), np.float32), a: np.ones((3, 3), np.float32)})
    assert got == pytest.approx(6.0)


def test_full_slice_keeps_the_feed_symbol():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 4])
        y = x[:, 1:3] + x[::-1, :2]
    plan = compile_plan([y], [], {x: np.ones((3, 4), np.float32)})
    feed_dim = plan.prog.feeds[0].shape[0]
    assert plan.prog.outputs[0].shape == (feed_dim, 2)
    assert not plan.prog.dim_checks  # nothing derived, nothing to check at bind
    xv = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert_close(sg.Session(graph=g).run(y, {x: xv}), xv[:, 1:3] + xv[::-1, :2])

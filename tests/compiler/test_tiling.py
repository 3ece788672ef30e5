"""Tiled (loop-fission) and chunked rank-1 kernels (compiler/tiling.py, cpu/render_chunks.py):
the decision, values against numpy on the tiled and untiled paths (small shapes tiled through
``STATICGRAPH_TILE_MIN_COST``), and reductions whose partials combine in one order for any
thread count."""

from __future__ import annotations

import functools
import sys

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler.cpu.compiled_kernel import compile_step
from staticgraph.compiler.cpu.executor import NumbaExecutor
from staticgraph.compiler.cpu.render import BLOCK
from staticgraph.compiler.tiling import CHUNK, TILE
from staticgraph.session import EXECUTORS

EXECS = ["numba"]
if sys.platform.startswith("linux"):  # kernels linked from their saved machine code
    EXECUTORS.setdefault("numba-native", functools.partial(EXECUTORS["numba"], native_only=True))
    EXECS.append("numba-native")


def chain(x):
    """The ``chain`` workload's forward: four transcendentals."""
    a = sg.tanh(x)
    b = sg.sigmoid(a * 1.5)
    c = sg.exp(b * -1.0)
    return sg.tanh(c * x + a)


def chain_np(x: np.ndarray) -> tuple[np.float32, np.ndarray]:
    """Its sum and gradient in float64 numpy."""
    x = x.astype(np.float64)
    a = np.tanh(x)
    b = 1.0 / (1.0 + np.exp(-1.5 * a))
    c = np.exp(-b)
    d = np.tanh(c * x + a)
    gd = 1.0 - d * d
    ga = gd - gd * x * c * b * (1.0 - b) * 1.5
    return d.sum(), gd * c + ga * (1.0 - a * a)


def chain_graph(n: int):
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [n])
        y = sg.reduce_sum(chain(x))
        (dx,) = sg.gradients(y, [x])
    return g, x, y, dx


def kernels(g, fetches, feeds) -> list:
    plan = NumbaExecutor().plan_for(g, fetches, [], feeds)
    return [ck.step.kernel for ck in plan.kernel_list]


def test_long_chain_is_tiled_and_a_short_one_is_not():
    xv = np.ones(10, np.float32)
    g, x, y, dx = chain_graph(10)
    (k,) = kernels(g, [y, dx], {x: xv})
    assert k.tiling is not None and k.tiling.size == TILE and len(k.tiling.stages) >= 2
    assert k.tiling.buffers and k.chunk == CHUNK
    # every statement runs in some stage, every output and reduction is stored exactly once
    ran = {i for st in k.tiling.stages for i in st.stmts}
    assert ran == set(range(len(k.stmts)))
    assert sorted(j for st in k.tiling.stages for j in st.outputs) == list(range(len(k.outputs)))
    assert sorted(j for st in k.tiling.stages for j in st.reductions) == [0]
    # a buffer is written by one stage and only read by later ones
    for v, _ in k.tiling.buffers:
        w = [q for q, st in enumerate(k.tiling.stages) if v in st.writes]
        r = [q for q, st in enumerate(k.tiling.stages) if v in st.reads]
        assert len(w) == 1 and r and min(r) > w[0]

    g2 = sg.Graph()
    with g2.as_default():
        x2 = sg.placeholder(sg.float32, [None])  # not a static short sum
        y2 = sg.reduce_sum(sg.tanh(x2) * 2.0 + 1.0)
    (k2,) = kernels(g2, [y2], {x2: xv})
    assert k2.tiling is None and k2.chunk == CHUNK  # a full reduction: chunked, not tiled

    g3 = sg.Graph()  # rank 2: neither
    with g3.as_default():
        x3 = sg.placeholder(sg.float32, [4, 5])
        y3 = sg.reduce_sum(chain(x3))
    (k3,) = kernels(g3, [y3], {x3: np.ones((4, 5), np.float32)})
    assert k3.tiling is None and k3.chunk == 0


@pytest.mark.parametrize("executor", EXECS)
@pytest.mark.parametrize("tiled", [True, False])
@pytest.mark.parametrize("n", [2, TILE + 3, 3 * TILE - 1])
def test_chain_values_tiled_and_untiled(monkeypatch, executor, tiled, n):
    monkeypatch.setenv("STATICGRAPH_TILE_MIN_COST", "1" if tiled else "1000000")
    xv = np.random.default_rng(n).uniform(-2, 2, n).astype(np.float32)
    g, x, y, dx = chain_graph(n)
    assert (kernels(g, [y, dx], {x: xv})[0].tiling is not None) == tiled
    got_y, got_dx = sg.Session(graph=g, executor=executor).run([y, dx], {x: xv})
    want_y, want_dx = chain_np(xv)
    np.testing.assert_allclose(got_y, want_y, rtol=1e-5)
    np.testing.assert_allclose(got_dx, want_dx, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("executor", EXECS)
def test_tiled_output_over_its_dying_input(monkeypatch, executor):
    """Row sums feed a tiled chain whose output may take their buffer (in-place reuse): every
    stage that reads the input runs before the output is stored."""
    monkeypatch.setenv("STATICGRAPH_TILE_MIN_COST", "1")
    rng = np.random.default_rng(1)
    mv = rng.uniform(-0.5, 0.5, (TILE + 7, 3)).astype(np.float32)
    g = sg.Graph()
    with g.as_default():
        m = sg.placeholder(sg.float32, [TILE + 7, 3])
        w = sg.placeholder(sg.float32, [1, 2])
        u = sg.reduce_sum(m, axis=1)
        p = sg.tanh(u) * 3.0  # made in the first stage, may take u's buffer
        q = chain(u) * u  # reads u in later stages
        out = sg.reshape(p, [TILE + 7, 1]) * w + sg.reshape(q, [TILE + 7, 1])
    wv = rng.uniform(-1, 1, (1, 2)).astype(np.float32)
    s = sg.Session(graph=g, executor=executor)
    got = s.run(out, {m: mv, w: wv})
    inst = next(iter(s._executor.instances()))
    assert inst.plan.mem.inplace, "the test needs the in-place reuse"
    u64 = mv.astype(np.float64).sum(axis=1)
    a = np.tanh(u64)
    q = np.tanh(np.exp(-1.0 / (1.0 + np.exp(-1.5 * a))) * u64 + a) * u64
    want = (np.tanh(u64) * 3.0)[:, None] * wv + q[:, None]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("executor", EXECS)
@pytest.mark.parametrize("n", [0, 5, CHUNK + 3])
def test_chunked_reductions_match_numpy(executor, n):
    rng = np.random.default_rng(2)
    xv = rng.standard_normal(n).astype(np.float32)
    iv = rng.integers(-1000, 1000, n)
    if n > 3:
        xv[3] = np.nan
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [n])
        i = sg.placeholder(sg.int64, [n])
        e = sg.exp(x * 0.5)
        outs = [sg.reduce_sum(e), sg.reduce_mean(e), sg.reduce_sum(i * 3),
                sg.reduce_sum(e, keepdims=True)]
        if n:  # max/min of nothing is an error (numpy's)
            outs += [sg.reduce_max(e), sg.reduce_min(e)]
    got = sg.Session(graph=g, executor=executor).run(outs, {x: xv, i: iv})
    e64 = np.exp(xv.astype(np.float64) * 0.5)
    with np.errstate(invalid="ignore"):
        want = [e64.sum(), e64.mean() if n else np.nan, (iv * 3).sum(), e64.sum(keepdims=True)]
    if n:
        want += [e64.max(), e64.min()]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert got[2].dtype == np.int64 and got[3].shape == (1,)


def _chain_kernel(n: int, min_cost: str, monkeypatch):
    monkeypatch.setenv("STATICGRAPH_TILE_MIN_COST", min_cost)
    xv = np.random.default_rng(3).uniform(-2, 2, n).astype(np.float32)
    g, x, y, dx = chain_graph(n)
    plan = NumbaExecutor().plan_for(g, [y, dx], [], {x: xv})
    (ck,) = plan.kernel_list
    return compile_step(ck.step, "test"), xv


@pytest.mark.parametrize("min_cost", ["1", "1000000"])
def test_partials_are_the_same_for_any_thread_count(monkeypatch, min_cost):
    """The serial variant and the prange one on 1 and 2 threads add the same partials in the
    same order: identical bits, run after run."""
    numba = pytest.importorskip("numba")
    n = 5 * CHUNK + 11
    ck, xv = _chain_kernel(n, min_cost, monkeypatch)
    assert ck.parallel_ok
    results = []
    saved = numba.get_num_threads()
    try:
        for fn, threads in [(ck.serial(), 1), (ck.parallel(), 1), (ck.parallel(), 2),
                            (ck.parallel(), 2), (ck.serial(), 1)]:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            o, r = np.empty(n, np.float32), np.empty((), np.float32)
            fn(xv, o, r)
            results.append((r.tobytes(), o.tobytes()))
    finally:
        numba.set_num_threads(saved)
    assert all(res == results[0] for res in results)
    want_y, want_dx = chain_np(xv)
    np.testing.assert_allclose(np.frombuffer(results[0][0], np.float32)[0], want_y, rtol=1e-5)


def test_tile_is_the_sum_block():
    """Tiles and sum blocks coincide, so a tiled float sum adds the same blocks as an untiled
    one."""
    assert TILE == BLOCK and CHUNK % TILE == 0


def test_cuda_renders_the_untiled_body(monkeypatch):
    """The CUDA renderer ignores tiling and chunks: one thread per element either way."""
    from dataclasses import replace

    from staticgraph.compiler.cuda.render import render_kernel_cuda

    monkeypatch.setenv("STATICGRAPH_TILE_MIN_COST", "1")
    g, x, y, dx = chain_graph(TILE + 3)
    (k,) = kernels(g, [y, dx], {x: np.ones(TILE + 3, np.float32)})
    assert k.tiling is not None
    plain = replace(k, tiling=None, chunk=0)
    assert render_kernel_cuda(k, "kernel") == render_kernel_cuda(plain, "kernel")

"""A batch-size change compiles nothing, in either direction (issue #13, part 2): the plan's
first instance decides what compiles (single driver or Python driver, ``prange`` variants);
an instance of another size class uses only what exists, and the log says "already compiled"
or "loaded", never "compiled", for work not done. Counted through ``STATS`` and the log."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler.cpu import instance as instance_mod
from staticgraph.compiler.cpu import jit
from staticgraph.compiler.log import STATS

from .helpers import assert_close, mlp

SMALL, LARGE = 8, 1000  # products 8*6*5 = 240 (single driver) and 1000*6*5 > SMALL_DOT

# numba's dispatchers from the first run: a process where numba is not loaded yet (or still
# loading, under load) starts on the LLVM tier, whose kernels compile at every size
pytestmark = pytest.mark.usefixtures("numba_tier")


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    """An empty disk cache and no module in memory: the first size really compiles."""
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    jit.clear_memory()
    yield
    jit.clear_memory()


def _feeds(x, y, n: int, seed: int) -> dict:
    r = np.random.default_rng(seed)
    return {x: r.standard_normal((n, 6)).astype(np.float32), y: r.integers(0, 4, n)}


def _run_sizes(sizes: list[int], caplog) -> tuple[list, list, sg.Session]:
    """Run a training step at each size on the numba and the reference executors; the
    records logged from the second size on."""
    g, x, y, loss, train, init, vars_ = mlp(seed=5)
    got, want = [], []
    s, ref = sg.Session(graph=g), sg.Session(graph=g, executor="reference")
    s.run(init)
    ref.run(init)
    records = []
    for i, n in enumerate(sizes):
        feeds = _feeds(x, y, n, i)
        with caplog.at_level(logging.INFO, logger="staticgraph.compiler"):
            caplog.clear()
            got.append(s.run(loss, feeds))
            s.run(train, feeds)
            if i:
                records += [r.getMessage() for r in caplog.records]
        want.append(ref.run(loss, feeds))
        ref.run(train, feeds)
    assert_close(got, want, rtol=1e-5)
    for v in vars_:
        assert_close(s.run(v), ref.run(v), rtol=1e-5, atol=1e-6)
    return records, [s, x, y, train], s


def _instance(s, x, y, train, n):
    feeds = _feeds(x, y, n, 0)
    return s._executor.instance_for(s.graph, [], [train], feeds)


def test_large_then_small_compiles_nothing(fresh_cache, caplog):
    before = dict(STATS)
    records, (s, x, y, train), _ = _run_sizes([LARGE, SMALL, LARGE, SMALL], caplog)
    assert STATS["compiled"] > before["compiled"]  # the first size did compile
    assert not [m for m in records if m.startswith("compiled")], records
    assert any("nothing compiles" in m for m in records)
    assert not _instance(s, x, y, train, SMALL).small  # the Python driver runs it


def test_small_then_large_compiles_nothing(fresh_cache, caplog):
    compiled = STATS["compiled"]
    records, (s, x, y, train), _ = _run_sizes([SMALL, LARGE], caplog)
    assert STATS["compiled"] > compiled
    mid = STATS["compiled"]
    records += _run_sizes([SMALL, LARGE, SMALL], caplog)[0]  # a second session: same modules
    assert STATS["compiled"] == mid
    assert not [m for m in records if m.startswith("compiled")], records
    assert any(m.startswith("already compiled kernel") for m in records)
    assert _instance(s, x, y, train, SMALL).small and not _instance(s, x, y, train, LARGE).small


def test_driver_on_disk_is_loaded_not_compiled(fresh_cache, caplog):
    _run_sizes([SMALL], caplog)  # the single driver compiled into the (fresh) disk cache
    jit.clear_memory()  # as a new process: only the disk cache knows it
    compiled = STATS["compiled"]
    records, (s, x, y, train), _ = _run_sizes([LARGE, SMALL], caplog)
    assert STATS["compiled"] == compiled, records
    assert any(m.startswith("loaded driver") for m in records)
    assert _instance(s, x, y, train, SMALL).small


def _chain():
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        y = sg.tanh(x) * 2.0 + sg.exp(x * -0.5)
    return g, x, y


@pytest.mark.parametrize("sizes", [[16, 512, 16], [512, 16, 512]])
def test_prange_size_class_change_compiles_nothing(fresh_cache, caplog, monkeypatch, sizes):
    monkeypatch.setattr(instance_mod, "PARALLEL_MIN", 256)  # 512 elements: prange pays
    monkeypatch.setenv("STATICGRAPH_PRANGE", "1")  # whatever the machine's load
    g, x, y = _chain()
    s = sg.Session(graph=g)
    r = np.random.default_rng(1)
    compiled = None
    for i, n in enumerate(sizes):
        xv = r.standard_normal(n).astype(np.float32)
        if i == 1:
            compiled = STATS["compiled"]
        with caplog.at_level(logging.INFO, logger="staticgraph.compiler"):
            caplog.clear()
            got = s.run(y, {x: xv})
        if i:
            assert not [m.getMessage() for m in caplog.records
                        if m.getMessage().startswith("compiled")]
        assert_close(got, np.tanh(xv) * 2.0 + np.exp(xv * -0.5), rtol=2e-6, atol=1e-7)
    assert STATS["compiled"] == compiled
    ck = s._executor.plan_for(g, [y], [], {x: np.zeros(4, np.float32)}).kernel_list[0]
    assert (ck._par is not None) == (sizes[0] == 512)  # built only when the first size paid

"""What a warm process skips (docs/compiler.md, "Warm start"): an initializer's plan gets no
whole-plan cache key (it would only hash initial values; such plans are never saved), the
compile log does not import ``logging`` until someone else has, and the compiler's source key
is the same as ``os.path.relpath`` gave."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler.cpu import plan_cache

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _graph() -> tuple:
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3], name="x")
        w = sg.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
        y = sg.identity(sg.matmul(x, w) * 2.0)
        init = sg.global_variables_initializer()
        copy = sg.identity(w)
    return g, x, w, y, init, copy


def test_an_initializer_gets_no_key_and_a_compute_graph_does(monkeypatch) -> None:
    g, x, w, y, init, copy = _graph()
    hashed: list[int] = []
    real = plan_cache._canon
    monkeypatch.setattr(plan_cache, "_canon", lambda v, out: (hashed.append(1), real(v, out)))
    assert plan_cache.plan_cache_key([], [init], {}) is None
    assert plan_cache.plan_cache_key([copy], [], {}) is None  # a variable's value: no kernel
    assert hashed == []  # nothing hashed: not the initial values either
    xv = np.ones((4, 3), np.float32)
    k = plan_cache.plan_cache_key([y], [], {x: xv})
    assert isinstance(k, str) and len(k) == 32 and hashed


def test_an_initializer_still_runs_compiled_to_the_right_values(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    g, x, w, y, init, copy = _graph()
    xv = np.arange(12, dtype=np.float32).reshape(4, 3)
    s = sg.Session(graph=g)
    s.run(init)
    np.testing.assert_array_equal(s.run(copy), np.arange(6, dtype=np.float32).reshape(3, 2))
    np.testing.assert_allclose(s.run(y, {x: xv}),
                               xv @ np.arange(6, dtype=np.float32).reshape(3, 2) * 2.0)
    saved = [f for root, _, fs in os.walk(tmp_path) for f in fs if f.startswith("plan_")]
    assert len(saved) == 1  # the matmul's plan only: the initializer's was never a candidate


def test_the_source_key_is_the_relpath_listing() -> None:
    """The key did not change with the faster path computation (old warm caches stay valid)."""
    pkg = os.path.join(ROOT, "staticgraph")
    h = hashlib.sha256()
    files = [os.path.join(pkg, "executor.py")]
    for d in ("compiler", "ops", "graph"):
        for root, dirs, names in os.walk(os.path.join(pkg, d)):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".py")]
    for fp in files:
        st = os.stat(fp)
        h.update(f"{os.path.relpath(fp, pkg)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    if os.path.realpath(plan_cache._PKG) != os.path.realpath(pkg):
        pytest.skip("staticgraph is imported from another tree")
    assert plan_cache.compiler_source_sha() == h.hexdigest()


_NOTE = """
import os, sys
from staticgraph.compiler.log import note
note("first %d", 1)
print("logging imported:", "logging" in sys.modules)
import logging
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="LOG %(name)s %(message)s")
note("second %d", 2)
"""


@pytest.mark.parametrize("env", ["1", "0"])
def test_note_without_logging_imported(env: str) -> None:
    """No ``logging`` import for a note; the env var still prints it; once logging is set up
    the record goes to the ``staticgraph.compiler`` logger (and not also to stderr)."""
    r = subprocess.run([sys.executable, "-c", _NOTE], capture_output=True, text=True,
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT,
                                          STATICGRAPH_LOG_COMPILES=env), timeout=120)
    assert r.returncode == 0, r.stderr
    assert "logging imported: False" in r.stdout
    assert "LOG staticgraph.compiler second 2" in r.stdout
    assert ("[staticgraph.compiler] first 1" in r.stderr) == (env == "1")
    assert "second 2" not in r.stderr


def test_a_loaded_plan_has_numpys_own_descriptors_and_runs_packed(packed_returns) -> None:
    """``sg_seq`` checks array descriptors by identity too (llvm/packed.py): while a plan read
    back from the plan cache held pickled copies of float32 & co., every stretch that reads a
    feed or an initial value (numpy's own descriptors) fell back to the plain ``ctypes`` calls,
    for feeds on every run (the plan cache's dtype fix; this checks the packed call)."""
    rets = packed_returns
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 5)).astype(np.float32)
    Y = rng.integers(0, 3, 6)
    W = (rng.standard_normal((5, 3)) * 0.5).astype(np.float32)
    results = []
    for loads in (0, 1):
        g = sg.Graph()
        with g.as_default():
            x = sg.placeholder(sg.float32, [None, 5], name="x")
            y = sg.placeholder(sg.int64, [None], name="y")
            w = sg.Variable(W, name="w")
            b = sg.Variable(np.zeros(3, np.float32), name="b")
            loss = sg.reduce_mean(sg.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=sg.matmul(x, w) + b))
            train = sg.train.GradientDescentOptimizer(0.5).minimize(loss)
            init = sg.global_variables_initializer()
        s = sg.Session(graph=g, executor="numba-llvm")
        s.run(init)
        rets.clear()
        results.append([float(s.run([loss, train], {x: X, y: Y})[0]) for _ in range(3)])
        assert s._executor.plan_loads == loads
        inst = next(i for i in s._executor.instances() if i.plan.kernel_list)
        assert "seq0(g0)" in inst.call_source and rets and all(r == 0 for r in rets), rets
        for ck in inst.plan.kernel_list:
            assert all(np.dtype(d) is np.dtype(np.dtype(d).str) for d, _ in ck.argspec)
    assert results[0] == results[1]  # the same bits, compiled and loaded
    ref = sg.Session(graph=g, executor="reference")
    ref.run(init)
    np.testing.assert_allclose(results[1], [float(ref.run([loss, train], {x: X, y: Y})[0])
                                            for _ in range(3)], rtol=1e-5)


_LOADER = """
import sys, threading
seen = []
start = threading.Thread.start
def spy(self):
    if self.name == "staticgraph-numba-loader":
        seen.append("logging" in sys.modules)
    return start(self)
threading.Thread.start = spy
from staticgraph.compiler.cpu import native
before = "logging" in sys.modules
native.later(lambda: None)
native.block_until_ready(60)
print("before:", before, "at start:", seen)
"""


def test_logging_is_imported_before_the_loader_thread_starts() -> None:
    """numba imports ``logging``, whose import registers fork handlers; on the loader thread
    that raced a fork in the main thread, and the parent ran logging's lock release without its
    acquire ("cannot release un-acquired lock", seen in
    ``test_fork_right_after_the_first_run_on_a_warm_cache``): the main thread imports it first."""
    r = subprocess.run([sys.executable, "-c", _LOADER], capture_output=True, text=True,
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT,
                                          STATICGRAPH_NATIVE="auto"), timeout=120)
    assert r.returncode == 0, r.stderr
    assert "at start: [True]" in r.stdout, r.stdout

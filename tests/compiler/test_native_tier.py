"""The native tier: a warm process runs kernels from their saved machine code without loading
numba, loads numba in the background and hands over to it; damaged entries are never run.
(Every static-mode test also runs on the ``numba-native`` executor: tests/static/conftest.py.)"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="native objects are ELF (Linux) only")

# an MLP step: matmuls (np.dot), bias+relu epilogue, softmax-CE, reductions, SGD updates
PROGRAM = textwrap.dedent("""
    import sys, threading, time
    first_numba_import = []

    def watch(event, args):  # which thread imports numba first
        if event == "import" and args[0] == "numba" and not first_numba_import:
            first_numba_import.append(threading.current_thread().name)

    sys.addaudithook(watch)
    import numpy as np, staticgraph as sg
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 4)).astype(np.float32)
    Y = rng.integers(0, 3, 5)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 4])
        y = sg.placeholder(sg.int64, [None])
        w1 = sg.Variable((rng.standard_normal((4, 6)) * 0.5).astype(np.float32))
        b1 = sg.Variable(np.zeros(6, np.float32))
        w2 = sg.Variable((rng.standard_normal((6, 3)) * 0.5).astype(np.float32))
        h = sg.nn.relu(sg.matmul(x, w1) + b1)
        loss = sg.reduce_mean(sg.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=sg.matmul(h, w2)))
        train = sg.train.GradientDescentOptimizer(0.5).minimize(loss)
        init = sg.global_variables_initializer()
    s = sg.Session(graph=g)
    s.run(init)
    l0, _ = s.run([loss, train], {x: X, y: Y})
    inst = next(i for i in s._executor.instances() if i.plan.kernel_list)
    print("FIRST", repr(float(l0)), inst.tier, "numba" in sys.modules)
    if "--exit" in sys.argv:
        sys.exit(0)  # leave while the loader thread may be importing numba
    for _ in range(3):  # runs go on while numba loads in the background
        s.run([loss, train], {x: X, y: Y})
    from staticgraph.compiler import block_until_ready
    assert block_until_ready(240)
    print("AFTER", inst.tier, first_numba_import)
    s.run(init)  # the same three steps from the start in every process
    for _ in range(3):
        s.run(train, {x: X, y: Y})
    print("LOSS", repr(float(s.run(loss, {x: X, y: Y}))))
    print("W2", s.run(w2).round(5).tolist())
""")


def _run(cache: str, *args: str, env: dict | None = None,
         timeout: float = 400) -> subprocess.CompletedProcess:
    # numba's saved machine code (the LLVM renderer's own entries: test_llvm_tier.py)
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=cache, STATICGRAPH_LOG_COMPILES="1",
             STATICGRAPH_LLVM="0", **(env or {}))
    e.pop("STATICGRAPH_NATIVE", None)
    r = subprocess.run([sys.executable, "-c", PROGRAM, *args], env=e, capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _lines(r: subprocess.CompletedProcess, tag: str) -> list[str]:
    return [ln.split(" ", 1)[1] for ln in r.stdout.splitlines() if ln.startswith(tag + " ")]


def test_warm_process_runs_native_code_first_then_hands_over_to_numba(tmp_path):
    cache = str(tmp_path)
    cold = _run(cache)
    assert "compiled " in cold.stderr and "saved native code" in cold.stderr
    assert _lines(cold, "FIRST")[0].split()[1:] == ["numba", "True"]  # compiled: numba path
    warm = _run(cache)
    assert "compiled" not in warm.stderr  # nothing compiles in the warm process
    loss, tier, numba_loaded = _lines(warm, "FIRST")[0].split()
    assert tier == "native"
    assert loss == _lines(cold, "FIRST")[0].split()[0]  # the same machine code, the same bits
    assert warm.stderr.count("as native code") >= 4
    # numba was imported by the loader thread, never by the run that answered first
    assert _lines(warm, "AFTER") == ["numba ['staticgraph-numba-loader']"]
    assert "switched an instance from native kernels" in warm.stderr
    # after the hand-over the same training continues with the same values
    np.testing.assert_allclose(float(_lines(warm, "LOSS")[0]), float(_lines(cold, "LOSS")[0]),
                               rtol=1e-5)
    np.testing.assert_allclose(eval(_lines(warm, "W2")[0]), eval(_lines(cold, "W2")[0]),
                               atol=1e-4)


def test_exit_while_numba_loads_in_the_background_is_clean(tmp_path):
    cache = str(tmp_path)
    _run(cache, "--exit")
    for _ in range(3):
        r = _run(cache, "--exit")
        assert _lines(r, "FIRST")[0].split()[1] == "native"
        assert "Fatal" not in r.stderr and "Traceback" not in r.stderr


def test_damaged_native_entries_are_removed_and_never_run(tmp_path):
    cache = str(tmp_path)
    cold = _run(cache, "--exit")
    natives = glob.glob(os.path.join(cache, "*", "*.native"))
    assert natives
    for i, p in enumerate(natives):  # flip bytes in the object, or cut the file short
        with open(p, "r+b") as f:
            if i % 2:
                f.truncate(os.path.getsize(p) // 2)
            else:
                f.seek(os.path.getsize(p) - 200)
                f.write(b"\xcc" * 16)
    r = _run(cache, "--exit")
    assert r.stderr.count("or another kernel's: removed") >= 1
    assert _lines(r, "FIRST")[0].split()[:2] == [_lines(cold, "FIRST")[0].split()[0], "numba"]
    # numba loaded its own cache and the native entries were written again
    assert "compiled " not in r.stderr and "saved native code" in r.stderr
    again = _run(cache, "--exit")
    assert _lines(again, "FIRST")[0].split()[1] == "native"


def test_other_host_entries_are_not_used(tmp_path):
    cache = str(tmp_path)
    _run(cache, "--exit")
    # a different NUMBA_* setting is another host description: another file name
    r = _run(cache, "--exit", env={"NUMBA_OPT": "2"})
    assert _lines(r, "FIRST")[0].split()[1] == "numba"
    assert "as native code" not in r.stderr


def test_native_only_executor_and_the_objects_undefined_symbols():
    import staticgraph as sg
    from staticgraph.compiler import NumbaExecutor
    from staticgraph.compiler.cpu.native import undefined_symbols
    from staticgraph.session import EXECUTORS

    EXECUTORS.setdefault("numba-native", lambda: NumbaExecutor(native_only=True))
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, [None, 3])
        y = sg.reduce_sum(sg.exp(x) * 2.0 - x, axis=1)
        gx, = sg.gradients(y, [x])
    s = sg.Session(graph=g, executor="numba-native")
    X = np.linspace(-2, 2, 12).reshape(4, 3)
    got_y, got_g = s.run([y, gx], {x: X})
    np.testing.assert_allclose(got_y, (np.exp(X) * 2 - X).sum(1), rtol=1e-12)
    np.testing.assert_allclose(got_g, np.exp(X) * 2 - 1, rtol=1e-12)
    inst = next(s._executor.instances())
    assert inst.tier == "native"
    # a strided feed is read through a C-ordered copy by the native kernel
    Xt = np.linspace(-1, 1, 12).reshape(3, 4).T
    np.testing.assert_allclose(s.run(y, {x: Xt}), (np.exp(Xt) * 2 - Xt).sum(1), rtol=1e-12)
    assert undefined_symbols(b"not an object") is None
    path = inst.plan.kernel_list[0].path
    natives = glob.glob(path[:-3] + ".kernel.*.native")
    with open(natives[0], "rb") as f:
        und = undefined_symbols(f.read().split(b"\n", 1)[1])
    assert "NRT_MemInfo_call_dtor" in und and all(isinstance(u, str) and u for u in und)



def test_a_forked_child_forgets_the_parents_loader_queue():
    from staticgraph.compiler.cpu import native

    saved = (native._QUEUE, native._LOADING, native._pending, native._PENDING, native._GATE,
             native._LOCK)
    try:
        native._pending = 2  # as if two switches were queued in the parent
        assert not native.block_until_ready(0.01)
        native._after_fork_in_child()
        assert native.block_until_ready(0.01) and native._QUEUE is None
    finally:
        (native._QUEUE, native._LOADING, native._pending, native._PENDING, native._GATE,
         native._LOCK) = saved

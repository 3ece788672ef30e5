"""The quick first tier of a cold process (compiler/cpu/tiers.py, llvm/build.py): kernels with
no code on disk start as quick LLVM kernels (no IR passes, light code generation), the loader
thread replaces them by optimised LLVM kernels before numba's take over; the quick kernels
compute what the reference executor computes on the whole program table; their disk entries
have their own key, so a quick object never passes for an optimised one."""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import staticgraph as tf

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="native objects are ELF (Linux) only")


def _quick_executor() -> str:
    from staticgraph.session import EXECUTORS, default_executor_name

    default_executor_name()
    EXECUTORS.setdefault("numba-llvmq", functools.partial(EXECUTORS["numba"],
                                                          llvm_only="quick"))
    EXECUTORS.setdefault("numba-llvm", functools.partial(EXECUTORS["numba"], llvm_only=True))
    return "numba-llvmq"


def _table():
    from tests.static.test_program_table import IDS, TABLE

    return TABLE, IDS


TABLE, IDS = _table()


@pytest.mark.parametrize("name,prog,np_fn,inputs", TABLE, ids=IDS)
def test_quick_kernels_match_the_reference_on_the_program_table(name, prog, np_fn, inputs):
    from staticgraph.compiler.cpu.native import NativeKernel
    from tests.static.test_program_table import R, _build

    tf.reset_default_graph()
    phs, y = _build(prog, inputs)
    weights = R.standard_normal(np.shape(np_fn(**inputs)))
    grads = tf.gradients(tf.reduce_sum(y * weights), list(phs.values()))
    feeds = {phs[k]: v for k, v in inputs.items()}
    with tf.Session(executor=_quick_executor()) as s:
        got = s.run([y, *grads], feeds)
        kernels = [k for inst in s._executor.instances()
                   for k in inst.call.__globals__.get("K", [])]
    with tf.Session(executor="reference") as s:
        want = s.run([y, *grads], feeds)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)
    native_ks = [k for k in kernels if isinstance(k, NativeKernel)]
    assert all(k.quick for k in native_ks), name  # quick code ran, not the optimised
    tf.reset_default_graph()


def test_quick_entries_have_their_own_key(tmp_path, monkeypatch):
    """A quick object copied over the optimised entry's file is refused (removed), and the
    optimised kernel compiles; the quick and optimised kernels give the same values."""
    from staticgraph.compiler.cpu import native
    from staticgraph.compiler.cpu.llvm.key import entry_sha

    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))
    assert entry_sha("abc") != entry_sha("abc", quick=True)
    rng = np.random.default_rng(1)
    xv = rng.standard_normal((6, 5)).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 5])
        out = tf.reduce_sum(tf.exp(x) * tf.tanh(x) + 1.0, axis=1)
    with tf.Session(graph=g, executor=_quick_executor()) as s:
        quick = s.run(out, {x: xv})
        (ck,) = [ck for inst in s._executor.instances() for ck in inst.plan.kernel_list]
    qpath = native.path_for(ck.path, "llvmq")
    assert os.path.exists(qpath) and ck.llvm_quick().quick
    opath = native.path_for(ck.path, "llvm")
    assert not os.path.exists(opath)
    shutil.copy(qpath, opath)
    dtypes = [np.dtype(d) for d, _ in ck.argspec]
    ndims = [nd for _, nd in ck.argspec]
    assert native.load(ck.path, "llvm", dtypes, ndims, entry_sha(ck.source_sha)) is None
    assert not os.path.exists(opath)  # removed, never run
    with tf.Session(graph=g, executor="numba-llvm") as s:
        opt = s.run(out, {x: xv})
    assert os.path.exists(opath)
    np.testing.assert_allclose(quick, opt, rtol=1e-6)
    np.testing.assert_allclose(quick, (np.exp(xv) * np.tanh(xv) + 1).sum(1), rtol=1e-5)


def test_quick_first_decision(monkeypatch):
    from staticgraph.compiler.cpu import native, tiers
    from staticgraph.compiler.cpu.llvm import key

    monkeypatch.setattr(key, "QUICK", True)
    monkeypatch.setattr(native, "MODE", "auto")
    assert tiers.quick_first()
    monkeypatch.setattr(native, "MODE", "always")  # no loader thread would refine them
    assert not tiers.quick_first()
    monkeypatch.setattr(native, "MODE", "auto")
    monkeypatch.setattr(key, "QUICK", False)  # STATICGRAPH_LLVM_QUICK=0
    assert not tiers.quick_first()


def test_a_kernel_with_much_work_compiles_optimised_at_once(monkeypatch):
    """Quick code is scalar (the chain ran ~80x slower): a kernel whose work (elements times
    body cost) exceeds QUICK_MAX_WORK skips the quick tier; a row kernel counts 25 an
    element of its largest argument."""
    from staticgraph.compiler.cpu import native, tiers
    from staticgraph.compiler.cpu.llvm import key
    from staticgraph.compiler.kernel import RowKernel
    from staticgraph.compiler.tiling import body_cost

    monkeypatch.setattr(key, "QUICK", True)
    monkeypatch.setattr(native, "MODE", "auto")
    n = 4096
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [n])
        y = tf.placeholder(tf.int64, [8])
        a = tf.tanh(x)
        out = tf.reduce_sum(tf.tanh(tf.exp(tf.sigmoid(a * 1.5) * -1.0) * x + a))
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=tf.reshape(x, [8, n // 8])))
    with tf.Session(graph=g, executor=_quick_executor()) as s:
        s.run([out, ce], {x: np.linspace(-1, 1, n, dtype=np.float32),
                          y: np.arange(8) % 3})
        (inst,) = [i for i in s._executor.instances() if i.plan.kernel_list]
    for ck in inst.plan.kernel_list:
        k = ck.step.kernel
        w = tiers.work(inst, ck)
        assert w == (25 * n if isinstance(k, RowKernel) else n * max(1, body_cost(k)))
        monkeypatch.setattr(tiers, "QUICK_MAX_WORK", w)
        assert tiers.quick_first(inst, ck)
        monkeypatch.setattr(tiers, "QUICK_MAX_WORK", w - 1)
        assert not tiers.quick_first(inst, ck)
    assert any(isinstance(ck.step.kernel, RowKernel) for ck in inst.plan.kernel_list)
    assert max(tiers.work(inst, ck) for ck in inst.plan.kernel_list) >= 80 * n  # the chain


PROGRAM = textwrap.dedent("""
    import sys, numpy as np, staticgraph as sg
    from staticgraph.compiler import block_until_ready
    from staticgraph.compiler.log import STATS
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 20)).astype(np.float32)
    Y = rng.integers(0, 4, 64)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 20])
        y = sg.placeholder(sg.int64, [None])
        w1 = sg.Variable((rng.standard_normal((20, 16)) * 0.3).astype(np.float32))
        w2 = sg.Variable((rng.standard_normal((16, 4)) * 0.3).astype(np.float32))
        h = sg.tanh(sg.matmul(x, w1))
        loss = sg.reduce_mean(sg.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=sg.matmul(h, w2)))
        train = sg.train.GradientDescentOptimizer(0.5).minimize(loss)
        init = sg.global_variables_initializer()
    s = sg.Session(graph=g)
    s.run(init)
    l0, _ = s.run([loss, train], {x: X, y: Y})
    inst = next(i for i in s._executor.instances() if i.plan.kernel_list)
    print("FIRST", inst.tier, inst.quick, "numba" in sys.modules, STATS.get("llvm_quick", 0),
          STATS.get("llvm_compiled", 0), len(inst.plan.kernel_list), repr(float(l0)),
          flush=True)
    if len(sys.argv) > 1:  # exit at once (a script that wants one result)
        print("AFTER -")
        sys.exit(0)
    assert block_until_ready(300)
    sw = inst.switched_at
    print("AFTER", inst.tier, inst.quick, sorted(sw, key=sw.get), STATS.get("llvm_compiled", 0))
""")


def _run(cache: str, *args: str, **env: str) -> tuple[list[str], list[str], str]:
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=cache, STATICGRAPH_LOG_COMPILES="1",
             STATICGRAPH_SMALL_DOT="0", **env)
    for k in ("STATICGRAPH_NATIVE", "STATICGRAPH_LLVM", "STATICGRAPH_LLVM_QUICK"):
        if k not in env:
            e.pop(k, None)
    r = subprocess.run([sys.executable, "-c", PROGRAM, *args], env=e, capture_output=True,
                       text=True, timeout=400)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = {ln.split()[0]: ln.split()[1:] for ln in r.stdout.splitlines() if ln.strip()}
    return lines["FIRST"], lines["AFTER"], r.stderr


def test_cold_process_quick_then_optimised_then_numba_and_warm_starts_optimised(tmp_path):
    first, after, err = _run(str(tmp_path))
    tier, quick, numba_loaded, nq, nopt, nk = first[:6]
    # the first result: quick LLVM kernels only, numba not imported, nothing optimised yet
    assert (tier, quick, numba_loaded) == ("native", "True", "False")
    assert int(nq) >= 1 and nopt == "0"
    # then the loader: optimised LLVM kernels, then numba's (in that order)
    assert after[:2] == ["numba", "False"]
    assert "".join(after[2:-1]) == "['optimised','numba']"
    assert int(after[-1]) == int(nq)  # every quick kernel was compiled optimised once
    assert err.index("to optimised ones") < err.index("native kernels to numba's")
    assert len(glob.glob(os.path.join(str(tmp_path), "*", "*.llvm.*.native"))) == int(nq)
    # warm: the optimised entries, nothing compiles, no quick kernel, the same loss
    wfirst, wafter, werr = _run(str(tmp_path))
    assert wfirst[:5] == ["native", "False", "False", "0", "0"]
    assert "] compiled" not in werr and "to optimised ones" not in werr
    np.testing.assert_allclose(float(wfirst[-1]), float(first[-1]), rtol=1e-6)


def test_quick_tier_off(tmp_path):
    """STATICGRAPH_LLVM_QUICK=0: the optimised kernels compile before the first result."""
    first, after, err = _run(str(tmp_path), STATICGRAPH_LLVM_QUICK="0")
    assert first[:5] == ["native", "False", "False", "0", first[4]] and int(first[4]) >= 1
    assert "quick LLVM kernel" not in err and "optimised" not in "".join(after[2:-1])


def test_a_process_after_one_that_exited_with_quick_kernels(tmp_path):
    """A cold process that exits right after its first result leaves quick entries only: the
    next one links them (nothing compiles before its first result, the same bits), and
    its loader compiles the optimised kernels."""
    first, _, _ = _run(str(tmp_path), "exit")
    assert first[:2] == ["native", "True"] and int(first[3]) >= 1
    assert not glob.glob(os.path.join(str(tmp_path), "*", "*.llvm.*.native"))
    second, after, err = _run(str(tmp_path))
    assert second[:5] == ["native", "True", "False", "0", "0"]  # linked, not compiled
    assert "llvmq" in err and "as native code" in err
    assert second[-1] == first[-1]
    assert "".join(after[2:-1]) == "['optimised','numba']" and int(after[-1]) == int(first[3])


def test_quick_kernels_sum_long_float32_rows_as_exactly_as_the_optimised():
    """Unoptimised, nothing splits a block's float sum into vector-lane partials: quick kernels
    sum each block of 2048 in float64 (a float32 row mean over 300001 values was 1.6e-5 off
    while the optimised kernel's was 6e-7; the regression in test_numerics' bound of 1e-6)."""
    from staticgraph.compiler.cpu.native import NativeKernel

    g = tf.Graph()
    with g.as_default():
        m = tf.placeholder(tf.float32, [None, None], name="m")
        row_mean = tf.reduce_mean(m * 1.0, axis=1)
        total = tf.reduce_sum(m * 2.0)
    mv = np.full((3, 300001), 0.1, np.float32)
    with tf.Session(graph=g, executor=_quick_executor()) as s:
        got_mean, got_total = s.run([row_mean, total], {m: mv})
        kernels = [k for inst in s._executor.instances()
                   for k in inst.call.__globals__.get("K", [])]
    assert any(isinstance(k, NativeKernel) and k.quick for k in kernels)
    exact = mv.astype(np.float64)
    np.testing.assert_allclose(got_mean, exact.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(got_total, 2.0 * exact.sum(), rtol=1e-6)

"""The native tier without llvmlite and with one native call per stretch of kernels:
objects linked by ``native_link`` run as under MCJIT, an object it cannot link goes to MCJIT,
the packed call (``native_packed``) gives the plain native calls' bits, an array of another
layout takes the plain calls, and a warm process links its entries without loading
``llvmlite.binding`` or compiling anything."""

from __future__ import annotations

import glob
import json
import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import staticgraph as sg
from staticgraph.compiler.cpu import native, native_link, native_packed
from staticgraph.compiler.cpu.native_elf import _Elf
from staticgraph.executor import EXECUTORS

pytestmark = pytest.mark.skipif(not native_link.usable(), reason="x86-64 Linux only")


def _mlp(executor) -> tuple[list, sg.Session, dict]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 5)).astype(np.float32)
    Y = rng.integers(0, 4, 9)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 5])
        y = sg.placeholder(sg.int64, [None])
        w1 = sg.Variable((rng.standard_normal((5, 7)) * 0.5).astype(np.float32))
        b1 = sg.Variable(np.zeros(7, np.float32))
        w2 = sg.Variable((rng.standard_normal((7, 4)) * 0.5).astype(np.float32))
        h = sg.nn.relu(sg.matmul(x, w1) + b1)
        loss = sg.reduce_mean(sg.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=sg.matmul(h, w2)))
        chain = sg.reduce_sum(sg.tanh(x) * sg.exp(-x * x) + (x + b1[0:5]) * 2.0, axis=0)
        train = sg.train.GradientDescentOptimizer(0.5).minimize(loss)
        init = sg.global_variables_initializer()
    s = sg.Session(graph=g, executor=executor)
    s.run(init)
    return [loss, chain, train], s, {x: X, y: Y}


def _steps(executor, n: int = 4, feed_fn=None) -> tuple[list, sg.Session]:
    fetches, s, feed = _mlp(executor)
    if feed_fn is not None:
        feed = {k: feed_fn(v) for k, v in feed.items()}
    out = []
    for _ in range(n):
        loss, chain, _ = s.run(fetches, feed)
        out += [np.array(loss), np.array(chain)]
    return out, s


@pytest.fixture
def small_dot_off(monkeypatch):
    """Products counted large: the Python driver (the packed call's home) runs the plan; the
    test-only ``numba-llvm`` executor (LLVM kernels, no switch to numba) registered."""
    import functools

    from staticgraph.compiler.cpu import instance

    monkeypatch.setattr(instance, "SMALL_DOT", 0)
    monkeypatch.setitem(EXECUTORS, "numba-llvm",
                        functools.partial(EXECUTORS["numba"], llvm_only=True))


def test_packed_call_gives_the_plain_native_calls_bits(small_dot_off, monkeypatch):
    packed, s = _steps("numba-llvm")
    inst = next(i for i in s._executor.instances() if len(i.plan.kernel_list) > 2)
    assert inst.tier == "native" and "seq0(g0)" in inst.call_source
    monkeypatch.setattr(native_packed, "ENABLED", False)
    plain, s2 = _steps("numba-llvm")
    assert not any("seq0" in i.call_source for i in s2._executor.instances())
    ref, _ = _steps("reference")
    for a, b, r in zip(packed, plain, ref, strict=True):
        assert np.array_equal(a, b)
        np.testing.assert_allclose(a, r, rtol=2e-5, atol=1e-6)


def test_an_array_of_another_layout_takes_the_plain_calls(small_dot_off):
    # a Fortran-ordered feed: sg_seq refuses it (nothing runs), the plain calls copy it
    fort, s = _steps("numba-llvm", feed_fn=lambda v: np.asfortranarray(
        np.stack([v, v], -1))[..., 0] if v.ndim == 2 else v)
    assert any("seq0(g0)" in i.call_source for i in s._executor.instances())
    want, _ = _steps("numba-llvm")
    for a, b in zip(fort, want, strict=True):
        assert np.array_equal(a, b)


def test_linked_objects_run_as_under_mcjit_and_others_go_to_mcjit(small_dot_off, monkeypatch,
                                                                  caplog):
    ours, s = _steps("numba-llvm")
    monkeypatch.setattr(native, "_MEMO", {})  # link every entry again, through MCJIT

    def refuse(*a, **k):
        raise native_link.Unlinkable("test")

    monkeypatch.setattr(native_link, "link", refuse)
    caplog.set_level("INFO", logger="staticgraph.compiler")
    theirs, _ = _steps("numba-llvm")
    assert "native code through MCJIT" in caplog.text
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a, b)


def test_a_relocation_it_does_not_know_is_refused(small_dot_off):
    _, s = _steps("numba-llvm", n=1)
    ck = next(i for i in s._executor.instances() if i.plan.kernel_list).plan.kernel_list[0]
    head, obj = open(native.path_for(ck.path, "llvm"), "rb").read().split(b"\n", 1)
    meta = json.loads(head)
    assert native_link.link(obj, (meta["symbol"], native.PACKED), native._address)[0][1]
    rela = next(sec for sec in _Elf(obj).secs if sec[1] == 4)
    bad = bytearray(obj)
    struct.pack_into("<I", bad, rela[4] + 8, 42)  # the first relocation's type
    with pytest.raises(native_link.Unlinkable, match="relocation type 42"):
        native_link.link(bytes(bad), (meta["symbol"],), native._address)


WARM = textwrap.dedent("""
    import sys
    import numpy as np, staticgraph as sg
    x = sg.placeholder(sg.float32, [None])
    w = sg.Variable(np.linspace(-1, 1, 6).astype(np.float32))
    y = sg.tanh(x + w) * (w + 1.0)
    fetch = [y] + sg.gradients(sg.reduce_sum(y), [x, w])
    s = sg.Session()
    s.run(sg.global_variables_initializer())
    out = s.run(fetch, {x: np.arange(6, dtype=np.float32)})
    inst = next(i for i in s._executor.instances() if i.plan.kernel_list)
    print("FIRST", inst.tier, "llvmlite.binding" in sys.modules, "seq0(g0)" in inst.call_source,
          *[repr(float(v)) for a in out for v in a])
""")


def test_a_warm_process_links_without_llvmlite_and_compiles_nothing(tmp_path):
    # the optimised kernels before the cold process's first result (STATICGRAPH_LLVM_QUICK=0:
    # else it exits with quick kernels only, test_quick_tier.py covers that warm start)
    env = dict(os.environ, STATICGRAPH_CACHE_DIR=str(tmp_path), STATICGRAPH_LOG_COMPILES="1",
               STATICGRAPH_LLVM_QUICK="0")
    for k in ("STATICGRAPH_NATIVE", "STATICGRAPH_LLVM", "STATICGRAPH_PACKED"):
        env.pop(k, None)
    runs = []
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", WARM], env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        runs.append(r)
    cold, warm = runs
    assert "compiled LLVM kernel" in cold.stderr
    assert glob.glob(os.path.join(str(tmp_path), "*", "host.*.json"))
    line = next(ln.split()[1:] for ln in warm.stdout.splitlines() if ln.startswith("FIRST"))
    assert line[:3] == ["native", "False", "True"]  # no llvmlite.binding, the packed call
    assert "] compiled" not in warm.stderr and "as native code (no numba)" in warm.stderr
    cold_vals = next(ln.split()[4:] for ln in cold.stdout.splitlines() if ln.startswith("FIRST"))
    assert line[3:] == cold_vals  # the same kernels: the same bits
    xv, wv = np.arange(6, dtype=np.float64), np.linspace(-1, 1, 6).astype(np.float32)
    want = np.tanh(xv + wv) * (wv + 1.0)
    np.testing.assert_allclose([float(v) for v in line[3:9]], want, rtol=1e-5)


def test_a_numpy_scalar_feed_takes_the_plain_calls(small_dot_off):
    # a 0-d feed bound first, then a numpy scalar of the same shape and dtype: no
    # PyArrayObject to read, so the stretch is refused and the plain calls run (after the
    # runner's conversion); values as the reference executor's
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [])
        w = sg.Variable(np.float32(2.0))
        y = sg.tanh(x * w) + w
        fetch = [y] + sg.gradients(y, [x, w])
    got = []
    for ex in ("numba-llvm", "reference"):
        s = sg.Session(graph=g, executor=ex)
        s.run(w.initializer)
        got.append([s.run(fetch, {x: v}) for v in (np.array(0.5, np.float32),
                                                    np.float32(0.5), np.float32(-1.5))])
        if ex == "numba-llvm":
            inst = next(i for i in s._executor.instances() if i.plan.kernel_list)
            assert "seq0(g0)" in inst.call_source
    np.testing.assert_allclose(np.array(got[0], np.float64), np.array(got[1], np.float64),
                               rtol=1e-6)

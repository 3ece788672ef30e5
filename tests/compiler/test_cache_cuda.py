"""The on-disk cache (a second process loads instead of compiling; corrupt entries are rebuilt)
and the CUDA renderer (numba's CUDA simulator in a subprocess; ``compile_ptx`` if available)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from staticgraph.compiler.cpu import jit
from staticgraph.compiler.kernel import Input, Kernel, Output, Reduction, Stmt

SEED = textwrap.dedent("""
    import numpy as np, staticgraph as sg
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None], name="x")
        w = sg.Variable(np.array([2.0, -1.0, 0.5], np.float32), name="w")
        y = sg.tanh(x + w) * (w + 1.0)
        gx, gw = sg.gradients(y, [x, w])
        init = sg.global_variables_initializer()
    s = sg.Session(graph=g)
    s.run(init)
    print("RESULT", s.run(gx, {x: np.array([1.0, 2.0, 3.0], np.float32)}).tolist())
""")


def _run(code: str, cache: str) -> subprocess.CompletedProcess:
    # numba's cache (the LLVM renderer's entries: test_llvm_tier.py)
    env = dict(os.environ, STATICGRAPH_CACHE_DIR=cache, STATICGRAPH_LOG_COMPILES="1",
               STATICGRAPH_LLVM="0")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)


def test_second_process_hits_disk_cache_and_corrupt_entries_are_rebuilt(tmp_path):
    cache = str(tmp_path)
    first = _run(SEED, cache)
    assert first.returncode == 0, first.stderr
    assert "compiled kernel" in first.stderr
    second = _run(SEED, cache)
    assert second.returncode == 0, second.stderr
    # the second process links the saved machine code (no numba compile, no numba load)
    assert "as native code" in second.stderr and "compiled kernel" not in second.stderr
    res = [ln for ln in first.stdout.splitlines() if ln.startswith("RESULT")]
    assert res == [ln for ln in second.stdout.splitlines() if ln.startswith("RESULT")]
    # corrupt every cached file: the source modules and numba's index/data files
    d = next(os.path.join(cache, e) for e in os.listdir(cache))
    for root, _, files in os.walk(d):
        for fn in files:
            with open(os.path.join(root, fn), "r+b") as f:
                f.seek(max(os.path.getsize(f.name) // 2, 0))
                f.write(b"\x00garbage\x00")
    third = _run(SEED, cache)
    assert third.returncode == 0, third.stderr
    assert "rebuilding" in third.stderr
    assert [ln for ln in third.stdout.splitlines() if ln.startswith("RESULT")] == res


def _kernel() -> Kernel:
    f32 = np.dtype(np.float32)
    return Kernel(
        name="k", rank=2,
        inputs=[Input("a0", f32, (0, 1)), Input("a1", f32, (1,))],
        stmts=[Stmt("v0", "(a0_ + a1_)", f32), Stmt("v1", "sg_sigmoid(v0)", f32),
               Stmt("v2", "sg_relu(v0)", f32)],
        outputs=[Output("o0", "v1", f32, (0, 1))],
        reductions=[Reduction("r0", "v2", "sum", f32, (1,), (0,))],
        extents=(("a0", 0), ("a0", 1)))


CUDASIM = textwrap.dedent("""
    import numpy as np
    from numba import cuda
    from staticgraph.compiler.cuda.render import compile_cuda
    from tests.compiler.test_cache_cuda import _kernel
    k = _kernel()
    fn, comb, src = compile_cuda(k)
    a = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    b = np.array([0.5, -1.0, 2.0], np.float32)
    z = a + b
    for nchunk in (1, 2):  # direct store, and partials folded by the combine kernel
        o = np.zeros((2, 3), np.float32)
        r = np.zeros(3, np.float32)
        p = np.full(3 * nchunk, np.nan, np.float32)
        fn[2, 4](a, b, o, r, p, nchunk)
        if nchunk > 1:
            comb[1, 4](a, b, o, r, p, nchunk)
        np.testing.assert_allclose(o, 1 / (1 + np.exp(-z)), rtol=1e-6)
        np.testing.assert_allclose(r, np.maximum(z, 0).sum(0), rtol=1e-6)
    print("CUDASIM OK")
""")


def test_cuda_renderer_in_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = subprocess.run([sys.executable, "-c", CUDASIM], env=env, capture_output=True, text=True,
                       timeout=300, cwd=root)
    if "No module named" in p.stderr and "cuda" in p.stderr:
        pytest.skip("numba.cuda is not importable")
    assert "CUDASIM OK" in p.stdout, p.stderr[-3000:]


def test_cuda_renderer_compile_ptx(nvvm):
    cuda = nvvm
    from staticgraph.compiler.cuda import scalar as scalar_cuda
    from staticgraph.compiler.cuda.render import render_kernel_cuda

    src = render_kernel_cuda(_kernel(), "kernel")
    ns = dict(scalar_cuda.NAMESPACE, np=np, cuda=cuda)
    exec(src, ns)
    from numba import float32, int64, void

    sig = void(float32[:, ::1], float32[::1], float32[:, ::1], float32[::1], float32[::1], int64)
    ptx, _ = cuda.compile_ptx(ns["kernel"], sig, cc=(8, 0))
    assert ".entry" in ptx or ".visible" in ptx


def test_cache_dir_is_versioned():
    assert jit.VERSION_TAG in jit.cache_dir()
    assert "numba" in jit.VERSION_TAG and "llvmlite" in jit.VERSION_TAG

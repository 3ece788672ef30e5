"""Tiled (compute-bound) kernels prefer 512-bit vectors on both tiers, with the same bits as at
LLVM's default width (``tiling.VECTOR_BITS``, ``cpu/accum.sg_vector_width``)."""

from __future__ import annotations

import numpy as np
import pytest

from staticgraph.compiler import tiling
from staticgraph.compiler.cpu.compiled_kernel import compile_step
from staticgraph.compiler.cpu.executor import NumbaExecutor

from .test_tiling import CHUNK, chain_graph, chain_np

ATTR = '"prefer-vector-width"="512"'


def _compiled(n: int, monkeypatch, tmp_path, bits: int = 512):
    """The chain kernel at ``n`` elements (static: ``n`` is in the source), compiled afresh."""
    monkeypatch.setenv("STATICGRAPH_CACHE_DIR", str(tmp_path))  # nothing served from a cache
    monkeypatch.setattr(tiling, "VECTOR_BITS", bits)
    xv = np.random.default_rng(n).uniform(-3, 3, n).astype(np.float32)
    g, x, y, dx = chain_graph(n)
    (ck,) = NumbaExecutor().plan_for(g, [y, dx], [], {x: xv}).kernel_list
    return compile_step(ck.step, "test"), xv


def _host_has_avx512() -> bool:
    import llvmlite.binding as ll

    return bool(ll.get_host_cpu_features().get("avx512f"))


def test_only_tiled_kernels_ask_for_wide_vectors(monkeypatch, tmp_path):
    ck, _ = _compiled(CHUNK + 17, monkeypatch, tmp_path)
    k = ck.step.kernel
    assert k.tiling is not None and k.tiling.vector_bits == 512
    assert "sg_vector_width(512)" in ck.source
    # inside the chunk loop, once per variant: numba outlines the prange body into a function
    assert ck.source.count("sg_vector_width(512)") == 2
    monkeypatch.setenv("STATICGRAPH_TILE_MIN_COST", "1000000")
    ck2, _ = _compiled(CHUNK + 17, monkeypatch, tmp_path)
    assert ck2.step.kernel.tiling is None and "sg_vector_width" not in ck2.source


def test_numba_variants_and_the_llvm_kernel_carry_the_attribute(monkeypatch, tmp_path):
    pytest.importorskip("numba")
    from staticgraph.compiler.cpu.llvm.build import module_text

    ck, _ = _compiled(CHUNK + 29, monkeypatch, tmp_path)
    ck.serial()
    ck.parallel()
    for name in ("kernel", "kernel_par"):
        d = getattr(ck.module, name)
        (sig,) = d.signatures
        assert ATTR in d.inspect_llvm(sig), name
        if _host_has_avx512():
            assert "zmm" in d.inspect_asm(sig), name
    text = module_text(ck.step.kernel, ck.argspec)
    define = next(ln for ln in text.splitlines() if ln.startswith("define i32 @sg_llvm_kernel"))
    assert ATTR in define


@pytest.mark.parametrize("tier", ["numba", "llvm"])
def test_wide_and_default_width_give_the_same_bits(monkeypatch, tmp_path, tier):
    """Element statements are IEEE operations and block sums have a fixed order: the vector
    width changes neither."""
    pytest.importorskip("numba")
    n = 3 * CHUNK + 2049
    out = []
    for bits in (512, 0):
        ck, xv = _compiled(n, monkeypatch, tmp_path / str(bits), bits)
        fn = ck.serial() if tier == "numba" else ck.llvm()
        if fn is None:
            pytest.skip(f"the LLVM renderer declined the kernel: {tier}")
        o, r = np.empty(n, np.float32), np.empty((), np.float32)
        fn(xv, o, r)
        out.append((r.tobytes(), o.tobytes()))
    assert out[0] == out[1]
    want_y, want_dx = chain_np(xv)
    np.testing.assert_allclose(np.frombuffer(out[0][0], np.float32)[0], want_y, rtol=1e-5)
    np.testing.assert_allclose(np.frombuffer(out[0][1], np.float32), want_dx, rtol=2e-5,
                               atol=1e-6)

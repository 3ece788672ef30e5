"""Every kernel the CUDA executor would launch for the scenario graphs (fused elementwise and
reduction kernels with their combine kernels, row kernels, the tiled matmul) compiles to PTX
with NVVM (``pip install "numba-cuda[cu13]"``, no GPU needed), and float32 graphs compile to
float32 code only (no ``.f64`` instruction: nothing silently promotes to float64)."""

from __future__ import annotations

import re

import pytest

from staticgraph.compiler.cuda.plan import compile_plan
from tests.compiler.cuda_scenarios import SCENARIOS


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_kernel_compiles_to_float32_ptx(nvvm, name: str):
    g, _, fetches, feeds, _ = SCENARIOS[name]()
    tensors = [f for f in fetches if hasattr(f, "value_index")]
    targets = [f for f in fetches if not hasattr(f, "value_index")]
    plan = compile_plan(tensors, targets, feeds)
    ptx = plan.ptx(cc=(8, 0))
    launched = [s for s in plan.steps if s.kind in ("kernel", "row", "dot")]
    assert len(ptx) >= len(launched) >= 1
    for key, text in ptx.items():
        assert ".visible .entry" in text, key
        f64 = [ln.strip() for ln in text.splitlines() if re.search(r"\.f64\b", ln)]
        assert not f64, f"{name} {key}: float64 instructions in a float32 graph: {f64[:5]}"

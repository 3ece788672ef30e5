"""The ``compile`` oracle's CI budget: CI fuzz seeds run through ``dynamic.compile`` against
their eager twin (:mod:`tests.fuzz.oracle_compile`), and the compiled calls must mostly run
compiled (a fuzzer that only falls back to eager tests nothing).

The seeds are 12 of the CI seeds (:mod:`tests.fuzz.test_fuzz_ci`) covering the protocol's
features at the least compile time: training steps on variables (division by a broadcast
variable, cross-entropy, logsumexp, gather), gradients with ``grad_ys`` and second order,
``cond``, batch 0 and a batch above the parallel threshold. Measured side by side in one
pytest process (all 30 CI seeds on both, cold cache, loaded machine): these 12 cost 60 s
against ``test_fuzz_ci.py``'s 240 s, a quarter of the CI fuzz budget (about 8 s on two idle
cores).
"""

from __future__ import annotations

import pytest

from tests.fuzz.case import check, describe
from tests.fuzz.ci_seed import PICKED_OVER
from tests.fuzz.generate import CORE, generate
from tests.fuzz.oracle_compile import mode
from tests.fuzz.test_fuzz_ci import MAX_NODES

pytestmark = pytest.mark.usefixtures("llvm_tier")
"""The LLVM/native tier (tests/conftest.py): the oracle tests what ``dynamic.compile`` captures,
on any tier; numba's single driver per seed cost 5-30 CPU-s, and which tier a seed got
depended on the machine's load. The executor's tiers and ``prange`` kernels: test_fuzz_ci.py."""

COMPILE_SEEDS = [1003, 1008, 1010, 1019, 1020, 1030, 1043, 1048, 1058, 1074, 1083, 1094]


@pytest.mark.parametrize("seed", COMPILE_SEEDS)
def test_seed_compiles_as_eager_runs(seed, parallel_min):
    prog = generate(seed, MAX_NODES, families=CORE, dtypes=PICKED_OVER)
    out = check(prog, ("reference", "compile"))
    assert out.invalid is None
    assert not out.failed, (f"seed {seed}: dynamic.compile disagrees with eager\n"
                            f"{describe(out.findings)}\nminimize with: python -m tests.fuzz "
                            f"--seed {seed} --cases 1 --max-nodes {MAX_NODES} --families "
                            f"{','.join(CORE)} --dtypes {','.join(PICKED_OVER)} --oracles reference,compile")
    assert mode(out.compile) == "compiled", out.compile

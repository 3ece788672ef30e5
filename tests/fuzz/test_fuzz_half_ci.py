"""The differential fuzzer's CI budget for float16 programs (tests/fuzz/half.py): fixed seeds of
``generate(seed, MAX_NODES, dtypes=("float16",))`` over every family, checked on every oracle
(the modes against the float64 truth, the reference's float16 kernels one by one).

The seeds were picked (a weighted greedy cover over seeds 4000-4149) for a big batch, batch 0,
second order, an optimizer step, a torch sit-out (an op with no float16 kernel in torch) and the
kernels fixed to compute in float32 (sum, softmax, log_softmax, sigmoid, logsumexp, softplus,
mse_loss, pow), leaving out cumsum/cumprod, whose float16 accumulation is open (f16-cumsum and
f16-cumprod in regressions.json). float16 nodes are numpy steps in a plan: little to compile.
"""

from __future__ import annotations

import pytest

from tests.fuzz.ci_seed import assert_seed_agrees
from tests.fuzz.generate import FAMILIES, generate
from tests.fuzz.half import TORCH_NO_HALF

MAX_NODES = 5
HALF = ("float16",)
pytestmark = pytest.mark.usefixtures("numba_tier")  # "compiled": numba's (tests/conftest.py)
HALF_SEEDS = [4012, 4023, 4026, 4050, 4051, 4053, 4057, 4091, 4092, 4102, 4109, 4113, 4116,
              4126, 4129, 4142]


def test_the_seeds_cover_what_they_were_picked_for():
    progs = [generate(s, MAX_NODES, dtypes=HALF) for s in HALF_SEEDS]
    assert {p.dtype for p in progs} == {"float16"}
    used = set().union(*(p.ops_used() for p in progs))
    assert {"sum", "softmax", "log_softmax", "sigmoid", "logsumexp", "softplus", "mse_loss",
            "pow"} <= used
    assert not used & {"cumsum", "cumprod"}
    assert any(max(p.batches) > 100 for p in progs) and any(0 in p.batches for p in progs)
    assert any(p.grad and p.grad["second"] for p in progs) and any(p.train for p in progs)
    assert any(p.ops_used() & TORCH_NO_HALF for p in progs)


@pytest.mark.parametrize("seed", HALF_SEEDS)
def test_half_seed_agrees_on_every_oracle(seed, parallel_min):
    assert_seed_agrees(seed, MAX_NODES, tuple(FAMILIES), dtypes=HALF)

"""The differential fuzzer's CI budget: a fixed set of seeds checked on every oracle (compiled,
native tier, reference, eager, torch when installed, finite differences where they apply).

The seeds were picked (from a survey of ``generate(seed, MAX_NODES)``, seeds 1000-1099) to
cover every generator family, both dtypes, gradients with and without ``grad_ys``, second
order, two optimizers, batch 0 and a batch above the lowered parallel threshold, at the least
compile time. Deterministic; the long runs (``python -m tests.fuzz``) draw fresh seeds.
"""

from __future__ import annotations

import pytest

from tests.fuzz.ci_seed import assert_seed_agrees
from tests.fuzz.generate import CORE

MAX_NODES = 5
pytestmark = pytest.mark.usefixtures("numba_tier")  # "compiled": numba's (tests/conftest.py)
CI_SEEDS = [1000, 1003, 1006, 1008, 1010, 1015, 1017, 1019, 1020, 1030, 1037, 1041, 1043, 1044,
            1048, 1057, 1058, 1059, 1061, 1063, 1064, 1065, 1066, 1072, 1073, 1074, 1080, 1083,
            1094, 1098]


@pytest.mark.parametrize("seed", CI_SEEDS)
def test_seed_agrees_on_every_oracle(seed, parallel_min):
    assert_seed_agrees(seed, MAX_NODES, CORE)

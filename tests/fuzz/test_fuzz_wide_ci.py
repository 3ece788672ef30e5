"""The differential fuzzer's CI budget for the wide rows (:mod:`tests.fuzz.ops_wide`): a fixed
set of seeds of the wide generator families, checked on every oracle (compiled, native tier,
LLVM tier, reference, eager where the op has an eager form, torch when installed, finite
differences where they apply).

The seeds were picked (a greedy cover over ``generate(seed, MAX_NODES, families=WIDE)``, seeds
2000-2299) so that every wide row appears at least once, in the fewest programs. Deterministic;
the long runs (``python -m tests.fuzz --families ...``) draw fresh seeds.
"""

from __future__ import annotations

import pytest

from tests.fuzz.ci_seed import PICKED_OVER, assert_seed_agrees
from tests.fuzz.generate import WIDE, generate
from tests.fuzz.ops_wide import WIDE as ROWS

MAX_NODES = 5
pytestmark = pytest.mark.usefixtures("numba_tier")  # "compiled": numba's (tests/conftest.py)
WIDE_SEEDS = [2004, 2007, 2030, 2084, 2138, 2152, 2184, 2189, 2200, 2226, 2234, 2238, 2265, 2295]


def test_the_seeds_cover_every_wide_row():
    used = set().union(*(generate(s, MAX_NODES, families=tuple(WIDE), dtypes=PICKED_OVER).ops_used()
                         for s in WIDE_SEEDS))
    assert set(ROWS) <= used, sorted(set(ROWS) - used)


@pytest.mark.parametrize("seed", WIDE_SEEDS)
def test_wide_seed_agrees_on_every_oracle(seed, parallel_min):
    assert_seed_agrees(seed, MAX_NODES, tuple(WIDE))

"""The differential fuzzer's CI budget for the special-function rows (:mod:`.ops_special`):
a fixed set of seeds of the ``special`` family, checked on every oracle (compiled tiers,
reference, eager, torch when installed, finite differences).

The seeds were picked (a greedy cover over ``generate(seed, MAX_NODES, families=SPECIAL)``,
seeds 3000-3199) so that every row appears at least once; the long runs
(``python -m tests.fuzz --families special``) draw fresh seeds.
"""

from __future__ import annotations

import pytest

from tests.fuzz.ci_seed import PICKED_OVER, assert_seed_agrees
from tests.fuzz.generate import SPECIAL, generate
from tests.fuzz.ops_special import SPECIAL_ROWS

MAX_NODES = 5
pytestmark = pytest.mark.usefixtures("numba_tier")  # "compiled": numba's (tests/conftest.py)
SEEDS = [3006, 3011, 3048, 3072]


def test_the_seeds_cover_every_special_row():
    used = set().union(*(generate(s, MAX_NODES, families=tuple(SPECIAL), dtypes=PICKED_OVER).ops_used()
                         for s in SEEDS))
    assert set(SPECIAL_ROWS) <= used, sorted(set(SPECIAL_ROWS) - used)


@pytest.mark.parametrize("seed", SEEDS)
def test_special_seed_agrees_on_every_oracle(seed, parallel_min):
    assert_seed_agrees(seed, MAX_NODES, tuple(SPECIAL))

"""The CI seed tables' one check: a seed's program agrees on every oracle, or the failure names
the seed, the disagreements, the command that minimizes it and a runnable snippet."""

from __future__ import annotations

from tests.fuzz.case import check, describe
from tests.fuzz.generate import generate
from tests.fuzz.render import snippet

PICKED_OVER = ("float32", "float64")
"""The dtypes the core, wide, special and compile tables were picked over (before float16 was
drawn): they pin them, so their seeds keep their programs (test_fuzz_half_ci.py: float16)."""


def assert_seed_agrees(seed: int, max_nodes: int, families: tuple[str, ...],
                       dtypes: tuple[str, ...] = PICKED_OVER) -> None:
    prog = generate(seed, max_nodes, families=families, dtypes=dtypes)
    out = check(prog)
    assert out.invalid is None, f"seed {seed} builds an invalid program: {out.invalid}"
    assert not out.failed, (f"seed {seed}: oracles disagree\n{describe(out.findings)}\n"
                            f"minimize with: python -m tests.fuzz --seed {seed} --cases 1 "
                            f"--max-nodes {max_nodes} --families {','.join(families)} "
                            f"--dtypes {','.join(dtypes)}\n{snippet(prog)}")

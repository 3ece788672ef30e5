"""The CI seed tables' one check: a seed's program agrees on every oracle, or the failure names
the seed, the disagreements, the command that minimizes it and a runnable snippet."""

from __future__ import annotations

from tests.fuzz.case import check, describe
from tests.fuzz.generate import generate
from tests.fuzz.render import snippet


def assert_seed_agrees(seed: int, max_nodes: int, families: tuple[str, ...]) -> None:
    prog = generate(seed, max_nodes, families=families)
    out = check(prog)
    assert out.invalid is None, f"seed {seed} builds an invalid program: {out.invalid}"
    assert not out.failed, (f"seed {seed}: oracles disagree\n{describe(out.findings)}\n"
                            f"minimize with: python -m tests.fuzz --seed {seed} --cases 1 "
                            f"--max-nodes {max_nodes} --families {','.join(families)}\n"
                            f"{snippet(prog)}")

"""Check one program: run the oracles, compare, classify."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .compare import Finding, compare
from .oracles import run_all
from .program import Program

ORACLES = ("reference", "compiled", "native", "llvm", "eager", "compile", "torch", "fd")
DEFAULT_ORACLES = tuple(o for o in ORACLES if o != "compile")
"""``compile`` (``dynamic.compile``, :mod:`.oracle_compile`) is opt-in (``--oracles``): it
adds about half the other oracles' time to a case on a cold compile cache (each plan and
recompile is a compile of its own), over the 30% that would make it a default."""


@dataclass
class Outcome:
    """``invalid``: the reference could not even build the graph (a generator slip, not a
    finding); ``findings``: disagreements, worst first."""

    invalid: str | None = None
    findings: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)
    compile: dict | None = None  # the compile oracle's plans and graph breaks
    sat_out: int = 0  # runs where a PyTorch-side oracle sat out a paradigm difference

    @property
    def failed(self) -> bool:
        return bool(self.findings)

    def signatures(self) -> set[str]:
        return {f.signature for f in self.findings}


def check(prog: Program, oracles: tuple[str, ...] = DEFAULT_ORACLES) -> Outcome:
    if "reference" not in oracles:
        oracles = ("reference",) + tuple(oracles)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN/inf are expected; the comparator judges them
        res = run_all(prog, oracles)
        ref = res["reference"]
        if ref.build is not None:
            return Outcome(invalid=ref.build)
        out = Outcome(findings=compare(prog, res))
    out.sat_out = sum(1 for kinds in ref.paradigm.values() if kinds)
    out.skipped = {k: r.skipped for k, r in res.items() if r.skipped}
    if "compile" in res:
        out.compile = res["compile"].stats
    return out


def describe(findings: list[Finding], limit: int = 6) -> str:
    lines = [str(f) for f in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more")
    return "\n".join(lines)

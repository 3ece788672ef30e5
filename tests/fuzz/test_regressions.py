"""Replay every recorded fuzz case (``regressions.json``): each is a minimized program that once
made two oracles disagree, tagged with its root cause. A case whose fix has not landed yet is
``xfail(strict=True)``: when the fix lands it passes, the strict xfail fails, and whoever
merged the fix drops the case's ``"xfail"`` flag."""

from __future__ import annotations

import json
import os

import pytest

from tests.fuzz.case import check, describe
from tests.fuzz.program import Program
from tests.fuzz.render import snippet

PATH = os.path.join(os.path.dirname(__file__), "regressions.json")


def _cases() -> list:
    with open(PATH) as f:
        cases = json.load(f)
    return [pytest.param(c, id=c["tag"], marks=[pytest.mark.xfail(
        strict=True, reason=f"{c['tag']}: {c['cause']}")] if c.get("xfail") else [])
        for c in cases]


def test_tags_are_unique():
    with open(PATH) as f:
        tags = [c["tag"] for c in json.load(f)]
    assert len(tags) == len(set(tags))


@pytest.mark.parametrize("case", _cases())
def test_recorded_case_agrees(case, parallel_min):
    if "torch" in case["oracles"]:
        pytest.importorskip("torch")
    prog = Program.from_json(case["program"])
    out = check(prog, tuple(case["oracles"]))
    assert out.invalid is None, f"{case['tag']}: the recorded program no longer builds: " \
                                f"{out.invalid}"
    assert not out.failed, f"{case['tag']}:\n{describe(out.findings)}\n{snippet(prog)}"

"""A drawn training step with no variables (fuzz seed 26783) is a generator slip, as TF1's
``minimize`` says ("No variables to optimize"): the eager oracle used to build
``SGD([])`` and crash the case as a fuzzer error."""

from __future__ import annotations

from tests.fuzz.case import check
from tests.fuzz.generate import generate


def test_seed_26783_is_an_invalid_case_not_a_fuzzer_error():
    prog = generate(26783, 14, edge=0.1)
    assert prog.train and not any(i.kind == "var" for i in prog.inputs)
    out = check(prog, ("reference", "eager"))
    assert out.invalid and not out.failed

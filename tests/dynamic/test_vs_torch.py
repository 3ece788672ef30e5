"""Differential test: the same programs print the same under PyTorch and ``dynamic``
(values, gradients, grad_fn names, reprs, error types and messages). Skips without torch."""

from __future__ import annotations

import contextlib
import io
import re
import warnings

import pytest

import dynamic

from .torch_programs import PROGS
from .tutorial_programs import PROGS as TUTORIAL_PROGS

real_torch = pytest.importorskip("torch")


def _run(mod, src: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(src, {"torch": mod})
        except Exception as e:  # the crash itself is part of the behaviour compared
            print("CRASH", type(e).__name__, e)
    return re.sub(r"0x[0-9a-f]+", "0x", buf.getvalue())


ALL_PROGS = {**PROGS, **{f"tutorial_{k}": v for k, v in TUTORIAL_PROGS.items()}}


@pytest.mark.parametrize("name", sorted(ALL_PROGS))
def test_same_output_as_pytorch(name):
    expected = _run(real_torch, ALL_PROGS[name])
    got = _run(dynamic, ALL_PROGS[name])
    assert "CRASH" not in expected, expected
    assert got.splitlines() == expected.splitlines()

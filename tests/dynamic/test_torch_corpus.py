"""The PyTorch program corpora, checked without PyTorch: each program, run with
``import dynamic as torch`` (its ``from torch... import`` lines resolved to ``dynamic``), prints
what PyTorch printed (recorded in torch_expected.json by ``python -m tests.dynamic.torch_oracle
--record``), to one unit in the last printed place of a decimal (the CPU moves last bits).
Where PyTorch is installed, the recording is also checked against a live run."""

from __future__ import annotations

import sys

import pytest

import dynamic

from . import torch_oracle

PROGRAMS = torch_oracle.programs()
EXPECTED = torch_oracle.load_expected()


def test_every_program_has_a_recording():
    assert sorted(PROGRAMS) == sorted(EXPECTED)
    assert not [n for n, out in EXPECTED.items() if "CRASH" in out]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_prints_what_pytorch_printed(name):
    got = torch_oracle.run_program(dynamic, PROGRAMS[name])
    diff = torch_oracle.print_differs(got, EXPECTED[name])
    assert diff is None, diff


def test_imports_resolve_to_dynamic_only_while_the_program_runs():
    before = sys.modules.get("torch")
    out = torch_oracle.run_program(dynamic, "import torch.utils.data as d\nprint(d.__name__)")
    assert out == "dynamic.utils.data\n"
    assert sys.modules.get("torch") is before


def test_recording_matches_live_pytorch():
    torch = pytest.importorskip("torch")
    for name, src in PROGRAMS.items():
        diff = torch_oracle.print_differs(torch_oracle.run_program(torch, src),
                                               EXPECTED[name])
        assert diff is None, f"{name}: {diff}"


def test_print_differs_allows_one_unit_in_the_last_place_only():
    d = torch_oracle.print_differs
    assert d("loss: 1.169133  [    6/    8]", "loss: 1.169134  [    6/    8]") is None
    assert d("tensor([1.5e-03])", "tensor([1.6e-03])") is None
    assert d("loss: 1.169136", "loss: 1.169134") is not None  # two units
    assert d("loss: 1.16913", "loss: 1.169134") is not None  # another precision
    assert d("loss: 1.169134  [    7/    8]", "loss: 1.169134  [    6/    8]") is not None
    assert d("epoch 1.0", "step 1.0") is not None and d("a\nb", "a") is not None

"""The learner corpus of issue #15 (third round), checked without PyTorch: each program of
``torch_corpus_learner_{train,tune,gen,seq,grad}.py``, run with
``import dynamic as torch`` (its ``from torch... import`` lines resolved to ``dynamic`` by
``torch_oracle.run_program``), prints exactly what PyTorch 2.13 printed, as recorded in
``torch_expected_learner.json``. Its own recording (not ``torch_expected.json``) so that this
corpus grows without touching the other corpora's file.

Record (PyTorch installed, from the repository root):
``python -m tests.dynamic.test_torch_corpus_learner --record``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import dynamic

from . import (
    torch_corpus_learner_gen,
    torch_corpus_learner_grad,
    torch_corpus_learner_seq,
    torch_corpus_learner_train,
    torch_corpus_learner_tune,
    torch_oracle,
)

EXPECTED_PATH = Path(__file__).with_name("torch_expected_learner.json")


def programs() -> dict[str, str]:
    """Every program of the learner corpus, by name."""
    return {f"{prefix}_{k}": v
            for prefix, mod in (("train", torch_corpus_learner_train),
                                ("tune", torch_corpus_learner_tune),
                                ("gen", torch_corpus_learner_gen),
                                ("seq", torch_corpus_learner_seq),
                                ("grad", torch_corpus_learner_grad))
            for k, v in mod.PROGRAMS.items()}


def load_expected() -> dict[str, str]:
    return json.loads(EXPECTED_PATH.read_text())["programs"]


PROGRAMS = programs()
EXPECTED = load_expected() if EXPECTED_PATH.exists() else {}  # {} until first recorded


def test_every_program_has_a_recording_without_a_crash():
    assert sorted(PROGRAMS) == sorted(EXPECTED)
    assert not [n for n, out in EXPECTED.items() if "CRASH" in out]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_prints_what_pytorch_printed(name):
    got = torch_oracle.run_program(dynamic, PROGRAMS[name])
    diff = torch_oracle.print_differs(got, EXPECTED[name])
    assert diff is None, diff


def test_recording_matches_live_pytorch():
    torch = pytest.importorskip("torch")
    for name, src in PROGRAMS.items():
        diff = torch_oracle.print_differs(torch_oracle.run_program(torch, src),
                                               EXPECTED[name])
        assert diff is None, f"{name}: {diff}"


if __name__ == "__main__" and "--record" in sys.argv:
    import torch

    EXPECTED_PATH.write_text(json.dumps(
        {"torch": torch.__version__,
         "programs": {n: torch_oracle.run_program(torch, s) for n, s in sorted(PROGRAMS.items())}},
        indent=1, sort_keys=True) + "\n")

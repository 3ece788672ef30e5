"""The TF1 program corpus (tf1_corpus_*.py): each program, run with ``import staticgraph as tf``
on every executor, prints what it printed under TensorFlow's ``compat.v1`` (recorded in
tf1_expected.json by ``python tests/static/tf1_oracle.py --record``). Where TensorFlow is
installed, the recording is also checked against a live TensorFlow run."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from . import tf1_oracle

PROGRAMS = tf1_oracle.programs()
EXPECTED = tf1_oracle.load_expected()
# (program, executor) pairs that fail for a known reason outside this package's static API
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def test_every_program_has_a_recording():
    assert sorted(PROGRAMS) == sorted(EXPECTED)
    assert not [n for n, out in EXPECTED.items() if out.startswith("PROGRAM FAILED")]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_prints_what_tensorflow_printed(name, executor):
    try:
        got = tf1_oracle.run_staticgraph(PROGRAMS[name], executor)
    except Exception as e:  # noqa: BLE001 - reported as the difference
        got = f"PROGRAM FAILED: {type(e).__name__}: {e}"
    diff = tf1_oracle.compare(EXPECTED[name], got)
    known = KNOWN_FAILURES.get((name, executor))
    if known is not None:
        assert diff is not None, f"{name} on {executor} now passes: remove it from KNOWN_FAILURES"
        pytest.xfail(known)
    assert diff is None, f"{name} on {executor}: {diff}"


def test_compare_is_strict_about_values_and_text():
    assert tf1_oracle.compare("[1.  2.5]\nTensor(\"x:0\")", "[1. 2.5000001]\nTensor(\"x:0\")") \
        is None
    assert tf1_oracle.compare("[1. 2.5]", "[1. 2.6]") is not None
    assert tf1_oracle.compare("Tensor(\"x:0\")", "Tensor(\"x_1:0\")") is not None
    assert tf1_oracle.compare("a\nb", "a") is not None
    assert tf1_oracle.compare("raises ValueError [True]", "raises TypeError [True]") is not None


def test_recording_matches_live_tensorflow():
    """Runs in this process (TensorFlow is imported once for all differential tests)."""
    pytest.importorskip("tensorflow")
    if "tf_keras" not in sys.modules and importlib.util.find_spec("tf_keras") is None:
        pytest.skip("tf.layers needs the tf_keras package with TensorFlow >= 2.16")
    live = tf1_oracle.run_tensorflow_all()
    for name, out in EXPECTED.items():
        assert tf1_oracle.compare(out, live[name]) is None, name

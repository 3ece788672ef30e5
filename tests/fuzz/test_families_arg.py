"""An unknown generator family is an error (it used to be dropped quietly, fuzzing less than
asked), both in ``generate`` and on the command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fuzz.generate import generate


def test_generate_rejects_an_unknown_family():
    with pytest.raises(ValueError, match=r"unknown fuzz families \['nosuch'\]"):
        generate(1, 5, families=("unary", "nosuch"))
    assert generate(1, 5, families=("unary",)).nodes


def test_the_command_line_rejects_an_unknown_family():
    r = subprocess.run([sys.executable, "-m", "tests.fuzz", "--minutes", "0.01", "--families",
                        "unary,nosuch"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "unknown --families ['nosuch']" in r.stderr

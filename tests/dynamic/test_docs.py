"""Runs the examples of ``docs/eager.md`` in order; a ```python block followed by a ```text
block must print exactly that text."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "eager.md"
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str | None]]:
    blocks = BLOCK.findall(DOC.read_text())
    out = []
    for i, (kind, body) in enumerate(blocks):
        if kind == "python":
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            out.append((body, nxt[1] if nxt and nxt[0] == "text" else None))
    return out


def test_docs_examples_print_what_they_claim():
    examples = _examples()
    assert len(examples) >= 15
    assert sum(expected is not None for _, expected in examples) >= 14
    ns: dict = {}
    for code, expected in examples:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, str(DOC), "exec"), ns)
        if expected is not None:
            assert buf.getvalue() == expected, f"example:\n{code}\nprinted:\n{buf.getvalue()}"


def test_docs_examples_print_the_same_under_pytorch():
    import pytest

    torch = pytest.importorskip("torch")
    ns: dict = {"torch": torch}
    for code, expected in _examples():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code.replace("import dynamic as torch", ""), str(DOC), "exec"), ns)
        if expected is not None:
            assert buf.getvalue() == expected, f"PyTorch differs on:\n{code}"

"""The eager test corpus under ``dynamic.compile``: every top-level function a program defines and
every top-level class's ``forward`` is compiled (``@torch.compile`` added by an AST rewrite),
and the program must print what it prints eagerly. Functions with data-dependent control flow
or side effects graph-break and run eagerly, so every program applies; node names in reprs
(``grad_fn=<MulBackward0>`` of a compiled output is the compiled call's node) are the one thing
normalized away."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import warnings

import pytest

import dynamic

from .torch_programs import PROGS
from .tutorial_programs import PROGS as TUTORIAL_PROGS

ALL_PROGS = {**PROGS, **{f"tutorial_{k}": v for k, v in TUTORIAL_PROGS.items()}}


def _decorate(fn: ast.FunctionDef) -> None:
    fn.decorator_list.insert(0, ast.Attribute(ast.Name("torch", ast.Load()), "compile",
                                              ast.Load()))


def compiled_source(src: str) -> str:
    """``src`` with ``@torch.compile`` on each top-level function and on the ``forward`` of each
    top-level class (an ``nn.Module``'s forward compiled as a method, as PyTorch allows)."""
    tree = ast.parse(src)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            _decorate(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "forward":
                    _decorate(item)
    return ast.unparse(tree)


def _run(src: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(src, {"torch": dynamic, "__name__": "__prog__"})  # noqa: S102
        except Exception as e:  # the crash itself is part of the behaviour compared
            print("CRASH", type(e).__name__, e)
    text = re.sub(r"0x[0-9a-f]+", "0x", buf.getvalue())
    text = re.sub(r"grad_fn=<\w+>", "grad_fn=<node>", text)
    return re.sub(r"<\w+ object at 0x>", "<node object>", text)


def _has_functions(src: str) -> bool:
    return any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.parse(src).body)


@pytest.mark.parametrize("name", sorted(n for n, s in ALL_PROGS.items() if _has_functions(s)))
def test_program_prints_the_same_compiled(name):
    src = ALL_PROGS[name]
    dynamic.manual_seed(0)
    want = _run(src)
    dynamic.manual_seed(0)
    got = _run(compiled_source(src))
    assert got.splitlines() == want.splitlines()

"""Run the TF1 program corpus (tf1_corpus_*.py) and compare printed outputs.

``python tests/static/tf1_oracle.py --record`` runs every program under TensorFlow's
``compat.v1`` (with ``disable_v2_behavior()``, i.e. TF1 semantics: ``(?, 3)`` shapes,
``Dimension`` objects) and stores the outputs in tf1_expected.json, so the tests still compare
against TensorFlow when it is not installed. ``--json`` prints them instead (used by the live
differential test). Nothing in the package imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED_PATH = os.path.join(HERE, "tf1_expected.json")
_NUM = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def programs() -> dict[str, str]:
    """Every program of the corpus, by name."""
    sys.path.insert(0, HERE)
    try:
        import tf1_corpus_basics
        import tf1_corpus_books
        import tf1_corpus_classic
        import tf1_corpus_conv
        import tf1_corpus_errors
        import tf1_corpus_learners
        import tf1_corpus_linalg
        import tf1_corpus_more
        import tf1_corpus_rank
        import tf1_corpus_real
        import tf1_corpus_rnn
        import tf1_corpus_training
        import tf1_corpus_tutorials
    finally:
        sys.path.remove(HERE)
    out: dict[str, str] = {}
    for mod in (tf1_corpus_basics, tf1_corpus_training, tf1_corpus_errors, tf1_corpus_tutorials,
                tf1_corpus_more, tf1_corpus_books, tf1_corpus_conv, tf1_corpus_real,
                tf1_corpus_rnn, tf1_corpus_rank, tf1_corpus_classic, tf1_corpus_linalg,
                tf1_corpus_learners):
        out.update(mod.PROGRAMS)
    return out


def _raises(fn: Callable[[], Any], *fragments: str) -> None:
    """Print the class of the error ``fn()`` raises and whether each fragment is in its text."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class is what is printed and compared
        msg = str(e)
        print("raises", type(e).__name__, [f in msg for f in fragments])
    else:
        print("raises nothing")


def run_program(tf: Any, source: str) -> str:
    """Run ``source`` with ``tf`` bound to the given module; return what it printed."""
    tf.reset_default_graph()
    buf = io.StringIO()
    env = {"tf": tf, "np": np, "raises": _raises, "__name__": "__tf1_program__"}
    with contextlib.redirect_stdout(buf):
        try:
            exec(compile(source, "<tf1-program>", "exec"), env)  # noqa: S102 - test corpus
        finally:
            sess = tf.get_default_session()
            if sess is not None:  # an InteractiveSession left open
                sess.close()
    return buf.getvalue()


def run_staticgraph(source: str, executor: str) -> str:
    """Run ``source`` with ``import staticgraph as tf``, every Session on ``executor``."""
    import staticgraph
    import staticgraph.session as session_mod

    session_mod.default_executor_name()  # imports the compiler (registers "numba")
    saved = session_mod.default_executor_name
    session_mod.default_executor_name = lambda: executor
    try:
        return run_program(staticgraph, source)
    finally:
        session_mod.default_executor_name = saved


def _tokens(text: str) -> list[tuple[str, Any]]:
    """Numbers as floats, the text between them with all whitespace removed."""
    out: list[tuple[str, Any]] = []
    pos = 0
    for m in _NUM.finditer(text):
        gap = re.sub(r"\s+", "", text[pos:m.start()])
        if gap:
            out.append(("text", gap))
        out.append(("num", float(m.group())))
        pos = m.end()
    tail = re.sub(r"\s+", "", text[pos:])
    if tail:
        out.append(("text", tail))
    return out


def compare(expected: str, got: str, rtol: float = 2e-4, atol: float = 2e-5) -> str | None:
    """``None`` when the outputs agree line by line (numbers within tolerance, other text
    equal up to whitespace), else a description of the first difference."""
    exp_lines, got_lines = expected.splitlines(), got.splitlines()
    if len(exp_lines) != len(got_lines):
        return (f"{len(exp_lines)} lines expected, {len(got_lines)} printed\n--- expected\n"
                f"{expected}--- got\n{got}")
    for n, (e, g) in enumerate(zip(exp_lines, got_lines, strict=True), 1):
        te, tg = _tokens(e), _tokens(g)
        ok = len(te) == len(tg) and all(
            ke == kg and (ve == vg if ke == "text" else
                          math.isclose(ve, vg, rel_tol=rtol, abs_tol=atol))
            for (ke, ve), (kg, vg) in zip(te, tg, strict=True))
        if not ok:
            return f"line {n} differs:\n  expected: {e}\n  got:      {g}"
    return None


def run_tensorflow_all() -> dict[str, str]:
    """Every program's output under ``tensorflow.compat.v1`` with TF1 behaviour (this switches
    the process's TensorFlow to graph mode)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.layers needs tf_keras under TF 2.16+
    import tensorflow.compat.v1 as tf1

    tf1.disable_v2_behavior()
    out = {}
    for name, src in programs().items():
        try:
            out[name] = run_program(tf1, src)
        except Exception as e:  # noqa: BLE001 - recorded, so a broken program is visible
            out[name] = f"PROGRAM FAILED: {type(e).__name__}: {e}"
    return out


def load_expected() -> dict[str, str]:
    with open(EXPECTED_PATH) as f:
        return json.load(f)["programs"]


if __name__ == "__main__":
    results = run_tensorflow_all()
    if "--record" in sys.argv:
        import tensorflow as tf2

        with open(EXPECTED_PATH, "w") as f:
            json.dump({"tensorflow": tf2.__version__, "programs": results}, f, indent=1,
                      sort_keys=True)
            f.write("\n")
    else:
        json.dump(results, sys.stdout)

"""The disk cache is keyed on the ``sg_*`` library too (issue #9): numba compiles the library
modules that generated code imports (``cpu/scalar``, ``cpu/scalar_basic``, ``cpu/accum``,
``cpu/smallmm``) into every kernel's machine code, so an entry built with an older library must
never run. Before the key named them, a changed ``sg_exp`` left the old code in every warm cache,
and the native tier (or numba's cache of the kernel) kept running it."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
X = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)


def _package_imports(src: str, pkg: str = "") -> set[str]:
    """``staticgraph.compiler`` modules that ``src`` imports, named inside the package (e.g.
    ``cpu.scalar``); ``pkg``: the subpackage of the module holding ``src`` (relative imports)."""
    out = set()
    for node in ast.walk(ast.parse(src)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            parts = pkg.split(".") if pkg else []
            up = node.level - 1
            if up > len(parts):
                continue  # above the compiler (staticgraph.ops...): not compiled into kernels
            base = parts[:len(parts) - up]
        elif node.module and node.module.startswith("staticgraph.compiler."):
            base = []
        else:
            continue
        if node.module:
            mod = node.module[len("staticgraph.compiler."):] if not node.level else node.module
            out.add(".".join(base + [mod]))
        else:
            out.update(".".join(base + [a.name]) for a in node.names)
    return out


def test_the_key_covers_every_package_module_generated_code_imports():
    from staticgraph.compiler import diskcache
    from staticgraph.compiler.cpu import njit_driver, render

    todo = _package_imports(render.HEADER) | _package_imports(njit_driver.HEADER)
    assert todo, "the headers import the library"
    seen: set[str] = set()
    while todo:  # and whatever those modules import from the package
        m = todo.pop()
        seen.add(m)
        with open(os.path.join(ROOT, "staticgraph", "compiler", *m.split(".")) + ".py") as f:
            todo |= _package_imports(f.read(), m.rpartition(".")[0]) - seen
    assert seen <= set(diskcache.LIBRARY_MODULES), seen
    assert diskcache.LIBRARY_SHA in diskcache.VERSION_TAG


PROG = textwrap.dedent("""
    import sys, numpy as np, staticgraph as sg
    from staticgraph.compiler import block_until_ready
    assert sg.__file__.startswith(sys.argv[1]), sg.__file__  # the copy, not the worktree
    X = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)
    x = sg.placeholder(sg.float32, [None, 3])
    s = sg.Session()
    y = sg.exp(x)
    v = s.run(y, {x: X})
    print("EXP", list(s._executor.instances())[0].tier, v.tolist())
    if "--switch" in sys.argv:  # then numba's own cache of the kernel
        assert block_until_ready(120)
        print("EXP2", list(s._executor.instances())[0].tier, s.run(y, {x: X}).tolist())
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the native tier is Linux-only")
def test_a_changed_library_is_not_served_from_an_old_cache(tmp_path):
    # a copy of the package whose scalar library we edit (numba's own cache of the library
    # lives beside it, in the copy)
    src = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "staticgraph"), src / "staticgraph",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, STATICGRAPH_CACHE_DIR=str(tmp_path / "cache"),
               STATICGRAPH_LOG_COMPILES="1", PYTHONDONTWRITEBYTECODE="1",
               STATICGRAPH_LLVM="0")  # numba's library (the LLVM one is in RENDERER_SHA)
    env.pop("STATICGRAPH_NATIVE", None)
    env.pop("PYTHONPATH", None)

    def run(*args: str) -> tuple[dict, str]:
        r = subprocess.run([sys.executable, "-c", PROG, str(src), *args], env=env, cwd=src,
                           capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
        out = {}
        for ln in r.stdout.splitlines():
            tag, tier, vals = ln.split(" ", 2)
            out[tag] = (tier, np.array(eval(vals), np.float32))
        return out, r.stderr

    res, _ = run()
    np.testing.assert_allclose(res["EXP"][1], np.exp(X), rtol=1e-6)
    # numba cached the library's exp beside the copy: it must notice the edit too
    assert list((src / "staticgraph" / "compiler" / "cpu" / "__pycache__").glob(
        "scalar.*exp_f32*.nbi"))
    lib = src / "staticgraph" / "compiler" / "cpu" / "scalar.py"
    text = lib.read_text()
    anchor = "def _exp_f32(x):\n    k = _E32_T\n"
    assert text.count(anchor) == 1
    lib.write_text(text.replace(anchor, "def _exp_f32(x):\n    x = x + np.float32(1.0)\n"
                                        "    k = _E32_T\n"))
    want = np.exp(X + np.float32(1))
    res, err = run()  # the same kernel source, a new library: compiled again, not loaded
    assert res["EXP"][0] == "numba"
    np.testing.assert_allclose(res["EXP"][1], want, rtol=1e-6)
    assert "as native code" not in err and "from disk cache" not in err, err
    assert re.search(r"compiled kernel\(", err), err
    res, err = run("--switch")  # warm with the new library: native, then numba's cache
    assert res["EXP"][0] == "native" and res["EXP2"][0] == "numba", err
    np.testing.assert_allclose(res["EXP"][1], want, rtol=1e-6)
    np.testing.assert_allclose(res["EXP2"][1], want, rtol=1e-6)

"""The LLVM renderer on the native tier: a cold process answers its first run with kernels
compiled by llvmlite, numba not imported; a warm one links their disk entries; damaged or
foreign entries are removed and never run; a kernel the renderer declines goes to numba alone.
(Every static-mode test also runs on the ``numba-llvm`` executor: tests/static/conftest.py.)"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="native objects are ELF (Linux) only")

# an MLP step (bias+relu epilogue, softmax-CE forward and backward, reductions, SGD) and a
# tanh/sigmoid/exp chain with a mean over rows; products counted large
# (STATICGRAPH_SMALL_DOT=0): the Python driver
PROGRAM = textwrap.dedent("""
    import sys, threading
    first_numba_import = []

    def watch(event, args):  # which thread imports numba first
        if event == "import" and args[0] == "numba" and not first_numba_import:
            first_numba_import.append(threading.current_thread().name)

    sys.addaudithook(watch)
    import numpy as np, staticgraph as sg
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 4)).astype(np.float32)
    Y = rng.integers(0, 3, 7)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 4])
        y = sg.placeholder(sg.int64, [None])
        w1 = sg.Variable((rng.standard_normal((4, 6)) * 0.5).astype(np.float32))
        b1 = sg.Variable(np.zeros(6, np.float32))
        w2 = sg.Variable((rng.standard_normal((6, 3)) * 0.5).astype(np.float32))
        h = sg.nn.relu(sg.matmul(x, w1) + b1)
        loss = sg.reduce_mean(sg.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=sg.matmul(h, w2)))
        chain = sg.reduce_mean(sg.tanh(x) * sg.sigmoid(x) + sg.exp(-x * x), axis=0)
        train = sg.train.GradientDescentOptimizer(0.5).minimize(loss)
        init = sg.global_variables_initializer()
    s = sg.Session(graph=g)
    s.run(init)
    l0, c0, _ = s.run([loss, chain, train], {x: X, y: Y})
    inst = next(i for i in s._executor.instances() if len(i.plan.kernel_list) > 3)
    print("FIRST", repr(float(l0)), inst.tier, "numba" in sys.modules, len(inst.plan.kernel_list))
    for _ in range(3):
        s.run(train, {x: X, y: Y})
    from staticgraph.compiler import block_until_ready
    assert block_until_ready(240)
    print("AFTER", inst.tier, *first_numba_import)
    print("LOSS", repr(float(s.run(loss, {x: X, y: Y}))))
    print("CHAIN", *[repr(float(v)) for v in c0])
""")


def _run(cache: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=cache, STATICGRAPH_LOG_COMPILES="1",
             STATICGRAPH_SMALL_DOT="0", **(env or {}))
    for k in ("STATICGRAPH_NATIVE", "STATICGRAPH_LLVM"):
        e.pop(k, None)
    r = subprocess.run([sys.executable, "-c", PROGRAM], env=e, capture_output=True, text=True,
                       timeout=400)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _line(r: subprocess.CompletedProcess, tag: str) -> list[str]:
    return next(ln.split()[1:] for ln in r.stdout.splitlines() if ln.startswith(tag + " "))


def _expected() -> tuple[float, np.ndarray]:
    """The first loss and the chain by numpy (the reference executor's formulas)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 4)).astype(np.float32)
    Y = rng.integers(0, 3, 7)
    w1 = (rng.standard_normal((4, 6)) * 0.5).astype(np.float32)
    w2 = (rng.standard_normal((6, 3)) * 0.5).astype(np.float32)
    z = np.maximum(X @ w1, 0) @ w2
    lp = z - z.max(1, keepdims=True)
    lp = lp - np.log(np.exp(lp).sum(1, keepdims=True))
    sig = 1 / (1 + np.exp(-X.astype(np.float64)))
    chain = (np.tanh(X.astype(np.float64)) * sig + np.exp(-X.astype(np.float64) ** 2)).mean(0)
    return float(-lp[np.arange(7), Y].mean()), chain


def test_cold_process_answers_with_llvm_kernels_then_numba_loads_in_the_background(tmp_path):
    cold = _run(str(tmp_path))
    loss, tier, numba_loaded, nk = _line(cold, "FIRST")
    assert (tier, numba_loaded) == ("native", "False")
    assert cold.stderr.count("compiled LLVM kernel") >= int(nk)
    first = cold.stderr.split("switched an instance")[0]
    assert "compiled kernel(" not in first.split("loaded")[0]  # numba compiled nothing first
    # numba was imported by the loader thread, after the first result, and took over
    assert _line(cold, "AFTER") == ["numba", "staticgraph-numba-loader"]
    want_loss, want_chain = _expected()
    np.testing.assert_allclose(float(loss), want_loss, rtol=1e-5)
    np.testing.assert_allclose([float(v) for v in _line(cold, "CHAIN")], want_chain, rtol=2e-6)
    # warm: machine code linked from the disk cache (the LLVM entries, which have the packed
    # entry, are preferred to numba's own saved at the switch), nothing compiles
    warm = _run(str(tmp_path))
    assert "] compiled" not in warm.stderr  # ("already compiled": work done before)
    assert warm.stderr.count("as native code") >= int(nk)
    assert _line(warm, "FIRST")[1:] == ["native", "False", nk]
    np.testing.assert_allclose(float(_line(warm, "FIRST")[0]), float(loss), rtol=1e-6)
    np.testing.assert_allclose(float(_line(warm, "LOSS")[0]), float(_line(cold, "LOSS")[0]),
                               rtol=1e-6)


def test_damaged_or_swapped_llvm_entries_are_removed_and_never_run(tmp_path):
    cache = str(tmp_path)
    cold = _run(cache)
    for p in glob.glob(os.path.join(cache, "*", "*.kernel.*.native")):
        os.remove(p)  # numba's saved code (preferred when present): the LLVM entries are read
    entries = sorted(glob.glob(os.path.join(cache, "*", "*.llvm.*.native")))
    assert len(entries) >= 4
    a, b = entries[0], entries[1]
    shutil.copy(b, a)  # another kernel's intact entry in place of this one
    for i, p in enumerate(entries[1:]):  # flip bytes in the object, or cut the file short
        with open(p, "r+b") as f:
            if i % 2:
                f.truncate(os.path.getsize(p) // 2)
            else:
                f.seek(os.path.getsize(p) - 200)
                f.write(b"\xcc" * 16)
    r = _run(cache)
    assert r.stderr.count("or another kernel's: removed") == len(entries)
    assert r.stderr.count("compiled LLVM kernel") == len(entries)  # rebuilt, then run
    assert _line(r, "FIRST") == _line(cold, "FIRST")  # the same code rebuilt: the same bits


def test_a_declined_kernel_goes_to_numba_alone(monkeypatch):
    """A kernel the renderer declines (here: no LLVM form of tanh) is numba's; the others of
    the same plan stay LLVM kernels; values agree with the reference executor."""
    import staticgraph as sg
    from staticgraph.compiler.cpu import native
    from staticgraph.compiler.cpu.llvm import library
    from staticgraph.compiler.cpu.llvm.build import _DECLINED
    from staticgraph.session import EXECUTORS
    from tests.static.conftest import _executors

    _executors()
    monkeypatch.delitem(library.CALLS, "sg_tanh")
    monkeypatch.setattr("staticgraph.compiler.cpu.llvm.build._DECLINED", dict(_DECLINED))
    assert "numba-llvm" in EXECUTORS
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((5, 3)).astype(np.float32)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3])
        a = sg.matmul(sg.tanh(x), sg.transpose(x))  # the tanh kernel, then a product
        out = sg.reduce_sum(sg.exp(a) * 2.0, axis=1)
    with sg.Session(graph=g, executor="numba-llvm") as s:
        got = s.run(out, {x: xv})
        inst = next(i for i in s._executor.instances() if i.plan.kernel_list)
        kinds = sorted(type(k).__name__ for k in inst.call.__globals__["K"])
    with sg.Session(graph=g, executor="reference") as s:
        want = s.run(out, {x: xv})
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert "CPUDispatcher" in kinds and native.NativeKernel.__name__ in kinds


# ----------------------------------------------------------- the same bits on both tiers
def _chain(sg, x):
    """Four transcendentals: tiled at the default tile cost (compiler/tiling.py)."""
    a = sg.tanh(x)
    return sg.tanh(sg.exp(sg.sigmoid(a * 1.5) * -1.0) * x + a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5, 3000, 2 * 65536 + 77])
def test_chunked_and_tiled_kernels_give_numbas_bits(dtype, n):
    """Chunked kernels (full reductions, partials in chunk order), tiled or not, give the
    same bits from the LLVM renderer as from numba: the float sums add each block in
    sg_block_sum's fixed order on both (compiler/cpu/blocksum.py), not in whatever order the
    vectorizer picked (float64 sums of tanh differed in the last bits)."""
    import staticgraph as sg
    from staticgraph.compiler.tiling import CHUNK
    from tests.static.conftest import _executors

    assert 2 * CHUNK < 2 * 65536 + 77 < 3 * CHUNK
    _executors()
    rng = np.random.default_rng(n)
    xv = (rng.uniform(-2, 2, n) * 30).astype(dtype)
    iv = rng.integers(-1000, 1000, n)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(dtype, [n])
        i = sg.placeholder(sg.int64, [n])
        y = sg.reduce_sum(_chain(sg, x))
        (dx,) = sg.gradients(y, [x])
        outs = [y, dx, sg.reduce_mean(sg.tanh(x * 0.01)), sg.reduce_sum(x * x),
                sg.reduce_max(sg.exp(x * 0.01)), sg.reduce_sum(i * 3),
                sg.reduce_sum(sg.log1p(sg.abs(x)), keepdims=True)]
    res = {}
    for ex in ("numba", "numba-llvm"):
        with sg.Session(graph=g, executor=ex) as s:
            res[ex] = s.run(outs, {x: xv, i: iv})
            kernels = [ck.step.kernel for inst in s._executor.instances()
                       for ck in inst.plan.kernel_list]
    assert any(getattr(k, "tiling", None) is not None for k in kernels)
    assert all(getattr(k, "chunk", 0) for k in kernels if getattr(k, "rank", 0) == 1)
    for a, b in zip(res["numba"], res["numba-llvm"], strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b), (a, b)
    np.testing.assert_allclose(res["numba"][3], (xv.astype(np.float64) ** 2).sum(), rtol=1e-6)


SWITCH = textwrap.dedent("""
    import numpy as np, staticgraph as sg
    from staticgraph.compiler import block_until_ready
    n = 2 * 65536 + 77
    rng = np.random.default_rng(5)
    X = rng.uniform(-2, 2, n)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float64, [n])
        w = sg.Variable(np.float64(0.7))
        a = sg.tanh(x * w)
        y = sg.tanh(sg.exp(sg.sigmoid(a * 1.5) * -1.0) * x + a)  # tiled
        loss = sg.reduce_sum(y) + sg.reduce_mean(sg.tanh(x * w) * x)  # chunked sums
        init = sg.global_variables_initializer()
    s = sg.Session(graph=g)
    s.run(init)
    before = s.run(loss, {x: X})
    inst = next(i for i in s._executor.instances() if i.plan.kernel_list)
    tier = inst.tier
    assert block_until_ready(240)
    print("BITS", tier, inst.tier, float(before).hex(), float(s.run(loss, {x: X})).hex())
""")


def test_loss_bits_are_the_same_before_and_after_the_tier_switch(tmp_path):
    """A cold process: the loss from the LLVM renderer's kernels, then from numba's after the
    background switch: the same float64 bits."""
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=str(tmp_path), STATICGRAPH_LOG_COMPILES="1")
    for k in ("STATICGRAPH_NATIVE", "STATICGRAPH_LLVM", "STATICGRAPH_TILE_MIN_COST"):
        e.pop(k, None)
    r = subprocess.run([sys.executable, "-c", SWITCH], env=e, capture_output=True, text=True,
                       timeout=400)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "compiled LLVM kernel" in r.stderr
    tier0, tier1, before, after = _line(r, "BITS")
    assert (tier0, tier1) == ("native", "numba")
    assert before == after


# ------------------------------------------------------------------ the renderer in the key
def test_every_renderer_source_is_in_the_entries_key(tmp_path):
    """Editing any source the LLVM IR depends on (cpu/llvm/*.py, render.py, render_chunks.py,
    blocksum.py) changes RENDERER_SHA, hence every LLVM entry's key."""
    from staticgraph.compiler.cpu.llvm import build

    cpu = os.path.dirname(os.path.dirname(build.__file__))
    shutil.copytree(cpu, tmp_path / "cpu", ignore=shutil.ignore_patterns("__pycache__"))
    here = str(tmp_path / "cpu" / "llvm")
    base = build._renderer_sha(here)
    assert base == build.RENDERER_SHA
    files = [f for f in os.listdir(here) if f.endswith(".py")] + list(build.RENDERER_SOURCES)
    assert "library.py" in files and len(files) >= 9
    for fn in files:
        p = os.path.join(here, fn)
        with open(p, "rb") as f:
            old = f.read()
        with open(p, "ab") as f:
            f.write(b"\n# edited\n")
        assert build._renderer_sha(here) != base, fn
        with open(p, "wb") as f:
            f.write(old)
    assert build._renderer_sha(here) == base


LIB_PROG = textwrap.dedent("""
    import sys, numpy as np, staticgraph as sg
    assert sg.__file__.startswith(sys.argv[1]), sg.__file__  # the copy, not the worktree
    X = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)
    x = sg.placeholder(sg.float32, [None, 3])
    s = sg.Session()
    v = s.run(sg.exp(x) * 2.0, {x: X})
    print("EXP", list(s._executor.instances())[0].tier, "numba" in sys.modules, v.tolist())
""")


def test_an_edited_llvm_library_is_not_served_from_an_old_entry(tmp_path):
    """A copy of the package runs exp through the LLVM renderer (numba never loads:
    STATICGRAPH_NATIVE=always); after an edit of cpu/llvm/library.py's float32 exp the old
    entry is not used: the kernel compiles again and computes the new exp."""
    import ast

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    src = tmp_path / "src"
    shutil.copytree(os.path.join(root, "staticgraph"), src / "staticgraph",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, STATICGRAPH_CACHE_DIR=str(tmp_path / "cache"),
               STATICGRAPH_LOG_COMPILES="1", PYTHONDONTWRITEBYTECODE="1",
               STATICGRAPH_NATIVE="always")
    for k in ("STATICGRAPH_LLVM", "PYTHONPATH"):
        env.pop(k, None)

    def run() -> tuple[list, str]:
        r = subprocess.run([sys.executable, "-c", LIB_PROG, str(src)], env=env, cwd=src,
                           capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, r.stderr[-3000:]
        tag, tier, loaded, vals = r.stdout.split(" ", 3)
        assert (tag, tier, loaded) == ("EXP", "native", "False"), r.stdout
        return np.array(ast.literal_eval(vals), np.float32), r.stderr

    X = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)
    v, err = run()
    np.testing.assert_allclose(v, np.exp(X) * 2, rtol=1e-6)
    assert "compiled LLVM kernel" in err
    v, err = run()  # warm: the entry is linked, nothing compiles
    assert "compiled LLVM kernel" not in err and "as native code" in err
    lib = src / "staticgraph" / "compiler" / "cpu" / "llvm" / "library.py"
    text = lib.read_text()
    anchor = '"exp": {"float32": (_E32, """\n'
    assert text.count(anchor) == 1
    lib.write_text(text.replace(anchor, anchor + "x = x + ONE\n"))
    v, err = run()
    assert "compiled LLVM kernel" in err, err
    np.testing.assert_allclose(v, np.exp(X + 1) * 2, rtol=1e-6)

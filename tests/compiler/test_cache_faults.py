"""Faults of the disk cache and the native tier (issue #9): every kind of damage to every kind
of cache file, foreign entries swapped in, untrusted directories, concurrent writers, threads,
fork. The program must give the right answer (or a clear error), never crash or return a wrong
value. Damaged caches run in subprocesses, so a crash is detected instead of killing pytest;
one warm cache is built once and copied per case."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the native tier and fork are Linux-only here")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
X = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)
EXPECT = {"A": np.exp(X) * 2, "B": np.sin(X) + 1}

# two one-kernel graphs with the same argument signature: A = exp(x) * 2, B = sin(x) + 1
PROG = textwrap.dedent("""
    import os, sys, threading, numpy as np, staticgraph as sg
    from staticgraph.compiler import block_until_ready
    X = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)

    def build(kind):
        g = sg.Graph()
        with g.as_default():
            x = sg.placeholder(sg.float32, [None, 3])
            y = sg.exp(x) * 2.0 if kind == "A" else sg.sin(x) + 1.0
        return sg.Session(graph=g), x, y

    def tier(s):
        inst = list(s._executor.instances())  # none: the reference executor runs it
        return "reference" if not inst else inst[0].tier + " " + \\
            inst[0].plan.kernel_list[0].hash

    runs = {k: build(k) for k in "AB"}
    for k, (s, x, y) in runs.items():
        v = s.run(y, {x: X})
        print(k, tier(s), v.tolist())
    if "--threads" in sys.argv:  # runs from several threads while numba loads and switches
        want = {"A": lambda a: np.exp(a) * 2, "B": lambda a: np.sin(a) + 1}
        bad = []

        def work(j):
            for i in range(60):
                k = "AB"[(i + j) % 2]
                s, x, y = runs[k]
                a = X[: 1 + (i + j) % 4]
                r = s.run(y, {x: a})
                if not np.allclose(r, want[k](a), rtol=1e-6):
                    bad.append((k, i))
        ts = [threading.Thread(target=work, args=(j,)) for j in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        print("THREADS", len(bad))
    if "--fork" in sys.argv:  # fork right after the first run, while numba loads
        pids = []
        for j in range(4):
            pid = os.fork()
            if pid == 0:
                import signal
                signal.alarm(60)
                s, x, y = runs["A"]
                ok = np.allclose(s.run(y, {x: X[:2]}), np.exp(X[:2]) * 2, rtol=1e-6)
                ok = ok and block_until_ready(50)  # the child loads numba itself
                s, x, y = runs["B"]
                ok = ok and np.allclose(s.run(y, {x: X[:3]}), np.sin(X[:3]) + 1, rtol=1e-6)
                os._exit(0 if ok else 3)
            pids.append(pid)
        print("CHILDREN", [os.waitpid(p, 0)[1] for p in pids])
    if "--quick" not in sys.argv:  # after the switch: numba's own cache
        assert block_until_ready(120)
        for k, (s, x, y) in runs.items():
            print(k + "2", tier(s), s.run(y, {x: X}).tolist())
""")


def _run(cache: str, *args: str, timeout: float = 240,
         env: dict | None = None) -> subprocess.CompletedProcess:
    # numba's cache files and saved code (the LLVM renderer's entries: test_llvm_tier.py)
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=cache, STATICGRAPH_LOG_COMPILES="1",
             STATICGRAPH_LLVM="0", **(env or {}))
    e.pop("STATICGRAPH_NATIVE", None)
    return subprocess.run([sys.executable, "-c", PROG, *args], env=e, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def _results(r: subprocess.CompletedProcess) -> dict:
    """{tag: (tier, hash, values)}, after checking the process ended well."""
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
    assert "Traceback" not in r.stderr and "native code called" not in r.stderr, r.stderr
    out = {}
    for ln in r.stdout.splitlines():
        tag, rest = ln.split(" ", 1)
        if tag in ("A", "B", "A2", "B2"):
            head, vals = rest.split(" [", 1)
            tier, _, h = head.partition(" ")
            assert tier != "reference", f"{tag} fell back to the reference executor"
            out[tag] = (tier, h, np.array(eval("[" + vals)))
    for tag, (_, _, v) in out.items():  # never a wrong value
        np.testing.assert_allclose(v, EXPECT[tag[0]], rtol=1e-6, err_msg=tag)
    return out


@pytest.fixture(scope="module")
def warm(tmp_path_factory) -> tuple[str, dict]:
    """A cache holding A and B (sources, manifests, numba's files, native code)."""
    cache = str(tmp_path_factory.mktemp("warm"))
    res = _results(_run(cache, "--quick"))
    return cache, {k: res[k][1] for k in "AB"}


def _copy(warm: tuple, tmp_path) -> tuple[str, str]:
    cache = str(tmp_path / "cache")
    shutil.copytree(warm[0], cache)
    return cache, glob.glob(os.path.join(cache, "*"))[0]


def _files(d: str, h: str, kind: str) -> list[str]:
    pat = {"py": f"sg_{h}.py", "native": f"sg_{h}.kernel.*.native",
           "manifest": f"sg_{h}.manifest", "nbi": f"__pycache__/sg_{h}.*.nbi",
           "nbc": f"__pycache__/sg_{h}.*.nbc"}[kind]
    found = sorted(glob.glob(os.path.join(d, pat)))
    assert found, f"no {kind} file for sg_{h}"
    return found


def _damage(path: str, how: str, other: str | None = None) -> None:
    size = os.path.getsize(path)
    if how == "delete":
        os.remove(path)
    elif how == "swap":  # the other kernel's file of the same kind, under this name
        os.replace(path, path + ".swap")
        os.replace(other, path)
        os.replace(path + ".swap", other)
    else:
        with open(path, "r+b") as f:
            if how == "truncate":
                f.truncate(size // 2)
            elif how == "empty":
                f.truncate(0)
            elif how == "zero":
                f.write(b"\0" * size)
            elif how == "flip":  # bit 7 of 16 bytes mid-file: not UTF-8 any more
                f.seek(size // 2)
                chunk = f.read(16)
                f.seek(size // 2)
                f.write(bytes(c ^ 0x80 for c in chunk))


SAID = {"py": "was corrupt or stale: rebuilding", "native": "or another kernel's: removed",
        "manifest": "not vouched for", "nbi": "not vouched for", "nbc": "not vouched for"}


@pytest.mark.parametrize("kind", ["py", "native", "manifest", "nbi", "nbc"])
@pytest.mark.parametrize("how", ["truncate/zero", "flip/empty", "delete", "swap"])
def test_damaged_cache_file_gives_the_right_answer_and_is_repaired(warm, tmp_path, kind, how):
    """``how``: the damage done to A's files / to B's (swap: A's and B's files trade places;
    the manifest, the numba index and data files each their own case)."""
    cache, d = _copy(warm, tmp_path)
    ha, hb = warm[1]["A"], warm[1]["B"]
    fa, fb = _files(d, ha, kind), _files(d, hb, kind)
    hows = how.split("/") * 2
    for pa, pb in zip(fa, fb, strict=True):
        if how == "swap":
            _damage(pa, "swap", pb)
        else:
            _damage(pa, hows[0])
            _damage(pb, hows[1])
    # native files are read by the first run, numba's only after the switch to numba
    args = ["--quick"] if kind in ("py", "native") else []
    r = _run(cache, *args)
    _results(r)
    if how != "delete":  # detected (a deleted file is just missing)
        assert any(SAID[kind] in ln and ha in ln for ln in r.stderr.splitlines()), r.stderr
    if kind in ("py", "native"):  # the next process finds them intact: native, no rebuild
        again = _run(cache, *args)
        res = _results(again)
        assert res["A"][0] == "native" and res["B"][0] == "native", again.stderr
        assert "rebuilding" not in again.stderr and "removed" not in again.stderr, again.stderr
        assert "compiled" not in again.stderr, again.stderr
    else:  # numba's files were rewritten, and the manifests vouch for them
        for h in (ha, hb):
            assert _manifest_vouches(d, h)


def _manifest_vouches(d: str, h: str) -> bool:
    with open(os.path.join(d, f"sg_{h}.manifest")) as f:
        m = json.load(f)["numba"]
    have = {}
    for p in _files(d, h, "nbi") + _files(d, h, "nbc"):
        with open(p, "rb") as f:
            have[os.path.basename(p)] = hashlib.sha256(f.read()).hexdigest()
    return have == m


# ------------------------------------------------------------------ directories
def test_untrusted_cache_directories_are_refused_with_a_warning(warm, tmp_path):
    cache, d = _copy(warm, tmp_path)
    os.chmod(d, 0o777)  # anyone could swap machine code in: not used
    r = _run(cache, "--quick")
    _results(r)
    assert "not using the disk cache" in r.stderr and "writable by other users" in r.stderr
    assert "as native code" not in r.stderr  # nothing of it was run
    # a file where the cache directory should be
    blocker = str(tmp_path / "file")
    with open(blocker, "w") as f:
        f.write("not a directory")
    r = _run(blocker, "--quick")
    _results(r)
    assert "not using the disk cache" in r.stderr


def test_read_only_cache_directory(warm, tmp_path):
    cache, d = _copy(warm, tmp_path)
    for p in [d, os.path.join(d, "__pycache__")]:
        os.chmod(p, 0o500)
    try:
        _damage(_files(d, warm[1]["A"], "native")[0], "flip")  # needs a rewrite
        r = _run(cache, "--quick")
        _results(r)  # root may still write there; anyone else gets a private cache
        if os.getuid() != 0:
            assert "not using the disk cache" in r.stderr or "could not save" in r.stderr
    finally:
        for p in [d, os.path.join(d, "__pycache__")]:
            os.chmod(p, 0o700)


# ------------------------------------------------------------------ concurrency
def test_two_processes_compile_into_one_empty_cache_at_once(tmp_path):
    cache = str(tmp_path)
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=cache, STATICGRAPH_LLVM="0")
    ps = [subprocess.Popen([sys.executable, "-c", PROG], env=e, cwd=ROOT, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for p in ps:
        out, err = p.communicate(timeout=240)
        _results(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    r = _run(cache, "--quick")
    res = _results(r)
    assert res["A"][0] == "native" and res["B"][0] == "native", r.stderr


def test_session_run_from_several_threads_during_the_switch(warm, tmp_path):
    cache, _ = _copy(warm, tmp_path)
    r = _run(cache, "--threads")
    res = _results(r)
    assert res["A"][0] == "native" and res["A2"][0] == "numba"
    assert "THREADS 0" in r.stdout


def test_fork_right_after_the_first_run_on_a_warm_cache(warm, tmp_path):
    # the loader thread imports numba right after the first run; a child forked then used to
    # inherit its import locks and hang as soon as it needed numba
    cache, _ = _copy(warm, tmp_path)
    r = _run(cache, "--fork", "--quick", timeout=120)
    res = _results(r)
    assert res["A"][0] == "native"
    assert "CHILDREN [0, 0, 0, 0]" in r.stdout, r.stdout + r.stderr[-2000:]


# ------------------------------------------------------------------ kernels needing numba
# A hand-written kernel for ``x * 2`` whose body allocates through numba's runtime (an array
# expression: NRT_MemInfo_alloc_aligned), rendered in place of the generated one, so it goes
# through the compiler's own path: jit module, disk cache, native entry, the instance's tier.
ALLOC_BODY = textwrap.dedent("""
    def kernel(a0, o0):
        # hand-written: a temporary array allocated through numba's runtime
        t = a0 + a0
        o0[:] = t
""")
ALLOC = textwrap.dedent("""
    import sys, numpy as np, staticgraph as sg
    from staticgraph.compiler.cpu import compiled_kernel as ck
    BODY = %r
    ck.render = lambda k, name, parallel=False: BODY.replace("def kernel", "def " + name)
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3])
        y = x * 2.0
    s = sg.Session(graph=g)
    v = s.run(y, {x: np.arange(12, dtype=np.float32).reshape(4, 3)})
    print("ALLOC", list(s._executor.instances())[0].tier, v.tolist())
""") % ALLOC_BODY
MEAN = textwrap.dedent("""
    import numpy as np, staticgraph as tf
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.reduce_mean(x, axis=0)
    s = tf.Session()
    v = s.run(y, {x: np.arange(12, dtype=np.float32).reshape(4, 3)})
    print("MEAN", list(s._executor.instances())[0].tier, v.tolist())
""")


def _twice(prog: str, cache: str) -> list[subprocess.CompletedProcess]:
    """Run ``prog`` in two fresh processes on one cache: cold, then warm."""
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=cache, STATICGRAPH_LOG_COMPILES="1",
             STATICGRAPH_LLVM="0")
    e.pop("STATICGRAPH_NATIVE", None)
    out = []
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", prog], env=e, cwd=ROOT, text=True,
                           capture_output=True, timeout=240)
        assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-2000:]}"
        assert "native code called" not in r.stderr, r.stderr
        out.append(r)
    return out


def test_a_kernel_that_allocates_through_numbas_runtime_never_runs_natively(tmp_path):
    # its machine code calls NRT_MemInfo_alloc_aligned: linked before numba is loaded, that
    # symbol had no implementation and the second process aborted (SIGABRT)
    want = (np.arange(12, dtype=np.float32).reshape(4, 3) * 2).tolist()
    cold, warm = _twice(ALLOC, str(tmp_path / "alloc"))
    assert "saved native code" in cold.stderr, cold.stderr  # the entry exists...
    assert f"ALLOC numba {want}" in warm.stdout, warm.stdout + warm.stderr[-2000:]
    said = [ln for ln in warm.stderr.splitlines() if "numba runs it" in ln]
    assert len(said) == 1 and "NRT_MemInfo_alloc_aligned" in said[0].split(" needs ")[1], said
    assert "as native code" not in warm.stderr  # ...and is never linked
    # the mean over leading axes used to allocate so; its float64 scratch (calloc/free,
    # cpu/accum) needs no numba runtime: the warm process answers natively
    cold, warm = _twice(MEAN, str(tmp_path / "mean"))
    assert "MEAN numba [4.5, 5.5, 6.5]" in cold.stdout, cold.stdout
    assert "MEAN native [4.5, 5.5, 6.5]" in warm.stdout, warm.stdout + warm.stderr[-2000:]
    assert "as native code" in warm.stderr and "numba runs it" not in warm.stderr


def test_symbols_the_kernel_body_needs_are_told_from_the_wrappers(monkeypatch):
    import staticgraph as sg
    from staticgraph.compiler.cpu import compiled_kernel, jit
    from staticgraph.compiler.cpu.native_elf import needed_by, undefined_symbols

    monkeypatch.setattr(compiled_kernel, "LLVM", False)  # numba's objects (the LLVM renderer's
    g = sg.Graph()  # need only libc/libm: test_llvm_tier.py)
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 3])
        y = x * 2.0
        z = sg.exp(x) * 2.0
        m = sg.reduce_mean(x, axis=0)
    s = sg.Session(graph=g)
    s.run(z, {x: X})
    s.run(m, {x: X})
    with monkeypatch.context() as mp:  # y's kernel: the hand-written allocating one
        mp.setattr(compiled_kernel, "render", lambda k, name, parallel=False:
                   ALLOC_BODY.replace("def kernel", "def " + name))
        np.testing.assert_array_equal(s.run(y, {x: X}), X * 2)
    seen = {}
    for path in glob.glob(os.path.join(jit.cache_dir(), "*.native")):
        with open(path, "rb") as f:
            head, obj = f.read().split(b"\n", 1)
        sym = json.loads(head)["symbol"]
        und = set(undefined_symbols(obj))
        need = needed_by(obj, sym)
        assert need <= und
        seen[path] = need
    # the hand-written kernel allocates (its body also raises numba's broadcast error, whose
    # data reaches much more: conservative, and ineligible either way)
    assert sum("NRT_MemInfo_alloc_aligned" in n for n in seen.values()) == 1
    # exp(x) * 2 and the mean name only the destructor call of a reference count, never
    # reached here (the mean's scratch is calloc/free), and none of the CPython wrapper's
    # helpers, which the same object holds
    light = [n for n in seen.values() if "NRT_MemInfo_alloc_aligned" not in n]
    assert len(light) >= 2
    for need in light:
        assert {n for n in need if n.startswith("NRT_")} <= {"NRT_MemInfo_call_dtor"}, need
        assert not need & {"PyArg_UnpackTuple", "NRT_adapt_ndarray_from_python"}, need
    with pytest.raises(ValueError):
        needed_by(b"\x7fELF\x02\x01" + b"\0" * 10, "kernel")


# ------------------------------------------------------------------ rebuilding a graph
def test_rebuilding_the_same_graph_loads_nothing_new():
    import staticgraph as sg
    from staticgraph.compiler.cpu import jit

    from .helpers import mlp

    rng = np.random.default_rng(0)
    Xm = rng.standard_normal((5, 6)).astype(np.float32)
    Ym = np.arange(5) % 4
    counts = []
    for _ in range(4):  # a hyper-parameter loop: a new Graph and Session each time
        g, x, y, loss, train, init, _ = mlp()
        s = sg.Session(graph=g)
        s.run(init)
        s.run([loss, train], {x: Xm, y: Ym})
        files = glob.glob(os.path.join(jit.cache_dir(), "**", "sg_*"), recursive=True)
        mods = [m for m in sys.modules if m.startswith("sg_kernels_")]
        counts.append((len(files), len(mods), jit.STATS["compiled"]))
    assert counts[1:] == counts[:1] * 3, counts

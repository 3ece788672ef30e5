"""The spinning native pool (``dynamic/_pool_native.py``, issue #12): what the op tests of
``test_parallel.py`` (run on both pools) do not reach: numpy's floating-point error report
from chunks run without the GIL, sleeping and late workers, more threads, another Python
thread's op, the saved machine code, and the pool switched off. Values are compared bit for
bit with numpy; speed is never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import dynamic as torch
from dynamic import _parallel as P
from dynamic import _pool_build, _pool_code, _pool_native, _pool_programs

N = P.PAR_MIN * 2 + 4133


@pytest.fixture
def spin(monkeypatch):
    """Two threads on free cores, on the spinning pool (skipped where it cannot load)."""
    if not _pool_native.wait_ready():
        pytest.skip(f"no spinning pool here: {_pool_native.why_not()}")
    saved = torch.get_num_threads()
    monkeypatch.setattr(P, "cores_free", lambda: 8)
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(saved)


def _overflowing(where: str) -> np.ndarray:
    x = np.zeros(N, np.float32)
    x[{"first": 5, "last": -1, "both": [5, -1]}[where]] = 1000.0
    return x


def _messages(f) -> list[str]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        f()
    return [str(w.message) for w in got if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("where", ["first", "last", "both"])
def test_overflow_is_reported_as_numpy_reports_it(spin, where):
    x = _overflowing(where)
    ops = P.COUNTS["ops"]
    for mode in ("warn", "ignore"):
        with np.errstate(over=mode):
            want = _messages(lambda: np.exp(x))
            got = _messages(lambda: torch.tensor(x).exp())
        assert got == want == (["overflow encountered in exp"] if mode == "warn" else [])
    with np.errstate(over="raise"), pytest.raises(FloatingPointError,
                                                  match="overflow encountered in exp"):
        torch.tensor(x).exp()
    calls: list = []
    with np.errstate(over="call"):
        np.seterrcall(lambda kind, flag: calls.append(kind))
        try:
            torch.tensor(x).exp()
        finally:
            np.seterrcall(None)
    assert calls == ["overflow"]
    assert P.COUNTS["ops"] >= ops + 4  # every one of them ran on the pool


def test_invalid_and_divide_in_a_rule_name_the_ufunc_that_raised(spin):
    """A rule of several loops (div's ``-(g * ((x / y) / y))``) reports at the loop numpy
    would have reported at: ``divide`` for 0 / 0 and 1 / 0."""
    x = np.ones(N, np.float32)
    y = np.ones(N, np.float32)
    x[-2], y[-2] = 0.0, 0.0  # 0 / 0: invalid
    y[-1] = 0.0  # 1 / 0: divide by zero
    want = set()
    with np.errstate(all="warn"):
        want |= set(_messages(lambda: np.true_divide(np.true_divide(x, y), y)))
        tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
        got = set(_messages(lambda: (tx / ty).sum().backward()))
    assert want <= got
    assert got <= want | {"invalid value encountered in multiply"}


def test_an_error_leaves_the_pool_usable(spin):
    x = _overflowing("last")
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        torch.tensor(x).exp()
    assert not P._LOCK.locked()
    y = np.random.default_rng(0).standard_normal(N).astype(np.float32)
    assert torch.tensor(y).tanh().numpy().tobytes() == np.tanh(y).tobytes()


def test_sleeping_workers_are_woken_and_values_stay_exact(spin, monkeypatch):
    """With no spin budget every worker sleeps after each job: each op wakes it, or runs its
    chunk itself when the worker is late (it then claims nothing)."""
    monkeypatch.setitem(_pool_native._CODE, "spins", 0)
    _pool_programs._NPOOL[0] = None  # new workers read the budget
    x = np.random.default_rng(1).standard_normal(N).astype(np.float32)
    t = torch.tensor(x)
    for _ in range(20):
        assert (t * 1.5).tanh().numpy().tobytes() == np.tanh(x * np.float32(1.5)).tobytes()
    assert _pool_programs._NPOOL[0].wakes > 0
    _pool_programs._NPOOL[0].close()
    _pool_programs._NPOOL[0] = None


def test_more_threads_start_a_larger_pool(spin):
    x = np.random.default_rng(2).standard_normal(N).astype(np.float32)
    for n in (2, 3, 2):
        torch.set_num_threads(n)
        chunks = P.COUNTS["chunks"]
        assert torch.tensor(x).sigmoid().numpy().tobytes() == \
            torch.tensor(x).sigmoid().numpy().tobytes()
        assert P.COUNTS["chunks"] - chunks == 2 * n
    assert _pool_programs._NPOOL[0].n == 2


def test_another_threads_op_meanwhile_runs_serially_and_exactly(spin):
    """Python threads each multiplying by their own Python number (the program's operand slot
    is written only under the pool's lock) and taking tanh."""
    x = np.random.default_rng(3).standard_normal(N).astype(np.float32)
    bad: list = []

    def work(s: float) -> None:
        want = np.tanh(x * np.float32(s)).tobytes()
        for _ in range(15):
            if (torch.tensor(x) * s).tanh().numpy().tobytes() != want:
                bad.append(s)

    ts = [threading.Thread(target=work, args=(s,)) for s in (1.5, -2.0, 0.25)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not bad


def test_more_threads_than_the_job_block_has_chunks_for(spin):
    torch.set_num_threads(40)
    x = np.random.default_rng(5).standard_normal(N).astype(np.float32)
    chunks = P.COUNTS["chunks"]
    assert torch.tensor(x).exp().numpy().tobytes() == np.exp(x).tobytes()
    assert 2 < P.COUNTS["chunks"] - chunks <= 16  # _pool_ir.MAX_CHUNKS


def test_the_saved_code_is_checked_before_it_runs(tmp_path):
    text, symbols = _pool_code.compile_text()
    path = str(tmp_path / "pool.code")
    _pool_code.save(path, text, symbols)
    assert _pool_code.read(path) == (text, symbols)
    data = bytearray(open(path, "rb").read())
    data[-1] ^= 0xFF  # one flipped byte of code
    open(path, "wb").write(bytes(data))
    assert _pool_code.read(path) is None
    with pytest.raises(ValueError, match="not an ELF64"):
        _pool_build.text_of(b"not an object", ("sg_pool_run",))


_CHILD = """
import numpy as np, dynamic as torch
from dynamic import _parallel as P, _pool_native
P.cores_free = lambda: 8
torch.set_num_threads(2)
ready = _pool_native.ready()
x = np.random.default_rng(0).standard_normal(P.PAR_MIN * 2).astype(np.float32)
ok = torch.tensor(x).tanh().numpy().tobytes() == np.tanh(x).tobytes()
print(ready, ok, P.COUNTS["ops"], _pool_native._STATE[0])
"""


def _child(env: dict) -> list[str]:
    e = dict(os.environ, **env)
    e["PYTHONPATH"] = os.pathsep.join([os.getcwd(), e.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", _CHILD], env=e, capture_output=True,
                          text=True, check=True, timeout=120).stdout.split()


@pytest.mark.skipif(not _pool_native.ENABLED, reason="no spinning pool on this platform")
def test_a_fresh_process_compiles_apart_and_the_next_maps_the_saved_code(tmp_path):
    env = {"STATICGRAPH_CACHE_DIR": str(tmp_path)}
    if not _pool_native.wait_ready():
        pytest.skip(_pool_native.why_not())
    # nothing saved: the first op runs on the queue pool while another process compiles
    assert _child(env) == ["False", "True", "1", "compiling"]
    # saved (here, not by that process: it runs only on idle cores): mapped at the first op
    name = f"eager-pool-{_pool_code.SOURCE[:16]}.code"
    _pool_code.save(str(tmp_path / name), *_pool_code.compile_text())
    assert _child(env) == ["True", "True", "1", "ready"]


def test_the_compiling_process_saves_code_that_runs(tmp_path):
    path = str(tmp_path / "apart.code")
    proc = _pool_code.compile_apart(path, idle=False)  # (at SCHED_IDLE: slow on busy cores)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert _pool_code.read(path) == _pool_code.compile_text()


def test_switched_off_the_queue_pool_runs(tmp_path):
    out = _child({"DYNAMIC_SPIN_POOL": "0", "STATICGRAPH_CACHE_DIR": str(tmp_path)})
    assert out == ["False", "True", "1", "idle"] and not list(tmp_path.iterdir())


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_the_native_end_of_sigmoid_is_tiles_sigmoid_bit_for_bit(spin, dt):
    """``sg_sigmoid_end`` replaces four numpy passes: every class of float, denormals and
    results that underflow included, against ``tiles.sigmoid`` (the serial kernel)."""
    from staticgraph.ops import tiles

    fi = np.finfo(dt)
    special = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, fi.tiny, -fi.tiny,
                        fi.smallest_subnormal, -fi.smallest_subnormal, fi.max, -fi.max,
                        1.0, -1.0, 80.0, -80.0, 700.0, -700.0, 88.7, -88.7, -103.0, -104.0,
                        -745.0, -746.0], dt)
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 1 << (8 * np.dtype(dt).itemsize), N, dtype=np.uint64)
    x = bits.astype(np.uint32 if dt == np.float32 else np.uint64).view(dt).copy()
    x[:special.size] = special
    x[special.size:special.size + 1000] = rng.standard_normal(1000) * 50
    with np.errstate(all="ignore"):
        got = torch.tensor(x).sigmoid().numpy()
        want = tiles.sigmoid(x)
    assert got.dtype == dt and got.tobytes() == want.tobytes()


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_the_native_pairwise_sum_is_numpys_bit_for_bit(spin, dt):
    """``sg_sum`` against ``np.add.reduce`` at every size to 300 (the small and the blocked
    paths, every remainder mod 8) and at large ones (the splits), -0.0 and mixed scales."""
    import ctypes

    fn = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 4)(_pool_native.sum_loop(np.dtype(dt)))
    rng = np.random.default_rng(6)
    for n in [*range(300), 4095, 65536, 100003, 1 << 20, (1 << 20) + 7]:
        x = (rng.standard_normal(n) * rng.choice([1e-3, 1.0, 1e6], n)).astype(dt)
        x[: min(n, 2)] = -0.0
        acc = np.zeros(1, dt)
        args = (ctypes.c_void_p * 3)(acc.ctypes.data, x.ctypes.data, acc.ctypes.data)
        fn(args, (ctypes.c_int64 * 1)(n), (ctypes.c_int64 * 3)(0, x.itemsize, 0), None)
        assert acc.tobytes() == np.asarray(np.add.reduce(x), dt).tobytes(), n
    big = np.full(N, np.finfo(dt).max / 4, dt)  # overflows: numpy names it "reduce"
    with np.errstate(over="warn"):
        assert _messages(lambda: torch.tensor(big).sum()) == _messages(lambda: np.sum(big))

"""The thread policy (issue #13, part 3), through its decisions: a pure function of (cores
free, sizes, overrides) -> (BLAS threads, prange allowed); then, in fresh processes, that a
run leaves every loaded OpenBLAS at the count the policy decided and that compiling kernels
loads no second OpenBLAS (numba's BLAS probe would load SciPy's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import weakref

import pytest

from staticgraph import cpu_threads as threads
from staticgraph.cpu_threads import BLAS_THREAD_MIN, Decision, decide

BIG, SMALL, PMIN = BLAS_THREAD_MIN, 1000, 1 << 20


@pytest.mark.parametrize("free, dot, kernel, over, want", [
    (1, BIG * 10, PMIN * 10, {}, (1, False)),           # busy cores: one thread, no prange
    (2, BIG, 0, {}, (2, False)),                        # a big product: BLAS threads
    (4, BIG, PMIN, {}, (4, False)),                     # both big: BLAS, never both
    (2, SMALL, PMIN, {}, (1, True)),                    # big kernel, small products: prange
    (2, SMALL, SMALL, {}, (1, False)),                  # too small to pay for threads
    (4, BIG, 0, {"threads": 2}, (2, False)),            # STATICGRAPH_THREADS caps
    (1, BIG, 0, {"threads": 2}, (1, False)),            # ... and the load check still holds
    (2, BIG, 0, {"threads": 1}, (1, False)),
    (1, SMALL, 0, {"blas": 3}, (3, False)),             # forced BLAS count, busy or not
    (2, SMALL, PMIN, {"blas": 2, "prange": True}, (2, False)),  # forced BLAS > 1: no prange
    (1, SMALL, 0, {"blas": 1, "prange": True}, (1, True)),
    (1, BIG, 0, {"prange": True}, (1, True)),           # forced prange: one BLAS thread
    (2, SMALL, PMIN, {"prange": False}, (1, False)),
])
def test_decisions(free, dot, kernel, over, want):
    d = decide(free, dot, kernel, PMIN, **over)
    assert isinstance(d, Decision) and (d.blas_threads, d.prange) == want, d
    assert not (d.blas_threads > 1 and d.prange)


def test_overrides_from_environment(monkeypatch):
    monkeypatch.setenv("STATICGRAPH_THREADS", "2")
    monkeypatch.setenv("STATICGRAPH_BLAS_THREADS", "1")
    monkeypatch.setenv("STATICGRAPH_PRANGE", "0")
    assert threads.overrides() == {"threads": 2, "blas": 1, "prange": False}
    for var, bad in (("STATICGRAPH_THREADS", "0"), ("STATICGRAPH_BLAS_THREADS", "two"),
                     ("STATICGRAPH_PRANGE", "yes")):
        monkeypatch.setenv(var, bad)
        with pytest.raises(ValueError, match=var):
            threads.overrides()
        monkeypatch.delenv(var)


def test_cores_free_is_read_at_most_once_per_refresh(monkeypatch):
    n = threads.cores_free()
    assert 1 <= n <= threads.allowed_cpus()
    monkeypatch.setattr(threads, "_load", [threads._load[0], n + 7])  # a cached reading
    assert threads.cores_free(threads._load[0] + threads.REFRESH_S / 2) == n + 7
    assert threads.cores_free(threads._load[0] + threads.REFRESH_S * 2) == \
        threads.cores_free()  # re-read


class FakeMachine:
    """``/proc`` readings of a 2-CPU machine over a fake clock: ``run(seconds, own, others)``
    keeps ``own`` cores busy with this process's counted threads and ``others`` with other
    work; the tick counts are the kernel's (``_TICK`` per second per CPU)."""

    def __init__(self, monkeypatch) -> None:
        self.now, self.busy, self.own = 1000.0, [0.0, 0.0], 0.0
        monkeypatch.setattr(threads, "allowed_cpus", lambda: 2)
        monkeypatch.setattr(threads, "cpu_ticks", self.ticks)
        monkeypatch.setattr(threads, "own_cpu", lambda: self.own)
        monkeypatch.setattr(threads, "machine_running", lambda: 1)
        monkeypatch.setattr(threads, "own_running", lambda: 0)
        monkeypatch.setattr(threads, "_load", [0.0, 0])
        monkeypatch.setattr(threads, "_window", [threads.sample(self.now)])

    def ticks(self) -> list[tuple[int, int]]:
        total = int(self.now * threads._TICK)
        return [(int(b + 1e-9), total) for b in self.busy]  # whole ticks, as the kernel counts

    def run(self, seconds: float, own: float, others: float) -> list[int]:
        """The decisions of a loop that asks every 10 ms for ``seconds``."""
        out = []
        for _ in range(round(seconds / 0.01)):
            self.now += 0.01
            self.own += own * 0.01
            load = min(2.0, own + others)
            for cpu in range(2):
                self.busy[cpu] += min(1.0, max(0.0, load - cpu)) * 0.01 * threads._TICK
            out.append(threads.cores_free(self.now))
        return out


def test_a_free_machine_gives_two_and_a_neighbour_one_promptly(monkeypatch):
    """This process keeps both cores busy (a 2-thread product: the caller and its OpenBLAS
    worker, which then spins): 2 throughout; a neighbour spinning on one core: 1 from the
    first full reading after it started; gone: 2 again within a second (the 1-minute load
    average kept 1 for up to a minute)."""
    m = FakeMachine(monkeypatch)
    assert set(m.run(3.0, own=2.0, others=0.0)) == {2}
    busy = m.run(3.0, own=1.0, others=1.0)
    assert set(busy[round(2 * threads.REFRESH_S / 0.01):]) == {1}  # within two readings
    free = m.run(3.0, own=2.0, others=0.0)
    assert set(free[round(1.0 / 0.01):]) == {2}, free.index(2)  # within a second
    assert set(m.run(2.0, own=1.0, others=0.2)) == {2}  # a light neighbour: cores free


def test_half_a_core_of_other_work_counts_as_busy(monkeypatch):
    m = FakeMachine(monkeypatch)
    assert m.run(2.0, own=1.0, others=0.6)[-1] == 1
    assert m.run(2.0, own=1.0, others=0.4)[-1] == 2


def test_without_a_window_the_runnable_tasks_now_decide(monkeypatch):
    """The first reading, before :data:`MIN_WINDOW_S` has passed (and where ``/proc/stat`` is
    not): the runnable tasks now, less the caller and this process's own pool."""
    m = FakeMachine(monkeypatch)
    for running, pool, want in ((2, 1, 2), (3, 1, 1), (2, 0, 1), (1, 0, 2)):
        monkeypatch.setattr(threads, "machine_running", lambda r=running: r)
        monkeypatch.setattr(threads, "own_running", lambda p=pool: p)
        monkeypatch.setattr(threads, "_load", [0.0, 0])
        monkeypatch.setattr(threads, "_window", [threads.sample(m.now)])
        assert threads.cores_free(m.now + threads.MIN_WINDOW_S / 2) == want
    monkeypatch.setattr(threads, "cpu_ticks", lambda: None)  # no /proc/stat
    monkeypatch.setattr(threads, "_load", [0.0, 0])
    assert threads.cores_free(m.now + 5) == want


def _task_cpu() -> dict[int, float]:
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            out[int(tid)] = threads._stat_cpu(f"/proc/self/task/{tid}/stat")
        except OSError:
            pass
    return out


def test_own_cpu_counts_blas_workers_and_leaves_python_threads_out():
    """Over one window: the caller's and OpenBLAS's workers' CPU time is this process's own; a
    Python thread spinning meanwhile (a user's thread, the numba loader) is other work."""
    import numpy as np

    if not os.path.exists("/proc/self/task"):
        pytest.skip("no /proc")
    stop = threading.Event()
    spinner = threading.Thread(target=lambda: [None for _ in iter(stop.is_set, True)])
    threads.set_blas_threads(2)
    try:
        a = np.ones((600, 600), np.float32)
        a @ a  # OpenBLAS starts its worker
        # the per-thread readings bracket own_cpu's (OpenBLAS's worker keeps spinning between
        # two readings): inner ones give a lower bound, outer ones an upper bound
        outer0 = _task_cpu()
        own0 = threads.own_cpu()
        inner0 = _task_cpu()
        spinner.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.6:
            a @ a
        inner1 = _task_cpu()
        own1 = threads.own_cpu()
        outer1 = _task_cpu()
        python = {t.native_id for t in threading.enumerate()}
        me = threading.get_native_id()

        def counted(start: dict, end: dict) -> float:
            """The caller's CPU and that of the threads that are not Python threads."""
            return sum(c - start.get(t, 0.0) for t, c in end.items()
                       if t == me or t not in python)

        assert outer1[spinner.native_id] > 0.02, "the spinner never ran"
        tick = 1.0 / threads._TICK

        def ticks(seconds: float) -> int:  # the readings are whole ticks: compare them as such
            return round(seconds / tick)  # (0.58 - 0.03 <= 93.82 - 93.27 failed in floats)

        assert ticks(counted(inner0, inner1)) - 3 <= ticks(own1 - own0) <= \
            ticks(counted(outer0, outer1)) + 3
    finally:
        stop.set()
        spinner.join()
        threads.set_blas_threads(1)


def test_a_small_instance_decides_without_reading_the_machine(monkeypatch):
    """Sizes that pay for no threads decide alone (one BLAS thread, no ``prange``, the same
    as with busy cores): no ``/proc`` reading in a small plan's first run or its refreshes.
    Larger sizes and the environment's overrides still read the load."""
    for var in ("STATICGRAPH_THREADS", "STATICGRAPH_BLAS_THREADS", "STATICGRAPH_PRANGE"):
        monkeypatch.delenv(var, raising=False)
    reads = []
    monkeypatch.setattr(threads, "cores_free", lambda *a: reads.append(a) or 4)
    p = threads.Policy(SMALL, PMIN - 1, PMIN)
    assert (p.decision.blas_threads, p.decision.prange) == (1, False) and reads == []
    p.next = 0.0  # a refresh due
    p.apply()
    assert p.blas == 1 and reads == []
    assert (threads.Policy(BIG, 0, PMIN).decision.blas_threads, len(reads)) == (4, 1)
    assert threads.Policy(SMALL, PMIN, PMIN).decision.prange and len(reads) == 2
    monkeypatch.setenv("STATICGRAPH_THREADS", "1")  # an override: decide() as before
    assert threads.Policy(SMALL, 0, PMIN).decision.why == "one thread allowed"
    assert len(reads) == 3
    threads.set_blas_threads(1)


def test_stale_makes_every_policy_read_the_load_again_soon(monkeypatch):
    """The loader thread calls stale() when its queue is done: decisions made while it
    compiled (its core busy: one BLAS thread) no longer stand for up to a second."""
    p = threads.Policy(BIG, 0, PMIN)
    q = threads.Policy(SMALL, 0, PMIN)
    p.next = q.next = time.monotonic() + 1000
    monkeypatch.setattr(threads, "_load", [time.monotonic(), 1])
    monkeypatch.setattr(threads, "_window", [threads.sample(time.monotonic() - 5)])
    threads.stale()
    assert threads._load[0] == 0.0  # the next cores_free() reads the machine
    assert time.monotonic() - threads._window[0][0] < 1  # from a window that starts now
    for pol in (p, q):
        assert pol.next <= time.monotonic() + threads.STALE_DELAY_S


def test_the_loader_calls_stale_when_its_queue_is_done(monkeypatch):
    from staticgraph.compiler import block_until_ready
    from staticgraph.compiler.cpu import native

    if native.MODE == "always":
        pytest.skip("STATICGRAPH_NATIVE=always: no loader")
    calls: list[int] = []
    monkeypatch.setattr(threads, "stale", lambda: calls.append(1))

    class Job:
        def upgrade(self) -> None:
            time.sleep(0.05)

    jobs = [Job(), Job()]
    for j in jobs:
        native.later(weakref.ref(j))
    assert block_until_ready(60)
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)  # stale() runs right after the last job's count drops
    assert calls and len(calls) <= len(jobs)


SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import staticgraph as sg
    from staticgraph import cpu_threads as threads
    g = sg.Graph()
    with g.as_default():
        x = sg.placeholder(sg.float32, [None, 64])
        w = sg.constant(np.full((64, 64), 0.01, np.float32))
        y = sg.reduce_sum(sg.nn.relu(sg.matmul(x, w) + 1.0))
    s = sg.Session(graph=g)
    xv = np.ones((128, 64), np.float32)
    v = float(s.run(y, {x: xv}))
    inst = s._executor.instance_for(g, [y], [], {x: xv})
    d = inst.policy.decision
    from staticgraph.compiler import block_until_ready
    block_until_ready(120)  # numba loaded (a first run may be answered before it is)
    s.run(y, {x: xv})
    # the instance that ran last (numba's, after the hand-over) and its decision: the load may
    # have changed since the first run's (the loader's compile kept a core busy meanwhile)
    last = s._executor.instance_for(g, [y], [], {x: xv}).policy.decision
    print(json.dumps({"value": v, "blas": d.blas_threads, "prange": d.prange,
                      "blas_last": last.blas_threads,
                      "counts": threads.blas_threads(), "libs": threads.openblas_paths(),
                      "scipy_linalg": "scipy.linalg" in sys.modules,
                      "numba": "numba.np.arraymath" in sys.modules}))
""")


def _run(env: dict, tmp_path) -> dict:
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=str(tmp_path), STATICGRAPH_BLAS_THREAD_MIN="1000",
             **env)
    for k in ("STATICGRAPH_THREADS", "STATICGRAPH_BLAS_THREADS", "STATICGRAPH_PRANGE"):
        if k not in env:
            e.pop(k, None)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=e, capture_output=True, text=True,
                         timeout=300, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))))
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("env, want", [({"STATICGRAPH_BLAS_THREADS": "2"}, 2),
                                       ({"STATICGRAPH_THREADS": "1"}, 1),
                                       ({}, None)])
def test_run_sets_openblas_threads_and_loads_one_openblas(env, want, tmp_path):
    r = _run(env, tmp_path)
    assert abs(r["value"] - 128 * 64 * 1.64) < 1e-2  # relu(64 * 0.01 + 1) summed
    if not r["libs"]:
        pytest.skip("numpy does not use OpenBLAS here")
    assert want is None or r["blas"] == want
    assert not (r["blas"] > 1 and r["prange"])
    # OpenBLAS runs at the count the latest run decided (with no override, that decision
    # follows the machine's load, which may have moved since the first run)
    assert [n for _, n in r["counts"]] == [r["blas_last"]] * len(r["counts"]), r
    assert r["numba"]  # numba's CPU target loaded (else the next checks prove nothing)
    assert len(r["libs"]) == 1, r["libs"]  # numpy's only: SciPy's BLAS was never loaded
    assert not r["scipy_linalg"]


ENTRY_SCRIPTS = {
    # a tf.while_loop graph: its loop compiles through cpu/njit_loop.py
    "while_loop": """
        g = sg.Graph()
        with g.as_default():
            x = sg.placeholder(sg.float32, [None, 64])
            w = sg.Variable(np.full((64, 64), 0.01, np.float32))
            _, acc = sg.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, sg.tanh(a @ w)),
                                   [sg.constant(0), x])
            loss = sg.reduce_sum(acc)
            train = sg.train.GradientDescentOptimizer(0.1).minimize(loss)
            init = sg.global_variables_initializer()
        s = sg.Session(graph=g)
        s.run(init)
        xv = np.ones((128, 64), np.float32)
        value = [float(s.run([train, loss], {x: xv})[1]) for _ in range(3)][0]
        want = 128 * 64 * np.tanh(64 * 0.01 * np.tanh(64 * 0.01 * np.tanh(0.64)))
    """,
    # dynamic.compile of a whole training step (dynamic/_compile's capture and plan)
    "dynamic_compile": """
        import dynamic as torch
        w = torch.tensor(np.full((64, 64), 0.01, np.float32), requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.0)

        @torch.compile
        def step(xb):
            opt.zero_grad()
            loss = torch.tanh(xb @ w).sum()
            loss.backward()
            opt.step()
            return loss

        xb = torch.tensor(np.ones((128, 64), np.float32))
        value = [float(step(xb).item()) for _ in range(3)][-1]
        want = 128 * 64 * np.tanh(0.64)
    """,
}


@pytest.mark.parametrize("entry", sorted(ENTRY_SCRIPTS))
def test_other_entries_into_numba_load_one_openblas(entry, tmp_path):
    """numba's BLAS probe is skipped whichever path loads numba's CPU target first in a cold
    process (a loop's driver, dynamic.compile's plan): only numpy's OpenBLAS is mapped."""
    script = "import json, sys\nimport numpy as np\nimport staticgraph as sg\n" \
        "from staticgraph import cpu_threads as threads\n" \
        "from staticgraph.compiler import block_until_ready\n" + \
        textwrap.dedent(ENTRY_SCRIPTS[entry]) + \
        "block_until_ready(120)\n" \
        "print(json.dumps({'value': value, 'want': float(want), " \
        "'libs': threads.openblas_paths(), 'scipy_linalg': 'scipy.linalg' in sys.modules, " \
        "'numba': 'numba.np.arraymath' in sys.modules}))\n"
    e = dict(os.environ, STATICGRAPH_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], env=e, capture_output=True, text=True,
                         timeout=300, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))))
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["value"] == pytest.approx(r["want"], rel=1e-4)
    if not r["libs"]:
        pytest.skip("numpy does not use OpenBLAS here")
    assert r["numba"]  # the compiler ran (else the check proves nothing)
    assert len(r["libs"]) == 1, r["libs"]
    assert not r["scipy_linalg"]


def test_a_machine_made_busy_gets_one_blas_thread_and_no_prange(monkeypatch):
    """The decision on a really busy machine (``sgbench --busy``'s case): one spinning process
    per CPU this process may use. The spinners are runnable all the time, so the reading of
    runnable tasks alone leaves no core free, whatever else the machine runs."""
    for var in ("STATICGRAPH_THREADS", "STATICGRAPH_BLAS_THREADS", "STATICGRAPH_PRANGE"):
        monkeypatch.delenv(var, raising=False)
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(threads.allowed_cpus())]
    try:
        time.sleep(0.5)  # the interpreters have started and spin
        monkeypatch.setattr(threads, "_load", [0.0, 0])  # no cached reading
        threads._restart_window()
        assert threads.cores_free() == 1  # no window yet: the runnable tasks now
        time.sleep(2 * threads.MIN_WINDOW_S)
        monkeypatch.setattr(threads, "_load", [0.0, 0])
        assert threads.cores_free() == 1  # the window
        p = threads.Policy(BIG * 10, PMIN * 10, PMIN)
        assert (p.decision.blas_threads, p.decision.prange) == (1, False), p.decision
        assert p.decision.why == "cores not free"
    finally:
        for s in spin:
            s.kill()
        for s in spin:
            s.wait()

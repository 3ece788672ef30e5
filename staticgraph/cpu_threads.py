"""The CPU thread policy of both modes: how many BLAS threads a run uses, whether ``prange``
kernels run (the static compiler), how many threads a large eager op uses (``dynamic``).

Stdlib only, directly under the package: the eager mode imports it without the compiler (whose
package costs ~0.1 s and 60 modules), and both modes share one reading of the machine and one
record of the OpenBLAS thread count (:data:`CURRENT`).

Measured on a 2-core machine (docs/compiler.md, "Threads"): OpenBLAS with 2 threads on busy
cores ran a 256x784x512 product 4.5x slower than 1 thread (its worker spins waiting for a
descheduled partner), and ``prange`` kernels plus BLAS threads in one step were slower still. So
:func:`decide` (a pure function, tested through its decisions) picks:

* one BLAS thread and no ``prange`` when the cores are not free (:func:`cores_free`: the CPUs
  this process may use against the other work on them over the last half second),
* several BLAS threads only for products of at least :data:`BLAS_THREAD_MIN` multiply-adds,
  and then no ``prange`` (never both in one run),
* ``prange`` (with one BLAS thread) when a kernel is big enough and no product is,
* else one BLAS thread (too small to pay for threads).

Overrides (environment, read at each decision): ``STATICGRAPH_THREADS=N`` caps the threads
(``sgbench --threads N`` sets it; the load check still applies), ``STATICGRAPH_BLAS_THREADS=N``
forces the BLAS thread count (no load check; ``prange`` off when N > 1),
``STATICGRAPH_PRANGE=0|1`` forces ``prange`` off or on (on: one BLAS thread).

The BLAS thread count is set on every OpenBLAS the process has loaded (numpy's, and SciPy's
if something loaded it) through their ``*_set_num_threads`` symbols (ctypes; no
threadpoolctl needed), only when it changes. It is process-wide: numpy calls after a run use
the count the last run set.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass

BLAS_THREAD_MIN = int(os.environ.get("STATICGRAPH_BLAS_THREAD_MIN", 1 << 22))
"""Multiply-adds: a product smaller than this runs on one BLAS thread (threads cost more)."""
REFRESH_S = 0.5
"""Seconds between two readings of the machine's load (the window :func:`cores_free` measures:
a neighbour that stopped frees its core within about this long)."""


@dataclass(frozen=True)
class Decision:
    """What one run uses: BLAS threads, whether ``prange`` kernels run, and why."""

    blas_threads: int
    prange: bool
    why: str


def decide(cores_free: int, max_dot: int, max_kernel: int, parallel_min: int,
           threads: int | None = None, blas: int | None = None,
           prange: bool | None = None) -> Decision:
    """The policy. ``cores_free``: CPUs not busy with other work; ``max_dot``: multiply-adds of
    the largest BLAS product; ``max_kernel``: elements of the largest ``prange``-capable
    kernel; ``parallel_min``: the kernel size from which ``prange`` pays; ``threads``,
    ``blas``, ``prange``: the overrides (None: not given)."""
    if blas is not None:
        if blas > 1:
            return Decision(blas, False, "STATICGRAPH_BLAS_THREADS")
        return Decision(1, bool(prange), "STATICGRAPH_BLAS_THREADS=1")
    if prange is not None:
        return Decision(1, prange, "STATICGRAPH_PRANGE")
    free = max(1, min(cores_free, threads if threads is not None else cores_free))
    if free <= 1:
        why = "one thread allowed" if threads == 1 else "cores not free"
        return Decision(1, False, why)
    if max_dot >= BLAS_THREAD_MIN:
        return Decision(free, False, "a product large enough for BLAS threads")
    if max_kernel >= parallel_min:
        return Decision(1, True, "a kernel large enough for prange")
    return Decision(1, False, "too small to pay for threads")


def overrides() -> dict:
    """The environment's overrides, as :func:`decide` takes them; a bad value is an error
    naming the variable."""
    out: dict = {}
    for key, var in (("threads", "STATICGRAPH_THREADS"), ("blas", "STATICGRAPH_BLAS_THREADS")):
        v = os.environ.get(var, "").strip()
        if v:
            if not v.isdigit() or int(v) < 1:
                raise ValueError(f"{var} must be a positive integer (got {v!r})")
            out[key] = int(v)
    v = os.environ.get("STATICGRAPH_PRANGE", "").strip()
    if v:
        if v not in ("0", "1"):
            raise ValueError(f"STATICGRAPH_PRANGE must be 0 or 1 (got {v!r})")
        out["prange"] = v == "1"
    return out


# ---------------------------------------------------------------------------- the machine
MIN_WINDOW_S = 0.1
"""Shortest window :func:`cores_free` measures over (``/proc/stat`` counts in ticks of 10 ms:
a shorter window is mostly rounding)."""
_load = [0.0, 1]  # when read, cores free then
_window: list = [None]  # the last sample: (time, busy/total ticks per allowed CPU, own CPU s)


def allowed_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cores_free(now: float | None = None) -> int:
    """CPUs this process may use minus the other work on the machine, measured over the short
    window since the last reading (read at most once per :data:`REFRESH_S`): the busy time of
    the CPUs this process may use (``/proc/stat``, all but idle and iowait) less this
    process's own share of it, that is the CPU time of its threads save the Python threads
    other than the caller (:func:`sample`). Rounded to whole cores (half a core busy counts
    as busy). Before the first window of :data:`MIN_WINDOW_S`, the runnable tasks now
    (``/proc/loadavg``) less the caller and this process's runnable non-Python threads.

    Why a window, not the load average: the 1-minute load average kept a process on one thread
    for up to a minute after a neighbour stopped (``sgbench --rounds``: the previous mode's
    process, gone, still held the load average near 2). The window sees a spinning neighbour
    at the next reading and its end one reading later.

    Why the own threads are left out: an OpenBLAS worker spins after a 2-thread product (it
    waits ~0.1 s for more work: runnable all through a training loop); counted as a neighbour,
    the decision alternated between 2 threads and 1 thread every second on a free 2-core
    machine. The eager mode's pool workers (started with ``_thread``) and numba's are likewise
    this process's own. Python threads other than the caller (the numba loader compiling, a
    user's threads) still count as other work."""
    now = time.monotonic() if now is None else now
    if now - _load[0] < REFRESH_S and _load[0]:
        return _load[1]
    last, others = _window[0], None
    if last is not None and now - last[0] >= MIN_WINDOW_S:
        cur = _window[0] = sample(now)
        others = others_in_window(last, cur)
    elif last is None:
        _window[0] = sample(now)
    if others is None:  # no window yet (or no /proc/stat): the runnable tasks now
        others = float(machine_running() - 1 - own_running())
    free = max(1, allowed_cpus() - max(0, math.floor(others + 0.5)))
    _load[:] = [now, free]
    return free


def others_in_window(last: tuple, cur: tuple) -> float | None:
    """Cores other work kept busy on average between two :func:`sample` readings: the busy
    ticks of this process's CPUs less its own CPU time; None where ``/proc/stat`` is not."""
    if last[1] is None or cur[1] is None or len(last[1]) != len(cur[1]):
        return None
    busy = sum(b1 - b0 for (b0, _), (b1, _) in zip(last[1], cur[1], strict=True))
    ticks = sum(t1 - t0 for (_, t0), (_, t1) in zip(last[1], cur[1], strict=True))
    if ticks <= 0:
        return None
    span = ticks / len(cur[1]) / _TICK  # the window's seconds, as the kernel counted them
    return (busy / _TICK - (cur[2] - last[2])) / span


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_py_cpu: dict[int, float] = {}  # CPU seconds of each Python thread at the last sample


def sample(now: float) -> tuple[float, list[tuple[int, int]] | None, float]:
    """(``now``, (busy ticks, all ticks) of each CPU this process may use or None where
    ``/proc/stat`` is not, CPU seconds of this process less what its Python threads other than
    the caller used since the last sample)."""
    return now, cpu_ticks(), own_cpu()


def cpu_ticks() -> list[tuple[int, int]] | None:
    """(busy, total) ticks since boot of each CPU this process may use (``/proc/stat``; busy:
    all but idle and iowait); None if unknown."""
    try:
        mine = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        mine = None
    try:
        with open("/proc/stat") as f:
            lines = [ln.split() for ln in f if ln.startswith("cpu") and ln[3:4].isdigit()]
        out = []
        for f in lines:
            if mine is None or int(f[0][3:]) in mine:
                t = [int(x) for x in f[1:]]
                out.append((sum(t[:8]) - t[3] - t[4], sum(t[:8])))  # 8: guest is in user
        return out or None
    except (OSError, ValueError, IndexError):
        return None


def _stat_cpu(path: str) -> float:
    """User + system CPU seconds from a ``/proc/.../stat`` file (fields 14, 15)."""
    with open(path) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / _TICK


def own_cpu() -> float:
    """This process's CPU seconds (all its threads, ended ones too) less those its Python
    threads other than the caller used since the previous call (a thread started since then:
    all its time); 0.0 where ``/proc`` is not."""
    try:
        total = _stat_cpu("/proc/self/stat")
    except (OSError, IndexError, ValueError):
        return 0.0
    me = threading.get_native_id()
    seen: dict[int, float] = {}
    foreign = 0.0
    for t in threading.enumerate():
        tid = t.native_id
        if tid is None:
            continue
        try:
            seen[tid] = cpu = _stat_cpu(f"/proc/self/task/{tid}/stat")
        except (OSError, IndexError, ValueError):
            continue  # a thread that just ended
        if tid != me:
            foreign += cpu - _py_cpu.get(tid, 0.0)
    _py_cpu.clear()
    _py_cpu.update(seen)
    _own[0] += total - _own[1] - foreign
    _own[1] = total
    return _own[0]


_own = [0.0, 0.0]  # this process's counted CPU seconds so far, its total at the last call


def machine_running() -> int:
    """Runnable tasks on the machine now (``/proc/loadavg``'s 4th field); 1 if unknown."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return 1


def own_running() -> int:
    """This process's runnable threads that Python did not start (BLAS, ``prange`` and the
    eager pool's workers); 0 where ``/proc`` is not."""
    ours = {t.native_id for t in threading.enumerate()}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return 0
    running = 0
    for tid in tids:
        if not tid.isdigit() or int(tid) in ours:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                running += f.read().rsplit(")", 1)[1].split()[0] == "R"
        except (OSError, IndexError):
            continue  # a thread that just ended
    return running


# ---------------------------------------------------------------------------- BLAS control
_SYMBOLS = ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads",
            "openblas_{}_num_threads64_", "openblas_{}_num_threads")
_libs: list | None = None
_lock = threading.Lock()
CURRENT = [0]
"""The BLAS thread count this module last set (0: not set yet); read by generated calls."""


def openblas_paths() -> list[str]:
    """The OpenBLAS libraries mapped into this process (``/proc/self/maps``; Linux)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {ln.split(None, 5)[5].strip() for ln in f if len(ln.split(None, 5)) == 6}
    except OSError:
        return []
    return sorted(p for p in paths if "openblas" in os.path.basename(p).lower())


def _blas_libs() -> list:
    """(path, set, get) for each loaded OpenBLAS (looked up once numpy's is loaded)."""
    global _libs
    if _libs is not None and len(_libs) == len(openblas_paths()):
        return _libs
    libs = []
    for path in openblas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pat in _SYMBOLS:
            try:
                set_, get = getattr(lib, pat.format("set")), getattr(lib, pat.format("get"))
            except AttributeError:
                continue
            set_.argtypes, set_.restype, get.restype = [ctypes.c_int], None, ctypes.c_int
            libs.append((path, set_, get))
            break
    _libs = libs
    return libs


def blas_threads() -> list[tuple[str, int]]:
    """(library path, its thread count now) for each loaded OpenBLAS."""
    return [(p, int(get())) for p, _, get in _blas_libs()]


def set_blas_threads(n: int) -> None:
    """Set every loaded OpenBLAS to ``n`` threads (threadpoolctl, if installed, where no
    OpenBLAS symbol is found: e.g. an MKL numpy)."""
    with _lock:
        libs = _blas_libs()
        for _, set_, _get in libs:
            set_(n)
        if not libs:
            try:
                import threadpoolctl
            except ImportError:
                pass
            else:
                threadpoolctl.threadpool_limits(n, user_api="blas")
        CURRENT[0] = n


# ---------------------------------------------------------------------------- policies
_POLICIES: weakref.WeakSet = weakref.WeakSet()  # every live Policy (for stale())
_POLICY_LOCK = threading.Lock()


STALE_DELAY_S = 0.05
"""After :func:`stale`, policies re-decide this much later: the caller (the loader thread) is
still runnable while it returns, and a reading at that instant would count it."""


def stale() -> None:
    """Make every policy re-decide soon (:data:`STALE_DELAY_S`) from a fresh reading of the
    load, and start a new window there. The loader thread calls it when its queue is done:
    while it imported and compiled numba it held a core, and a decision made then ("cores not
    free": one BLAS thread) used to stand for up to :data:`REFRESH_S` more -- on a free 2-core
    machine, the first second of a cold process's steady state ran its products on one
    thread. The window so far holds the loader's work, so it restarts: the next reading is
    the runnable tasks then, the one after it the window from here."""
    _load[0] = 0.0
    _window[0] = sample(time.monotonic())
    soon = time.monotonic() + STALE_DELAY_S  # when the loader has gone back to waiting
    with _POLICY_LOCK:
        for p in list(_POLICIES):
            p.next = soon


class Policy:
    """One bound instance's decision: ``prange`` fixed when bound, the BLAS thread count
    re-decided at most once per :data:`REFRESH_S` (or after :func:`stale`) by the generated
    call, which runs ``if CURRENT[0] != P.blas or mono() >= P.next: P.apply()`` before its
    products."""

    def __init__(self, max_dot: int, max_kernel: int, parallel_min: int) -> None:
        self.max_dot, self.max_kernel, self.parallel_min = max_dot, max_kernel, parallel_min
        self.decision = self.decide()
        self.blas = self.decision.blas_threads
        self.next = time.monotonic() + REFRESH_S
        with _POLICY_LOCK:
            _POLICIES.add(self)

    def decide(self) -> Decision:
        """:func:`decide` with the machine's load, read only when it can matter: an instance
        with no product large enough for BLAS threads and no kernel large enough for
        ``prange`` gets one thread and no ``prange`` however many cores are free (reading
        ``/proc`` for each of its threads cost ~0.3-0.7 ms in a first run of the xor models)."""
        ov = overrides()
        if not ov and self.max_dot < BLAS_THREAD_MIN and self.max_kernel < self.parallel_min:
            return Decision(1, False, "too small to pay for threads")
        return decide(cores_free(), self.max_dot, self.max_kernel, self.parallel_min, **ov)

    def apply(self) -> None:
        now = time.monotonic()
        if now >= self.next:
            self.blas = self.decide().blas_threads
            self.next = now + REFRESH_S
        if CURRENT[0] != self.blas:
            set_blas_threads(self.blas)


def _restart_window() -> None:
    """A new window from now (at import; in a forked child, whose CPU time starts at zero)."""
    _load[0] = 0.0
    _py_cpu.clear()
    _own[:] = [0.0, 0.0]
    _window[0] = sample(time.monotonic())


_restart_window()  # the first decision, usually well after the imports, has a window
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_window)

"""The CPU thread policy: how many BLAS threads a run uses and whether ``prange`` kernels run.

Measured on a 2-core machine (docs/compiler.md, "Threads"): OpenBLAS with 2 threads on busy
cores ran a 256x784x512 product 4.5x slower than 1 thread (its worker spins waiting for a
descheduled partner), and ``prange`` kernels plus BLAS threads in one step were slower still. So
:func:`decide` (a pure function, tested through its decisions) picks:

* one BLAS thread and no ``prange`` when the cores are not free (:func:`cores_free`: the CPUs
  this process may use against the runnable tasks and the load average, read at most once a
  second),
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
import sys
import threading
import time
import weakref
from dataclasses import dataclass

BLAS_THREAD_MIN = int(os.environ.get("STATICGRAPH_BLAS_THREAD_MIN", 1 << 22))
"""Multiply-adds: a product smaller than this runs on one BLAS thread (threads cost more)."""
REFRESH_S = 1.0
"""Seconds between two readings of the machine's load."""


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
_load = [0.0, 1]  # when read, cores free then


def allowed_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cores_free(now: float | None = None) -> int:
    """CPUs this process may use minus the other work on the machine: the runnable tasks now
    (``/proc/loadavg``'s 4th field) or the 1-minute load average, whichever is larger (a
    spinning neighbour shows in the first at once, in the second after a while), each less
    this process's own share: the calling thread, and the threads Python did not start
    (OpenBLAS's workers, numba's thread pool: :func:`own_pool`). Read at most once per
    :data:`REFRESH_S`.

    Without the pool's share, an OpenBLAS worker spinning after a 2-thread product (it waits
    ~0.1 s for more work: runnable all through a training loop) counted as a neighbour: on a
    free 2-core machine the decision alternated between 2 threads and 1 thread every second
    (and every minute through the load average). Python threads other than the caller (the
    numba loader compiling, a user's threads) still count as other work."""
    now = time.monotonic() if now is None else now
    if now - _load[0] < REFRESH_S and _load[0]:
        return _load[1]
    n = allowed_cpus()
    running, load1 = machine_load()
    pool_now, pool_avg = own_pool(now)
    others = max(running - 1 - pool_now, load1 - 1.0 - pool_avg)
    free = max(1, n - max(0, round(others)))
    _load[:] = [now, free]
    return free


def machine_load() -> tuple[int, float]:
    """(runnable tasks now, 1-minute load average) of the machine; (1, 0.0) if unknown."""
    try:
        with open("/proc/loadavg") as f:
            fields = f.read().split()
        return int(fields[3].split("/")[0]), float(fields[0])
    except (OSError, IndexError, ValueError):
        try:
            return 1, os.getloadavg()[0]
        except (AttributeError, OSError):
            return 1, 0.0


_pool = [0.0, 0.0, 0.0]  # last reading: when, the pool's CPU seconds then, its averaged use


def own_pool(now: float) -> tuple[int, float]:
    """This process's threads that Python did not start (BLAS and ``prange`` workers): how
    many are runnable now, and the cores they used, averaged as the kernel averages the load
    (1-minute exponential decay) from the readings so far; (0, 0.0) where ``/proc`` is not."""
    ours = {t.native_id for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    running, cpu = 0, 0.0
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return 0, 0.0
    for tid in tids:
        if not tid.isdigit() or int(tid) in ours:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            running += rest[0] == "R"  # fields 3 (state), 14 and 15 (user, system ticks)
            cpu += (int(rest[11]) + int(rest[12])) / tick
        except (OSError, IndexError, ValueError):
            continue  # a thread that just ended
    when, before, avg = _pool
    if when and now > when:
        decay = math.exp(-(now - when) / 60.0)
        avg = avg * decay + max(0.0, (cpu - before) / (now - when)) * (1.0 - decay)
    _pool[:] = [now, cpu, avg]
    return running, avg


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


# ---------------------------------------------------------------------------- numba's probe
def skip_numba_blas_probe() -> None:
    """numba's ``arraymath`` module probes for BLAS when its CPU target first loads, by
    importing ``scipy.linalg.cython_blas``: a second OpenBLAS in the process (SciPy's), which
    nothing compiled here uses (products in compiled code are the loops of ``smallmm``).
    Run before that load, the probe answers "no BLAS" (numba's inner products then use
    loops); ``ensure_blas`` itself is restored, so a user's ``np.dot`` in ``@njit`` code still
    loads SciPy's BLAS when it is compiled. No effect once the target has loaded."""
    if "numba.np.arraymath" in sys.modules:
        return
    from numba.np import linalg

    real = linalg.ensure_blas

    def no_blas() -> None:
        raise ImportError("staticgraph: BLAS probe skipped (no np.dot in generated code)")

    linalg.ensure_blas = no_blas
    try:
        import numba.np.arraymath  # noqa: F401 - runs the probe now
    finally:
        linalg.ensure_blas = real


_POLICIES: weakref.WeakSet = weakref.WeakSet()  # every live Policy (for stale())
_POLICY_LOCK = threading.Lock()


STALE_DELAY_S = 0.05
"""After :func:`stale`, policies re-decide this much later: the caller (the loader thread) is
still runnable while it returns, and a reading at that instant would count it."""


def stale() -> None:
    """Make every policy re-decide soon (:data:`STALE_DELAY_S`) from a fresh reading of the
    load. The
    loader thread calls it when its queue is done: while it imported and compiled numba it
    held a core, and a decision made then ("cores not free": one BLAS thread) used to stand
    for up to :data:`REFRESH_S` more -- on a free 2-core machine, the first second of a cold
    process's steady state ran its products on one thread."""
    _load[0] = 0.0
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
        return decide(cores_free(), self.max_dot, self.max_kernel, self.parallel_min,
                      **overrides())

    def apply(self) -> None:
        now = time.monotonic()
        if now >= self.next:
            self.blas = self.decide().blas_threads
            self.next = now + REFRESH_S
        if CURRENT[0] != self.blas:
            set_blas_threads(self.blas)

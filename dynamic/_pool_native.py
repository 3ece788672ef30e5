"""The spinning pool: native workers that wait for the next op by spinning, not sleeping.

On a VM a sleeping thread's wake-up costs ~50-100 us (its idle vCPU halts), about what a 1M
float32 ``tanh`` takes, so a pool that sleeps between ops gains nothing at two threads.
PyTorch's OpenMP workers spin between ops; so do these: each worker is a Python thread
(``_thread``, counted by ``cpu_threads`` as this process's own) inside ``sg_pool_worker``
(:mod:`dynamic._pool_ir`), called through ``ctypes``, which releases the GIL. It spins on its
job word for :data:`SPIN_US`, then sleeps on a queue until an op wakes it. A job is a program
of numpy inner loops (:mod:`dynamic._pool_loops`) over one chunk, so no worker ever needs the
GIL, and every value is the one numpy computes.

Loading: the native code is compiled by llvmlite (~60 ms with its import), on a background
thread started by the first op that could use it (:func:`ready`); until then and where it
cannot load (not x86-64 Linux, no llvmlite, another ``PyUFuncObject`` layout,
``DYNAMIC_SPIN_POOL=0``) the ops keep the queue pool of :mod:`dynamic._parallel`. While it
loads, the GIL switch interval is lowered to 0.2 ms, so the main thread never waits 5 ms for
the loader to hand the GIL back (restored when done).

After ``os.fork`` the child forgets the workers (they do not exist there) and starts new
ones on its first op; the compiled code is kept.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import platform
import sys
import threading
import time
from queue import SimpleQueue
from typing import Any

import numpy as np

from . import _pool_ir as ir
from ._pool_loops import layout_ok, report

SPIN_US = float(os.environ.get("DYNAMIC_SPIN_US", "3000"))
"""How long an idle worker spins before it sleeps (microseconds)."""
ENABLED = os.environ.get("DYNAMIC_SPIN_POOL", "1") not in ("0", "off", "never") \
    and sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")

_CODE: dict[str, Any] = {}  # symbol -> address / ctypes function, once compiled
_STATE = ["idle"]  # idle -> loading -> ready | failed
_LOAD_LOCK = threading.Lock()
_RUN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
_WORK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64)


def ready() -> bool:
    """Whether the native pool can run jobs now; the first call starts loading it."""
    s = _STATE[0]
    if s == "ready":
        return True
    if s == "idle" and ENABLED:
        with _LOAD_LOCK:
            if _STATE[0] == "idle":
                _STATE[0] = "loading"
                _thread.start_new_thread(_load, ())
    return False


def wait_ready(timeout: float = 30.0) -> bool:
    """Block until loading has finished (tests, benchmarks); True when ready."""
    ready()
    end = time.monotonic() + timeout
    while _STATE[0] == "loading" and time.monotonic() < end:
        time.sleep(0.001)
    return _STATE[0] == "ready"


def why_not() -> str:
    """Why the spinning pool is not running (for skips and logs)."""
    if not ENABLED:
        return "disabled (DYNAMIC_SPIN_POOL=0, or not x86-64 Linux)"
    return _CODE.get("error", _STATE[0])


def _load() -> None:
    old = sys.getswitchinterval()
    sys.setswitchinterval(min(old, 0.0002))
    try:
        _compile()
        _calibrate()
        _STATE[0] = "ready"
    except Exception as e:  # the queue pool keeps running: correct, slower at 2 threads
        _STATE[0] = "failed"
        _CODE["error"] = f"{type(e).__name__}: {e}"
    finally:
        sys.setswitchinterval(old)


def _compile() -> None:
    if not layout_ok():
        raise RuntimeError("numpy's PyUFuncObject layout is not the one expected")
    import llvmlite.binding as ll

    ll.initialize_native_target()
    ll.initialize_native_asmprinter()
    ll.initialize_native_asmparser()  # the inline fnclex / fnstsw
    target = ll.Target.from_default_triple()
    tm = target.create_target_machine(cpu=ll.get_host_cpu_name(),
                                      features=ll.get_host_cpu_features().flatten(), opt=2,
                                      jit=True)
    mod = ll.parse_assembly(ir.MODULE)
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    mod.verify()
    engine = ll.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    _CODE["engine"] = engine  # keeps the code alive
    for name in ir.SYMBOLS:
        _CODE[name] = engine.get_function_address(name)
    _CODE["run"] = _RUN(_CODE["sg_pool_run"])
    _CODE["finish"] = _RUN(_CODE["sg_pool_finish"])
    _CODE["work"] = _WORK(_CODE["sg_pool_worker"])


def _calibrate() -> None:
    """Spins per :data:`SPIN_US`: an idle worker loop of 20000 spins, timed."""
    w = np.zeros(ir.W_WORDS, np.int64)
    t = time.perf_counter()
    _CODE["work"](w.ctypes.data, 20000)
    per = max((time.perf_counter() - t) / 20000, 1e-9)
    _CODE["spins"] = max(1000, int(SPIN_US * 1e-6 / per))


def cast_loop(dtype: np.dtype) -> int:
    """The native bool -> ``dtype`` inner loop (numpy's cast: 1 for True, 0 for False)."""
    return _CODE[f"sg_bool_to_{dtype.name}"]


# ---------------------------------------------------------------------------------- the pool
class Pool:
    """``workers`` native workers, their control blocks, and one job block (one op at a time:
    the caller holds ``dynamic._parallel``'s lock)."""

    def __init__(self, workers: int) -> None:
        self.n = workers
        self.W = np.zeros((workers + 1) * ir.W_WORDS, np.int64)
        self.J = np.zeros(ir.J_WORDS, np.int64)
        self.Jaddr, self.Waddr = self.J.ctypes.data, self.W.ctypes.data
        self.wake = [SimpleQueue() for _ in range(workers + 1)]
        self.scratch: list[np.ndarray] = []
        self.gen = 0
        for k in range(1, workers + 1):
            self.W[ir.W_WORDS * k + 3] = self.Jaddr
            self.W[ir.W_WORDS * k + 4] = k  # worker k's chunk (when the main has not taken it)
            _thread.start_new_thread(_worker, (self.Waddr + 8 * ir.W_WORDS * k, self.wake[k]))

    def scratch_for(self, nbytes: int, chunks: int) -> None:
        """Each chunk's scratch buffer of at least ``nbytes`` (64-byte aligned)."""
        if not self.scratch or self.scratch[0].size < nbytes + 64:
            self.scratch = [np.empty(nbytes + 64, np.uint8) for _ in range(ir.MAX_CHUNKS)]
            for c, b in enumerate(self.scratch):
                self.J[ir.J_SCRATCH + c] = -(-b.ctypes.data // 64) * 64

    def go(self, chunks: int) -> int:
        """Run the job block's program over ``chunks`` chunks; the union of the MXCSR
        exception flags of every chunk. Chunk ``k`` is worker ``k``'s unless this thread
        claims it first (a worker asleep or descheduled costs no wait: this thread runs its
        chunk)."""
        self.gen = g = self.gen + 1
        J = self.J
        J[ir.J_GEN] = g
        J[ir.J_CLAIM:ir.J_CLAIM + chunks] = 2 * g
        r = _CODE["run"](self.Jaddr, self.Waddr, chunks)
        if r >= 256:
            m = r >> 8
            for k in range(1, chunks):
                if m >> k & 1:
                    self.wake[k].put(1)
            r = _CODE["finish"](self.Jaddr, self.Waddr, chunks)
        return r

    def step_flags(self, chunks: int, nsteps: int) -> list[int]:
        """Per step, the union over chunks of its exception flags."""
        f = self.J[ir.J_FLAGS:ir.J_FLAGS + 8 * chunks].reshape(chunks, 8)
        return [int(v) for v in np.bitwise_or.reduce(f, axis=0)[:nsteps]]

    def close(self) -> None:
        """Tell every worker to exit (each leaves at its next look at the job word)."""
        for k in range(1, self.n + 1):
            b = ir.W_WORDS * k
            self.W[b + 5] = 1
            self.W[b] = -1
            self.wake[k].put(1)


def _worker(w: int, wake: SimpleQueue) -> None:
    work, spins = _CODE["work"], _CODE["spins"]
    while work(w, spins) != 2:
        wake.get()


def report_flags(pool: Pool, names: list[str], chunks: int) -> None:
    """numpy's report of the exception flags the last job's steps raised."""
    report(names, pool.step_flags(chunks, len(names)))

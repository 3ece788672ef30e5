"""The spinning pool: native workers that wait for the next op by spinning, not sleeping.

On a VM a sleeping thread's wake-up costs ~50-100 us (its idle vCPU halts), about what a 1M
float32 ``tanh`` takes, so a pool that sleeps between ops gains nothing at two threads.
PyTorch's OpenMP workers spin between ops; so do these: each worker is a Python thread
(``_thread``, counted by ``cpu_threads`` as this process's own) inside ``sg_pool_worker``
(:mod:`dynamic._pool_ir`), called through ``ctypes``, which releases the GIL. It spins on its
job word for :data:`SPIN_US`, then sleeps on a queue until an op wakes it. A job is a program
of numpy inner loops (:mod:`dynamic._pool_loops`) over one chunk, so no worker ever needs the
GIL, and every value is the one numpy computes.

Loading (:mod:`dynamic._pool_code`): the first op that could use the pool (:func:`ready`) maps
the machine code saved by an earlier process (well under a millisecond); when there is none,
it starts a separate Python process that compiles it with llvmlite and saves it (~0.1 s), and
maps it once it is there (looked for at most every 50 ms): no import or compile in this
process, none of its GIL. Until then, and where it cannot load (not x86-64 Linux, no llvmlite,
another ``PyUFuncObject`` layout, ``DYNAMIC_SPIN_POOL=0``), the ops keep the queue pool of
:mod:`dynamic._parallel`. Where the cache directory cannot be trusted, the code is compiled
on a background thread of this process instead (the GIL switch interval lowered to 0.2 ms
meanwhile, so the main thread never waits 5 ms for the loader to hand the GIL back).

After ``os.fork`` the child forgets the workers (they do not exist there) and starts new
ones on its first op; the compiled code is kept.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import platform
import struct
import sys
import threading
import time
from queue import SimpleQueue
from typing import Any

import numpy as np

from . import _pool_code as code
from . import _pool_ir as ir
from ._pool_loops import layout_ok, report

SPIN_US = float(os.environ.get("DYNAMIC_SPIN_US", "3000"))
"""How long an idle worker spins before it sleeps (microseconds)."""
ENABLED = os.environ.get("DYNAMIC_SPIN_POOL", "1") not in ("0", "off", "never") \
    and sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")

_CODE: dict[str, Any] = {}  # symbol -> address / ctypes function, once compiled
_STATE = ["idle"]  # idle -> loading -> ready | failed
_LOAD_LOCK = threading.Lock()
_GATE = threading.Lock()  # held while LLVM compiles: ``fork`` waits (a child never inherits
# LLVM's locks held by a thread it does not have)
_RUN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
_WORK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64)


def ready() -> bool:
    """Whether the native pool can run jobs now. The first call maps the saved code (well
    under a millisecond) or, when there is none, starts compiling it apart; later calls look
    for the saved code at most every :data:`_POLL_S` until it is there."""
    s = _STATE[0]
    if s == "ready":
        return True
    if s == "idle" and ENABLED:
        with _LOAD_LOCK:
            if _STATE[0] == "idle":
                _start()
    elif s == "compiling" and time.monotonic() >= _CODE["next_look"]:
        with _LOAD_LOCK:
            if _STATE[0] == "compiling":
                _look()
    return _STATE[0] == "ready"


_POLL_S = 0.05


def _start() -> None:
    if _from_disk():
        return
    path = code.cache_path() if layout_ok() else None
    if path is not None:
        try:
            _CODE["proc"] = code.compile_apart(path)
            _CODE["next_look"] = time.monotonic() + _POLL_S
            _STATE[0] = "compiling"
            return
        except OSError:  # no new process here: compile on a thread of this one
            pass
    _STATE[0] = "loading"
    _thread.start_new_thread(_load, ())


def _look() -> None:
    """The compiling process's code, if it has saved it; its error if it failed."""
    _CODE["next_look"] = time.monotonic() + _POLL_S
    if _from_disk():
        _CODE.pop("proc", None)  # (subprocess reaps it once it has exited)
        return
    proc = _CODE.get("proc")
    rc = proc.poll() if proc is not None else 0
    if rc is not None and not _from_disk():
        why = proc.stderr.read().decode(errors="replace").strip().splitlines() if proc else []
        _CODE["error"] = f"the compiling process failed ({rc}): {why[-1] if why else ''}"
        _STATE[0] = "failed"


def _from_disk() -> bool:
    """Map the saved code if there is a valid entry; True when ready."""
    try:
        path = code.cache_path()
        got = code.read(path) if path and layout_ok() else None
        if got is None:
            return False
        _bind(code.map_code(*got))
    except (OSError, ValueError) as e:
        _CODE["error"] = f"{type(e).__name__}: {e}"
        return False
    _STATE[0] = "ready"
    return True


def wait_ready(timeout: float = 30.0) -> bool:
    """Block until loading has finished (tests, benchmarks); True when ready."""
    end = time.monotonic() + timeout
    while not ready() and _STATE[0] in ("loading", "compiling") and time.monotonic() < end:
        time.sleep(0.002)
    return _STATE[0] == "ready"


def why_not() -> str:
    """Why the spinning pool is not running (for skips and logs)."""
    if not ENABLED:
        return "disabled (DYNAMIC_SPIN_POOL=0, or not x86-64 Linux)"
    return _CODE.get("error", _STATE[0])


def _load() -> None:
    with _GATE:
        old = sys.getswitchinterval()
        sys.setswitchinterval(min(old, 0.0002))
        try:
            _compile()
            _STATE[0] = "ready"
        except Exception as e:  # the queue pool keeps running: correct, slower at 2 threads
            _STATE[0] = "failed"
            _CODE["error"] = f"{type(e).__name__}: {e}"
        finally:
            sys.setswitchinterval(old)


def _compile() -> None:
    if not layout_ok():
        raise RuntimeError("numpy's PyUFuncObject layout is not the one expected")
    text, symbols = code.compile_text()
    path = code.cache_path()
    if path:
        try:
            code.save(path, text, symbols)
        except OSError:  # kept in memory only: the next process compiles again
            pass
    _bind(code.map_code(text, symbols))


def _bind(addresses: dict[str, int]) -> None:
    """The entry points, and an idle worker's spin budget in time-stamp-counter ticks."""
    _CODE.update(addresses)
    _CODE["run"] = _RUN(_CODE["sg_pool_run"])
    _CODE["finish"] = _RUN(_CODE["sg_pool_finish"])
    _CODE["work"] = _WORK(_CODE["sg_pool_worker"])
    _CODE["spins"] = int(SPIN_US * _tsc_mhz())


def _tsc_mhz() -> float:
    """The time-stamp counter's rate: the ``cpu MHz`` of ``/proc/cpuinfo`` (the TSC runs at
    the nominal clock on CPUs with ``constant_tsc``), else 2000."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return max(100.0, float(line.split(":")[1]))
    except (OSError, ValueError, IndexError):
        pass
    return 2000.0


def sum_loop(dtype: np.dtype) -> int:
    """The native pairwise sum of ``dtype`` (numpy's add loop in reduce form, bit for bit)."""
    return _CODE[f"sg_sum_{dtype.name}"]


def sigmoid_loop(dtype: np.dtype) -> tuple[int, int]:
    """The native end of the tiled sigmoid for ``dtype`` and its ``data`` (its constants:
    :data:`._pool_ir.SIGMOID_DATA`)."""
    name = dtype.name
    buf = _CODE.get("sigmoid_data_" + name)
    if buf is None:
        fmt, *vals = ir.SIGMOID_DATA[name]
        buf = _CODE["sigmoid_data_" + name] = np.frombuffer(
            bytearray(struct.pack(fmt, *vals)), np.uint8)
    return _CODE[f"sg_sigmoid_end_{name}"], buf.ctypes.data


# ---------------------------------------------------------------------------------- the pool
class Pool:
    """``workers`` native workers, their control blocks, and one job block (one op at a time:
    the caller holds ``dynamic._parallel``'s lock)."""

    def __init__(self, workers: int) -> None:
        self.n = workers
        self.W = _never_freed((workers + 1) * ir.W_WORDS)
        self.J = _never_freed(ir.J_WORDS)
        self.Jaddr, self.Waddr = self.J.ctypes.data, self.W.ctypes.data
        self.wake = [SimpleQueue() for _ in range(workers + 1)]
        self.scratch: list[np.ndarray] = []
        self.wakes = 0  # ops that found a worker asleep (tests observe the wake path)
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
        r = _CODE["run"](self.Jaddr, self.Waddr, chunks)
        if r >= 256:
            self.wakes += 1
            m = r >> 8
            for k in range(1, chunks):
                if m >> k & 1:
                    self.wake[k].put(1)
            r = _CODE["finish"](self.Jaddr, self.Waddr, chunks)
        return r

    def step_flags(self, chunks: int, nsteps: int) -> list[int]:
        """Per step, the union over chunks of its exception flags."""
        rows = self.J[ir.J_FLAGS:ir.J_FLAGS + 8 * chunks].tolist()
        out = [0] * nsteps
        for c in range(chunks):
            for s in range(nsteps):
                out[s] |= rows[8 * c + s]
        return out

    def close(self) -> None:
        """Tell every worker to exit (each leaves at its next look at the job word)."""
        for k in range(1, self.n + 1):
            b = ir.W_WORDS * k
            self.W[b + 5] = 1
            self.W[b] = -1
            self.wake[k].put(1)


def _never_freed(words: int) -> np.ndarray:
    """Zeroed int64 words that are never freed: a worker may read its control block up to
    the moment it sees the exit flag, and at interpreter exit numpy's arrays are freed while
    the worker threads (never joined) still exist. A few hundred bytes a pool."""
    libc = _CODE.get("libc")
    if libc is None:
        libc = _CODE["libc"] = ctypes.CDLL(None)
        libc.calloc.restype = ctypes.c_void_p
        libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    addr = libc.calloc(words + 8, 8)
    if not addr:
        raise MemoryError("calloc failed for the pool's control blocks")
    addr = -(-addr // 64) * 64  # cache-line aligned (calloc'd with a line to spare)
    return np.frombuffer((ctypes.c_int64 * words).from_address(addr), np.int64)


def _worker(w: int, wake: SimpleQueue) -> None:
    work, spins = _CODE["work"], _CODE["spins"]
    while work(w, spins) != 2:
        wake.get()


def report_flags(pool: Pool, names: list[str], chunks: int) -> None:
    """numpy's report of the exception flags the last job's steps raised."""
    report(names, pool.step_flags(chunks, len(names)))

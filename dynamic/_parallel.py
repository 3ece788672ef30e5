"""Intra-op threads for the eager mode's large elementwise ops (``torch.set_num_threads``).

numpy runs each ufunc on one thread; PyTorch splits a large elementwise op over its intra-op
threads. Here an op whose operands have :data:`PAR_MIN` elements or more runs its kernel over
contiguous chunks, one per thread, each chunk writing its slice of one preallocated output
(``out=`` views). numpy releases the GIL inside its loops, so the chunks really run at once.
Chunks start at multiples of :data:`ALIGN` elements and every chunk runs the serial kernel's
ufuncs in the same order, so the values are bit for bit the serial ones
(``tests/dynamic/test_parallel.py``).

The hot paths pay one size compare per op: ``_fast_path``'s forward methods (and its full
``sum``/``mean``) and ``lean_walk``'s rule calls and in-place fan-in sums come here when
``size >= LARGE[0]`` (``LARGE[0]`` is ``PAR_MIN`` with two or more threads, else larger than
any array). Here the thread count is settled: the user's (:func:`set_num_threads`; default
``STATICGRAPH_THREADS``, ``OMP_NUM_THREADS`` or the CPUs this process may use), cut to one
when the cores are busy with other work (the policy both modes share,
``staticgraph/cpu_threads.py``'s ``cores_free``: the last half second's other work). With one
thread the op's own serial kernel runs.

The kernels (``dynamic/_parallel_ops.py``) mirror the op records' serial ones; this module holds
the thread count, the load check, the BLAS threads of large products (:func:`matmul`) and the
queue pool (:func:`run`, :func:`dispatch`): Python threads that sleep on queues between ops.
Float ops run instead on the spinning native pool (``dynamic/_pool_native.py``) once its code
is mapped; :data:`_LOCK` serialises both pools' ops (one parallel op at a time).

The workers are started with ``_thread`` (not ``threading``), so ``cores_free`` counts them as
this process's own pool (as it counts OpenBLAS's workers), not as a neighbour's work. After
``os.fork`` the child forgets the parent's pool (its threads do not exist there) and starts a
new one on its first parallel op.
"""

from __future__ import annotations

import _thread
import os
import sys
import threading
import time
from collections.abc import Callable
from contextvars import copy_context
from queue import SimpleQueue
from typing import Any

import numpy as np

from staticgraph import cpu_threads
from staticgraph.ops import tiles

PAR_MIN = int(os.environ.get("DYNAMIC_PARALLEL_MIN", 1 << 18))
"""Elements from which an elementwise op runs over several threads (measured: docs/eager.md,
"Threads")."""
ALIGN = 4096
"""Chunks start at multiples of this many elements (whole SIMD vectors and cache lines)."""
MATMUL_MIN = 1 << 16
"""Elements of a product's left operand from which :func:`matmul` checks the BLAS threads."""
_NEVER = sys.maxsize
LARGE = [_NEVER, _NEVER]
"""The hot paths' one compare: elementwise ops of at least ``LARGE[0]`` elements come here,
products whose left operand has ``LARGE[1]`` (both never with one thread)."""
COUNTS = {"ops": 0, "chunks": 0}
"""Parallel ops run and the chunks they ran in (tests observe the thread count here)."""
_THREADS = [1]  # the user's count (:func:`set_num_threads`; the default below)
_ndarray = np.ndarray


# ---------------------------------------------------------------------------- thread count
def _default_threads() -> int:
    """``STATICGRAPH_THREADS`` (``sgbench --threads``), else ``OMP_NUM_THREADS`` (PyTorch's
    default), else the CPUs this process may use."""
    for var in ("STATICGRAPH_THREADS", "OMP_NUM_THREADS"):
        v = os.environ.get(var, "").strip()
        if v.isdigit() and int(v) >= 1:
            return int(v)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def get_num_threads() -> int:
    """``torch.get_num_threads()``: the threads a large elementwise op may use."""
    return _THREADS[0]


def set_num_threads(n: int) -> None:
    """``torch.set_num_threads(n)``: at most ``n`` threads per large elementwise op (fewer when
    the cores are busy); PyTorch's errors for a bad ``n``."""
    if type(n) is not int and not isinstance(n, np.integer):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _set_threads(int(n))
    _BLAS[0] = 0.0  # re-decided at the next large product
    if n == 1:  # PyTorch's products then run on one thread too
        _blas_policy()


def _set_threads(n: int) -> None:
    _THREADS[0] = n
    LARGE[:] = [PAR_MIN, MATMUL_MIN] if n > 1 else [_NEVER, _NEVER]


_set_threads(_default_threads())


def cores_free() -> int:
    """The shared policy's reading of the cores not busy with other work (cached
    ``REFRESH_S``)."""
    return cpu_threads.cores_free()


def threads_now() -> int:
    """The threads the next large op uses: the user's count, one when the cores are busy."""
    n = get_num_threads()
    return 1 if n < 2 else max(1, min(n, cores_free()))


# ---------------------------------------------------------------------------- BLAS
_BLAS = [0.0, 0]  # when the BLAS thread count is next re-decided, and the count decided


def _blas_policy() -> None:
    """The BLAS threads (process-wide) = :func:`threads_now`, decided at most once per
    ``REFRESH_S``:
    on busy cores OpenBLAS's second thread spins waiting for a descheduled partner (a
    256x784x512 product 4.5x slower, docs/compiler.md "Threads"). The decided count is put
    back at every large product when something else set another since (a compiled plan's
    policy picks one thread for its small products: the eager product after it ran on one
    thread until the next decision, up to ``REFRESH_S`` later)."""
    now = time.monotonic()
    if now >= _BLAS[0]:
        _BLAS[0] = now + cpu_threads.REFRESH_S
        # ``STATICGRAPH_BLAS_THREADS`` wins
        _BLAS[1] = cpu_threads.overrides().get("blas") or threads_now()
    if cpu_threads.CURRENT[0] != _BLAS[1]:
        cpu_threads.set_blas_threads(_BLAS[1])


def matmul(op: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``op.impl(a, b)`` for 2-D ``a`` of at least ``LARGE[1]`` elements: a product of at least
    the static policy's ``BLAS_THREAD_MIN`` multiply-adds first settles the BLAS threads."""
    if a.shape[0] * a.shape[1] * b.shape[1] >= cpu_threads.BLAS_THREAD_MIN:
        _blas_policy()
    return op.impl(a, b)


# ---------------------------------------------------------------------------- the pool
def _work(k: int, q: SimpleQueue, done: SimpleQueue) -> None:
    while True:
        job = q.get()
        if job is None:
            return
        try:
            done.put((k, job[0](*job[1]), None))
        except BaseException as e:  # handed to the caller, which raises it
            done.put((k, None, e))


class _Pool:
    """``workers`` threads, each waiting on its own queue; one queue for the results."""

    def __init__(self, workers: int) -> None:
        self.done: SimpleQueue = SimpleQueue()
        self.queues: list[SimpleQueue] = []
        for k in range(1, workers + 1):
            q: SimpleQueue = SimpleQueue()
            _thread.start_new_thread(_work, (k, q, self.done))
            self.queues.append(q)

    def close(self) -> None:
        for q in self.queues:
            q.put(None)


_POOL: list = [None]
_LOCK = threading.Lock()  # one parallel op at a time; another thread's op runs serially


def _forget_pool() -> None:
    """In a forked child: the parent's workers do not exist here."""
    global _LOCK
    _POOL[0] = None
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _flat(a: Any, n: int) -> Any:
    """A full-size operand as a flat view (``tiles._flat``), anything else as it is."""
    if type(a) is _ndarray and a.ndim:
        return tiles._flat(a, n)
    return a


def run(fn: Callable[..., None], t: int, out: np.ndarray, *ins: Any) -> None:
    """``fn(out, *ins)`` over ``t`` chunks of ``out`` and of the full-size ``ins`` (0-d arrays
    and numbers go to every chunk), the first in this thread. Every array in ``ins`` has
    ``out``'s shape (then it is C-contiguous or a broadcast scalar) or none."""
    n = out.size
    step = -(-n // t)
    step = -(-step // ALIGN) * ALIGN
    flat = [_flat(a, n) for a in (out, *ins)]
    cut = [type(f) is _ndarray and f.ndim == 1 for f in flat]
    jobs = [[f[lo:lo + step] if c else f for f, c in zip(flat, cut, strict=True)]
            for lo in range(0, n, step)]
    if len(jobs) < 2 or not dispatch(fn, jobs):
        fn(out, *ins)


def dispatch(fn: Callable[..., Any], jobs: list) -> list | None:
    """``[fn(*job) for job in jobs]``, the first in this thread, the others on the pool's
    workers (each in a copy of the caller's context: its ``np.errstate``); ``None`` (nothing
    run) while another thread's op holds the pool."""
    if not _LOCK.acquire(blocking=False):
        return None
    try:
        pool = _POOL[0]
        if pool is None or len(pool.queues) < len(jobs) - 1:
            if pool is not None:
                pool.close()
            pool = _POOL[0] = _Pool(len(jobs) - 1)
        for q, job in zip(pool.queues, jobs[1:], strict=False):
            q.put((copy_context().run, [fn, *job]))
        res: list = [None] * len(jobs)
        err = None
        try:
            res[0] = fn(*jobs[0])
        except BaseException as e:
            err = e
        for _ in range(1, len(jobs)):
            k, r, e = pool.done.get()
            res[k] = r
            if err is None and e is not None:
                err = e
        COUNTS["ops"] += 1
        COUNTS["chunks"] += len(jobs)
        if err is not None:
            raise err
        return res
    finally:
        _LOCK.release()


def fits(a: Any, shape: tuple, dt: np.dtype) -> bool:
    """``a`` can be cut into ``run``'s chunks: a Python number, a 0-d array of ``dt``, or an
    array of ``dt`` and ``shape``, C-contiguous or a broadcast scalar."""
    ta = type(a)
    if ta is float or ta is int:
        return True
    if ta is not _ndarray or a.dtype != dt:
        return False
    return not a.ndim or a.shape == shape and (a.flags.c_contiguous or not any(a.strides))

"""Intra-op threads for the eager mode's large elementwise ops (``torch.set_num_threads``).

numpy runs each ufunc on one thread; PyTorch splits a large elementwise op over its intra-op
threads. Here an op whose operands have :data:`PAR_MIN` elements or more runs its kernel over
contiguous chunks, one per thread, each chunk writing its slice of one preallocated output
(``out=`` views). numpy releases the GIL inside its loops, so the chunks really run at once.
Chunks start at multiples of :data:`ALIGN` elements and every chunk runs the serial kernel's
ufuncs in the same order, so the values are bit for bit the serial ones
(``tests/dynamic/test_parallel.py``).

The hot paths pay one size compare per op: ``_fast_path``'s forward methods and
``lean_walk``'s rule calls come here when ``size >= LARGE[0]`` (``LARGE[0]`` is ``PAR_MIN``
with two or more threads, else larger than any array). Here the thread count is settled:
the user's (:func:`set_num_threads`, default ``STATICGRAPH_THREADS`` or the CPUs this process
may use), cut to one when the cores are busy with other work (the static compiler's policy,
``staticgraph/compiler/threads.py``'s ``cores_free``, read at most once a second). With one
thread the op's own serial kernel runs.

The kernels mirror the op records' serial ones (``op.impl`` for the forward: any ufunc, the
tiled ``sigmoid`` and ``relu``; ``op.np_vjp``/``np_vjp_owned`` in ``staticgraph/ops/np_rules``
for the backward): :data:`_FORWARD` and :data:`_VJP`. Other ops, other layouts
(non-contiguous, broadcast operands of another shape) and other dtypes run serially.

The workers are started with ``_thread`` (not ``threading``), so ``cores_free`` counts them as
this process's own pool (as it counts OpenBLAS's workers), not as a neighbour's work. After
``os.fork`` the child forgets the parent's pool (its threads do not exist there) and starts a
new one on its first parallel op.
"""

from __future__ import annotations

import _thread
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Callable
from contextvars import copy_context
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import numpy as np

import staticgraph
from staticgraph.ops import REGISTRY, AVal, np_rules, tiles

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
_THREADS = [0]  # the user's count; 0: not set yet (the default on first read)
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


def _policy() -> Any:
    """``staticgraph/compiler/threads.py``: the compiler's module once something imported it
    (one BLAS state for both modes), else a copy loaded from its file (stdlib only; importing
    the compiler package costs ~0.1 s and 60 modules that the eager mode does not need)."""
    mod = sys.modules.get("staticgraph.compiler.threads")
    if mod is not None:
        return mod
    if not _POLICY:
        _POLICY.append(_load_policy())
    return _POLICY[0]


def _load_policy() -> Any:
    path = Path(staticgraph.__file__).parent / "compiler" / "threads.py"
    spec = importlib.util.spec_from_file_location("_dynamic_thread_policy", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    return mod


_POLICY: list = []


def cores_free() -> int:
    """The static mode's reading of the cores not busy with other work (cached 1 s)."""
    return _policy().cores_free()


def threads_now() -> int:
    """The threads the next large op uses: the user's count, one when the cores are busy."""
    n = get_num_threads()
    return 1 if n < 2 else max(1, min(n, cores_free()))


# ---------------------------------------------------------------------------- BLAS
_BLAS = [0.0]  # when the BLAS thread count is next re-decided


def _blas_policy() -> None:
    """The BLAS threads (process-wide) = :func:`threads_now`, decided at most once per second:
    on busy cores OpenBLAS's second thread spins waiting for a descheduled partner (a
    256x784x512 product 4.5x slower, docs/compiler.md "Threads")."""
    now = time.monotonic()
    if now < _BLAS[0]:
        return
    pol = _policy()
    _BLAS[0] = now + pol.REFRESH_S
    n = threads_now()
    if pol.CURRENT[0] != n:
        pol.set_blas_threads(n)


def matmul(op: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``op.impl(a, b)`` for 2-D ``a`` of at least ``LARGE[1]`` elements: a product of at least
    the static policy's ``BLAS_THREAD_MIN`` multiply-adds first settles the BLAS threads."""
    if a.shape[0] * a.shape[1] * b.shape[1] >= _policy().BLAS_THREAD_MIN:
        _blas_policy()
    return op.impl(a, b)


# ---------------------------------------------------------------------------- the pool
def _work(q: SimpleQueue, done: SimpleQueue) -> None:
    while True:
        job = q.get()
        if job is None:
            return
        try:
            job[0](*job[1])
            done.put(None)
        except BaseException as e:  # handed to the caller, which raises it
            done.put(e)


class _Pool:
    """``workers`` threads, each waiting on its own queue; one queue for the results."""

    def __init__(self, workers: int) -> None:
        self.done: SimpleQueue = SimpleQueue()
        self.queues: list[SimpleQueue] = []
        for _ in range(workers):
            q: SimpleQueue = SimpleQueue()
            _thread.start_new_thread(_work, (q, self.done))
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
    t = -(-n // step)
    if t < 2 or not _LOCK.acquire(blocking=False):
        fn(out, *ins)
        return
    try:
        pool = _POOL[0]
        if pool is None or len(pool.queues) < t - 1:
            if pool is not None:
                pool.close()
            pool = _POOL[0] = _Pool(t - 1)
        flat = [_flat(a, n) for a in (out, *ins)]
        cut = [type(f) is _ndarray and f.ndim == 1 for f in flat]
        for k in range(1, t):  # in a copy of the caller's context: its ``np.errstate``
            lo = k * step
            pool.queues[k - 1].put((copy_context().run, [fn, *[
                f[lo:lo + step] if c else f for f, c in zip(flat, cut, strict=True)]]))
        err = None
        try:
            fn(*[f[:step] if c else f for f, c in zip(flat, cut, strict=True)])
        except BaseException as e:
            err = e
        for _ in range(1, t):
            e = pool.done.get()
            if err is None and e is not None:
                err = e
        COUNTS["ops"] += 1
        COUNTS["chunks"] += t
        if err is not None:
            raise err
    finally:
        _LOCK.release()


def _fits(a: Any, shape: tuple, dt: np.dtype) -> bool:
    """``a`` can be cut into ``run``'s chunks: a Python number, a 0-d array of ``dt``, or an
    array of ``dt`` and ``shape``, C-contiguous or a broadcast scalar."""
    ta = type(a)
    if ta is float or ta is int:
        return True
    if ta is not _ndarray or a.dtype != dt:
        return False
    return not a.ndim or a.shape == shape and (a.flags.c_contiguous or not any(a.strides))


# ---------------------------------------------------------------------------- forward
def _ufunc(f: np.ufunc) -> Callable[..., None]:
    def kernel(o: np.ndarray, *ins: Any) -> None:
        f(*ins, out=o)
    return kernel


def _sigmoid(o: np.ndarray, x: np.ndarray) -> None:
    tiles.sigmoid(x, o)


def _relu(o: np.ndarray, x: np.ndarray) -> None:
    np.maximum(x.dtype.type(0), x, out=o)


_FORWARD: dict = {}  # op -> its chunk kernel (None: serial only)


def _forward_kernel(op: Any) -> Callable[..., None] | None:
    k = _FORWARD.get(op, False)
    if k is False:
        if isinstance(op.impl, np.ufunc):
            k = _ufunc(op.impl)
        else:
            k = {"sigmoid": _sigmoid, "relu": _relu}.get(op.name)
        _FORWARD[op] = k
    return k


def forward(op: Any, *ins: Any) -> Any:
    """``op.impl(*ins)`` for a float ``ins[0]`` of at least ``LARGE[0]`` elements: over
    threads where ``op`` has a chunk kernel and the operands fit it, else serially."""
    a = ins[0]
    k = _forward_kernel(op)
    if k is not None and type(a) is _ndarray and a.flags.c_contiguous:
        shape, dt = a.shape, a.dtype
        if all(_fits(b, shape, dt) for b in ins[1:]) and (t := threads_now()) > 1:
            out = np.empty(shape, dt)
            run(k, t, out, *ins)
            return out
    return op.impl(*ins)


# ---------------------------------------------------------------------------- backward
def add_into(b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``np.add(b, r, out=b)`` (two cotangents meeting at a node, ``b`` owned, both of one
    shape and dtype) over threads where both fit the chunks."""
    if b.flags.c_contiguous and _fits(r, b.shape, b.dtype) and (t := threads_now()) > 1:
        run(_add_chunk, t, b, b, r)
        return b
    return np.add(b, r, out=b)


def _add_chunk(o, a, b): np.add(a, b, out=o)
# each: (g, out, needs, args, owned, t) -> the rule's cotangents; the rule's ufuncs per chunk
def _fresh(g: np.ndarray) -> np.ndarray:
    return np.empty(g.shape, g.dtype)


def _into_g(g: np.ndarray, owned: bool) -> np.ndarray:
    """Where an owned rule writes its result: ``g`` itself (C-contiguous: owned arrays are
    fresh results) or, not owned, a fresh array."""
    return g if owned and g.flags.c_contiguous else _fresh(g)


def _tanh_chunk(o, g, y): np_rules.tanh_vjp(g, y, o)
def _sigmoid_chunk(o, g, y): np_rules.sigmoid_vjp(g, y, o)
def _mul_chunk(o, a, b): np.multiply(a, b, out=o)
def _neg_chunk(o, a): np.negative(a, out=o)
def _div_chunk(o, a, b): np.true_divide(a, b, out=o)


def _div_y_chunk(o, g, x, y):  # ``-(g * ((x / y) / y))``, as ``np_rules.div``
    t = np.true_divide(x, y)
    np.true_divide(t, y, out=t)
    np.multiply(g, t, out=t)
    np.negative(t, out=o)


def _relu_chunk(o, g, y):  # ``np_rules.relu``'s four integer passes, into ``o``
    ints = np_rules._SAME_WIDTH_INT[g.dtype]
    m = np.bitwise_and(y.view(ints), np_rules._NO_SIGN[ints], out=o.view(ints))
    np.negative(m, out=m)
    np.right_shift(m, np_rules._SIGN_SHIFT[ints], out=m)
    np.bitwise_and(g.view(ints), m, out=m)


def _tanh(g, out, needs, args, owned, t):
    o = _into_g(g, owned)
    run(_tanh_chunk, t, o, g, out)
    return (o,)


def _sigmoid_v(g, out, needs, args, owned, t):
    o = _into_g(g, owned)
    run(_sigmoid_chunk, t, o, g, out)
    return (o,)


def _exp(g, out, needs, args, owned, t):
    o = _into_g(g, owned)
    run(_mul_chunk, t, o, g, out)
    return (o,)


def _neg(g, out, needs, args, owned, t):
    o = _into_g(g, owned)
    run(_neg_chunk, t, o, g)
    return (o,)


def _sub(g, out, needs, args, owned, t):
    if not needs[1]:
        return (g if needs[0] else None), None
    o = _into_g(g, owned and not needs[0])
    run(_neg_chunk, t, o, g)
    return (g if needs[0] else None), o


def _mul(g, out, needs, args, owned, t):
    x, y = args
    gy = None
    if needs[1]:  # before ``g`` may be overwritten
        gy = _fresh(g)
        run(_mul_chunk, t, gy, g, x)
    if not needs[0]:
        return None, gy
    gx = _into_g(g, owned)
    run(_mul_chunk, t, gx, g, y)
    return gx, gy


def _div(g, out, needs, args, owned, t):
    x, y = args
    gy = None
    if needs[1]:
        gy = _fresh(g)
        run(_div_y_chunk, t, gy, g, x, y)
    if not needs[0]:
        return None, gy
    gx = _into_g(g, owned)
    run(_div_chunk, t, gx, g, y)
    return gx, gy


def _relu_v(g, out, needs, args, owned, t):
    if g.dtype not in np_rules._SAME_WIDTH_INT:
        return np_rules.relu(g, out, needs, *args)
    o = _fresh(g)
    run(_relu_chunk, t, o, g, out)
    return (o,)


_VJP: dict = {}  # rule -> (kernel, owned)


def _table() -> dict:
    r = np_rules
    pairs = {"tanh": (_tanh, r.tanh, r.tanh_owned),
             "sigmoid": (_sigmoid_v, r.sigmoid, r.sigmoid_owned),
             "exp": (_exp, r.exp, r.exp_owned), "neg": (_neg, r.neg, r.neg_owned),
             "sub": (_sub, r.sub, r.sub_owned), "mul": (_mul, r.mul, r.mul_owned),
             "div": (_div, r.div, r.div_owned), "relu": (_relu_v, r.relu, None)}
    table = {}
    for name, (k, plain, owned) in pairs.items():
        op = REGISTRY[name]
        if op.np_vjp is plain:  # the record still uses the rule mirrored here
            table[plain] = (k, False)
            if owned is not None and op.np_vjp_owned is owned:
                table[owned] = (k, True)
    return table


def vjp(rule: Callable[..., Any], g: np.ndarray, out: Any, needs: tuple, args: Any) -> Any:
    """``rule(g, out, needs, *args)`` (an op record's ``np_vjp`` or ``np_vjp_owned``, for a
    node without params) for ``g`` of at least ``LARGE[0]`` elements: over threads where the
    rule has a chunk kernel and the operands fit it, else the rule itself."""
    if not _VJP:
        _VJP.update(_table())
    hit = _VJP.get(rule)
    if hit is not None and type(g) is _ndarray and g.dtype.kind == "f":
        shape, dt = g.shape, g.dtype
        if _fits(g, shape, dt) and g.ndim and (out is None or _fits(out, shape, dt)) \
                and all(type(a) is AVal or _fits(a, shape, dt) for a in args) \
                and (t := threads_now()) > 1:
            return hit[0](g, out, needs, args, hit[1], t)
    return rule(g, out, needs, *args)


"""The programs the spinning pool runs: each large op or VJP rule as a list of numpy inner loops.

A program is what the serial kernel does, ufunc by ufunc, written as steps for the native
executor (:mod:`dynamic._pool_ir`): each step an inner loop of numpy (:func:`._pool_loops.loop`)
or a native loop of :mod:`dynamic._pool_ir` (the end of sigmoid), with operands that are the
call's arrays (operand numbers), Python numbers (written into the program's operand slots per
call), constants, or tile-sized scratch buffers. Programs of several passes run tile by tile
(``tiles.TILE_BYTES`` per operand), as ``staticgraph/ops/tiles.py`` does, so the intermediates
stay in cache. Every element goes through the same loops in the same order as serially: the
same bits
(``tests/dynamic/test_pool_native.py``).
"""

from __future__ import annotations

import atexit
import os
from typing import Any

import numpy as np

from staticgraph.ops import elementwise, np_rules, tiles

from . import _parallel
from . import _pool_ir as ir
from . import _pool_native as pn
from ._pool_loops import loop

_ndarray = np.ndarray
_INTS = np_rules._SAME_WIDTH_INT


class Program:
    """Steps ``(fn, data, name, args)``; an arg is an operand number, ``("t", byte offset,
    itemsize)`` (scratch), ``("c", value, dtype)`` (a constant) or ``("acc",)`` (the chunk's
    accumulator slot). ``tile``: elements per tile (0: the whole chunk at once).

    Compiled once into the job block's step words (:attr:`words`, constants in the program's
    own buffer); a call patches only its operands: :attr:`at` (the words of each operand
    reference: base, step, mode) and :attr:`refs` (its operand number)."""

    def __init__(self, steps: list, tile: int, scratch: int) -> None:
        self.steps, self.tile, self.scratch = steps, tile, scratch
        self.names = [s[2] for s in steps]
        self.acc = False
        nconst = sum(1 for s in steps for a in s[3] if type(a) is tuple and a[0] == "c")
        nops = 1 + max((a for s in steps for a in s[3] if type(a) is int), default=0)
        self.consts = np.zeros(nconst + nops, np.int64)  # constants, then one slot an operand
        self.slot = self.consts.ctypes.data + 8 * nconst  # operand k's number: slot + 8 k
        self.ops_as = {np.dtype(d): self.consts[nconst:].view(d) for d in (np.float32,
                                                                         np.float64)}
        words: list = []
        at: list = []
        self.refs: list = []
        k = 0
        for j, (fn, data, _name, args) in enumerate(steps):
            base, step, mode = [0] * 4, [0] * 4, [0] * 4
            for i, a in enumerate(args):
                if type(a) is int:
                    w = ir.J_STEPS + 16 * j + 4 + i
                    at += [w, w + 4, w + 8]
                    self.refs.append(a)
                elif a[0] == "c":
                    self.consts[k:k + 1].view(np.uint8)[:] = 0
                    self.consts[k:k + 1].view(np.dtype(a[2]))[0] = a[1]
                    base[i] = self.consts.ctypes.data + 8 * k
                    k += 1
                elif a[0] == "t":
                    base[i], step[i], mode[i] = a[1], a[2], ir.MODE_SCRATCH
                else:  # the chunk's accumulator
                    base[i], mode[i] = 8 * ir.J_ACC, ir.MODE_CHUNK_SLOT
                    self.acc = True
            words += [fn, data, len(args), 0, *base, *step, *mode]
        self.words = np.array(words, np.int64)
        self.at = np.array(at, np.intp)
        self.nsteps = len(steps)


def _step(f: np.ufunc, dtypes: tuple, *args: Any) -> tuple | None:
    lp = loop(f, tuple(np.dtype(d) for d in dtypes))
    return None if lp is None else (lp[0], lp[1], f.__name__, args)


def _program(steps: list, tile: int = 0, scratch: int = 0) -> Program | None:
    return None if any(s is None for s in steps) else Program(steps, tile, scratch)


_CACHE: dict = {}


def cached(key: tuple, build: Any) -> Program | None:
    """The program for ``key``, built once (``None``: no program, the caller runs serially)."""
    p = _CACHE.get(key, False)
    if p is False:
        p = _CACHE[key] = build()
    return p


# ------------------------------------------------------------------------------ the programs
def ufunc(f: np.ufunc, dt: np.dtype) -> Program | None:
    """``f(*operands[1:], out=operands[0])``, every operand of dtype ``dt``."""
    return cached(("ufunc", f, dt), lambda: _program(
        [_step(f, (dt,) * f.nargs, *range(1, f.nin + 1), 0)]))


def _tile(dt: np.dtype) -> int:
    return tiles.TILE_BYTES // dt.itemsize


def sigmoid(dt: np.dtype) -> Program | None:
    """``tiles.sigmoid`` (operands ``out, x``): ``-|x|`` by the sign bit and numpy's exp
    into ``out``, then its last four passes as one native loop (``sg_sigmoid_end``: ``x >= 0``
    from the bits, ``1 + e``, the select the max with 0/1 amounts to, the quotient; reported
    as ``divide``, the only one of those passes that can raise a flag)."""
    def build() -> Program | None:
        if dt not in _INTS:
            return None
        ints, sign = tiles._SIGN_BIT[dt]
        steps = [_step(np.bitwise_or, (ints,) * 3, 1, ("c", sign, ints), 0),
                 _step(np.exp, (dt, dt), 0, 0),
                 (*pn.sigmoid_loop(dt), "divide", (1, 0, 0))]
        return _program(steps, _tile(dt))
    return cached(("sigmoid", dt), build)


def _factor_vjp(kind: str, dt: np.dtype) -> Program | None:
    """``o = g * factor(y)`` (operands ``o, g, y``), the factor in scratch: tanh
    ``1 - y * y``, sigmoid ``y * (1 - y)`` (``tiles._tanh_factor``/``_sigmoid_factor``)."""
    def build() -> Program | None:
        t = _tile(dt)
        s = ("t", 0, dt.itemsize)
        one = ("c", 1, dt)
        if kind == "tanh":
            f = [_step(np.multiply, (dt,) * 3, 2, 2, s), _step(np.subtract, (dt,) * 3, one, s, s)]
        else:
            f = [_step(np.subtract, (dt,) * 3, one, 2, s), _step(np.multiply, (dt,) * 3, 2, s, s)]
        return _program(f + [_step(np.multiply, (dt,) * 3, 1, s, 0)], t, t * dt.itemsize + 64)
    return cached((kind + "_vjp", dt), build)


def tanh_vjp(dt: np.dtype) -> Program | None:
    return _factor_vjp("tanh", dt)


def sigmoid_vjp(dt: np.dtype) -> Program | None:
    return _factor_vjp("sigmoid", dt)


def div_y(dt: np.dtype) -> Program | None:
    """``o = -(g * ((x / y) / y))`` (operands ``o, g, x, y``), as ``np_rules.div``."""
    def build() -> Program | None:
        t = _tile(dt)
        s = ("t", 0, dt.itemsize)
        d3 = (dt,) * 3
        return _program([_step(np.true_divide, d3, 2, 3, s), _step(np.true_divide, d3, s, 3, s),
                         _step(np.multiply, d3, 1, s, s), _step(np.negative, (dt, dt), s, 0)],
                        t, t * dt.itemsize + 64)
    return cached(("div_y", dt), build)


def relu_vjp(dt: np.dtype) -> Program | None:
    """``np_rules.relu``'s four integer passes (operands ``o, g, y`` viewed as integers)."""
    def build() -> Program | None:
        if dt not in _INTS:
            return None
        i = _INTS[dt]
        i3 = (i,) * 3
        steps = [_step(np.bitwise_and, i3, 2, ("c", np_rules._NO_SIGN[i], i), 0),
                 _step(np.negative, (i, i), 0, 0),
                 _step(np.right_shift, i3, 0, ("c", np_rules._SIGN_SHIFT[i], i), 0),
                 _step(np.bitwise_and, i3, 1, 0, 0)]
        return _program(steps)
    return cached(("relu_vjp", dt), build)


def reduce_sum(dt: np.dtype) -> Program | None:
    """``np.add.reduce`` of each chunk into its accumulator slot (numpy's identity 0, then
    ``acc += pairwise sum``): the native pairwise sum (``sg_sum``, numpy's additions in
    numpy's order, vectorized), reported as numpy names a reduction's errors (``reduce``)."""
    def build() -> Program | None:
        if dt not in _INTS:
            return None
        return _program([(pn.sum_loop(dt), 0, "reduce", (("acc",), 0, ("acc",)))])
    return cached(("sum", dt), build)


def forward_program(op: Any, dt: np.dtype) -> Program | None:
    """The program of a forward op record (``op.impl``: a ufunc, the tiled sigmoid)."""
    impl = op.impl
    if isinstance(impl, np.ufunc):
        return ufunc(impl, dt) if impl.nout == 1 else None
    if impl is elementwise._sigmoid_impl:
        return sigmoid(dt)
    if impl is elementwise._relu_impl:
        return cached(("relu", dt), lambda: _program(
            [_step(np.maximum, (dt,) * 3, ("c", 0, dt), 1, 0)]))
    return None


# ------------------------------------------------------------------------------ running one
_MAXF = {np.dtype(np.float32): float(np.finfo(np.float32).max),
         np.dtype(np.float64): float(np.finfo(np.float64).max)}


def _scalar_ok(v: Any, dt: np.dtype) -> bool:
    """A Python number numpy casts to ``dt`` without a warning (no overflow)."""
    return v != v or abs(v) <= _MAXF.get(dt, 0.0) or abs(v) == float("inf")


_BOUNDS: dict = {}
CHUNKS_PER_THREAD = 1
"""Chunks a thread (whoever is free claims the next one; 2 and 4 measured no faster on
``chain``: ``benchmarks/eager_threads.py``)."""


def _bounds(n: int, t: int) -> list:
    """The job block's chunk words for ``n`` elements on ``t`` threads: :data:`CHUNKS_PER_THREAD`
    chunks a thread of whole :data:`ALIGN` blocks, the last one short."""
    b = _BOUNDS.get((n, t))
    if b is None:
        size = -(-n // (CHUNKS_PER_THREAD * t))
        size = -(-size // _parallel.ALIGN) * _parallel.ALIGN
        b = [x for lo in range(0, n, size) for x in (lo, min(n, lo + size))]
        if len(_BOUNDS) > 256:
            _BOUNDS.clear()
        _BOUNDS[(n, t)] = b
    return b


def run(prog: Program, t: int, n: int, dt: np.dtype, ops: list, bounds: list | None = None
        ) -> bool:
    """Run ``prog`` over ``n`` elements on ``t`` threads, ``ops`` its operands (arrays of
    ``n`` elements, C-contiguous or broadcast scalars, 0-d arrays, Python numbers of ``dt``);
    ``bounds``: explicit chunk words ``[lo0, hi0, lo1, hi1...]``. False (nothing run) when the
    pool is busy with another thread's op or an operand does not fit; errors as numpy reports
    them."""
    lock = _parallel._LOCK
    if not lock.acquire(blocking=False):
        return False
    try:  # (the program's operand slots too belong to the thread holding the lock)
        vals: list = []
        for k in prog.refs:
            a = ops[k]
            if type(a) is _ndarray:
                vals += (id(a), a.itemsize if a.ndim and a.flags.c_contiguous else 0,
                         ir.MODE_ARRAY)
            else:
                if not _scalar_ok(a, dt):
                    return False
                prog.ops_as[dt][k * (8 // dt.itemsize)] = a
                vals += (prog.slot + 8 * k, 0, ir.MODE_RAW)
        t = min(t, ir.MAX_CHUNKS)  # the job block's room
        pool = _pool(t - 1)
        J = pool.J
        if bounds is None:
            bounds = _bounds(n, t)
        c = len(bounds) // 2
        if prog.scratch:
            pool.scratch_for(prog.scratch, c)
        J[ir.J_STEPS:ir.J_STEPS + prog.words.size] = prog.words
        J[prog.at] = vals
        J[ir.J_BOUNDS:ir.J_BOUNDS + 2 * c] = bounds
        J[ir.J_NSTEPS] = prog.nsteps
        J[ir.J_NCHUNKS] = c
        J[ir.J_NWORKERS] = min(pool.n, c - 1, t - 1)
        J[ir.J_TILE] = prog.tile or n
        if prog.acc:
            J[ir.J_ACC:ir.J_ACC + c] = 0
        flags = pool.go(c)
        _parallel.COUNTS["ops"] += 1
        _parallel.COUNTS["chunks"] += c
        if flags:
            pn.report_flags(pool, prog.names, c)
        return True
    finally:
        lock.release()


def accumulators(t: int, dt: np.dtype) -> np.ndarray:
    """The chunks' accumulator slots of the last job, as ``dt`` values."""
    acc = _NPOOL[0].J[ir.J_ACC:ir.J_ACC + t].copy().view(dt)
    return acc if dt.itemsize == 8 else acc[::2]  # a float32 in each slot's low half


_NPOOL: list = [None]


def _pool(workers: int) -> pn.Pool:
    p = _NPOOL[0]
    if p is None or p.n < workers:
        if p is not None:
            p.close()
        p = _NPOOL[0] = pn.Pool(max(workers, 1))
    return p


def _forget() -> None:
    _NPOOL[0] = None


def _close_at_exit() -> None:
    """Workers leave their native loop before the interpreter tears down (those asleep stay
    asleep on their queue and touch nothing)."""
    p = _NPOOL[0]
    if p is not None:
        p.close()


atexit.register(_close_at_exit)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)

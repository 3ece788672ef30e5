"""The kernels :mod:`dynamic._parallel` runs in chunks: large elementwise forward ops, full sums
and means, and the numpy-level VJP rules, each the serial kernel's ufuncs per chunk.

The kernels mirror the op records' serial ones: ``op.impl`` for the forward (any ufunc, the
tiled ``sigmoid``, ``relu``), ``op.np_vjp``/``np_vjp_owned`` (``staticgraph/ops/np_rules``) for
the backward (:func:`vjp`, a table keyed by the rule: a record whose rule changes drops out of
it and runs serially), and numpy's pairwise summation for ``sum``/``mean`` (:func:`reduce_all`).
An owned cotangent (the engine holds the only reference) takes the result in place, as the
``*_owned`` rules do. Other ops, other layouts (non-contiguous, operands broadcast from another
shape) and other dtypes run the serial kernel. ``tests/dynamic/test_parallel.py`` checks the
bits against the serial path, op by op, on both pools.

Float32/float64 ops run on the spinning native pool (:mod:`dynamic._pool_native`, the same
numpy loops as programs: :mod:`dynamic._pool_programs`) once it is loaded (:func:`_go`), on the
queue pool of :mod:`dynamic._parallel` before that and for what has no program.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from staticgraph.ops import REGISTRY, AVal, elementwise, np_rules, tiles

from . import _pool_native
from . import _pool_programs as progs
from ._parallel import dispatch, fits, run, threads_now

_ndarray = np.ndarray
_NATIVE_DT = frozenset({np.dtype(np.float32), np.dtype(np.float64)})
_ready = _pool_native.ready


def _go(prog: Any, chunk: Callable[..., None], t: int, o: np.ndarray, *ins: Any) -> None:
    """``chunk(o, *ins)`` over ``t`` chunks: on the spinning pool when it is loaded and
    ``prog(dtype)`` is a program (the same loops), else on the queue pool."""
    dt = o.dtype
    if dt in _NATIVE_DT and _ready():
        p = prog(dt)
        if p is not None and progs.run(p, t, o.size, dt, [o, *ins]):
            return
    run(chunk, t, o, *ins)


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
            # the records' own kernels mirrored here (a record with another kernel: serial)
            k = {elementwise._sigmoid_impl: _sigmoid, elementwise._relu_impl: _relu}.get(op.impl)
        _FORWARD[op] = k
    return k


def forward(op: Any, *ins: Any) -> Any:
    """``op.impl(*ins)`` for a float ``ins[0]`` of at least ``LARGE[0]`` elements: over
    threads where ``op`` has a chunk kernel and the operands fit it, else serially."""
    a = ins[0]
    k = _forward_kernel(op)
    if k is not None and type(a) is _ndarray and a.flags.c_contiguous:
        shape, dt = a.shape, a.dtype
        if all(fits(b, shape, dt) for b in ins[1:]) and (t := threads_now()) > 1:
            out = np.empty(shape, dt)
            if dt in _NATIVE_DT and _ready():
                p = progs.forward_program(op, dt)
                if p is not None and progs.run(p, t, out.size, dt, [out, *ins]):
                    return out
            run(k, t, out, *ins)
            return out
    return op.impl(*ins)


# ---------------------------------------------------------------------------- reductions
def reduce_all(op: Any, a: np.ndarray, dims: tuple) -> Any:
    """``op.impl(a, dims, False, True)`` (``sum`` or ``mean`` over every dim) for a float
    ``a`` of at least ``LARGE[0]`` elements: two halves summed at once and added. The halves
    are cut where numpy's pairwise summation cuts the whole (``n // 2`` less its remainder
    mod 8), so the sum is bit for bit numpy's and the same at every thread count."""
    name = op.name
    if (name == "sum" or name == "mean" and a.size < 1 << 24) and a.itemsize >= 4 \
            and a.flags.c_contiguous and threads_now() > 1:  # (float16 sums in float32)
        f = a.reshape(-1)
        h = f.size // 2
        h -= h % 8
        parts = None
        dt = a.dtype
        if dt in _NATIVE_DT and _ready() and progs.run(progs.reduce_sum(dt), 2, f.size, dt,
                                                       [f], [0, h, h, f.size]):
            parts = progs.accumulators(2, dt)
        if parts is None:
            parts = dispatch(_sum_chunk, [[f[:h]], [f[h:]]])
        if parts is not None:
            s = parts[0] + parts[1]  # numpy's last pairwise step, in the dtype
            return s if name == "sum" else s / a.dtype.type(a.size)  # ``_mean_impl``'s
    return op.impl(a, dims, False, True)


def _sum_chunk(a): return np.add.reduce(a)


# ---------------------------------------------------------------------------- backward
def add_into(b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``np.add(b, r, out=b)`` (two cotangents meeting at a node, ``b`` owned, both of one
    shape and dtype) over threads where both fit the chunks."""
    if b.flags.c_contiguous and fits(r, b.shape, b.dtype) and (t := threads_now()) > 1:
        _go(_add_prog, _add_chunk, t, b, b, r)
        return b
    return np.add(b, r, out=b)


def _add_chunk(o, a, b): np.add(a, b, out=o)
def _add_prog(dt): return progs.ufunc(np.add, dt)
def _mul_prog(dt): return progs.ufunc(np.multiply, dt)
def _neg_prog(dt): return progs.ufunc(np.negative, dt)
def _div_prog(dt): return progs.ufunc(np.true_divide, dt)
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


def _of_output(chunk: Callable[..., None], prog: Callable[..., Any]) -> Callable[..., tuple]:
    """The chunked rule of a one-input op whose cotangent is ``chunk(o, g, out)``, a function
    of the cotangent and the op's own output (tanh, sigmoid, exp)."""

    def rule(g, out, needs, args, owned, t):
        o = _into_g(g, owned)
        _go(prog, chunk, t, o, g, out)
        return (o,)

    return rule


_tanh = _of_output(_tanh_chunk, progs.tanh_vjp)
_sigmoid_v = _of_output(_sigmoid_chunk, progs.sigmoid_vjp)
_exp = _of_output(_mul_chunk, _mul_prog)  # exp's cotangent: g * exp(x), the output


def _neg(g, out, needs, args, owned, t):
    o = _into_g(g, owned)
    _go(_neg_prog, _neg_chunk, t, o, g)
    return (o,)


def _sub(g, out, needs, args, owned, t):
    if not needs[1]:
        return (g if needs[0] else None), None
    o = _into_g(g, owned and not needs[0])
    _go(_neg_prog, _neg_chunk, t, o, g)
    return (g if needs[0] else None), o


def _mul(g, out, needs, args, owned, t):
    x, y = args
    gy = None
    if needs[1]:  # before ``g`` may be overwritten
        gy = _fresh(g)
        _go(_mul_prog, _mul_chunk, t, gy, g, x)
    if not needs[0]:
        return None, gy
    gx = _into_g(g, owned)
    _go(_mul_prog, _mul_chunk, t, gx, g, y)
    return gx, gy


def _div(g, out, needs, args, owned, t):
    x, y = args
    gy = None
    if needs[1]:
        gy = _fresh(g)
        _go(progs.div_y, _div_y_chunk, t, gy, g, x, y)
    if not needs[0]:
        return None, gy
    gx = _into_g(g, owned)
    _go(_div_prog, _div_chunk, t, gx, g, y)
    return gx, gy


def _relu_v(g, out, needs, args, owned, t):
    if g.dtype not in np_rules._SAME_WIDTH_INT:
        return np_rules.relu(g, out, needs, *args)
    o = _fresh(g)
    _go(progs.relu_vjp, _relu_chunk, t, o, g, out)
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
        if fits(g, shape, dt) and g.ndim and (out is None or fits(out, shape, dt)) \
                and all(type(a) is AVal or fits(a, shape, dt) for a in args) \
                and (t := threads_now()) > 1:
            return hit[0](g, out, needs, args, hit[1], t)
    return rule(g, out, needs, *args)


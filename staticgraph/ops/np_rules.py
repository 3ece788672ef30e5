"""The elementwise ops' gradient rules on plain ndarrays: ``Op.np_vjp`` and ``Op.np_vjp_owned``.

``np_vjp`` is the eager engine's backward without ``create_graph``: op for op what the record's
``vjp`` computes (so both give the same bits), told which inputs need a cotangent. The
``*_owned`` variants are the same rules for a cotangent ``g`` the engine owns outright: they
write one result into ``g`` instead of a fresh array. On large arrays a pass that writes a fresh
array streams three arrays through the caches, one that overwrites its input two (1M float32:
``g * y`` 0.43 ms fresh, 0.31 ms into ``g``). A rule computes every cotangent that reads ``g``
before it overwrites ``g``, and only where the result has ``g``'s shape and dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import tiles

_ndarray = np.ndarray


def _array_out() -> Any:
    """``...`` where numpy takes ``out=...`` (NumPy >= 2.3: a ufunc returns a 0-d array, not a
    numpy scalar, for 0-d operands; the same bits, no ``np.asarray`` afterwards), else
    ``None`` (``out=None``: numpy's default)."""
    try:
        return ... if type(np.negative(np.zeros(()), out=...)) is _ndarray else None
    except TypeError:
        return None


ARRAY_OUT = _array_out()


def _fits(g: np.ndarray, y: Any) -> bool:
    """``g op y`` has ``g``'s shape and dtype (``y``: a same-dtype array that broadcasts into
    ``g`` without growing it, or a Python number, weak under NEP 50)."""
    ty = type(y)
    if ty is float or ty is int:
        return True
    return ty is _ndarray and y.dtype == g.dtype and (y.shape == g.shape or not y.ndim)


# ----------------------------------------------------------------------- binary arithmetic
def add(g, out, needs, x, y):
    return (g if needs[0] else None), (g if needs[1] else None)


def sub(g, out, needs, x, y):
    return (g if needs[0] else None), (np.negative(g) if needs[1] else None)


def sub_owned(g, out, needs, x, y):
    if needs[1] and not needs[0]:
        return None, np.negative(g, out=g)
    return sub(g, out, needs, x, y)


def mul(g, out, needs, x, y):
    return ((np.multiply(g, y, out=ARRAY_OUT) if needs[0] else None),
            (np.multiply(g, x, out=ARRAY_OUT) if needs[1] else None))


def mul_owned(g, out, needs, x, y):
    gy = np.multiply(g, x) if needs[1] else None
    if not needs[0]:
        return None, gy
    return (np.multiply(g, y, out=g) if _fits(g, y) else np.multiply(g, y)), gy


def div(g, out, needs, x, y):
    gx = np.true_divide(g, y) if needs[0] else None
    gy = np.negative(np.multiply(g, np.true_divide(np.true_divide(x, y), y))) if needs[1] else None
    return gx, gy


def div_owned(g, out, needs, x, y):
    if not needs[0] or not _fits(g, y):
        return div(g, out, needs, x, y)
    gy = np.negative(np.multiply(g, np.true_divide(np.true_divide(x, y), y))) if needs[1] else None
    return np.true_divide(g, y, out=g), gy


# ------------------------------------------------------------------------------- unary
def neg(g, out, needs, x):
    return (np.negative(g),)


def neg_owned(g, out, needs, x):
    return (np.negative(g, out=g),)


def exp(g, out, needs, x):
    return (np.multiply(g, out),)


def exp_owned(g, out, needs, x):
    return (np.multiply(g, out, out=g) if _fits(g, out) else np.multiply(g, out),)


def relu(g, out, needs, x):
    """``where(out <= 0, 0, g)`` in four integer passes over one buffer: the bits of ``g`` are
    kept where ``out <= 0`` fails (NaN included) and cleared (+0.0) elsewhere, bit for bit.
    ``out = relu(x)`` is never below 0, so ``out <= 0`` means ``out`` is +-0: its bits without
    the sign are 0; ``(-m) >> (width - 1)`` turns the others (``m > 0``) into all ones."""
    ints = _SAME_WIDTH_INT.get(g.dtype)
    if ints is None or out.dtype != g.dtype or out.shape != g.shape:
        return (np.where(out <= 0, g.dtype.type(0), g),)
    m = np.bitwise_and(out.view(ints), _NO_SIGN[ints], out=np.empty(out.shape, ints))
    np.negative(m, out=m)  # ``out=``: a 0-d operand would make the first result a scalar
    np.right_shift(m, _SIGN_SHIFT[ints], out=m)
    return (np.bitwise_and(g.view(ints), m, out=m).view(g.dtype),)


_SAME_WIDTH_INT = {np.dtype(np.float32): np.dtype(np.int32),
                   np.dtype(np.float64): np.dtype(np.int64)}
_NO_SIGN = {i: np.iinfo(i).max for i in _SAME_WIDTH_INT.values()}
_SIGN_SHIFT = {i: 8 * i.itemsize - 1 for i in _SAME_WIDTH_INT.values()}


def tanh_vjp(g, y, into=None):
    """``g * (1 - y * y)`` (``y = tanh(x)``), into ``into`` if given (``g`` itself, owned): tile
    by tile on large arrays where ``g`` has ``y``'s shape and dtype."""
    if y.ndim == 0:
        return np.multiply(g, np.subtract(1, y * y))
    if g.shape == y.shape and g.dtype == y.dtype and y.nbytes > tiles.TILED_BYTES:
        return tiles.tanh_vjp(g, y, into)
    t = np.multiply(y, y)
    np.subtract(_one(t.dtype), t, out=t)
    return _times(g, t, into)


def sigmoid_vjp(g, y, into=None):
    """``g * (y * (1 - y))`` (``y = sigmoid(x)``), as ``tanh_vjp``."""
    if y.ndim == 0:
        return np.multiply(g, y * np.subtract(1, y))
    if g.shape == y.shape and g.dtype == y.dtype and y.nbytes > tiles.TILED_BYTES:
        return tiles.sigmoid_vjp(g, y, into)
    t = np.subtract(_one(y.dtype), y)
    np.multiply(y, t, out=t)
    return _times(g, t, into)


def _one(dt):
    """``1`` as a 0-d array of ``dt`` (numpy casts the weak ``1`` to ``dt`` anyway: the same
    bits, without the ~0.3 us of converting a Python number per call)."""
    one = _ONES.get(dt)
    if one is None:
        one = np.ones((), dt)
        one.flags.writeable = False
        if len(_ONES) < 64:
            _ONES[dt] = one
    return one


_ONES: dict = {}


def _times(g, t, into=None):
    """``g * t`` written into ``into`` or ``t`` (a fresh temporary) when the result has its
    shape and dtype."""
    if g.shape == t.shape and g.dtype == t.dtype:
        return np.multiply(g, t, out=t if into is None else into)
    return np.multiply(g, t)


def tanh(g, out, needs, x):
    if out.ndim and g.shape == out.shape and g.dtype is out.dtype \
            and out.nbytes <= tiles.TILED_BYTES:  # ``tanh_vjp``'s small case, inline
        t = np.multiply(out, out)
        one = _ONES.get(t.dtype)
        np.subtract(_one(t.dtype) if one is None else one, t, out=t)
        return (np.multiply(g, t, out=t),)
    return (tanh_vjp(g, out),)


def tanh_owned(g, out, needs, x):
    return (tanh_vjp(g, out, g if out.ndim and g.shape == out.shape else None),)


def sigmoid(g, out, needs, x):
    return (sigmoid_vjp(g, out),)


def sigmoid_owned(g, out, needs, x):
    return (sigmoid_vjp(g, out, g if out.ndim and g.shape == out.shape else None),)


# ---------------------------------------------------------------------------- products
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)  # numpy's own instances


def matmul2d(a, b):
    """``np.matmul(a, b)`` of two 2-D ndarrays, as ``a.dot(b)`` where that is the same BLAS call.

    ``np.matmul`` is a generalized ufunc: on small matrices its dispatch costs ~0.5 us of the
    ~1 us a (4, 16) @ (16, 1) product takes. For float32/float64 operands (numpy's own dtype
    instances) that are C- or F-contiguous, numpy's ``dot`` (``cblas_matrixproduct``) and
    ``matmul``'s loop reach the same OpenBLAS routine (gemm, gemv or the dot function; where
    the contracted dim is 1, one product per element, ``0 + a*b`` in matmul, gemm's in dot:
    the same bits, sign of zero included), so the bytes are the same. Except where one
    operand is (1, 1): ``dot`` then scales the other by it with axpy, which skips a zero scale
    (``0 * inf`` gives 0, not NaN) and, for a (1, 1) result, keeps ``-0.0`` where matmul adds
    it to 0. Those, other dtypes and other layouts (whose copies or naive loops may sum in
    another order) call ``np.matmul`` (``tests/ops/test_matmul2d.py`` compares the bytes)."""
    dt = a.dtype
    if (dt is _F32 or dt is _F64) and b.dtype is dt and a.size != 1 and b.size != 1 \
            and type(a) is _ndarray and type(b) is _ndarray \
            and a.flags.forc and b.flags.forc:  # ``forc``: C- or F-contiguous
        return a.dot(b)
    return np.matmul(a, b)

"""numpy's own inner loops, as native function pointers, and numpy's floating-point error report.

The spinning pool's workers run without the GIL, so they cannot call a ufunc; they call the
ufunc's *inner loop* (``PyUFuncGenericFunction``), the C function numpy itself calls for that
dtype signature, read from the public ``PyUFuncObject`` fields (``functions``, ``data``,
``types``; the layout is checked once on known ufuncs, else the pool stays off). Each chunk then
computes exactly what numpy computes, bit for bit, in numpy's own SIMD code.

numpy checks the floating-point exception flags after each ufunc call and reports them as
``np.errstate`` says; the workers collect the flags of each step instead (``MXCSR``), and
:func:`report` turns them into numpy's warning, error or call afterwards.
"""

from __future__ import annotations

import ctypes
import sys
import warnings

import numpy as np

_OFF = {"nin": 16, "nargs": 24, "functions": 32, "data": 40, "ntypes": 48, "name": 56,
        "types": 64}
"""Byte offsets of ``PyUFuncObject``'s fields (numpy's public ``ufuncobject.h``, a release
build of CPython: a 16-byte object header)."""
_LAYOUT: list[bool] = []
_MEMO: dict = {}

NO_FPE = frozenset({"maximum", "minimum", "fmax", "fmin", "bitwise_and", "bitwise_or",
                    "bitwise_xor", "right_shift", "left_shift", "greater", "greater_equal",
                    "less", "less_equal", "equal", "not_equal"})
"""Ufuncs whose exception flags numpy does not report (integer and comparison loops; the
float ``maximum``/``minimum`` loops are flagged as raising none)."""


def _i32(addr: int) -> int:
    return ctypes.c_int32.from_address(addr).value


def _ptr(addr: int) -> int:
    return ctypes.c_void_p.from_address(addr).value or 0


def layout_ok() -> bool:
    """Whether ``PyUFuncObject`` has the fields where :data:`_OFF` says, checked on three
    ufuncs against their Python attributes (free-threaded or debug builds: no)."""
    if not _LAYOUT:
        ok = not hasattr(sys, "gettotalrefcount") and getattr(sys, "_is_gil_enabled",
                                                                  lambda: True)() is not False
        try:
            for f in (np.tanh, np.add, np.divmod):
                a = id(f)
                names = ctypes.string_at(_ptr(a + _OFF["name"]))
                types = ctypes.string_at(_ptr(a + _OFF["types"]), f.ntypes * f.nargs)
                want = bytes(np.dtype(c).num for t in f.types
                             for c in t.replace("->", ""))
                ok = ok and (_i32(a + _OFF["nin"]) == f.nin and _i32(a + _OFF["nargs"]) ==
                             f.nargs and _i32(a + _OFF["ntypes"]) == f.ntypes and
                             names == f.__name__.encode() and types == want)
        except (ValueError, TypeError, OSError):
            ok = False
        _LAYOUT.append(bool(ok))
    return _LAYOUT[0]


def loop(f: np.ufunc, dtypes: tuple) -> tuple[int, int] | None:
    """``(function, data)`` of ``f``'s first inner loop for the dtype signature ``dtypes``
    (inputs then outputs): the loop numpy's default loop selector picks for those dtypes;
    ``None`` when ``f`` has none (or is not a plain numpy ufunc)."""
    key = (f, dtypes)
    hit = _MEMO.get(key, False)
    if hit is not False:
        return hit
    hit = None
    if layout_ok() and type(f) is np.ufunc and f.nargs == len(dtypes) and f.nout == 1:
        a = id(f)
        nums = bytes(np.dtype(d).num for d in dtypes)
        n = f.nargs
        types = ctypes.string_at(_ptr(a + _OFF["types"]), f.ntypes * n)
        for i in range(f.ntypes):
            if types[i * n:(i + 1) * n] == nums:
                fn = _ptr(_ptr(a + _OFF["functions"]) + 8 * i)
                data = _ptr(_ptr(a + _OFF["data"]) + 8 * i) if _ptr(a + _OFF["data"]) else 0
                hit = (fn, data) if fn else None
                break
    _MEMO[key] = hit
    return hit


# ------------------------------------------------------------------------ numpy's error report
_KINDS = (("divide", 0x04, "divide by zero"), ("over", 0x08, "overflow"),
          ("under", 0x10, "underflow"), ("invalid", 0x01, "invalid value"))
"""numpy's order of the checks, the ``errstate`` key, the MXCSR flag, the message word."""
_NUMPY_BITS = {"divide": 1, "over": 2, "under": 4, "invalid": 8}


def report(names: list[str], flags: list[int]) -> None:
    """What numpy does after each of the ufuncs ``names`` that raised the MXCSR ``flags``:
    per ``np.geterr()``, nothing, a ``RuntimeWarning``, ``FloatingPointError`` (at the first),
    the ``np.seterrcall`` function or its ``write`` method, or a line on stderr."""
    modes = None
    for name, fl in zip(names, flags, strict=True):
        if not fl or name in NO_FPE:
            continue
        if modes is None:
            modes = np.geterr()
        for kind, bit, word in _KINDS:
            if not fl & bit:
                continue
            mode = modes[kind]
            if mode == "ignore":
                continue
            msg = f"{word} encountered in {name}"
            if mode == "warn":
                warnings.warn(msg, RuntimeWarning, stacklevel=4)
            elif mode == "raise":
                raise FloatingPointError(msg)
            elif mode == "call":  # numpy passes every flag the ufunc raised
                np.geterrcall()(word, sum(b for k, m, _ in _KINDS if fl & m
                                          for b in (_NUMPY_BITS[k],)))
            elif mode == "log":
                np.geterrcall().write(f"Warning: {msg}\n")
            else:  # "print"
                print(f"Warning: {msg}", file=sys.stderr)


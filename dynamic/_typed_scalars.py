"""Python numbers as cached read-only 0-d arrays of a float dtype, for ufunc operands.

``float32_array * 0.5`` converts the weak Python float to float32 (NEP 50) on every call, which
costs a small ufunc call about twice what an operand already of the array's dtype costs
(~0.6 us against ~0.3 on a 0-d array). The conversion is numpy's own double -> float cast, so
``float32_array * typed(0.5, float32)`` gives the same bits
(``tests/dynamic/test_typed_scalars.py``).
Only values whose conversion is exact or plainly rounded are cached: finite, non-zero (so
``-0.0`` never meets ``0.0`` in the cache), within float32's range, integers within 2**24;
others come back unchanged and take numpy's weak-scalar path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_MAX = 3.0e38  # below float32's largest finite value: the cast never overflows
_CACHE: dict = {}  # (value, dtype) -> its read-only 0-d array
_LIMIT = 512


def typed(v: Any, dt: np.dtype) -> Any:
    """``v`` (a Python float or int) as a cached 0-d array of ``dt``, or ``v`` itself where the
    cache does not apply (see the module docstring)."""
    tv = type(v)
    if not (tv is float or tv is int):
        return v
    c = _CACHE.get((v, dt))
    if c is not None:
        return c
    if not v or v != v or abs(v) > _MAX \
            or (tv is int and abs(v) > 1 << 24) or dt not in _DTYPES or len(_CACHE) >= _LIMIT:
        return v
    c = np.asarray(v, dt)
    c.flags.writeable = False
    _CACHE[(v, dt)] = c
    return c

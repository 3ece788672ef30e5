"""PyTorch-named dtype objects (``dynamic.float32`` prints as ``torch.float32``) and ``Size``.

User code does ``import dynamic as torch`` and prints dtypes and shapes, so the reprs use
PyTorch's spelling. Each dtype wraps the numpy dtype the kernels compute in.
"""

from __future__ import annotations

import builtins as _b
from typing import Any

import numpy as np


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type; compare by identity (``x.dtype is torch.float32``)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_legacy")

    def __init__(self, name: str, np_dtype: Any, legacy: str) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self._legacy = legacy  # "FloatTensor", as in PyTorch's version-counter messages

    @property
    def is_complex(self) -> bool:
        return False

    def to_real(self) -> dtype:
        return self

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return (from_numpy_dtype, (self.np.str,))


float16 = half = dtype("float16", np.float16, "HalfTensor")
float32 = float = dtype("float32", np.float32, "FloatTensor")  # noqa: A001
float64 = double = dtype("float64", np.float64, "DoubleTensor")
int8 = dtype("int8", np.int8, "CharTensor")
uint8 = dtype("uint8", np.uint8, "ByteTensor")
int16 = short = dtype("int16", np.int16, "ShortTensor")
int32 = int = dtype("int32", np.int32, "IntTensor")  # noqa: A001
int64 = long = dtype("int64", np.int64, "LongTensor")
bool = dtype("bool", np.bool_, "BoolTensor")  # noqa: A001

ALL = (float16, float32, float64, int8, uint8, int16, int32, int64, bool)
_BY_NP = {d.np: d for d in ALL}


def from_numpy_dtype(dt: Any) -> dtype:
    """The dtype object for a numpy dtype (``ValueError`` for unsupported ones)."""
    d = _BY_NP.get(np.dtype(dt))
    if d is None:
        raise TypeError(f"unsupported dtype {np.dtype(dt)}")
    return d


def to_numpy_dtype(dt: Any) -> np.dtype:
    """A ``dynamic`` dtype, numpy dtype or Python type (``float``, ``int``, ``bool``) as numpy."""
    if isinstance(dt, dtype):
        return dt.np
    if dt is _b.float:
        return float32.np
    if dt is _b.int:
        return int64.np
    if dt is _b.bool:
        return bool.np
    return np.dtype(dt)


class Size(tuple):
    """``torch.Size``: a tuple of ints that prints as ``torch.Size([2, 3])``."""

    __slots__ = ()

    def numel(self) -> _b.int:
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

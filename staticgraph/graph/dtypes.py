"""TF1-style dtype objects (``tf.float32`` ...) wrapping numpy dtypes."""

from __future__ import annotations

from typing import Any

import numpy as np


class DType:
    """A graph element type. Compares equal to itself, its numpy dtype and its name."""

    __slots__ = ("_np", "_ref", "_name")

    def __init__(self, np_dtype: Any, ref: bool = False) -> None:
        self._np = np.dtype(np_dtype)
        self._ref = ref

    @property
    def name(self) -> str:
        try:  # (set once: ``np.dtype.name`` is Python code in numpy, and graph building
            return self._name  # reads names per node: ``base_dtype``, ``_as_ref``)
        except AttributeError:
            pass
        base = "bool" if self._np == np.bool_ else "string" if self._np.kind == "S" \
            else self._np.name
        self._name = base + "_ref" if self._ref else base
        return self._name

    @property
    def is_ref(self) -> bool:
        """A TF1 reference type (``float32_ref``): the dtype of a Variable and of Assign outputs.
        It compares equal to its base type (TF1 does not), so graph code may mix them."""
        return self._ref

    @property
    def as_numpy_dtype(self) -> type:
        """The numpy scalar type (``np.float32``), as in TF."""
        return self._np.type

    @property
    def np_dtype(self) -> np.dtype:
        return self._np

    @property
    def base_dtype(self) -> DType:
        return _ALL[self.name[:-4]] if self._ref else self

    @property
    def _as_ref(self) -> DType:
        return self if self._ref else _REFS[self.name]

    @property
    def is_floating(self) -> bool:
        return self._np.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self._np.kind in "iu"

    @property
    def is_bool(self) -> bool:
        return self._np.kind == "b"

    @property
    def size(self) -> int:
        return self._np.itemsize

    @property
    def min(self) -> Any:
        return np.finfo(self._np).min if self.is_floating else np.iinfo(self._np).min

    @property
    def max(self) -> Any:
        return np.finfo(self._np).max if self.is_floating else np.iinfo(self._np).max

    @property
    def tf_type_name(self) -> str:
        """The name TF uses in kernel messages (``float`` for float32, ``double`` ...)."""
        return {"float32": "float", "float64": "double"}.get(self.name, self.name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DType):
            return self._np == other._np
        try:
            return self._np == as_dtype(other)._np
        except (TypeError, ValueError):
            return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self._np)

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __str__(self) -> str:
        return f"<dtype: '{self.name}'>"


float16 = half = DType(np.float16)
float32 = DType(np.float32)
float64 = double = DType(np.float64)
int8 = DType(np.int8)
int16 = DType(np.int16)
int32 = DType(np.int32)
int64 = DType(np.int64)
uint8 = DType(np.uint8)
bool = DType(np.bool_)  # noqa: A001 - TF's name
string = DType(np.bytes_)  # constants and fetches only: no op computes on strings

_ALL = {d.name: d for d in (float16, float32, float64, int8, int16, int32, int64, uint8, bool,
                            string)}
_REFS = {name: DType(d.np_dtype, ref=True) for name, d in _ALL.items()}
_ALL.update({"float": float32, "double": float64, "half": float16})


_BY_NP: dict[np.dtype, DType] = {}
"""numpy dtype -> its DType, filled by :func:`as_dtype` (``np.dtype.name`` is Python code in
numpy: every graph tensor's ``.dtype`` paid it; graph building reads it per op)."""


def as_dtype(x: Any) -> DType:
    """Convert a DType, numpy dtype/type, or name to a :class:`DType`."""
    if isinstance(x, DType):
        return x
    if isinstance(x, np.dtype):
        d = _BY_NP.get(x)
        if d is None:
            d = _BY_NP[x] = _as_dtype(x)
        return d
    return _as_dtype(x)


def _as_dtype(x: Any) -> DType:
    if isinstance(x, str) and x in _ALL:
        return _ALL[x]
    if x is float:
        return float32
    if x is int:
        return int32
    try:
        dt = np.dtype(x)
    except TypeError:
        raise TypeError(f"Cannot convert value {x!r} to a staticgraph DType.") from None
    if dt.kind == "S":
        return string
    if dt.name not in _ALL and dt != np.bool_:
        raise TypeError(f"Cannot convert value {x!r} to a staticgraph DType.")
    return _ALL["bool" if dt == np.bool_ else dt.name]

"""TF1-style static shapes: ``TensorShape`` of ``Dimension`` (``None`` = unknown)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class Dimension:
    """One static dimension; ``.value`` is an int or ``None`` (TF1's ``x.shape[1].value``)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = None if value is None else int(getattr(value, "value", value))

    def __int__(self) -> int:
        if self.value is None:
            raise TypeError("Cannot convert an unknown Dimension to an int")
        return self.value

    __index__ = __int__

    def __eq__(self, other: object) -> Any:
        o = getattr(other, "value", other)
        if self.value is None or o is None:
            return None
        return self.value == o

    def __ne__(self, other: object) -> Any:
        eq = self.__eq__(other)
        return None if eq is None else not eq

    def __hash__(self) -> int:
        return hash(self.value)

    def _arith(self, other: Any, fn: Any) -> Dimension:
        o = getattr(other, "value", other)
        return Dimension(None if self.value is None or o is None else fn(self.value, o))

    def __add__(self, o: Any) -> Dimension: return self._arith(o, lambda a, b: a + b)
    def __sub__(self, o: Any) -> Dimension: return self._arith(o, lambda a, b: a - b)
    def __mul__(self, o: Any) -> Dimension: return self._arith(o, lambda a, b: a * b)
    def __floordiv__(self, o: Any) -> Dimension: return self._arith(o, lambda a, b: a // b)
    __radd__, __rmul__ = __add__, __mul__

    def __repr__(self) -> str:
        return f"Dimension({self.value})"

    def __str__(self) -> str:
        return "?" if self.value is None else str(self.value)


class TensorShape:
    """A static shape; unknown dims are ``None``, and ``TensorShape(None)`` has unknown rank
    (a placeholder declared without a shape)."""

    __slots__ = ("_dims",)

    def __init__(self, dims: Iterable[Any] | None) -> None:
        self._dims = None if dims is None else tuple(Dimension(d).value for d in dims)

    @property
    def dims(self) -> list[Dimension] | None:
        return None if self._dims is None else [Dimension(d) for d in self._dims]

    @property
    def ndims(self) -> int | None:
        return None if self._dims is None else len(self._dims)

    rank = ndims

    def as_list(self) -> list[int | None]:
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return list(self._dims)

    def as_tuple(self) -> tuple | None:
        return self._dims

    def is_fully_defined(self) -> bool:
        return self._dims is not None and None not in self._dims

    def num_elements(self) -> int | None:
        if self._dims is None:
            return None
        n = 1
        for d in self._dims:
            if d is None:
                return None
            n *= d
        return n

    def is_compatible_with(self, other: Any) -> bool:
        o = as_shape(other)._dims
        if o is None or self._dims is None:
            return True
        return len(o) == len(self._dims) and all(
            a is None or b is None or a == b for a, b in zip(self._dims, o, strict=False))

    def assert_is_compatible_with(self, other: Any) -> None:
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {as_shape(other)} are incompatible")

    def merge_with(self, other: Any) -> TensorShape:
        self.assert_is_compatible_with(other)
        o = as_shape(other)._dims
        if o is None or self._dims is None:
            return self if o is None else as_shape(other)
        return TensorShape(a if a is not None else b for a, b in zip(self._dims, o, strict=False))

    def __len__(self) -> int:
        if self._dims is None:
            raise ValueError("Cannot take the length of shape with unknown rank.")
        return len(self._dims)

    def __iter__(self) -> Iterator[Dimension]:
        if self._dims is None:
            raise ValueError("Cannot iterate over a shape with unknown rank.")
        return iter(self.dims)

    def __getitem__(self, i: Any) -> Any:
        if self._dims is None:
            return TensorShape(None) if isinstance(i, slice) else Dimension(None)
        if isinstance(i, slice):
            return TensorShape(self._dims[i])
        return Dimension(self._dims[i])

    def __eq__(self, other: object) -> bool:
        try:
            return self._dims == as_shape(other)._dims
        except (TypeError, ValueError):
            return False

    def __hash__(self) -> int:
        return hash(self._dims)

    def __repr__(self) -> str:
        return f"TensorShape({self.dims!r})"

    def __str__(self) -> str:
        if self._dims is None:
            return "<unknown>"
        inner = ", ".join("?" if d is None else str(d) for d in self._dims)
        return f"({inner},)" if len(self._dims) == 1 else f"({inner})"

    def tf_list_str(self) -> str:
        """``[?,3]``: the form TF kernels use in messages."""
        if self._dims is None:
            return "<unknown>"
        return "[" + ",".join("?" if d is None else str(d) for d in self._dims) + "]"


def as_shape(x: Any) -> TensorShape:
    if isinstance(x, TensorShape) or x is None:
        return x if x is not None else TensorShape(None)
    if isinstance(x, (int, Dimension)) or (hasattr(x, "__index__") and not hasattr(x, "__len__")):
        return TensorShape([x])
    return TensorShape(x)

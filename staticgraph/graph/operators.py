"""Python operators on graph values (``+``, ``//``, ``@``, ``<``, ``x[...]`` ...), creating the
nodes TF1 creates for them (``add``, ``floordiv``, ``matmul``, ``Less``, ``strided_slice``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Tensor


class _OperatorMixin:
    """Python operators on graph values (TF1 names for the created nodes)."""

    def _m(self) -> Any:
        from . import math_ops

        return math_ops

    def _c(self) -> Any:
        from . import composite_ops

        return composite_ops

    def __add__(self, o: Any) -> Tensor: return self._m().add(self, o, name="add")
    def __radd__(self, o: Any) -> Tensor: return self._m().add(o, self, name="add")
    def __sub__(self, o: Any) -> Tensor: return self._m().subtract(self, o, name="sub")
    def __rsub__(self, o: Any) -> Tensor: return self._m().subtract(o, self, name="sub")
    def __mul__(self, o: Any) -> Tensor: return self._m().multiply(self, o, name="mul")
    def __rmul__(self, o: Any) -> Tensor: return self._m().multiply(o, self, name="mul")
    def __truediv__(self, o: Any) -> Tensor: return self._m().divide(self, o, name="truediv")
    def __rtruediv__(self, o: Any) -> Tensor: return self._m().divide(o, self, name="truediv")
    def __floordiv__(self, o: Any) -> Tensor: return self._c().floordiv(self, o, name="floordiv")
    def __rfloordiv__(self, o: Any) -> Tensor:
        return self._c().floordiv(o, self, name="floordiv")
    def __mod__(self, o: Any) -> Tensor: return self._c().floormod(self, o, name="mod")
    def __rmod__(self, o: Any) -> Tensor: return self._c().floormod(o, self, name="mod")
    def __pow__(self, o: Any) -> Tensor: return self._m().pow(self, o, name="pow")
    def __rpow__(self, o: Any) -> Tensor: return self._m().pow(o, self, name="pow")
    def __matmul__(self, o: Any) -> Tensor: return self._m().matmul(self, o, name="matmul")
    def __rmatmul__(self, o: Any) -> Tensor: return self._m().matmul(o, self, name="matmul")
    def __neg__(self) -> Tensor: return self._m().negative(self, name="Neg")
    def __abs__(self) -> Tensor: return self._m().abs(self, name="Abs")
    def __lt__(self, o: Any) -> Tensor: return self._m().less(self, o, name="Less")
    def __le__(self, o: Any) -> Tensor: return self._m().less_equal(self, o, name="LessEqual")
    def __gt__(self, o: Any) -> Tensor: return self._m().greater(self, o, name="Greater")
    def __ge__(self, o: Any) -> Tensor:
        return self._m().greater_equal(self, o, name="GreaterEqual")
    def __and__(self, o: Any) -> Tensor: return self._m().logical_and(self, o)
    def __rand__(self, o: Any) -> Tensor: return self._m().logical_and(o, self)
    def __or__(self, o: Any) -> Tensor: return self._m().logical_or(self, o)
    def __ror__(self, o: Any) -> Tensor: return self._m().logical_or(o, self)
    def __invert__(self) -> Tensor: return self._m().logical_not(self)
    def __getitem__(self, index: Any) -> Tensor:
        from .array_ops import getitem

        return getitem(self, index)

    def __bool__(self) -> bool:
        raise TypeError("Using a graph Tensor as a Python `bool` is not allowed. Use "
                        "`if t is not None:` instead of `if t:` to test if a tensor is defined, "
                        "and use staticgraph ops such as tf.cond to execute subgraphs "
                        "conditioned on the value of a tensor.")

    def __iter__(self) -> Iterator:
        raise TypeError("Tensor objects are only iterable when eager execution is enabled. "
                        "To iterate over this tensor use tf.unstack or index it.")

    __array_ufunc__ = None  # numpy defers to our reflected operators
    __array_priority__ = 100

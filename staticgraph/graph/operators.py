"""Python operators on graph values (``+``, ``//``, ``@``, ``<``, ``x[...]`` ...), creating the
nodes TF1 creates for them (``add``, ``floordiv``, ``matmul``, ``Less``, ``strided_slice``).

The op functions live above the graph data model (they import :mod:`.core`), so this module
imports none of them: :func:`bind` hands them over once, when ``staticgraph.graph`` loads,
and every operator call is then a plain call of a module global.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any


def _unbound(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("graph operators used before staticgraph.graph bound them")


# the op functions behind the operators; set by bind()
add = subtract = multiply = divide = floordiv = floormod = pow = matmul = _unbound  # noqa: A001
negative = abs = less = less_equal = greater = greater_equal = _unbound  # noqa: A001
logical_and = logical_or = logical_not = getitem = _unbound

_MATH = ("add", "subtract", "multiply", "divide", "pow", "matmul", "negative", "abs", "less",
         "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_not")


def bind(math_ops: ModuleType, composite_ops: ModuleType, array_ops: ModuleType) -> None:
    """Point the operators at the op functions (called once by ``staticgraph.graph``)."""
    g = globals()
    for name in _MATH:
        g[name] = getattr(math_ops, name)
    g["floordiv"], g["floormod"] = composite_ops.floordiv, composite_ops.floormod
    g["getitem"] = array_ops.getitem


class _OperatorMixin:
    """Python operators on graph values (TF1 names for the created nodes)."""

    def __add__(self, o: Any) -> Any: return add(self, o, name="add")
    def __radd__(self, o: Any) -> Any: return add(o, self, name="add")
    def __sub__(self, o: Any) -> Any: return subtract(self, o, name="sub")
    def __rsub__(self, o: Any) -> Any: return subtract(o, self, name="sub")
    def __mul__(self, o: Any) -> Any: return multiply(self, o, name="mul")
    def __rmul__(self, o: Any) -> Any: return multiply(o, self, name="mul")
    def __truediv__(self, o: Any) -> Any: return divide(self, o, name="truediv")
    def __rtruediv__(self, o: Any) -> Any: return divide(o, self, name="truediv")
    def __floordiv__(self, o: Any) -> Any: return floordiv(self, o, name="floordiv")
    def __rfloordiv__(self, o: Any) -> Any: return floordiv(o, self, name="floordiv")
    def __mod__(self, o: Any) -> Any: return floormod(self, o, name="mod")
    def __rmod__(self, o: Any) -> Any: return floormod(o, self, name="mod")
    def __pow__(self, o: Any) -> Any: return pow(self, o, name="pow")
    def __rpow__(self, o: Any) -> Any: return pow(o, self, name="pow")
    def __matmul__(self, o: Any) -> Any: return matmul(self, o, name="matmul")
    def __rmatmul__(self, o: Any) -> Any: return matmul(o, self, name="matmul")
    def __neg__(self) -> Any: return negative(self, name="Neg")
    def __abs__(self) -> Any: return abs(self, name="Abs")
    def __lt__(self, o: Any) -> Any: return less(self, o, name="Less")
    def __le__(self, o: Any) -> Any: return less_equal(self, o, name="LessEqual")
    def __gt__(self, o: Any) -> Any: return greater(self, o, name="Greater")
    def __ge__(self, o: Any) -> Any: return greater_equal(self, o, name="GreaterEqual")
    def __and__(self, o: Any) -> Any: return logical_and(self, o)
    def __rand__(self, o: Any) -> Any: return logical_and(o, self)
    def __or__(self, o: Any) -> Any: return logical_or(self, o)
    def __ror__(self, o: Any) -> Any: return logical_or(o, self)
    def __invert__(self) -> Any: return logical_not(self)
    def __getitem__(self, index: Any) -> Any: return getitem(self, index)

    def __bool__(self) -> bool:
        raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed. Use "
                        "`if t is not None:` instead of `if t:` to test if a tensor is defined, "
                        "and use TensorFlow ops such as tf.cond to execute subgraphs "
                        f"conditioned on the value of a tensor. (tensor '{self.name}' "
                        f"built at {self.op.site}; loops: tf.while_loop)")

    def __iter__(self) -> Iterator:
        raise TypeError("Tensor objects are only iterable when eager execution is enabled. "
                        "To iterate over this tensor use tf.unstack or index it.")

    __array_ufunc__ = None  # numpy defers to our reflected operators
    __array_priority__ = 100

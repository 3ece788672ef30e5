"""TF1's special functions on the registry's records (``ops/special.py``): ``tf.atan2``,
``tf.sinh``, ``tf.cosh``, ``tf.asinh``, ``tf.lgamma``, ``tf.digamma``, ``tf.math.erfinv`` and
``tf.truncatemod``, with TF's node names and dtype checks (the gradients are the records'
VJPs: ``Atan2``'s and ``Lgamma``'s are TF's formulas too)."""

from __future__ import annotations

from typing import Any

from .. import ops
from .core import Tensor, name_scope
from .math_ops import _binary, _named, _t, _unary

atan2 = _binary(ops.atan2, "Atan2", "f")
truncatemod = _binary(ops.fmod, "TruncateMod", "fiu")
sinh = _unary(ops.sinh, "Sinh", "f")
cosh = _unary(ops.cosh, "Cosh", "f")
asinh = _unary(ops.asinh, "Asinh", "f")
lgamma = _unary(ops.lgamma, "Lgamma", "f")
digamma = _unary(ops.digamma, "Digamma", "f")


def erfinv(x: Any, name: str | None = None) -> Tensor:
    """``tf.math.erfinv`` (TF names its node ``erfinv/Erfinv``)."""
    with name_scope(name or "erfinv"):
        return _named(None, "Erfinv", ops.erfinv, _t(x))

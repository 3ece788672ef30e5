"""PyTorch's zero subgradients at 0 for roots and fractional powers, written with registry ops.

PyTorch masks the gradients that are ``inf * 0`` at the origin: ``std`` at zero spread
(``std_backward``: ``(grad / (2 * result)).masked_fill_(result == 0, 0)``), the norms of a zero
vector (``norm_backward``: ``scale_v.masked_fill_(norm == 0, 0)``) and, for ``p < 1``, the zero
entries (``self.abs().pow_(p - 1).masked_fill_(self == 0, 0)``). TF does not: ``tf.norm`` and
``tf.math.reduce_std`` give NaN there, so the static frontend keeps plain ``sqrt``/``pow`` and
the eager one (``dynamic``) calls these when it records a gradient. Zeros are routed around the
root or power with ``where``, so no NaN or inf is ever formed, and a compiled graph
(``dynamic.compile``) keeps the same nodes.
"""

from __future__ import annotations

from typing import Any

from .elementwise import abs as abs_
from .elementwise import eq, pow, sqrt, where  # noqa: A004 - the ops' names


def root_zero_grad(s: Any, p: float) -> Any:
    """``s ** (1/p)`` (``sqrt`` for ``p == 2``) whose gradient is 0 where ``s`` is 0."""
    zero = eq(s, 0.0)
    safe = where(zero, 1.0, s)
    return where(zero, 0.0, sqrt(safe) if p == 2.0 else pow(safe, 1.0 / p))


def abs_pow_zero_grad(x: Any, p: float) -> Any:
    """``|x| ** p`` whose gradient is 0 where ``x`` is 0 (``p < 1``: ``inf * 0`` otherwise)."""
    zero = eq(x, 0.0)
    return where(zero, 0.0, pow(abs_(where(zero, 1.0, x)), p))

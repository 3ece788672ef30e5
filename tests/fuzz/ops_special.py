"""Fuzz rows for the special-function records (``staticgraph/ops/special.py``): ``atan2``,
``hypot``, ``fmod``, ``sinh``, ``cosh``, ``asinh``, ``exp2``, ``lgamma``, ``digamma``, ``erfinv``.

The static and eager forms call the registry function (``ops.atan2``...), the numpy form is
numpy's ufunc where it has one (``np.arctan2``...; the gamma functions run the record's kernel
on plain arrays), the torch form PyTorch's function.
"""

from __future__ import annotations

from .ops_table import OpRow
from .ops_wide import _fe


def _row(name: str, np_: str, torch: str, nin: int = 1) -> OpRow:
    args = "{a0}" if nin == 1 else "{a0}, {a1}"
    return OpRow(_fe(f"ops.{name}({args})", "=tf", np_, torch))


SPECIAL_ROWS: dict[str, OpRow] = {
    "atan2": _row("atan2", "np.arctan2({a0}, {a1})", "torch.atan2({a0}, {a1})", 2),
    "hypot": _row("hypot", "np.hypot({a0}, {a1})", "torch.hypot({a0}, {a1})", 2),
    "fmod": _row("fmod", "np.fmod({a0}, {a1})", "torch.fmod({a0}, {a1})", 2),
    "sinh": _row("sinh", "np.sinh({a0})", "torch.sinh({a0})"),
    "cosh": _row("cosh", "np.cosh({a0})", "torch.cosh({a0})"),
    "asinh": _row("asinh", "np.arcsinh({a0})", "torch.asinh({a0})"),
    "exp2": _row("exp2", "np.exp2({a0})", "torch.exp2({a0})"),
    "lgamma": _row("lgamma", "ops.lgamma({a0})", "torch.lgamma({a0})"),
    "digamma": _row("digamma", "ops.digamma({a0})", "torch.digamma({a0})"),
    "erfinv": _row("erfinv", "ops.erfinv({a0})", "torch.erfinv({a0})"),
}
# continuous derivatives where the generator evaluates them (finite differences apply)
SPECIAL_SMOOTH = {"atan2", "hypot", "sinh", "cosh", "asinh", "exp2", "lgamma", "digamma",
                  "erfinv"}

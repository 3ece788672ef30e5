"""``torch.return_types``: the named ``(values, indices)`` pairs of ``max(dim)``, ``min(dim)``,
``sort`` and ``topk``, printed as PyTorch prints them."""

from __future__ import annotations

from collections import namedtuple


def _return_type(name: str) -> type:
    """``torch.return_types.max(values=..., indices=...)``: a named pair that prints like it."""
    cls = namedtuple(name, ["values", "indices"])
    cls.__repr__ = lambda self: (f"torch.return_types.{type(self).__name__}(\nvalues="
                                 f"{self.values!r},\nindices={self.indices!r})")
    return cls


ReturnMax, ReturnMin, ReturnSort, ReturnTopk = (
    _return_type(n) for n in ("max", "min", "sort", "topk"))

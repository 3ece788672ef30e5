"""Activation layers beyond ``modules.py``'s basic ones (``GELU``, ``ELU``, ``SELU``, ``SiLU``,
``Mish``, ``Hardtanh``, ``ReLU6``, ``LogSigmoid``, ``PReLU``) and ``Unflatten``, with PyTorch's
constructor arguments and reprs; the math is in ``functional``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, make
from . import functional as F
from .modules import Module, Parameter


def _inplace(flag: bool) -> str:
    return "inplace=True" if flag else ""


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{', inplace=True' if self.inplace else ''}"


def _simple(name: str, fn: Any) -> type:
    """A layer without settings but ``inplace`` (printed only when set, as PyTorch)."""
    def __init__(self: Module, inplace: bool = False) -> None:
        Module.__init__(self)
        self.inplace = inplace

    def forward(self: Module, input: Tensor) -> Tensor:  # noqa: A002
        return fn(input)

    def extra_repr(self: Module) -> str:
        return _inplace(self.inplace)

    return type(name, (Module,), {"__init__": __init__, "forward": forward,
                                  "extra_repr": extra_repr, "__doc__": f"``{fn.__name__}`` layer."})


SELU = _simple("SELU", F.selu)
SiLU = _simple("SiLU", F.silu)
Mish = _simple("Mish", F.mish)
ReLU6 = _simple("ReLU6", F.relu6)


class LogSigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.logsigmoid(input)


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError("max_val must be greater than min_val")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else "")


class PReLU(Module):
    """A learned negative slope per channel (``num_parameters``), initially ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(make(np.full((num_parameters,), init, np.float32)))

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Unflatten(Module):
    """Splits dimension ``dim`` into ``unflattened_size``."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        d = self.dim % input.dim()
        shape = tuple(input.shape)
        return input.reshape(shape[:d] + tuple(self.unflattened_size) + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

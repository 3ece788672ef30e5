"""``dynamic.autograd``: the engine entry points, custom functions and checks (PyTorch names)."""

from __future__ import annotations

import contextlib

from .. import _unsupported
from .._tensor import Tensor as Variable  # noqa: F401 - PyTorch's old name of Tensor
from . import forward_ad, functional, graph, profiler
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> contextlib.AbstractContextManager:
    """Accepted for compatibility; anomaly detection is not implemented (no-op)."""
    return contextlib.nullcontext()


def detect_anomaly(check_nan: bool = True) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


__all__ = ["Function", "FunctionCtx", "GradcheckError", "backward", "detect_anomaly",
           "enable_grad", "forward_ad", "functional", "grad", "gradcheck", "gradgradcheck", "graph",
           "inference_mode", "is_grad_enabled", "no_grad", "once_differentiable", "profiler",
           "set_detect_anomaly", "set_grad_enabled"]

__getattr__ = _unsupported.missing_names("torch.autograd", {})

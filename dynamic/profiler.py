"""``torch.profiler``: ``profile`` / ``record_function`` (see ``autograd.profiler``)."""

from __future__ import annotations

import enum
from typing import Any

from . import _unsupported
from .autograd.profiler import profile as _profile
from .autograd.profiler import record_function


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1

    def __str__(self) -> str:
        return f"ProfilerActivity.{self.name}"


class profile(_profile):  # noqa: N801 - PyTorch's name
    """``torch.profiler.profile(activities=[ProfilerActivity.CPU], ...)``."""

    def __init__(self, *, activities: Any = None, schedule: Any = None,
                 on_trace_ready: Any = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, **kwargs: Any) -> None:
        super().__init__()


__all__ = ["ProfilerActivity", "profile", "record_function"]
__getattr__ = _unsupported.missing_names("torch.profiler")

"""``torch.accelerator`` on a CPU-only build: there is none, so tutorial code such as
``torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"``
takes its CPU branch."""

from __future__ import annotations

from typing import Any

from . import _unsupported


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False) -> None:
    return None


def device_count() -> int:
    return 0


def synchronize(device: Any = None) -> None:
    """Nothing runs asynchronously here."""


__getattr__ = _unsupported.missing_names(
    "torch.accelerator", dict.fromkeys(("current_device_index", "set_device_index",
                                        "current_stream", "set_stream", "memory_allocated"),
                                       "there is no accelerator (CPU only)"))

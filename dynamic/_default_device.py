"""``torch.set_default_device`` / ``get_default_device``: only the CPU exists.

A CUDA device fails at once with the error a CPU-only PyTorch gives when it is first used; other
accelerators fail with this project's "not supported" error; a malformed name with PyTorch's.
"""

from __future__ import annotations

from typing import Any

from ._device import device
from ._unsupported import message

_KNOWN = ("cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, "
          "vulkan, mps, meta, hpu, mtia, privateuseone")


def get_default_device() -> Any:
    return device("cpu")


def set_default_device(dev: Any) -> None:
    """Accepts ``None`` and ``"cpu"``; see the module docstring for the others."""
    if dev is None:
        return
    kind = str(dev).split(":")[0]
    if kind == "cpu":
        return
    if kind == "cuda":
        raise AssertionError("Torch not compiled with CUDA enabled")
    if kind not in _KNOWN.split(", "):
        raise RuntimeError(f"Expected one of {_KNOWN} device type at start of device string: "
                           f"{dev}")
    raise NotImplementedError(message(f"torch.set_default_device({str(dev)!r})",
                                      "only the CPU exists"))

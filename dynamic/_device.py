"""``torch.device`` and the device checks: only the CPU exists."""

from __future__ import annotations

from typing import Any


class _Device(str):
    @property
    def type(self) -> str:
        return str(self).split(":")[0]

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"


CPU = _Device("cpu")


def device(spec: Any = "cpu", index: Any = None) -> _Device:
    """``torch.device("cpu")``. Only the CPU exists: moving a tensor to ``"cuda"`` fails, as on a
    CPU-only PyTorch build (naming the device does not)."""
    return CPU if str(spec).split(":")[0] == "cpu" else _Device(str(spec))


def check_device(spec: Any) -> None:
    if spec is not None and str(spec).split(":")[0] not in ("cpu", "meta"):
        raise AssertionError("Torch not compiled with CUDA enabled")

"""Where CUDA runs and how kernels are launched: the simulator switch, whether a device is
usable (without importing ``numba.cuda`` on machines with no NVIDIA driver), and the launch
configuration (threads per block, blocks, matmul tile, reduction chunks).

Every device array has its node's concrete shape, except rank 0, stored as shape ``(1,)``
(:func:`dshape`)."""

from __future__ import annotations

import importlib.util
import os


def simulator_on() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


SIM = simulator_on()
THREADS = 4 if SIM else 256  # per block (the simulator runs one Python thread per CUDA thread)
MAX_BLOCKS = 1 if SIM else 2048
TILE = 4 if SIM else 16  # matmul tile edge
CHUNK_MIN = 2 if SIM else 256  # reduced elements per thread, at least
TARGET_THREADS = 8 if SIM else 1 << 16  # threads a reduction aims for (partials)


def grid(n: int) -> tuple[int, int]:
    """Blocks and threads for a grid-stride loop over ``n`` items."""
    return max(1, min(-(-max(n, 1) // THREADS), MAX_BLOCKS)), THREADS


def nchunk(kept: int, rtot: int) -> int:
    """How many threads share one reduced row (partials combined by a second kernel)."""
    return max(1, min(-(-rtot // CHUNK_MIN), TARGET_THREADS // max(kept, 1)))


def dshape(shape: tuple) -> tuple:
    """The device shape of a value of ``shape`` (rank 0 is stored as ``(1,)``)."""
    return tuple(shape) or (1,)


def cuda_usable() -> bool:
    """``numba.cuda`` imports and either the simulator is on or a device is there. The driver's
    device node is looked for first, so machines without one never import numba.cuda."""
    if not simulator_on() and not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/dxg")):
        return False  # no NVIDIA driver device node (Linux, WSL): no device to find
    if not simulator_on() and importlib.util.find_spec("numba_cuda") is None:
        return False  # real devices need numba-cuda (the 'cuda' extra), not numba's bundled copy
    try:
        from numba import cuda
    except Exception:
        return False
    try:
        return bool(simulator_on() or cuda.is_available())
    except Exception:
        return False

"""Keep freed array memory in the process, as a framework's caching allocator does.

Eager code allocates and frees the same large temporaries every step. glibc's malloc serves
blocks above its mmap threshold (128 KiB, raised on the fly at most to the size of a freed block)
with fresh ``mmap`` pages and trims the heap when its free top exceeds twice that, so each step
page-faults its temporaries in again: on the 1M-element ``chain`` workload that was ~3000 faults
and a third of the step's time. Raising both thresholds makes freed blocks up to 64 MiB reusable
without faults. Set ``DYNAMIC_MALLOC_TUNING=0`` to leave malloc's defaults alone. Only glibc
has ``mallopt``; elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 << 20  # blocks below this come from the heap and are reused when freed
TRIM_THRESHOLD = 256 << 20  # free memory at the heap's top kept for reuse
TUNED: list = [False]


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; ``True`` when it did."""
    if TUNED[0] or os.environ.get("DYNAMIC_MALLOC_TUNING", "1") == "0" \
            or not sys.platform.startswith("linux"):
        return TUNED[0]
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols: libc's on Linux
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    TUNED[0] = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return TUNED[0]

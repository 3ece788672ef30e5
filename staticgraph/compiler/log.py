"""The compile log and counters every part of the compiler reports to.

Every plan build, kernel compile, disk-cache load, rebuild and fallback is one :func:`note` on
the ``staticgraph.compiler`` logger (INFO), also printed on stderr when
``STATICGRAPH_LOG_COMPILES=1`` and the logger is quiet; :data:`STATS` counts the cache events
(tests and benchmarks read it).
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger("staticgraph.compiler")
STATS = {"compiled": 0, "disk_hits": 0, "memory_hits": 0, "rebuilt": 0, "native_loads": 0}
"""Kernel and driver modules: compiled, loaded from numba's cache, found in memory, rebuilt after
damage, linked as native code."""


def log_compiles() -> bool:
    return os.environ.get("STATICGRAPH_LOG_COMPILES", "") not in ("", "0")


def note(msg: str, *args: object) -> None:
    """Log a compile event (INFO on ``staticgraph.compiler``; also stderr if the env var is set)."""
    log.info(msg, *args)
    if log_compiles() and not log.isEnabledFor(logging.INFO):
        print("[staticgraph.compiler] " + (msg % args if args else msg), file=sys.stderr)

"""The compile log and counters every part of the compiler reports to.

Every plan build, kernel compile, disk-cache load, rebuild and fallback is one :func:`note` on
the ``staticgraph.compiler`` logger (INFO), also printed on stderr when
``STATICGRAPH_LOG_COMPILES=1`` and the logger is quiet; :data:`STATS` counts the cache events
(tests and benchmarks read it).

``logging`` is not imported here (~2 ms of a warm start's ~50 ms CPU in ``staticgraph``): while
no one has imported it (or finished importing it), no handler or level can have been set, so an
INFO record would go nowhere; :func:`note` then only checks the environment variable.
"""

from __future__ import annotations

import os
import sys

LOGGER = "staticgraph.compiler"
STATS = {"compiled": 0, "disk_hits": 0, "memory_hits": 0, "rebuilt": 0, "native_loads": 0}
"""Kernel and driver modules: compiled, loaded from numba's cache, found in memory, rebuilt after
damage, linked as native code."""


def log_compiles() -> bool:
    return os.environ.get("STATICGRAPH_LOG_COMPILES", "") not in ("", "0")


def note(msg: str, *args: object) -> None:
    """Log a compile event (INFO on ``staticgraph.compiler``; also stderr if the env var is set)."""
    get = getattr(sys.modules.get("logging"), "getLogger", None)  # None also while another
    log = get(LOGGER) if get is not None else None  # thread is still importing it (numba's)
    if log is not None:
        log.info(msg, *args)
    if log_compiles() and not (log is not None and log.isEnabledFor(20)):  # logging.INFO
        print("[staticgraph.compiler] " + (msg % args if args else msg), file=sys.stderr)

"""numba's first import, one thread at a time.

The loader thread (:mod:`.native`) imports numba in the background while the caller's thread may
need it too (a kernel the native tier cannot run, ``dynamic.compile``'s first plan). Two threads
importing numba's package graph at once can meet a *partially initialized* module: importlib's
deadlock avoidance hands one of them the half-run module, and the import fails ("most likely due
to a circular import"). Every place that may be numba's first import calls :func:`import_numba`
first, so the import runs once, under one lock, on one thread, while the other waits. The lock
is held only for the import (it takes no other lock of ours: no deadlock with plan or instance
locks) and is renewed in a forked child.
"""

from __future__ import annotations

import os
import sys
import threading

_LOCK = threading.Lock()


def import_numba() -> None:
    """Make sure numba is fully imported (waiting for another thread's import of it)."""
    mod = sys.modules.get("numba")
    if mod is not None and not getattr(getattr(mod, "__spec__", None), "_initializing", False):
        return
    with _LOCK:
        import numba  # noqa: F401


def _after_fork_in_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

"""numba's first import, one thread at a time.

The loader thread (:mod:`.native`) imports numba in the background while the caller's thread may
need it too (a kernel the native tier cannot run, ``dynamic.compile``'s first plan). Two threads
importing numba's package graph at once can meet a *partially initialized* module: importlib's
deadlock avoidance hands one of them the half-run module, and the import fails ("most likely due
to a circular import"). Every place that may be numba's first import calls :func:`import_numba`
first, so the import runs once, under one lock, on one thread, while the other waits. The lock
is held only for the import (it takes no other lock of ours: no deadlock with plan or instance
locks) and is renewed in a forked child.

Streams: numba marks up every error message it formats -- also the many typing errors it raises
and catches while resolving overloads in an ordinary compile -- inside colorama's ``init()`` /
``deinit()`` (``numba.core.errors.ColorShell``), which *reassign* ``sys.stdout`` and
``sys.stderr`` for the whole process. Done on the loader thread, that undoes a
``contextlib.redirect_stdout`` the caller's thread entered meanwhile: its prints go to the old
stream and its redirect's exit installs colorama's wrapper for good. The markup is string work
only (nothing is written inside the block), so :func:`import_numba` swaps ``ColorShell`` for a
context that leaves the streams alone: the same message text, no global side effect.

BLAS: :func:`skip_numba_blas_probe` keeps numba's CPU target, when it first loads, from loading
SciPy's OpenBLAS (a second BLAS whose threads the thread policy would have to set as well).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

_LOCK = threading.Lock()
_STREAMS_KEPT = False  # numba's ColorShell has been swapped for _KeepStreams


def import_numba() -> None:
    """Make sure numba is fully imported (waiting for another thread's import of it), and that
    its error formatting never reassigns the process's ``sys.stdout`` / ``sys.stderr``."""
    mod = sys.modules.get("numba")
    if mod is None or getattr(getattr(mod, "__spec__", None), "_initializing", False):
        with _LOCK:
            import numba  # noqa: F401
    if "numpy.ma" not in sys.modules:
        # numba's typeof of every ndarray argument reads ``np.ma.MaskedArray``, which numpy 2
        # imports lazily (20-45 ms): imported here, on the thread importing numba (the
        # loader's, in the background), not in the first dispatcher call of a run
        import numpy.ma  # noqa: F401
    if not _STREAMS_KEPT:
        keep_streams()
        from .numba_cache_check import install

        install()  # our dispatchers' cache directories: checked once each (numba_cache_check)


class _KeepStreams(contextlib.AbstractContextManager):
    """``numba.core.errors.ColorShell`` without colorama's ``init()`` / ``deinit()``."""

    def __exit__(self, *exc: object) -> None:
        return None


def keep_streams() -> None:
    """Stop numba's error markup from swapping ``sys.stdout`` / ``sys.stderr`` (see the module
    docstring). Without colorama numba uses no ``ColorShell``: nothing to do."""
    global _STREAMS_KEPT
    errors = sys.modules.get("numba.core.errors")
    if errors is not None and hasattr(errors, "ColorShell"):
        errors.ColorShell = _KeepStreams
    _STREAMS_KEPT = errors is not None


def _after_fork_in_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def skip_numba_blas_probe() -> None:
    """numba's ``arraymath`` module probes for BLAS when its CPU target first loads, by
    importing ``scipy.linalg.cython_blas``: a second OpenBLAS in the process (SciPy's), which
    nothing compiled here uses (products in compiled code are the loops of ``smallmm``).
    Run before that load, the probe answers "no BLAS" (numba's inner products then use
    loops); ``ensure_blas`` itself is restored, so a user's ``np.dot`` in ``@njit`` code still
    loads SciPy's BLAS when it is compiled. No effect once the target has loaded."""
    if "numba.np.arraymath" in sys.modules:
        return
    from numba.np import linalg

    real = linalg.ensure_blas

    def no_blas() -> None:
        raise ImportError("staticgraph: BLAS probe skipped (no np.dot in generated code)")

    linalg.ensure_blas = no_blas
    try:
        import numba.np.arraymath  # noqa: F401 - runs the probe now
    finally:
        linalg.ensure_blas = real

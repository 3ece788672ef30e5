"""numba's cache-directory check, once per directory and process for our own modules.

Every ``@njit(cache=True)`` dispatcher numba creates picks a cache locator, and the locator
proves its directory writable by creating and closing a temporary file there
(``_CacheLocator.ensure_cache_path``), again on every save. A plan loads 10-11 dispatchers
(kernels, the driver, ``smallmm``'s loops), all cached in one or two directories, so a warm
first call paid 10-11 temporary files (0.05 ms each on a quiet machine, 0.5 ms on a busy one)
to learn the same thing each time; ``dynamic.compile`` and the static mode alike.

:func:`install` wraps that method so that, for a function whose source file lies in a
directory we write our modules to (:func:`trust_dir`: the disk cache, this package), the
temporary file is made only the first time per cache directory in this process; later
locators still ``makedirs`` it (a purged directory is re-created, as before). Every other
numba function in the process gets numba's own check, unchanged. A directory that stops being
writable after its check is met at the save, which :class:`..diskcache.TrustedCache` already
reports as "not kept on disk" (the compiled code runs either way).
"""

from __future__ import annotations

import os
import threading
from typing import Any

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))  # smallmm & co. (``cache=True``)
_TRUSTED: set[str] = {_PKG_DIR}  # directories holding the sources of our njit modules
_CHECKED: set[str] = set()  # cache directories proven writable in this process
_LOCK = threading.Lock()


def trust_dir(source_dir: str) -> None:
    """Say that ``source_dir`` holds module files we wrote (``sg_<hash>.py``)."""
    _TRUSTED.add(source_dir)


def _ours(locator: Any) -> bool:
    py_file = getattr(locator, "_py_file", None)
    return isinstance(py_file, str) and os.path.dirname(py_file) in _TRUSTED


def install() -> None:
    """Wrap ``numba.core.caching._CacheLocator.ensure_cache_path`` (once; idempotent)."""
    from numba.core import caching

    with _LOCK:
        real = caching._CacheLocator.ensure_cache_path
        if getattr(real, "__sg_once__", False):
            return

        def ensure_cache_path(self: Any) -> None:
            if not _ours(self):
                return real(self)
            path = self.get_cache_path()
            if path in _CHECKED:
                os.makedirs(path, exist_ok=True)
                return None
            real(self)  # numba's check (raises OSError: the next locator is tried)
            _CHECKED.add(path)
            return None

        ensure_cache_path.__sg_once__ = True  # type: ignore[attr-defined]
        ensure_cache_path.__wrapped__ = real  # type: ignore[attr-defined]
        caching._CacheLocator.ensure_cache_path = ensure_cache_path


def forget() -> None:
    """Drop the directories checked so far (tests; a cache directory replaced on disk)."""
    _CHECKED.clear()

"""Compiling rendered kernels with numba, through an on-disk cache.

Each kernel's source becomes a module file ``sg_<hash>.py`` in the cache directory (the hash
covers the source and :data:`VERSION_TAG`: compiler, numba, llvmlite, numpy and Python
versions and a hash of the ``sg_*`` library sources the module imports), decorated
``@njit(cache=True)`` so numba stores the machine code beside it. A new
process running the same graph runs the same source and loads the code instead of compiling;
in one process a module is built once per content hash (a graph rebuilt in a new ``Graph``
reuses the loaded dispatchers). Trust (see :mod:`..diskcache`): the source file must equal the
expected text byte for byte, and numba's files must be vouched for by the module's manifest;
anything else there is purged and rebuilt, never run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import threading
import time
import types

from .. import diskcache
from ..diskcache import COMPILER_VERSION, VERSION_TAG, cache_dir  # noqa: F401 - re-exported
from ..log import STATS, note
from .render import HEADER, KERNEL_FASTMATH

_LOCK = threading.RLock()
_LOADED: dict[str, object] = {}


def _after_fork_in_child() -> None:
    """A thread that held the module lock at fork does not exist in the child."""
    global _LOCK
    _LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def module_source(body: str, names: list[str], parallel: dict[str, bool]) -> str:
    fm = "{" + ", ".join(repr(f) for f in sorted(KERNEL_FASTMATH)) + "}"
    deco = []
    for nm in names:
        deco.append(f"{nm} = njit(cache=True, fastmath={fm}, error_model='numpy', "
                    f"parallel={parallel.get(nm, False)})({nm})")
    return HEADER + "from numba import njit\n\n" + body + "\n" + "\n".join(deco) + "\n"


def load(body: str, names: list[str], parallel: dict[str, bool] | None = None) -> object:
    """The module holding ``names`` (njit dispatchers) compiled from ``body``."""
    return load_source(module_source(body, names, parallel or {}))


def load_source(src: str, preset: dict | None = None) -> object:
    """Write ``src`` to the cache directory (content-hashed name) and import it. ``preset``:
    module globals bound before the module runs (the single driver's kernel dispatchers; the
    source names their content hashes, so a changed kernel is a different module)."""
    return import_source(src, *write_source(src), preset, check=False)


def write_source(src: str) -> tuple[str, str]:
    """Make sure the cache directory holds ``src`` (content-hashed name); (hash, path). Does
    not import it, so no numba is needed (the native tier reads objects beside the file).
    A directory that cannot be written is replaced by a private one (see :mod:`..diskcache`)."""
    h = hashlib.sha256((VERSION_TAG + src).encode()).hexdigest()[:24]
    for attempt in range(3):
        d = cache_dir()
        path = os.path.join(d, f"sg_{h}.py")
        with _LOCK:
            mod = _LOADED.get(h)
            if mod is not None:
                return h, mod.__sg_path__
            try:
                diskcache.ensure_source(path, h, src)
                return h, path
            except OSError as e:
                if attempt == 2:
                    raise
                diskcache.write_failed(d, e, final=attempt == 1)
    raise AssertionError("unreachable")


def import_source(src: str, h: str, path: str, preset: dict | None = None,
                  check: bool = True) -> object:
    """Import the module written by :func:`write_source` (its njit dispatchers: numba loads).
    The module runs ``src`` itself, not the file (which only gives numba its cache location);
    ``check``: the file may have been removed or damaged since it was written."""
    with _LOCK:
        mod = _LOADED.get(h)
        if mod is not None:
            STATS["memory_hits"] += 1
            return mod
        if check:
            _, path = write_source(src)  # the same hash; the path may have moved (private)
        return _exec(f"sg_kernels_{h}", src, h, path, preset or {})


def _exec(name: str, src: str, h: str, path: str, preset: dict) -> object:
    """Run module ``name`` from ``src`` (file name ``path`` for numba's cache) and put the
    manifest check in front of its dispatchers' disk caches."""
    mod = types.ModuleType(name)
    mod.__file__ = path
    mod.__dict__.update(preset)
    mod.__sg_preset__ = preset
    sys.modules[name] = mod  # numba's cache pickles references by module name
    exec(compile(src, path, "exec"), mod.__dict__)
    mod.__sg_path__, mod.__sg_hash__, mod.__sg_src__ = path, h, src
    diskcache.trust(mod, path, h, diskcache.source_sha(src))
    _LOADED[h] = mod
    return mod


def _purge(mod: object) -> None:
    """Remove the disk entries of a loaded module (numba's files wherever numba keeps them)."""
    dirs = tuple({v._cache.cache_path for v in vars(mod).values()
                  if isinstance(getattr(v, "_cache", None), diskcache.TrustedCache)})
    diskcache.purge(os.path.dirname(mod.__sg_path__), mod.__sg_hash__, dirs)


def compile_sig(mod: object, name: str, sig: tuple, reason: str) -> object:
    """Compile (or load from disk) ``mod.name`` for argument types ``sig``; logs the event."""
    from numba.core.errors import LoweringError, TypingError

    disp = getattr(mod, name)
    if tuple(sig) in disp.overloads:  # this module was built before in this process
        STATS["memory_hits"] += 1
        return disp
    t0 = time.perf_counter()
    try:
        disp.compile(sig)
    except (TypingError, LoweringError):
        raise
    except Exception as e:  # an unreadable cache entry: drop it and compile afresh
        STATS["rebuilt"] += 1
        note("cache load failed for %s (%s: %s): rebuilding", name, type(e).__name__, e)
        _purge(mod)
        with _LOCK:
            _LOADED.pop(mod.__sg_hash__, None)
        disp = getattr(_reload(mod), name)
        disp.compile(sig)
    dt = time.perf_counter() - t0
    hits = sum(getattr(disp, "_cache_hits", {}).values())
    if hits:
        STATS["disk_hits"] += 1
        note("loaded %s%s from disk cache in %.3fs (%s)", name, sig, dt, reason)
    else:
        STATS["compiled"] += 1
        note("compiled %s%s in %.3fs (%s)", name, sig, dt, reason)
    return disp



def _reload(mod: object) -> object:
    # the same module name: numba's cache data refers to functions by module name, and a
    # renamed module would make every later process fail to load (and rebuild) this entry
    with _LOCK:
        return _exec(mod.__name__, mod.__sg_src__, mod.__sg_hash__, mod.__sg_path__,
                     mod.__sg_preset__)


def clear_memory() -> None:
    """Forget in-process modules (tests: force a disk-cache load)."""
    with _LOCK:
        _LOADED.clear()


def wipe_disk() -> None:
    shutil.rmtree(cache_dir(), ignore_errors=True)

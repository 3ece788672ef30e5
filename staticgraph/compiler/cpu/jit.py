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
from ..code_cache import compiled
from ..log import STATS, note
from .numba_cache_check import trust_dir
from .numba_import import import_numba, skip_numba_blas_probe
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
    import_numba()  # never at the same time as the loader thread's import
    skip_numba_blas_probe()  # before numba's target loads: no SciPy OpenBLAS
    trust_dir(os.path.dirname(path))  # numba checks its cache directory once (not per njit)
    mod = types.ModuleType(name)
    mod.__file__ = path
    mod.__dict__.update(preset)
    mod.__sg_preset__ = preset
    sys.modules[name] = mod  # numba's cache pickles references by module name
    exec(compiled(src, path), mod.__dict__)  # noqa: S102 - (code cached by its text)
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
    """Compile (or load from disk) ``mod.name`` for argument types ``sig``; logs what was done:
    "already compiled" (in this process), "loaded" (numba's disk cache) or "compiled"."""
    from numba.core.errors import LoweringError, TypingError

    disp = getattr(mod, name)
    if tuple(sig) in disp.overloads:  # this module was built before in this process
        return _already(disp, name, sig, reason)
    t0 = time.perf_counter()
    before = _counts(disp)
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
        before = _counts(disp)
        disp.compile(sig)
    dt = time.perf_counter() - t0
    hits, misses = (a - b for a, b in zip(_counts(disp), before, strict=True))
    if misses:
        STATS["compiled"] += 1
        note("compiled %s%s in %.3fs (%s)", name, sig, dt, reason)
    elif hits:
        STATS["disk_hits"] += 1
        note("loaded %s%s from disk cache in %.3fs (%s)", name, sig, dt, reason)
    else:  # another thread (or a caller's typing) built it meanwhile
        _already(disp, name, sig, reason)
    return disp


def load_only(mod: object, name: str, sig: tuple, reason: str) -> object | None:
    """``mod.name`` for ``sig`` when it is compiled in this process or in numba's disk cache
    (loaded then), else None: never compiles (a size change uses what exists)."""
    from numba.core.compiler_lock import global_compiler_lock

    disp = getattr(mod, name)
    if tuple(sig) in disp.overloads:
        return _already(disp, name, sig, reason)
    t0 = time.perf_counter()
    with global_compiler_lock:
        try:
            cres = disp._cache.load_overload(sig, disp.targetctx)
        except Exception as e:  # an unreadable entry: as good as none (compile_sig rebuilds)
            note("cache load failed for %s (%s: %s)", name, type(e).__name__, e)
            cres = None
        if cres is None:
            return None
        # what numba's Dispatcher.compile does with a disk-cache hit
        disp._cache_hits[sig] += 1
        if not cres.objectmode:
            disp.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
        disp.add_overload(cres)
    STATS["disk_hits"] += 1
    note("loaded %s%s from disk cache in %.3fs (%s)", name, sig, time.perf_counter() - t0,
         reason)
    return disp


def _counts(disp: object) -> tuple[int, int]:
    """numba's disk-cache hits and misses (= compiles) of a dispatcher, all signatures."""
    return (sum(getattr(disp, "_cache_hits", {}).values()),
            sum(getattr(disp, "_cache_misses", {}).values()))


def _already(disp: object, name: str, sig: tuple, reason: str) -> object:
    STATS["memory_hits"] += 1
    note("already compiled %s%s (%s)", name, sig, reason)
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

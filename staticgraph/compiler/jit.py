"""Compiling rendered kernels with numba, through an on-disk cache.

Each kernel's source becomes a module file ``sg_<hash>.py`` in the cache directory (the hash
covers the source and :data:`VERSION_TAG`: compiler, numba, llvmlite, numpy and Python
versions), decorated ``@njit(cache=True)`` so numba stores the machine code beside it. A new
process running the same graph imports the same file and loads the code instead of compiling.
Stale entries: a different version tag is a different directory; numba itself invalidates its
index when the source file changes. Corrupt entries (a truncated source file, an unreadable
index/data file) are detected (content hash check; load errors) and rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import sys
import threading
import time

import llvmlite
import numpy as np

from .render_cpu import HEADER, KERNEL_FASTMATH


def _numba_version() -> str:
    """numba's version without importing numba (~0.2 s): the dist-info folder beside it."""
    if "numba" in sys.modules:
        return sys.modules["numba"].__version__
    spec = importlib.util.find_spec("numba")
    if spec is not None and spec.origin:
        site = os.path.dirname(os.path.dirname(spec.origin))
        found = [d for d in os.listdir(site) if d.startswith("numba-") and d.endswith(
            ".dist-info")]
        if len(found) == 1:
            return found[0][len("numba-"):-len(".dist-info")]
    from importlib.metadata import version

    return version("numba")


COMPILER_VERSION = "2"
VERSION_TAG = (f"sg{COMPILER_VERSION}-numba{_numba_version()}-llvmlite{llvmlite.__version__}-"
               f"np{np.__version__}-py{sys.version_info[0]}{sys.version_info[1]}")
log = logging.getLogger("staticgraph.compiler")
_LOCK = threading.RLock()
_LOADED: dict[str, object] = {}
STATS = {"compiled": 0, "disk_hits": 0, "memory_hits": 0, "rebuilt": 0, "native_loads": 0}


def log_compiles() -> bool:
    return os.environ.get("STATICGRAPH_LOG_COMPILES", "") not in ("", "0")


def note(msg: str, *args: object) -> None:
    """Log a compile event (INFO on ``staticgraph.compiler``; also stderr if the env var is set)."""
    log.info(msg, *args)
    if log_compiles() and not log.isEnabledFor(logging.INFO):
        print("[staticgraph.compiler] " + (msg % args if args else msg), file=sys.stderr)


def cache_dir() -> str:
    base = os.environ.get("STATICGRAPH_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "staticgraph")
    d = os.path.join(base, VERSION_TAG)
    os.makedirs(d, exist_ok=True)
    return d


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
    not import it, so no numba is needed (the native tier reads objects beside the file)."""
    h = hashlib.sha256((VERSION_TAG + src).encode()).hexdigest()[:24]
    path = os.path.join(cache_dir(), f"sg_{h}.py")
    with _LOCK:
        if h in _LOADED:
            return h, path
        _ensure_file(path, h, src)
    return h, path


def _ensure_file(path: str, h: str, src: str) -> None:
    """Write ``src`` at ``path`` unless it is already there intact (a damaged or different
    file is a corrupt entry: its compiled code and native objects are dropped with it)."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == src:
                return
    except OSError:
        pass
    if os.path.exists(path):
        STATS["rebuilt"] += 1
        note("cache entry %s was corrupt or stale: rebuilding", path)
        _purge(os.path.dirname(path), h)
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(src)
    os.replace(tmp, path)


def import_source(src: str, h: str, path: str, preset: dict | None = None,
                  check: bool = True) -> object:
    """Import the module written by :func:`write_source` (its njit dispatchers: numba loads).
    ``check``: the file may have been removed or damaged since it was written."""
    with _LOCK:
        mod = _LOADED.get(h)
        if mod is not None:
            STATS["memory_hits"] += 1
            return mod
        if check:
            _ensure_file(path, h, src)
        spec = importlib.util.spec_from_file_location(f"sg_kernels_{h}", path)
        mod = importlib.util.module_from_spec(spec)
        mod.__dict__.update(preset or {})
        mod.__sg_preset__ = preset or {}
        sys.modules[spec.name] = mod  # numba's cache pickles references by module name
        spec.loader.exec_module(mod)
        mod.__sg_path__ = path
        mod.__sg_hash__ = h
        _LOADED[h] = mod
        return mod


def _purge(d: str, h: str) -> None:
    """Remove numba's cached code and the native objects of module ``sg_<h>``."""
    pyc = os.path.join(d, "__pycache__")
    found = [os.path.join(pyc, fn) for fn in (os.listdir(pyc) if os.path.isdir(pyc) else [])
             if fn.startswith(f"sg_{h}.")]
    found += [os.path.join(d, fn) for fn in os.listdir(d)
              if fn.startswith(f"sg_{h}.") and fn.endswith(".native")]
    for fp in found:
        try:
            os.remove(fp)
        except OSError:
            pass


def compile_sig(mod: object, name: str, sig: tuple, reason: str) -> object:
    """Compile (or load from disk) ``mod.name`` for argument types ``sig``; logs the event."""
    from numba.core.errors import LoweringError, TypingError

    disp = getattr(mod, name)
    t0 = time.perf_counter()
    try:
        disp.compile(sig)
    except (TypingError, LoweringError):
        raise
    except Exception as e:  # an unreadable cache entry: drop it and compile afresh
        STATS["rebuilt"] += 1
        note("cache load failed for %s (%s: %s): rebuilding", name, type(e).__name__, e)
        _purge(os.path.dirname(mod.__sg_path__), mod.__sg_hash__)
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
    spec = importlib.util.spec_from_file_location(mod.__name__, mod.__sg_path__)
    m = importlib.util.module_from_spec(spec)
    m.__dict__.update(mod.__sg_preset__)
    m.__sg_preset__ = mod.__sg_preset__
    sys.modules[spec.name] = m
    spec.loader.exec_module(m)
    m.__sg_path__, m.__sg_hash__ = mod.__sg_path__, mod.__sg_hash__
    with _LOCK:
        _LOADED[m.__sg_hash__] = m
    return m


def clear_memory() -> None:
    """Forget in-process modules (tests: force a disk-cache load)."""
    with _LOCK:
        _LOADED.clear()


def wipe_disk() -> None:
    shutil.rmtree(cache_dir(), ignore_errors=True)

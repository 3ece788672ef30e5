"""The disk cache's directory and the rules for trusting its files.

Layout of ``$STATICGRAPH_CACHE_DIR/<VERSION_TAG>/`` for a module ``sg_<h>`` (``h`` hashes the
version tag and the module's source text; the tag names the versions of the compiler, numba,
llvmlite, numpy, Python and a hash of the ``sg_*`` library sources the kernels import)::

    sg_<h>.py                      the module source (compared byte for byte with the expected text)
    sg_<h>.manifest                JSON: version tag, SHA-256 of the source, SHA-256 of each
                                   numba index/data file of the module as numba wrote it
    __pycache__/sg_<h>.*.nbi|.nbc  numba's own cache (``cache=True``)
    sg_<h>.kernel.<host>.native    machine code for the native tier (see :mod:`.cpu.native`)

Trust: an entry is used only when it provably belongs to *this* module, this compiler version
and this host. numba checks only that its index matches the source file's timestamp, so every
numba file is checked against the manifest (by content hash) right before numba reads it
(:class:`TrustedCache`); a file the manifest does not vouch for -- damaged, swapped in from
another module, left over by a crashed writer -- makes all of the module's numba files go, and
numba compiles afresh. A directory other users can write to (or own) is refused with a warning,
and the process compiles into a private temporary directory instead; so does a process that
cannot create or write its cache directory.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator

import llvmlite
import numpy as np

from ..cache_location import base_dir, distrust
from .log import STATS, note


def _numba_version() -> str:
    """numba's version without importing numba (~0.2 s): the dist-info folder beside it."""
    known = getattr(sys.modules.get("numba"), "__version__", None)  # None while the loader
    if known is not None:  # thread's import has not yet got that far: read the dist-info
        return known
    spec = importlib.util.find_spec("numba")
    if spec is not None and spec.origin:
        site = os.path.dirname(os.path.dirname(spec.origin))
        found = [d for d in os.listdir(site) if d.startswith("numba-") and d.endswith(
            ".dist-info")]
        if len(found) == 1:
            return found[0][len("numba-"):-len(".dist-info")]
    from importlib.metadata import version

    return version("numba")


LIBRARY_MODULES = ("cpu.scalar", "cpu.scalar_basic", "cpu.scalar_special", "cpu.accum",
                   "cpu.blocksum", "cpu.smallmm")
"""Package modules that generated kernels and drivers import (``cpu.render.HEADER``,
``cpu.njit_driver.HEADER``) and the modules those import: numba compiles their functions
*into* each kernel's machine code, so a kernel's cache entry is only valid for the library
sources it was built with (``tests/compiler/test_library_key.py`` checks the list against the
headers' imports)."""


def _library_sha() -> str:
    """SHA-256 (12 hex digits) of the library modules' bytes: read once per process, no
    numba import (sourceless installs hash what the loader has)."""
    h = hashlib.sha256()
    for m in LIBRARY_MODULES:
        spec = importlib.util.find_spec(f"{__package__}.{m}")
        if spec is None or spec.origin is None or spec.loader is None:
            raise ImportError(f"staticgraph: the kernel library module {m} is missing")
        data = spec.loader.get_data(spec.origin)  # type: ignore[attr-defined]
        h.update(m.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:12]


COMPILER_VERSION = "3"  # 3: native headers name their source; numba files need a manifest
LIBRARY_SHA = _library_sha()
VERSION_TAG = (f"sg{COMPILER_VERSION}-numba{_numba_version()}-llvmlite{llvmlite.__version__}-"
               f"np{np.__version__}-py{sys.version_info[0]}{sys.version_info[1]}-"
               f"lib{LIBRARY_SHA}")
"""Everything a cache entry's machine code depends on besides its own source and the host:
the entry's hash, its manifest and its native header all name it, and it names the directory,
so a changed ``sg_*`` library (or numba, numpy...) never runs old code."""
_LOCK = threading.Lock()
_DIRS: dict[str, str] = {}  # STATICGRAPH_CACHE_DIR (or the default) -> the directory in use
_PRIVATE: list[str] = []


# ---------------------------------------------------------------------------- the directory
def cache_dir() -> str:
    """The directory of this version's cache entries: ``$STATICGRAPH_CACHE_DIR`` (default
    ``~/.cache/staticgraph``) ``/<VERSION_TAG>``, or a private temporary directory when that
    one cannot be trusted or written (warned once)."""
    base = base_dir()
    d = _DIRS.get(base)
    if d is None:
        with _LOCK:
            d = _DIRS.get(base)
            if d is None:
                d = os.path.join(base, VERSION_TAG)
                problem = _problem(base, d)
                if problem is not None:
                    d = _refuse(problem)
                _DIRS[base] = d
    return d


def write_failed(d: str, err: OSError, final: bool) -> None:
    """Writing into ``d`` failed with ``err``: look at the directory again (a removed one is
    re-created); refuse it when something is wrong with it or on the ``final`` failure."""
    with _LOCK:
        for base, cur in list(_DIRS.items()):
            if cur == d and cur not in _PRIVATE:
                problem = _problem(base, d)
                if problem is not None or final:
                    _DIRS[base] = _refuse(problem or f"writing into it failed ({err})")


def _problem(base: str, d: str) -> str | None:
    """Why ``d`` (inside ``base``) must not be used, or None."""
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)  # not left to the umask: checked below
        os.makedirs(d, mode=0o700, exist_ok=True)
    except OSError as e:
        return f"cannot create it ({type(e).__name__}: {e})"
    for p, outer in ((base, True), (d, False), (os.path.join(d, "__pycache__"), False)):
        try:
            problem = distrust(p, outer)
        except FileNotFoundError:
            continue
        except OSError as e:
            return f"cannot inspect {p} ({type(e).__name__}: {e})"
        if problem is not None:
            return problem
    if not os.access(d, os.W_OK | os.X_OK):
        return f"{d} is not writable"
    return None


def _refuse(problem: str) -> str:
    """Warn once and give the process a private cache directory (removed at exit)."""
    if not _PRIVATE:
        _PRIVATE.append(tempfile.mkdtemp(prefix="staticgraph-cache-"))
        atexit.register(_remove_private, _PRIVATE[0], os.getpid())
    msg = (f"staticgraph: not using the disk cache ({problem}); compiling into the private "
           f"directory {_PRIVATE[0]} for this process")
    warnings.warn(msg, RuntimeWarning, stacklevel=3)
    note("%s", msg)
    return _PRIVATE[0]


def _remove_private(path: str, pid: int) -> None:
    if os.getpid() == pid:  # not from a forked child: the parent may still use it
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------- entries
def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_sha(src: str) -> str:
    """The hash native headers and manifests record for a module's source text."""
    return sha256(src.encode())


def purge(d: str, h: str, numba_dirs: tuple = ()) -> None:
    """Remove module ``sg_<h>``'s manifest, native objects and numba files (its source file
    is rewritten by the caller)."""
    found = [os.path.join(d, fn) for fn in _listdir(d)
             if fn.startswith(f"sg_{h}.") and fn.endswith((".native", ".manifest"))]
    for nd in {os.path.join(d, "__pycache__"), *numba_dirs}:
        found += [os.path.join(nd, fn) for fn in _listdir(nd) if fn.startswith(f"sg_{h}.")]
    for fp in found:
        with contextlib.suppress(OSError):
            os.remove(fp)


def _listdir(d: str) -> list[str]:
    try:
        return os.listdir(d)
    except OSError:
        return []


def ensure_source(path: str, h: str, src: str) -> bool:
    """Write ``src`` at ``path`` unless it is there byte for byte; anything else there
    (damaged, truncated, not UTF-8, another module's text, a directory) is a corrupt entry:
    its compiled code goes with it. True when the file was (re)written."""
    data = src.encode()
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
        present = True
    except FileNotFoundError:
        present = False
    except OSError:  # a directory, unreadable...
        present = True
    if present:
        STATS["rebuilt"] += 1
        note("cache entry %s was corrupt or stale: rebuilding", path)
        purge(os.path.dirname(path), h)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
    write_atomic(path, data)
    return True


def write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


# ---------------------------------------------------------------------------- numba's files
@contextlib.contextmanager
def _dir_lock(d: str) -> Iterator[None]:
    """An exclusive ``flock`` on directory ``d`` (processes checking or recording manifests
    one at a time); no lock where the file system has none."""
    try:
        import fcntl

        fd = os.open(d, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _numba_files(nd: str, h: str) -> dict[str, str]:
    """Module ``sg_<h>``'s numba index/data files in ``nd``: name -> SHA-256."""
    out = {}
    for fn in _listdir(nd):
        if fn.startswith(f"sg_{h}.") and fn.endswith((".nbi", ".nbc")):
            try:
                with open(os.path.join(nd, fn), "rb") as f:
                    out[fn] = sha256(f.read())
            except OSError:
                out[fn] = ""
    return out


def _manifest(path: str, src_sha: str) -> dict[str, str]:
    """The numba files the manifest vouches for ({} if it is missing, damaged, or made for
    another source or compiler version)."""
    try:
        with open(path, "rb") as f:
            m = json.loads(f.read())
        if m["version"] != VERSION_TAG or m["source"] != src_sha:
            return {}
        files = m["numba"]
        return {str(k): str(v) for k, v in files.items()}
    except Exception:  # noqa: BLE001 - any read or parse failure: nothing is vouched for
        return {}


class TrustedCache:
    """numba's per-function disk cache, checked against the module's manifest before every
    load and recorded in it after every save (installed on each dispatcher of our modules)."""

    def __init__(self, inner: object, module_path: str, h: str, src_sha: str) -> None:
        self._inner, self._h, self._sha = inner, h, src_sha
        self._manifest = module_path[:-3] + ".manifest"
        self._dir = os.path.dirname(module_path)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def load_overload(self, sig: object, target_context: object) -> object:
        nd = self._inner.cache_path
        with _dir_lock(self._dir):
            have = _numba_files(nd, self._h)
            vouched = _manifest(self._manifest, self._sha)
            bad = sorted(fn for fn, s in have.items() if vouched.get(fn) != s)
            if bad:
                STATS["rebuilt"] += 1
                note("numba cache files of sg_%s not vouched for by its manifest (%s): "
                     "removed, rebuilding", self._h, ", ".join(bad))
                for fn in have:
                    with contextlib.suppress(OSError):
                        os.remove(os.path.join(nd, fn))
                return None
        return self._inner.load_overload(sig, target_context)

    def save_overload(self, sig: object, data: object) -> None:
        try:
            self._inner.save_overload(sig, data)
            with _dir_lock(self._dir):
                m = {"version": VERSION_TAG, "source": self._sha,
                     "numba": _numba_files(self._inner.cache_path, self._h)}
                write_atomic(self._manifest, json.dumps(m, sort_keys=True).encode())
        except OSError as e:  # the code is compiled; it is just not kept on disk
            note("could not save sg_%s to the disk cache (%s: %s)", self._h,
                 type(e).__name__, e)


def trust(mod: object, module_path: str, h: str, src_sha: str) -> None:
    """Put :class:`TrustedCache` in front of the disk cache of every numba dispatcher the
    module defines (not those bound into it from other modules)."""
    for v in list(vars(mod).values()):
        cache = getattr(v, "_cache", None)
        py = getattr(v, "py_func", None)
        if (cache is not None and py is not None and py.__module__ == mod.__name__
                and not isinstance(cache, TrustedCache) and cache.cache_path is not None):
            v._cache = TrustedCache(cache, module_path, h, src_sha)

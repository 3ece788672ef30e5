"""Kernels' machine code saved beside numba's cache and run without importing numba.

numba's own disk cache needs numba loaded to read it, and loading numba (its import, its typing
and lowering registries, its BLAS probe) costs ~0.5 s: more than the whole warm start may take.
So when numba compiles a kernel, this module also keeps the kernel's *object code* (the ELF bytes
numba already produced for its cache) in ``sg_<hash>.<name>.<host>.native``::

    {"symbol": "_ZN...kernel...", "ndims": [2, 1, 2], "dtypes": ["float32", ...],
     "host": [...], "version": "sg3-numba...", "source": "<sha256 of the module source>",
     "undefined": ["NRT_MemInfo_call_dtor", ...], "sha256": "<sha256 of the object>"}\n<object>

A new process links that object into an llvmlite MCJIT engine (~1 ms; llvmlite loads in ~20 ms)
and calls the compiled function through ``ctypes`` with numba's internal calling convention:
``int32 fn(void *ret, void *excinfo, <each array as meminfo, parent, nitems, itemsize, data,
shape..., strides...>)``. Arrays come from numpy with no meminfo (NULL), so the reference-count
helpers inlined in the object never reach numba's runtime. :class:`~.instance.Instance` runs
these *native* kernels until numba is loaded in the background, then switches to numba's
dispatchers (see ``instance.py``).

Trust: an entry is run only when its header proves it was built from *this* module's source
(SHA-256), by this compiler version, for this host (CPU, features, triple, ``NUMBA_*``
settings) and these argument types, and the object matches its SHA-256; otherwise it is removed
(the next numba compile writes it again). Eligibility: the undefined symbols the kernel *body*
can reach (:mod:`.native_elf`) must all exist in the process now -- a kernel that allocates
through numba's runtime (``NRT_*``) before numba is loaded, or calls the Python C API (the
native call releases the GIL), runs through numba instead. Symbols only the object's CPython
wrapper uses are bound to a trap (never reached). ELF only (Linux); elsewhere kernels always
go through numba.

Fork: the loader thread holds a gate while it imports numba and switches instances, and
``fork()`` waits for that gate (``os.register_at_fork``), so a child never inherits an import
lock held by a thread it does not have; the child starts its own loader when it needs one.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import queue
import sys
import threading
from typing import Any

import numpy as np

from ... import cpu_threads as threads
from ..diskcache import VERSION_TAG, write_atomic
from ..log import STATS, note
from . import native_link
from .native_elf import _Elf, needed_by, undefined_symbols  # noqa: F401 - re-exported
from .native_host import host, host_tag
from .native_symbols import _address, _link_mcjit, _resolvable
from .numba_import import import_numba

MODE = os.environ.get("STATICGRAPH_NATIVE", "auto")
"""``auto``: native kernels only while numba is not loaded, then numba (default); ``always``:
native kernels even when numba is loaded, no switch (tests, debugging); ``0``: never."""

PACKED, SEQ = "sg_packed", "sg_seq"
"""Symbols of an LLVM kernel's one-pointer entries (:mod:`.llvm.packed`, :mod:`.native_packed`)."""

_LOCK = threading.Lock()
_GATE = threading.RLock()  # held by the loader while it imports numba / switches; fork waits
_MEMO: dict[tuple, NativeKernel] = {}  # linked kernels: every instance of a kernel shares one
_WHY_NOT: dict[tuple, str] = {}  # (path, fname) -> why the kernel cannot run natively now
_NEVER_CALLED = frozenset({"NRT_MemInfo_call_dtor"})
"""Runtime symbols a kernel body names but never calls on the native tier: the destructor
call of a reference count that reached zero, which needs a meminfo; every argument's is NULL,
and creating one would need an ``NRT_*`` allocation, which makes the kernel ineligible."""
_LOADING = False  # the loader thread has not finished its first switch (numba not warm yet)
_QUEUE: queue.SimpleQueue | None = None
_PENDING = threading.Condition()
_pending = 0  # queued switches not finished yet


def enabled() -> bool:
    """Whether a new instance should start on native kernels."""
    if MODE in ("0", "off", "never") or not sys.platform.startswith("linux"):
        return False
    return MODE == "always" or "numba" not in sys.modules or _LOADING


def later(ref: Any) -> None:
    """Queue ``ref().refine()`` then ``ref().upgrade()`` (a weak reference to an instance, or a
    job with both methods) on the loader thread, which loads numba in the background while the
    native kernels answer runs; ``always``: never."""
    global _QUEUE, _LOADING, _pending
    if MODE == "always":
        return
    with _PENDING:
        _pending += 1
    with _LOCK:
        if _QUEUE is None:
            _logging_before_the_loader()
            _QUEUE = queue.SimpleQueue()
            _LOADING = True
            threading.Thread(target=_loader, args=(_QUEUE,), daemon=True,
                             name="staticgraph-numba-loader").start()
    _QUEUE.put(ref)


def _logging_before_the_loader() -> None:
    """Import ``logging`` here, not on the loader thread (numba imports it), and wait for the
    loader before logging's own fork handler runs.

    ``logging``'s import registers fork handlers (acquire its lock before, release after). Made
    on the loader thread while this thread forks, the parent ran the release without the
    acquire ("cannot release un-acquired lock"). Imported here, its handler runs before ours
    (handlers run newest first) and takes logging's lock while the loader may still need it to
    finish numba's import, which our handler waits for: a deadlock. So our handler is
    registered once more after logging's; ``_GATE`` is re-entrant, the pairs balance."""
    import logging  # noqa: F401

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent)


def _before_fork() -> None:
    _GATE.acquire()  # wait until the loader is between jobs (holds no import lock)


def _after_fork_in_parent() -> None:
    _GATE.release()


def _after_fork_in_child() -> None:
    """A forked child has no loader thread: it starts its own when it needs one. The loader
    of the parent was between jobs (see :func:`_before_fork`), so numba is either fully
    imported or not at all."""
    global _QUEUE, _LOADING, _pending, _PENDING, _GATE, _LOCK
    _QUEUE, _LOADING, _pending, _PENDING = None, False, 0, threading.Condition()
    _GATE, _LOCK = threading.RLock(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


def block_until_ready(timeout: float | None = None) -> bool:
    """Wait until every queued native -> numba switch has finished (benchmarks call it after
    the first run, so that their timings measure the steady state). False on timeout."""
    with _PENDING:
        return _PENDING.wait_for(lambda: _pending == 0, timeout)


def _loader(q: queue.SimpleQueue) -> None:
    global _LOADING, _pending
    while True:
        ref = q.get()
        try:
            with _GATE:
                inst = ref()
                if inst is not None:  # quick LLVM kernels: the optimised ones first
                    inst.refine()
                inst = None
                import_numba()  # never at the same time as another thread's import
                inst = ref()
                if inst is not None:
                    inst.upgrade()
                inst = None
        except Exception as e:  # the native kernels keep running: correct, a little slower
            note("could not switch to numba (%s: %s): native kernels keep running",
                 type(e).__name__, e)
        finally:
            _LOADING = False
            with _PENDING:
                _pending -= 1
                idle = _pending == 0
                _PENDING.notify_all()
            if idle:  # this thread's numba work no longer holds a core: policies re-read
                threads.stale()  # the load (else one BLAS thread for up to a second more)


def path_for(module_path: str, fname: str) -> str:
    """``sg_<hash>.<fname>.<host hash>.native``: hosts sharing a cache directory never clash."""
    return module_path[:-3] + f".{fname}.{host_tag()}.native"


# ------------------------------------------------------------------------------------- save
def save(disp: Any, sig: tuple, module_path: str, fname: str, source_sha: str) -> bool:
    """Write the object code numba produced for ``disp`` at ``sig`` (``source_sha``: the
    module source's hash, see :func:`..diskcache.source_sha`): a fresh compile keeps the bytes
    in memory; after a load from numba's cache the library's linkable module is code-generated
    again (~10 ms, only when the entry is missing). True when written."""
    cr = disp.overloads.get(sig)
    if cr is None or not sys.platform.startswith("linux"):
        return False
    lib = cr.library
    try:
        obj = lib._get_compiled_object()
    except (RuntimeError, ValueError):  # loaded from numba's cache, which keeps no bytes:
        mod = getattr(lib, "_shared_module", None)  # code-generate its linkable module
        tm = getattr(getattr(lib, "codegen", None), "_tm", None)
        if mod is None or tm is None:
            return False
        obj = tm.emit_object(mod)
    und = undefined_symbols(obj)
    if und is None:
        return False
    meta = {"symbol": cr.fndesc.mangled_name, "ndims": [a.ndim for a in sig],
            "dtypes": [str(np.dtype(a.dtype.name)) for a in sig], "host": host(),
            "version": VERSION_TAG, "source": source_sha, "undefined": und,
            "sha256": hashlib.sha256(obj).hexdigest()}
    path = path_for(module_path, fname)
    try:
        write_atomic(path, json.dumps(meta).encode() + b"\n" + obj)
    except OSError as e:  # numba's cache still has the kernel
        note("could not save native code %s (%s: %s)", path, type(e).__name__, e)
        return False
    return True


# ------------------------------------------------------------------------------------- load
class NativeKernel:
    """A saved kernel linked into this process: called with numpy arrays like the dispatcher.
    Arguments of another dtype or rank raise the dispatcher's ``TypeError``; strided or
    unaligned inputs are read through a C-ordered copy (numba would compile a variant)."""

    quick = False
    """A quick LLVM kernel (no IR passes, :mod:`.llvm.build`): the optimised one replaces it."""

    def __init__(self, name: str, addr: int, dtypes: list, ndims: list, keep: tuple,
                 packed: int = 0, seq: int = 0) -> None:
        nargs = 2 + sum(5 + 2 * nd for nd in ndims)
        self.fn = ctypes.CFUNCTYPE(ctypes.c_int32, *[ctypes.c_int64] * nargs)(addr)
        self.name, self.dtypes, self.ndims, self._keep = name, dtypes, ndims, keep
        self.packed, self.seq = packed, seq  # LLVM kernels' one-pointer entries (llvm/packed)
        self._scratch = np.zeros(16, np.int64)  # return slot and exception-info slot
        self._ret = self._scratch.ctypes.data

    def __call__(self, *arrays: np.ndarray) -> None:
        args = [self._ret, self._ret + 64]
        keep: list = []  # copies alive until the call returns
        for a, dt, nd in zip(arrays, self.dtypes, self.ndims, strict=True):
            if type(a) is not np.ndarray or a.dtype != dt or a.ndim != nd:
                raise TypeError(f"No matching definition for argument type(s) of native kernel "
                                f"{self.name}: wants {dt}[{nd}-d], got "
                                f"{getattr(a, 'dtype', type(a).__name__)} "
                                f"{getattr(a, 'shape', '')}")
            if not (a.flags.c_contiguous and a.flags.aligned):
                # a strided view (e.g. a transpose) read by the kernel: the code is made for
                # C order, so it reads a copy (outputs are always the plan's own buffers)
                a = np.ascontiguousarray(a)
                keep.append(a)
            args += (0, 0, a.size, a.itemsize, a.ctypes.data, *a.shape, *a.strides)
        if self.fn(*args):
            raise RuntimeError(f"native kernel {self.name} reported an error")


def load(module_path: str, fname: str, dtypes: list, ndims: list,
         source_sha: str) -> NativeKernel | None:
    """The saved kernel ``fname`` of ``module_path`` if its entry is present, intact, built
    from the source with hash ``source_sha`` by this compiler for this host and these argument
    types, and everything its body needs exists in this process now; else None (the caller
    uses numba; :func:`why_not` tells an ineligible kernel from a missing one)."""
    key = (module_path, fname, source_sha, tuple(map(str, dtypes)), tuple(ndims))
    k = _MEMO.get(key)
    if k is not None:
        return k
    path = path_for(module_path, fname)
    _WHY_NOT.pop((module_path, fname), None)
    try:
        meta, obj = _read(path, source_sha)
        ok = meta["ndims"] == list(ndims) and meta["dtypes"] == [str(d) for d in dtypes]
        if ok:
            elf = _Elf(obj)  # parsed once: reachability, undefined symbols, the link
            need = elf.needed_by(meta["symbol"])
            und = elf.undefined()
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - any read or parse failure: the entry is not trusted
        ok = False
    if not ok:
        note("native entry %s is corrupt, stale or another kernel's: removed (numba "
             "recompiles it)", path)
        try:
            os.remove(path)
        except OSError:
            pass
        return None
    import time

    t0 = time.perf_counter()
    with _LOCK:
        k = _MEMO.get(key)
        if k is not None:
            return k
        missing = sorted(nm for nm in need if nm not in _NEVER_CALLED and (
            nm.startswith(("Py", "_Py")) or not _resolvable(nm)))
        if missing:
            _WHY_NOT[(module_path, fname)] = "needs " + ", ".join(missing)
            note("native entry %s needs %s, absent in this process: numba runs it",
                 os.path.basename(path), ", ".join(missing))
            return None
        want = (meta["symbol"], PACKED, SEQ)
        try:  # place the code ourselves: no llvmlite, no engine
            addrs, base = native_link.link(obj, want, _address, elf)
            keep: tuple = (base,)
            how = "native code"
        except native_link.Unlinkable:
            addrs, keep = _link_mcjit(obj, want, und)
            how = "native code through MCJIT"
        if not addrs[0]:
            return None
        name = os.path.basename(path)
        k = NativeKernel(name, addrs[0], [np.dtype(d) for d in dtypes], list(ndims), keep,
                         *addrs[1:])
        _MEMO[key] = k
    STATS["native_loads"] += 1
    note("loaded %s from disk cache as %s (no numba) in %.4fs", name, how,
         time.perf_counter() - t0)
    return k


def _read(path: str, source_sha: str) -> tuple[dict, bytes]:
    """Header and object of an entry, after checking that it was built from the source with
    hash ``source_sha`` by this compiler version for this host, and that the object is the
    one the header describes (raises on anything else)."""
    with open(path, "rb") as f:
        data = f.read()
    head, obj = data.split(b"\n", 1)
    meta = json.loads(head)
    if not (meta["sha256"] == hashlib.sha256(obj).hexdigest() and meta["host"] == host()
            and meta["version"] == VERSION_TAG and meta["source"] == source_sha
            and isinstance(meta["symbol"], str) and meta["symbol"]):
        raise ValueError(f"{path} does not belong to this kernel, compiler or host")
    return meta, obj


def intact(module_path: str, fname: str, source_sha: str) -> bool:
    """Whether the saved entry is there and trustworthy (nothing is linked)."""
    try:
        _read(path_for(module_path, fname), source_sha)
        return True
    except Exception:  # noqa: BLE001 - missing, damaged, foreign
        return False


def why_not(module_path: str, fname: str = "kernel") -> str | None:
    """Why the last :func:`load` of this entry found it ineligible (None: it was not)."""
    return _WHY_NOT.get((module_path, fname))

"""Kernels' machine code saved beside numba's cache and run without importing numba.

numba's own disk cache needs numba loaded to read it, and loading numba (its import, its typing
and lowering registries, its BLAS probe) costs ~0.5 s: more than the whole warm start may take.
So when numba compiles a kernel, this module also keeps the kernel's *object code* (the ELF bytes
numba already produced for its cache) in ``sg_<hash>.<name>.native``::

    {"symbol": "_ZN...kernel...", "ndims": [2, 1, 2], "dtypes": ["float32", ...],
     "host": [...], "undefined": ["NRT_MemInfo_call_dtor", ...], "sha256": "..."}\\n<object>

A new process links that object into an llvmlite MCJIT engine (~1 ms; llvmlite loads in ~20 ms)
and calls the compiled function through ``ctypes`` with numba's internal calling convention:
``int32 fn(void *ret, void *excinfo, <each array as meminfo, parent, nitems, itemsize, data,
shape..., strides...>)``. Arrays come from numpy with no meminfo (NULL), so the reference-count
helpers inlined in the object never reach numba's runtime; the object's other undefined symbols
(numba's unboxing helpers, used only by the CPython wrapper in the same object) are bound to a
trap when numba is not loaded. :class:`~.instance.Instance` runs these *native* kernels until
numba is loaded in the background, then switches to numba's dispatchers (see ``instance.py``).

Trust: the file name and header carry the host (CPU, features, triple, ``NUMBA_*`` settings),
the header the object's SHA-256 and argument types; a mismatch, truncation or parse error means
the entry is removed (the next numba compile writes it again), never run. ELF only (Linux);
elsewhere kernels always go through numba.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import queue
import struct
import sys
import threading
from typing import Any

import numpy as np

MODE = os.environ.get("STATICGRAPH_NATIVE", "auto")
"""``auto``: native kernels only while numba is not loaded, then numba (default); ``always``:
native kernels even when numba is loaded, no switch (tests, debugging); ``0``: never."""

_LOCK = threading.Lock()
_HOST: list | None = None
_HOST_TAG = ""
_TRAP_KEEP: list = []
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
    """Queue ``ref().upgrade()`` (a weak reference to an instance) on the loader thread, which
    loads numba in the background while the native kernels answer runs; ``always``: never."""
    global _QUEUE, _LOADING, _pending
    if MODE == "always":
        return
    with _PENDING:
        _pending += 1
    with _LOCK:
        if _QUEUE is None:
            _QUEUE = queue.SimpleQueue()
            _LOADING = True
            threading.Thread(target=_loader, args=(_QUEUE,), daemon=True,
                             name="staticgraph-numba-loader").start()
    _QUEUE.put(ref)


def _after_fork_in_child() -> None:
    """A forked child has no loader thread: it starts its own when it needs one. (Fork after
    :func:`block_until_ready`: a child forked while the loader imports numba inherits import
    locks held by a thread that does not exist in it.)"""
    global _QUEUE, _LOADING, _pending, _PENDING
    _QUEUE, _LOADING, _pending, _PENDING = None, False, 0, threading.Condition()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def block_until_ready(timeout: float | None = None) -> bool:
    """Wait until every queued native -> numba switch has finished (benchmarks call it after
    the first run, so that their timings measure the steady state). False on timeout."""
    with _PENDING:
        return _PENDING.wait_for(lambda: _pending == 0, timeout)


def _loader(q: queue.SimpleQueue) -> None:
    global _LOADING, _pending
    while True:
        inst = q.get()()
        try:
            if inst is not None:
                inst.upgrade()
        except Exception as e:  # the native kernels keep running: correct, a little slower
            from .jit import note

            note("could not switch to numba (%s: %s): native kernels keep running",
                 type(e).__name__, e)
        finally:
            _LOADING = False
            with _PENDING:
                _pending -= 1
                _PENDING.notify_all()


_NOT_CODEGEN = {"NUM_THREADS", "THREADING_LAYER", "THREADING_LAYER_PRIORITY", "CACHE_DIR",
                "ENABLE_CUDASIM", "WARNINGS", "FULL_TRACEBACKS", "SHOW_HELP", "COLOR_SCHEME",
                "HIGHLIGHT_DUMPS", "DISABLE_PERFORMANCE_WARNINGS", "CAPTURED_ERRORS",
                "DEBUG_CACHE"}
"""``NUMBA_*`` settings that do not change the machine code (every other one is in the key)."""


def host() -> list:
    """What the object code depends on besides its source: target, CPU, numba's settings."""
    global _HOST, _HOST_TAG
    if _HOST is None:
        import llvmlite.binding as llvm

        numba_env = sorted((k, v) for k, v in os.environ.items() if k.startswith("NUMBA_")
                           and k[6:] not in _NOT_CODEGEN and not k.startswith("NUMBA_CUDA"))
        _HOST = [llvm.get_process_triple(), llvm.get_host_cpu_name(),
                 llvm.get_host_cpu_features().flatten(), numba_env]
        _HOST_TAG = hashlib.sha256(json.dumps(_HOST).encode()).hexdigest()[:12]
    return _HOST


def path_for(module_path: str, fname: str) -> str:
    """``sg_<hash>.<fname>.<host hash>.native``: hosts sharing a cache directory never clash."""
    host()
    return module_path[:-3] + f".{fname}.{_HOST_TAG}.native"


# ------------------------------------------------------------------------------------- save
def save(disp: Any, sig: tuple, module_path: str, fname: str) -> bool:
    """Write the object code numba produced for ``disp`` at ``sig``: a fresh compile keeps
    the bytes in memory; after a load from numba's cache the library's linkable module is
    code-generated again (~10 ms, only when the entry is missing). True when written."""
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
            "undefined": und, "sha256": hashlib.sha256(obj).hexdigest()}
    path = path_for(module_path, fname)
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "wb") as f:
        f.write(json.dumps(meta).encode() + b"\n" + obj)
    os.replace(tmp, path)
    return True


def undefined_symbols(obj: bytes) -> list[str] | None:
    """Names an ELF64 little-endian relocatable object needs from outside (None: not ELF64)."""
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize) for i in range(shnum)]
    names: list[str] = []
    for s in secs:
        if s[1] != 2:  # SHT_SYMTAB
            continue
        strtab = secs[s[6]]
        for off in range(s[4], s[4] + s[5], 24):
            st_name, _, _, st_shndx = struct.unpack_from("<IBBH", obj, off)
            if st_shndx == 0 and st_name:
                start = strtab[4] + st_name
                names.append(obj[start:obj.index(b"\0", start)].decode())
    return names


# ------------------------------------------------------------------------------------- load
class NativeKernel:
    """A saved kernel linked into this process: called with numpy arrays like the dispatcher.
    Arguments of another dtype or rank raise the dispatcher's ``TypeError``; strided or
    unaligned inputs are read through a C-ordered copy (numba would compile a variant)."""

    def __init__(self, name: str, addr: int, dtypes: list, ndims: list, keep: tuple) -> None:
        nargs = 2 + sum(5 + 2 * nd for nd in ndims)
        self.fn = ctypes.CFUNCTYPE(ctypes.c_int32, *[ctypes.c_int64] * nargs)(addr)
        self.name, self.dtypes, self.ndims, self._keep = name, dtypes, ndims, keep
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


def load(module_path: str, fname: str, dtypes: list, ndims: list) -> NativeKernel | None:
    """The saved kernel ``fname`` of ``module_path`` if its entry is present, intact, made for
    this host and these argument types; else None (the caller uses numba)."""
    path = path_for(module_path, fname)
    try:
        with open(path, "rb") as f:
            data = f.read()
        head, obj = data.split(b"\n", 1)
        meta = json.loads(head)
        ok = (meta["sha256"] == hashlib.sha256(obj).hexdigest() and meta["host"] == host()
              and meta["symbol"] and meta["ndims"] == list(ndims)
              and meta["dtypes"] == [str(d) for d in dtypes])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        from .jit import note

        note("native entry %s is corrupt or stale: removed (numba recompiles it)", path)
        try:
            os.remove(path)
        except OSError:
            pass
        return None
    import time

    import llvmlite.binding as llvm

    t0 = time.perf_counter()
    with _LOCK:
        _bind_undefined(llvm, meta["undefined"])
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
        ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
        objref = llvm.ObjectFileRef.from_data(obj)
        ee.add_object_file(objref)
        ee.finalize_object()
        addr = ee.get_function_address(meta["symbol"])
    if not addr:
        return None
    from .jit import STATS, note

    STATS["native_loads"] += 1
    name = os.path.basename(path)
    note("loaded %s from disk cache as native code (no numba) in %.4fs", name,
         time.perf_counter() - t0)
    return NativeKernel(name, addr, [np.dtype(d) for d in dtypes], list(ndims), (ee, objref, tm))


def _bind_undefined(llvm: Any, names: list[str]) -> None:
    """Give every symbol the object needs an address: one already known to LLVM (numba's
    helpers once numba is loaded), else the process's own (libc, libm, the Python C API),
    else a trap that aborts with a message (reached only through the CPython wrapper)."""
    proc = ctypes.CDLL(None)
    for nm in names:
        if llvm.address_of_symbol(nm):
            continue
        try:
            addr = ctypes.cast(getattr(proc, nm), ctypes.c_void_p).value
        except AttributeError:
            addr = _trap(nm)
        llvm.add_symbol(nm, addr)


def _trap(name: str) -> int:
    def trap() -> None:
        sys.stderr.write(f"staticgraph: native code called {name}, which needs numba loaded\n")
        os.abort()

    fn = ctypes.CFUNCTYPE(None)(trap)
    _TRAP_KEEP.append(fn)
    return ctypes.cast(fn, ctypes.c_void_p).value

"""A fused step's kernel as a module in the disk cache (:class:`CompiledKernel`): rendered and
written when the plan is built, compiled on first use by numba (serial variant, and the
``prange`` one where a size pays for it), or linked from its saved machine code
(:mod:`.native`) while numba is not loaded."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import numpy as np

from ..diskcache import source_sha
from ..fusion import Step
from ..kernel import Kernel, RowKernel, row_args
from ..log import note
from . import jit, native
from .numba_import import import_numba
from .render import can_parallelize, render

LLVM = os.environ.get("STATICGRAPH_LLVM", "1") not in ("0", "off", "never")
"""Whether kernels numba has not compiled yet may run as LLVM kernels (:mod:`.llvm`) on the
native tier; ``STATICGRAPH_LLVM=0``: never (cold instances compile with numba)."""


@dataclass
class CompiledKernel:
    """A kernel rendered and written to the disk cache, compiled on first use: by numba (the
    module is imported, and its serial variant compiled or loaded from numba's cache; the
    single driver compiles it as part of its own compilation), or linked from the saved
    machine code of :mod:`.native` without numba (the first runs of a warm process)."""

    step: Step
    source: str  # the kernel functions (explain)
    module_source: str  # the whole module file
    hash: str
    path: str
    parallel_ok: bool
    argspec: tuple  # ((dtype, ndim), ...) of the arguments: inputs, outputs, reductions
    reason: str = ""
    _module: object = None
    _serial: object = None
    _par: object = None
    _native: object = None
    _llvm: object = None
    _llvmq: object = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def module(self) -> object:
        """The imported kernel module (njit dispatchers; importing it loads numba)."""
        with self.lock:
            if self._module is None:
                self._module = jit.import_source(self.module_source, self.hash, self.path)
        return self._module

    @property
    def source_sha(self) -> str:
        """The module source's hash (what native headers and manifests must name)."""
        return source_sha(self.module_source)

    @property
    def sig(self) -> tuple:
        import_numba()
        from numba import types
        from numba.np.numpy_support import from_dtype

        return tuple(types.Array(from_dtype(dt), nd, "C") for dt, nd in self.argspec)

    def serial(self) -> object:
        with self.lock:
            if self._serial is None:
                self._serial = jit.compile_sig(self.module, "kernel", self.sig, self.reason)
                self.save_native()
        return self._serial

    def parallel(self, build: bool = True) -> object | None:
        """The ``prange`` variant; ``build=False``: only if compiled or in numba's disk cache
        (a size change never compiles), else None."""
        with self.lock:
            if self._par is None:
                why = "parallel variant for a large size"
                self._par = (jit.compile_sig(self.module, "kernel_par", self.sig, why) if build
                             else jit.load_only(self.module, "kernel_par", self.sig, why))
        return self._par

    def save_native(self, load: bool = False) -> None:
        """Keep numba's machine code of the serial variant for the native tier, unless kept
        already. ``load``: get the variant first if numba has not (the single driver loaded
        from numba's cache brings its kernels' code inside its own)."""
        target = native.path_for(self.path, "kernel")
        if self._module is None or native.intact(self.path, "kernel", self.source_sha):
            return
        sig = self.sig
        if sig in self._module.kernel.overloads:
            if native.save(self._module.kernel, sig, self.path, "kernel", self.source_sha):
                note("saved native code %s", os.path.basename(target))
        elif load:
            self.serial()  # loads it from numba's cache (or compiles it), then saves

    def native(self, retry: bool = False) -> object:
        """The serial variant linked from its saved machine code (no numba), or None (also
        remembered, unless ``retry``: e.g. after numba has just written the entry)."""
        with self.lock:
            if self._native is None or (retry and self._native is False):
                self._native = native.load(self.path, "kernel",
                                           [np.dtype(d) for d, _ in self.argspec],
                                           [nd for _, nd in self.argspec],
                                           self.source_sha) or False
        return self._native or None


    def llvm(self, build: bool = True, quick: bool = False) -> object:
        """The kernel rendered to LLVM IR and compiled by llvmlite (or linked from its disk
        entry), called like :meth:`native`'s; None where the renderer declines it.
        ``build=False``: only an entry already on disk (nothing renders or compiles).
        ``quick``: the optimised kernel when it exists, else a quick one (its ``quick``
        attribute is true; :mod:`.llvm.build`)."""
        with self.lock:
            if quick and self._llvm is None and build:
                from .llvm import load_or_compile

                k = (LLVM and load_or_compile(self, quick=True)) or None
                if k is None or not k.quick:
                    self._llvm = k or False
                return k
            if self._llvm is None and not build:
                if not LLVM:
                    return None
                from .llvm.key import entry_sha

                k = native.load(self.path, "llvm", [np.dtype(d) for d, _ in self.argspec],
                                [nd for _, nd in self.argspec], entry_sha(self.source_sha))
                if k is not None:
                    self._llvm = k
                return k
            if self._llvm is None:
                from .llvm import load_or_compile

                self._llvm = (LLVM and load_or_compile(self)) or False
        return self._llvm or None


    def llvm_quick(self) -> object:
        """The quick LLVM kernel even where an optimised one exists (tests), None where the
        renderer declines it."""
        with self.lock:
            if self._llvmq is None:
                from .llvm import load_or_compile

                self._llvmq = (LLVM and load_or_compile(self, True, False)) or False
        return self._llvmq or None


def kernel_argspec(step: Step) -> tuple:
    """(dtype, ndim) of each kernel argument, in call order."""
    k = step.kernel
    if isinstance(k, RowKernel):
        return tuple((np.dtype(n.dtype), n.ndim) for n in row_args(step))
    arrs = [(i.dtype, len(i.pattern)) for i in k.inputs]
    for o, n in zip(k.outputs, step.outputs, strict=False):
        arrs.append((o.dtype, n.ndim))
    for r, n in zip(k.reductions, step.outputs[len(k.outputs):], strict=False):
        arrs.append((r.dtype, n.ndim))
    return tuple((np.dtype(d), nd) for d, nd in arrs)


def compile_step(step: Step, reason: str) -> CompiledKernel:
    """Render ``step``'s kernel and write its module to the disk cache (nothing compiles yet)."""
    k = step.kernel
    par = isinstance(k, Kernel) and can_parallelize(k)
    body = render(k, "kernel")
    names = ["kernel"]
    if par:
        body += "\n\n" + render(k, "kernel_par", parallel=True)
        names.append("kernel_par")
    src = jit.module_source(body, names, {"kernel_par": True})
    h, path = jit.write_source(src)
    return CompiledKernel(step, body, src, h, path, par, kernel_argspec(step), reason)

"""LLVM kernels compiled through llvmlite and kept in the disk cache as native-tier entries.

A kernel module's LLVM form is ``sg_<hash>.llvm.<host>.native`` beside numba's files, in the
native tier's format (:mod:`..native`: JSON header, then the ELF object), so the native tier
loads, checks and links it exactly as it does numba's saved code. Its header's ``source`` is
:func:`entry_sha`: the module source's hash together with :data:`RENDERER_SHA` (the renderer's
own source and the optimisation settings), so an edited renderer never runs old code. Compile:
parse and verify (~1 ms), the O3 pipeline with the loop and SLP vectorizers for this host's
CPU (the target machine numba's JIT uses: static relocation, JIT code model), emit the object.

*Quick* kernels (:data:`.key.QUICK`, a cold process's first runs) skip the IR passes and
generate code at LLVM's ``Less`` level: 9 kernels of the MLP step in ~0.06 s of CPU instead of
~0.55 s (the O3 passes ~0.24 s, code generation of their vectorized loops ~0.31 s), the step
1.1x slower. They are saved as ``sg_<hash>.llvmq.<host>.native`` under their own key
(``entry_sha(..., quick=True)``), and replaced by the optimised kernels compiled on the
loader thread (:meth:`..instance.Instance.refine`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import numpy as np

from ...diskcache import VERSION_TAG, write_atomic
from ...kernel import RowKernel
from ...log import STATS, note
from .. import native
from .emit import Unsupported
from .key import (  # noqa: F401
    OPT_LEVEL,
    QUICK_CODEGEN,
    RENDERER_SHA,
    RENDERER_SOURCES,
    _renderer_sha,
    entry_sha,
)
from .library import definitions
from .loops import SYMBOL, render_kernel
from .packed import entries
from .rows import render_row

_LOCK = threading.Lock()
_TM: dict[bool, object] = {}  # quick? -> the target machine
_DECLINED: dict[str, str] = {}  # module hash -> why the renderer declined it
STATS.setdefault("llvm_compiled", 0)
STATS.setdefault("llvm_quick", 0)


def module_text(k: object, argspec: tuple, quick: bool = False) -> str:
    """The whole LLVM module of kernel ``k``: the kernel function, the library functions it
    calls, external declarations. Raises :class:`.emit.Unsupported` for what it declines.
    ``quick``: the module is compiled unoptimised (float sums in float64 blocks)."""
    f = render_row(k, argspec) if isinstance(k, RowKernel) else \
        render_kernel(k, argspec, quick)
    defs, decls = definitions(f.b.uses)
    return "\n".join(sorted(f.b.decls | decls) + [f.function(), *entries(f.params, SYMBOL)] +
                     defs) + "\n"


def target_machine(quick: bool = False) -> object:
    """This host's target machine: code generation at level 3, or :data:`.key.QUICK_CODEGEN`
    for quick kernels."""
    import llvmlite.binding as ll

    with _LOCK:
        if quick not in _TM:
            ll.initialize_native_target()
            ll.initialize_native_asmprinter()
            target = ll.Target.from_default_triple()
            _TM[quick] = target.create_target_machine(
                cpu=ll.get_host_cpu_name(), features=ll.get_host_cpu_features().flatten(),
                opt=QUICK_CODEGEN if quick else 3, reloc="static", codemodel="jitdefault",
                jit=True)
    return _TM[quick]


def compile_object(text: str, quick: bool = False) -> bytes:
    """Optimise ``text`` for this host and emit its ELF object; ``quick``: no IR passes, light
    code generation (the first tier of a cold process)."""
    import llvmlite.binding as ll

    tm = target_machine(quick)
    # a private LLVM context: numba compiles in LLVM's global context, on the loader thread at
    # the same time (llvmlite releases the GIL), and a context is not safe to share across
    # threads; the target machine is this module's own (its subtarget cache is not either)
    ctx = ll.create_context()
    with _LOCK:
        mod = ll.parse_assembly(text, context=ctx)
        try:
            mod.triple = tm.triple
            mod.data_layout = str(tm.target_data)
            mod.verify()
            if quick:
                return tm.emit_object(mod)
            pto = ll.create_pipeline_tuning_options(speed_level=OPT_LEVEL)
            pto.loop_vectorization = True
            pto.slp_vectorization = True
            pb = ll.create_pass_builder(tm, pto)
            pb.getModulePassManager().run(mod, pb)
            return tm.emit_object(mod)
        finally:
            mod.close()


def load_or_compile(ck: object, quick: bool = False, optimised_first: bool = True
                    ) -> object | None:
    """The LLVM form of compiled kernel ``ck`` as a native kernel (linked from its disk entry,
    or rendered, compiled and saved first), or None when the renderer declines the kernel or
    the entry cannot be written (numba runs it then). ``quick``: the optimised entry if it is
    on disk (``optimised_first``), else the quick one (loaded or compiled); its ``quick``
    attribute tells which."""
    dtypes = [np.dtype(d) for d, _ in ck.argspec]
    ndims = [nd for _, nd in ck.argspec]
    sha = entry_sha(ck.source_sha)
    k = native.load(ck.path, "llvm", dtypes, ndims, sha) if optimised_first or not quick else None
    if k is not None or ck.hash in _DECLINED:
        return k
    fname = "llvm"
    if quick:
        fname, sha = "llvmq", entry_sha(ck.source_sha, quick=True)
        k = native.load(ck.path, fname, dtypes, ndims, sha)
        if k is not None:
            k.quick = True
            return k
    t0 = time.perf_counter()
    try:
        text = module_text(ck.step.kernel, ck.argspec, quick)
    except Unsupported as e:
        _DECLINED[ck.hash] = str(e)
        note("LLVM renderer declines kernel %s (%s): numba compiles it", ck.hash, e)
        return None
    obj = compile_object(text, quick)
    und = native.undefined_symbols(obj)
    meta = {"symbol": SYMBOL, "ndims": ndims, "dtypes": [str(d) for d in dtypes],
            "host": native.host(), "version": VERSION_TAG, "source": sha, "undefined": und,
            "sha256": hashlib.sha256(obj).hexdigest()}
    path = native.path_for(ck.path, fname)
    try:
        write_atomic(path, json.dumps(meta).encode() + b"\n" + obj)
    except OSError as e:
        note("could not save LLVM kernel %s (%s: %s): numba compiles it", path,
             type(e).__name__, e)
        return None
    STATS["llvm_quick" if quick else "llvm_compiled"] += 1
    note("compiled %sLLVM kernel %s in %.4fs (%s)", "quick " if quick else "",
         os.path.basename(path), time.perf_counter() - t0, ck.reason)
    k = native.load(ck.path, fname, dtypes, ndims, sha)
    if k is not None and quick:
        k.quick = True
    return k


def declined(ck: object) -> str | None:
    """Why the renderer declined ``ck``'s kernel in this process (None: it did not)."""
    return _DECLINED.get(ck.hash)

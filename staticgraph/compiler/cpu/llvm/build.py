"""LLVM kernels compiled through llvmlite and kept in the disk cache as native-tier entries.

A kernel module's LLVM form is ``sg_<hash>.llvm.<host>.native`` beside numba's files, in the
native tier's format (:mod:`..native`: JSON header, then the ELF object), so the native tier
loads, checks and links it exactly as it does numba's saved code. Its header's ``source`` is
:func:`entry_sha`: the module source's hash together with :data:`RENDERER_SHA` (the renderer's
own source and the optimisation settings), so an edited renderer never runs old code. Compile:
parse and verify (~1 ms), the O3 pipeline with the loop and SLP vectorizers for this host's
CPU (the target machine numba's JIT uses: static relocation, JIT code model), emit the object.
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
from .key import OPT_LEVEL, RENDERER_SHA, RENDERER_SOURCES, _renderer_sha, entry_sha  # noqa: F401
from .library import definitions
from .loops import SYMBOL, render_kernel
from .packed import entries
from .rows import render_row

_LOCK = threading.Lock()
_TM: list = []
_DECLINED: dict[str, str] = {}  # module hash -> why the renderer declined it
STATS.setdefault("llvm_compiled", 0)


def module_text(k: object, argspec: tuple) -> str:
    """The whole LLVM module of kernel ``k``: the kernel function, the library functions it
    calls, external declarations. Raises :class:`.emit.Unsupported` for what it declines."""
    f = render_row(k, argspec) if isinstance(k, RowKernel) else render_kernel(k, argspec)
    defs, decls = definitions(f.b.uses)
    return "\n".join(sorted(f.b.decls | decls) + [f.function(), *entries(f.params, SYMBOL)] +
                     defs) + "\n"


def target_machine() -> object:
    import llvmlite.binding as ll

    with _LOCK:
        if not _TM:
            ll.initialize_native_target()
            ll.initialize_native_asmprinter()
            target = ll.Target.from_default_triple()
            _TM.append(target.create_target_machine(
                cpu=ll.get_host_cpu_name(), features=ll.get_host_cpu_features().flatten(),
                opt=3, reloc="static", codemodel="jitdefault", jit=True))
    return _TM[0]


def compile_object(text: str) -> bytes:
    """Optimise ``text`` for this host and emit its ELF object."""
    import llvmlite.binding as ll

    tm = target_machine()
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
            pto = ll.create_pipeline_tuning_options(speed_level=OPT_LEVEL)
            pto.loop_vectorization = True
            pto.slp_vectorization = True
            pb = ll.create_pass_builder(tm, pto)
            pb.getModulePassManager().run(mod, pb)
            return tm.emit_object(mod)
        finally:
            mod.close()


def load_or_compile(ck: object) -> object | None:
    """The LLVM form of compiled kernel ``ck`` as a native kernel (linked from its disk entry,
    or rendered, compiled and saved first), or None when the renderer declines the kernel or
    the entry cannot be written (numba runs it then)."""
    dtypes = [np.dtype(d) for d, _ in ck.argspec]
    ndims = [nd for _, nd in ck.argspec]
    sha = entry_sha(ck.source_sha)
    k = native.load(ck.path, "llvm", dtypes, ndims, sha)
    if k is not None or ck.hash in _DECLINED:
        return k
    t0 = time.perf_counter()
    try:
        text = module_text(ck.step.kernel, ck.argspec)
    except Unsupported as e:
        _DECLINED[ck.hash] = str(e)
        note("LLVM renderer declines kernel %s (%s): numba compiles it", ck.hash, e)
        return None
    obj = compile_object(text)
    und = native.undefined_symbols(obj)
    meta = {"symbol": SYMBOL, "ndims": ndims, "dtypes": [str(d) for d in dtypes],
            "host": native.host(), "version": VERSION_TAG, "source": sha, "undefined": und,
            "sha256": hashlib.sha256(obj).hexdigest()}
    path = native.path_for(ck.path, "llvm")
    try:
        write_atomic(path, json.dumps(meta).encode() + b"\n" + obj)
    except OSError as e:
        note("could not save LLVM kernel %s (%s: %s): numba compiles it", path,
             type(e).__name__, e)
        return None
    STATS["llvm_compiled"] += 1
    note("compiled LLVM kernel %s in %.4fs (%s)", os.path.basename(path),
         time.perf_counter() - t0, ck.reason)
    return native.load(ck.path, "llvm", dtypes, ndims, sha)


def declined(ck: object) -> str | None:
    """Why the renderer declined ``ck``'s kernel in this process (None: it did not)."""
    return _DECLINED.get(ck.hash)

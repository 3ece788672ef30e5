"""Where a saved kernel object's undefined symbols point, and linking it through MCJIT.

The native tier (:mod:`.native`) links a kernel's object into this process; each symbol the
object names but does not define gets an address here: LLVM's (numba's runtime and helpers,
once numba has set them up), else the process's own (``ctypes.CDLL(None)``), else a *trap*
that aborts with a message (bound only for symbols the kernel body cannot reach: the object's
CPython wrapper's). :func:`_resolvable` tells eligibility (a body symbol without a real
address keeps the kernel on numba). Objects :mod:`.native_link` declines are linked through an
llvmlite MCJIT engine (:func:`_link_mcjit`) in a private LLVM context.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

_TRAP_KEEP: list = []
_TRAPS: dict[str, int] = {}  # symbol -> the trap bound for it
_PROC: list = []  # the process's own symbols (ctypes.CDLL(None))
_CTX: list = []  # the native tier's private LLVM context (see _context)


def _context(llvm: Any) -> Any:
    """The LLVM context of the native tier's engines (one, kept for the process: each engine's
    module lives in it until the engine is freed)."""
    if not _CTX:
        _CTX.append(llvm.create_context())
    return _CTX[0]


def _link_mcjit(obj: bytes, symbols: tuple, und: list[str]) -> tuple[list[int], tuple]:
    """Link ``obj`` through an llvmlite MCJIT engine (objects :mod:`.native_link` declines):
    the address of each of ``symbols`` (0: not defined) and what must stay alive for them."""
    import llvmlite.binding as llvm

    _bind_undefined(llvm, und)
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    tm = llvm.Target.from_default_triple().create_target_machine(jit=True)
    # an empty module in a private context (numba may be compiling in the global one on
    # the loader thread right now; a context is not safe to share across threads)
    ee = llvm.create_mcjit_compiler(llvm.parse_assembly("", context=_context(llvm)), tm)
    objref = llvm.ObjectFileRef.from_data(obj)
    ee.add_object_file(objref)
    ee.finalize_object()
    return [ee.get_function_address(nm) for nm in symbols], (ee, objref, tm)


def _process() -> ctypes.CDLL:
    if not _PROC:
        _PROC.append(ctypes.CDLL(None))
    return _PROC[0]


def _known_to_llvm(name: str) -> int:
    """The address LLVM has for ``name`` (numba's runtime and helpers once numba has set them
    up), 0 when llvmlite is not loaded (then numba is not either) or LLVM has none."""
    llvm = sys.modules.get("llvmlite.binding")
    # ``getattr``: numba's import on the loader thread may be importing llvmlite.binding right
    # now, and a partially initialized module has no ``address_of_symbol`` yet (numba's symbols
    # are then not set up either: 0, as before the import)
    find = getattr(llvm, "address_of_symbol", None)
    return (find(name) or 0) if find is not None else 0


def _resolvable(name: str) -> bool:
    """Whether ``name`` has a real address now: known to LLVM (numba's runtime and helpers
    once numba has set them up), not one of our traps, or exported by the process."""
    addr = _known_to_llvm(name)
    if addr and addr != _TRAPS.get(name):
        return True
    return hasattr(_process(), name)


def _address(name: str) -> int:
    """The address an undefined symbol gets (as :func:`_bind_undefined` binds it): LLVM's,
    else the process's, else a trap (only symbols the body cannot reach, see :func:`load`)."""
    addr = _known_to_llvm(name)
    if addr:
        return addr
    try:
        return ctypes.cast(getattr(_process(), name), ctypes.c_void_p).value
    except AttributeError:
        addr = _TRAPS.get(name) or _trap(name)
        _TRAPS[name] = addr
        return addr


def _bind_undefined(llvm: Any, names: list[str]) -> None:
    """Give every symbol the object needs an address in LLVM's symbol table (for MCJIT):
    :func:`_address`'s."""
    for nm in names:
        if not llvm.address_of_symbol(nm):
            llvm.add_symbol(nm, _address(nm))


def _trap(name: str) -> int:
    def trap() -> None:
        sys.stderr.write(f"staticgraph: native code called {name}, which needs numba loaded\n")
        os.abort()

    fn = ctypes.CFUNCTYPE(None)(trap)
    _TRAP_KEEP.append(fn)
    return ctypes.cast(fn, ctypes.c_void_p).value

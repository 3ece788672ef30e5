"""Linking a saved kernel object into this process without llvmlite (x86-64 Linux).

A warm process used to import ``llvmlite.binding`` (~17-40 ms) and build one MCJIT engine per
kernel (~1-2 ms each) only to place a few kilobytes of machine code in memory and patch their
absolute addresses. The objects the native tier keeps (numba's, with ``reloc=static`` and the JIT
code model, and the LLVM renderer's, made with the same target machine settings) need little:
their sections and common symbols placed in memory, ``R_X86_64_64`` relocations (absolute
addresses of constants and of external functions) and, in ``.eh_frame``, PC-relative ones
(unwind tables, which are not loaded: nothing unwinds through a kernel). :func:`link` does
exactly that and refuses anything else (another machine, a relocation type it does not know,
TLS), so the caller falls back to MCJIT for such an object.

Memory: one anonymous mapping per object, executable and read-only sections first (made
``r-x`` after relocation), writable ones after them (``rw-``); kept for the life of the process
(as the MCJIT engines were).
"""

from __future__ import annotations

import ctypes
import struct
import sys
from collections.abc import Callable

from .native_elf import _Elf

_EM_X86_64 = 62
_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR, _SHF_TLS = 0x1, 0x2, 0x4, 0x400
_SHT_NOBITS, _SHT_RELA, _SHT_X86_64_UNWIND = 8, 4, 0x70000001
_SHN_UNDEF, _SHN_LORESERVE, _SHN_ABS, _SHN_COMMON = 0, 0xFF00, 0xFFF1, 0xFFF2
_R_64, _R_PC32, _R_PLT32, _R_32, _R_32S, _R_PC64 = 1, 2, 4, 10, 11, 24
_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_MAP_PRIVATE, _MAP_ANONYMOUS = 0x02, 0x20
_PAGE = 4096
_LIBC: list = []


class Unlinkable(Exception):
    """The object needs something this linker does not do (the caller uses MCJIT)."""


def usable() -> bool:
    """Whether this linker can run here at all (x86-64 Linux)."""
    import platform

    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


def _libc() -> ctypes.CDLL:
    if not _LIBC:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        _LIBC.append(libc)
    return _LIBC[0]


def _loaded(sec: tuple) -> bool:
    """Sections placed in memory: allocated ones, except unwind tables."""
    return bool(sec[2] & _SHF_ALLOC) and sec[1] != _SHT_X86_64_UNWIND and sec[5] > 0


def link(obj: bytes, symbols: tuple[str, ...], resolve: Callable[[str], int],
         elf: _Elf | None = None) -> tuple[list[int], int]:
    """Place ``obj`` in executable memory, resolve its undefined symbols with ``resolve``
    (name -> address) and return (the address of each of ``symbols``, 0 for one the object
    does not define except the first, which it must; the base of the mapping); ``elf``: the
    object already parsed. Raises
    :class:`Unlinkable` for what it does not handle, ValueError for a malformed object."""
    if not usable():
        raise Unlinkable("not x86-64 Linux")
    if len(obj) < 64 or struct.unpack_from("<H", obj, 0x12)[0] != _EM_X86_64:
        raise Unlinkable("not an x86-64 object")
    try:
        elf = elf or _Elf(obj)
    except (struct.error, IndexError, UnicodeDecodeError) as e:
        raise ValueError(f"malformed object: {e}") from e
    secs = elf.secs
    if any(s[2] & _SHF_TLS for s in secs):
        raise Unlinkable("thread-local data")
    # layout: read-only and executable sections, then (page aligned) writable ones
    offs: dict[int, int] = {}
    size = 0
    for writable in (False, True):
        if writable:
            size = -(-size // _PAGE) * _PAGE
        for i, s in enumerate(secs):
            if _loaded(s) and bool(s[2] & _SHF_WRITE) == writable:
                align = max(s[8], 1)
                size = -(-size // align) * align
                offs[i] = size
                size += s[5]
    common: dict[int, int] = {}  # symbol index -> offset: zeroed, writable (numba's NumbaEnv)
    for si, (_, value, sz, _, shndx) in enumerate(elf.syms):
        if shndx == _SHN_COMMON:
            align = max(value, 1)
            size = -(-size // align) * align
            common[si] = size
            size += sz
    total = max(-(-size // _PAGE) * _PAGE, _PAGE)
    libc = _libc()
    base = libc.mmap(None, total, _PROT_READ | _PROT_WRITE, _MAP_PRIVATE | _MAP_ANONYMOUS,
                     -1, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        raise Unlinkable(f"mmap failed (errno {ctypes.get_errno()})")
    mem = (ctypes.c_char * total).from_address(base)
    for i, off in offs.items():
        s = secs[i]
        if s[1] != _SHT_NOBITS:  # .bss stays zero (the mapping is)
            ctypes.memmove(base + off, obj[s[4]:s[4] + s[5]], s[5])

    def address(si: int) -> int:
        name, value, _, _, shndx = elf.syms[si]
        if shndx == _SHN_UNDEF:
            return resolve(name)
        if shndx == _SHN_ABS:
            return value
        if shndx == _SHN_COMMON:
            return base + common[si]
        if shndx >= _SHN_LORESERVE or shndx not in offs:
            raise Unlinkable(f"symbol {name!r} in section {shndx}, which is not loaded")
        return base + offs[shndx] + value

    for rs in secs:
        if rs[1] != _SHT_RELA or rs[7] not in offs:
            continue  # relocations of sections not loaded (.eh_frame) are not applied
        tgt = base + offs[rs[7]]
        for p in range(rs[4], rs[4] + rs[5], 24):
            r_off, info, addend = struct.unpack_from("<QQq", obj, p)
            typ, where = info & 0xFFFFFFFF, tgt + r_off
            val = address(info >> 32) + addend
            at = where - base
            if typ == _R_64:
                struct.pack_into("<Q", mem, at, val & 0xFFFFFFFFFFFFFFFF)
            elif typ == _R_PC64:
                struct.pack_into("<Q", mem, at, (val - where) & 0xFFFFFFFFFFFFFFFF)
            elif typ in (_R_PC32, _R_PLT32):
                d = val - where
                if not -(1 << 31) <= d < (1 << 31):
                    raise Unlinkable("a 32-bit PC-relative target out of range")
                struct.pack_into("<i", mem, at, d)
            elif typ in (_R_32, _R_32S):
                ok = 0 <= val < (1 << 32) if typ == _R_32 else -(1 << 31) <= val < (1 << 31)
                if not ok:
                    raise Unlinkable("a 32-bit absolute target out of range")
                struct.pack_into("<I" if typ == _R_32 else "<i", mem, at, val)
            else:
                raise Unlinkable(f"relocation type {typ}")
    ro = -(-max([offs[i] + secs[i][5] for i in offs if not secs[i][2] & _SHF_WRITE],
                default=0) // _PAGE) * _PAGE
    if ro and libc.mprotect(base, ro, _PROT_READ | _PROT_EXEC) != 0:
        raise Unlinkable(f"mprotect failed (errno {ctypes.get_errno()})")
    defined = {s[0]: base + offs[s[4]] + s[1] for s in elf.syms
               if s[0] in symbols and s[4] in offs}
    if symbols[0] not in defined:
        raise ValueError(f"symbol {symbols[0]} is not defined in the object")
    return [defined.get(nm, 0) for nm in symbols], base

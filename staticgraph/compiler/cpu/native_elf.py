"""Reading what a saved kernel object needs from outside, without an ELF library.

numba's object for a kernel holds three functions: the kernel body (what the native tier calls),
its CPython wrapper and a C-callable wrapper. Only the body runs on the native tier, so what
matters is the set of undefined symbols the body can *reach*: its own relocations, those of
the functions and data it refers to, transitively. :func:`needed_by` computes that set; a
symbol the body needs but the process cannot provide (numba's runtime ``NRT_*`` before numba
is loaded, the Python C API called without the GIL) makes the kernel ineligible for the native
tier (see :func:`.native.load`).

Conservative by construction: a reference to a section (not to a sized symbol in it) makes the
whole section reachable, and data sections are always followed whole.
"""

from __future__ import annotations

import bisect
import struct

_SHT_SYMTAB, _SHT_RELA, _SHT_REL = 2, 4, 9
_SHF_EXECINSTR = 0x4
_STT_SECTION = 3
_SHN_UNDEF, _SHN_LORESERVE = 0, 0xFF00


class _Elf:
    """Sections, symbols and relocations of an ELF64 little-endian relocatable object."""

    def __init__(self, obj: bytes) -> None:
        if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
            raise ValueError("not an ELF64 little-endian object")
        shoff, = struct.unpack_from("<Q", obj, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
        # (name, type, flags, addr, offset, size, link, info, align, entsize)
        self.secs = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize)
                     for i in range(shnum)]
        # symbols: (name, value, size, type, shndx)
        self.syms: list[tuple[str, int, int, int, int]] = []
        for s in self.secs:
            if s[1] != _SHT_SYMTAB:
                continue
            strtab = self.secs[s[6]]
            for off in range(s[4], s[4] + s[5], 24):
                st_name, st_info, _, st_shndx, st_value, st_size = struct.unpack_from(
                    "<IBBHQQ", obj, off)
                name = ""
                if st_name:
                    start = strtab[4] + st_name
                    name = obj[start:obj.index(b"\0", start)].decode()
                self.syms.append((name, st_value, st_size, st_info & 0xF, st_shndx))
            break
        # relocations per target section: sorted (offset, symbol index, addend)
        self.relocs: dict[int, list[tuple[int, int, int]]] = {}
        for s in self.secs:
            if s[1] == _SHT_RELA:
                fmt, step = "<QQq", 24
            elif s[1] == _SHT_REL:
                fmt, step = "<QQ", 16
            else:
                continue
            out = self.relocs.setdefault(s[7], [])
            for off in range(s[4], s[4] + s[5], step):
                r = struct.unpack_from(fmt, obj, off)
                out.append((r[0], r[1] >> 32, r[2] if len(r) > 2 else 0))
        for lst in self.relocs.values():
            lst.sort()

    def undefined(self) -> list[str]:
        return [nm for nm, _, _, _, shndx in self.syms if shndx == _SHN_UNDEF and nm]

    def needed_by(self, symbol: str) -> set[str]:
        """Undefined symbols reachable from the defined function ``symbol``."""
        start = next((s for s in self.syms if s[0] == symbol and _SHN_UNDEF < s[4] <
                      _SHN_LORESERVE), None)
        if start is None:
            raise ValueError(f"symbol {symbol} is not defined in the object")
        need: set[str] = set()
        todo = [self._range(start)]
        seen: set = set()
        while todo:
            rng = todo.pop()
            if rng in seen:
                continue
            seen.add(rng)
            sec, lo, hi = rng
            lst = self.relocs.get(sec, [])
            for off, si, _ in lst[bisect.bisect_left(lst, (lo, -1, -1)):]:
                if off >= hi:
                    break
                name, _, _, typ, shndx = self.syms[si]
                if shndx == _SHN_UNDEF:
                    if name:
                        need.add(name)
                elif shndx < _SHN_LORESERVE:  # ABS/COMMON symbols have no relocations
                    if typ == _STT_SECTION:
                        todo.append((shndx, 0, 1 << 62))
                    else:
                        todo.append(self._range(self.syms[si]))
        return need

    def _range(self, sym: tuple) -> tuple[int, int, int]:
        _, value, size, _, shndx = sym
        if size == 0 or not self.secs[shndx][2] & _SHF_EXECINSTR:
            return shndx, 0, 1 << 62  # unsized, or data: the whole section
        return shndx, value, value + size


def undefined_symbols(obj: bytes) -> list[str] | None:
    """Names an ELF64 little-endian relocatable object needs from outside (None: not ELF64)."""
    try:
        return _Elf(obj).undefined()
    except (ValueError, struct.error, IndexError, UnicodeDecodeError):
        return None


def needed_by(obj: bytes, symbol: str) -> set[str]:
    """Undefined symbols the function ``symbol`` of ``obj`` can reach (raises ValueError on a
    malformed object or a missing symbol)."""
    try:
        return _Elf(obj).needed_by(symbol)
    except (struct.error, IndexError, UnicodeDecodeError) as e:
        raise ValueError(f"malformed object: {e}") from e

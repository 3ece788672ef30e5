"""Compiling the spinning pool's IR to relocation-free machine code, and saving it.

Standalone on purpose (the standard library and llvmlite, no import of the ``dynamic``
package, whose import alone takes ~0.4 s): :func:`dynamic._pool_code.compile_apart` runs it
by file path in a separate Python process, which reads the IR, the symbols and the entry's
header fields as JSON from stdin (:func:`main`), compiles and saves; in-process callers import
it as ``dynamic._pool_build``.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys


def compile_text(module: str, symbols: tuple) -> tuple[bytes, dict[str, int]]:
    """Compile IR ``module`` with llvmlite for this CPU (its vector width), or for generic
    x86-64 when that code would need relocations; its ``.text`` and the offsets of
    ``symbols``. Raises when neither is relocation-free."""
    import llvmlite.binding as ll

    ll.initialize_native_target()
    ll.initialize_native_asmprinter()
    ll.initialize_native_asmparser()  # the inline fnclex / fnstsw / syscall
    target = ll.Target.from_triple("x86_64-unknown-linux-gnu")
    err: Exception | None = None
    for cpu, features in ((ll.get_host_cpu_name(), ll.get_host_cpu_features().flatten()),
                          ("x86-64", "")):
        tm = target.create_target_machine(cpu=cpu, features=features, opt=2, reloc="pic",
                                          codemodel="small")
        mod = ll.parse_assembly(module)
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        mod.verify()
        pto = ll.create_pipeline_tuning_options(speed_level=2)
        pto.loop_vectorization = True
        pb = ll.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
        try:
            return text_of(tm.emit_object(mod), symbols)
        except ValueError as e:
            err = e
    raise err  # type: ignore[misc]


def text_of(obj: bytes, wanted: tuple) -> tuple[bytes, dict[str, int]]:
    """The ``.text`` bytes of ELF64 object ``obj`` and its global symbols' offsets."""
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        raise ValueError("not an ELF64 little-endian object")
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", obj, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize) for i in range(shnum)]
    names = secs[shstrndx]

    def name(off: int, strtab: tuple) -> str:
        start = strtab[4] + off
        return obj[start:obj.index(b"\0", start)].decode()

    text = None
    for i, s in enumerate(secs):
        nm = name(s[0], names)
        if s[1] in (4, 9):  # SHT_RELA, SHT_REL
            raise ValueError(f"the pool's code has relocations ({nm})")
        if s[2] & 0x2 and nm != ".text":  # SHF_ALLOC
            raise ValueError(f"the pool's code has a section besides .text ({nm})")
        if nm == ".text":
            text = i
    if text is None:
        raise ValueError("no .text section")
    symbols: dict[str, int] = {}
    for s in secs:
        if s[1] != 2:  # SHT_SYMTAB
            continue
        for k in range(s[5] // 24):
            st_name, _info, _other, shndx, value, _size = struct.unpack_from(
                "<IBBHQQ", obj, s[4] + 24 * k)
            if shndx == text and st_name:
                symbols[name(st_name, secs[s[6]])] = value
    missing = [n for n in wanted if n not in symbols]
    if missing:
        raise ValueError(f"the pool's code lacks {missing}")
    sec = secs[text]
    return obj[sec[4]:sec[4] + sec[5]], {n: symbols[n] for n in wanted}


def save(path: str, code: bytes, symbols: dict[str, int], source: str) -> None:
    """Write the code entry atomically (a temporary file, then a rename)."""
    head = json.dumps({"source": source, "sha256": hashlib.sha256(code).hexdigest(),
                       "symbols": symbols}, sort_keys=True).encode()
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(head + b"\n" + code)
    os.replace(tmp, path)


def main() -> None:
    """The compiling process: ``{"module", "symbols", "source", "path", "idle"}`` on stdin."""
    job = json.loads(sys.stdin.read())
    if job["idle"]:
        try:  # only the cores nobody else wants: the process that started it goes first
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except (AttributeError, OSError):
            os.nice(19)
    code, symbols = compile_text(job["module"], tuple(job["symbols"]))
    save(job["path"], code, symbols, job["source"])


if __name__ == "__main__":
    main()

"""The spinning pool's machine code: compiled once by llvmlite, kept on disk, mapped in later.

The module of :mod:`dynamic._pool_ir` is compiled for this CPU (generic x86-64 if that needs
relocations) as position-independent code without a single relocation (its helpers are
inlined, its constants immediates or passed in), so its ``.text`` runs wherever it is mapped;
the entry's name holds a hash of the IR and of the CPU's model and flags.
The first process compiles it in a separate Python process (llvmlite: ~60 ms of import and
~30 ms of LLVM; :func:`compile_apart`), which saves the bytes as
``eager-pool-<source hash>.code`` under ``$STATICGRAPH_CACHE_DIR`` (default
``~/.cache/staticgraph``)::

    {"source": "<sha256 of the IR>", "sha256": "<sha256 of the code>",
     "symbols": {"sg_pool_worker": 576, ...}}\\n<code>

Later processes read it, check both hashes, and map it executable (an anonymous ``mmap``,
then ``mprotect`` to read+execute): well under a millisecond, no llvmlite, so the pool is ready
at the first large op. The directory is used only when this user owns it and nobody else may
write to it; otherwise the code is compiled in memory on a background thread.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import mmap
import os
import struct
import subprocess
import sys

try:
    from . import _pool_ir as ir
except ImportError:  # loaded by file path in the compiling process (see :func:`compile_apart`)
    import _pool_ir as ir  # type: ignore[no-redef]

def _host() -> str:
    """This CPU's model and feature flags (``/proc/cpuinfo``): the code is compiled for them."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags"))][:2]
    except OSError:
        lines = []
    return "".join(lines)


SOURCE = hashlib.sha256((ir.MODULE + _host()).encode()).hexdigest()
"""The hash of the IR and of this host's CPU: a saved entry is used only where both match."""
_MAPS: list = []  # the executable mappings (kept alive for the process's life)


def cache_path() -> str | None:
    """Where the code is kept, or ``None`` when the directory is not this user's alone."""
    base = os.environ.get("STATICGRAPH_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "staticgraph")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        st = os.stat(base)
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None
    return os.path.join(base, f"eager-pool-{SOURCE[:16]}.code")


def compile_text() -> tuple[bytes, dict[str, int]]:
    """Compile the module with llvmlite for this CPU (its vector width: the sigmoid loop), or
    for generic x86-64 when that code would need relocations; its ``.text`` and the offsets of
    :data:`ir.SYMBOLS`. Raises when neither is relocation-free."""
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
        mod = ll.parse_assembly(ir.MODULE)
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        mod.verify()
        pto = ll.create_pipeline_tuning_options(speed_level=2)
        pto.loop_vectorization = True
        pb = ll.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
        try:
            return text_of(tm.emit_object(mod))
        except ValueError as e:
            err = e
    raise err  # type: ignore[misc]


_BOOT = """
import importlib.util, os, sys
if sys.argv[5] == "idle":
    try:  # only the cores nobody else wants: the steps of the process that started it first
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m
    spec.loader.exec_module(m)
    return m
load("_pool_ir_sync", sys.argv[1])
load("_pool_ir", sys.argv[2])
code = load("_pool_code", sys.argv[3])
code.save(sys.argv[4], *code.compile_text())
"""


def compile_apart(path: str, idle: bool = True) -> subprocess.Popen:
    """Compile and save the code to ``path`` in a separate Python process (started in ~1 ms,
    running at ``SCHED_IDLE``): llvmlite's import and LLVM's work never hold this process's
    GIL, take a core it wants, nor delay its exit (``idle=False``: normal priority). The
    process loads this module and the IR's two modules by file path, not the ``dynamic``
    package (whose import alone takes ~0.4 s)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return subprocess.Popen(
        [sys.executable, "-c", _BOOT, *(os.path.join(here, f"_pool_{m}.py")
                                         for m in ("ir_sync", "ir", "code")), path,
         "idle" if idle else "normal"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        close_fds=True)


def text_of(obj: bytes) -> tuple[bytes, dict[str, int]]:
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
    missing = [n for n in ir.SYMBOLS if n not in symbols]
    if missing:
        raise ValueError(f"the pool's code lacks {missing}")
    sec = secs[text]
    return obj[sec[4]:sec[4] + sec[5]], {n: symbols[n] for n in ir.SYMBOLS}


def save(path: str, code: bytes, symbols: dict[str, int]) -> None:
    """Write the code entry atomically (a temporary file, then a rename)."""
    head = json.dumps({"source": SOURCE, "sha256": hashlib.sha256(code).hexdigest(),
                       "symbols": symbols}, sort_keys=True).encode()
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(head + b"\n" + code)
    os.replace(tmp, path)


def read(path: str) -> tuple[bytes, dict[str, int]] | None:
    """The saved code and symbols, or ``None`` (missing, another source, corrupt)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        head, code = data.split(b"\n", 1)
        meta = json.loads(head)
    except (OSError, ValueError):
        return None
    if meta.get("source") != SOURCE or meta.get("sha256") != hashlib.sha256(code).hexdigest():
        return None
    symbols = meta.get("symbols")
    if not isinstance(symbols, dict) or sorted(symbols) != sorted(ir.SYMBOLS) or not all(
            type(v) is int and 0 <= v < len(code) for v in symbols.values()):
        return None
    return code, symbols


def map_code(code: bytes, symbols: dict[str, int]) -> dict[str, int]:
    """Map ``code`` executable; the symbols' addresses."""
    size = -(-len(code) // mmap.PAGESIZE) * mmap.PAGESIZE
    m = mmap.mmap(-1, size, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    m.write(code)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.mprotect(addr, size, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
        raise OSError(ctypes.get_errno(), "mprotect(PROT_EXEC) refused")
    _MAPS.append(m)
    return {n: addr + off for n, off in symbols.items()}

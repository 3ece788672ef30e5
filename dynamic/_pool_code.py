"""The spinning pool's machine code: compiled once by llvmlite, kept on disk, mapped in later.

The module of :mod:`dynamic._pool_ir` is compiled for this CPU (generic x86-64 if that needs
relocations) as position-independent code without a single relocation (its helpers are
inlined, its constants immediates or passed in), so its ``.text`` runs wherever it is mapped;
the entry's name holds a hash of the IR and of the CPU's model and flags.
The first process compiles it in a separate Python process (llvmlite: ~60 ms of import and
~30 ms of LLVM; :func:`compile_apart`, :mod:`dynamic._pool_build`), which saves the bytes as
``eager-pool-<source hash>.code`` under ``$STATICGRAPH_CACHE_DIR`` (default
``~/.cache/staticgraph``)::

    {"source": "<sha256 of the IR and CPU>", "sha256": "<sha256 of the code>",
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
import subprocess
import sys

from staticgraph import cache_location

from . import _pool_build as build
from . import _pool_ir as ir


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
    base = cache_location.base_dir()
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        if cache_location.distrust(base) is not None:  # the code lies directly in it: strict
            return None
    except OSError:
        return None
    return os.path.join(base, f"eager-pool-{SOURCE[:16]}.code")


def compile_text() -> tuple[bytes, dict[str, int]]:
    """The module compiled here (:func:`._pool_build.compile_text`)."""
    return build.compile_text(ir.MODULE, ir.SYMBOLS)


def save(path: str, code: bytes, symbols: dict[str, int]) -> None:
    """Write the code entry for this IR and CPU (:func:`._pool_build.save`)."""
    build.save(path, code, symbols, SOURCE)


def compile_apart(path: str, idle: bool = True) -> subprocess.Popen:
    """Compile and save the code to ``path`` in a separate Python process (started in ~1 ms,
    running at ``SCHED_IDLE`` unless ``idle=False``): llvmlite's import and LLVM's work never
    hold this process's GIL, take a core it wants, nor delay its exit. It runs
    ``_pool_build.py`` by file path on this process's IR (stdin), so it compiles exactly what
    this process runs (even if the files changed since)."""
    job = json.dumps({"module": ir.MODULE, "symbols": list(ir.SYMBOLS), "source": SOURCE,
                      "path": path, "idle": idle})
    # (``-c`` + ``run_path``, not the script itself: its directory, ``dynamic/``, would come
    # first on ``sys.path`` and its ``_random.py`` shadow the standard library's)
    boot = f"import runpy; runpy.run_path({build.__file__!r}, run_name='__main__')"
    proc = subprocess.Popen([sys.executable, "-c", boot], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=True)
    try:
        proc.stdin.write(job.encode())
        proc.stdin.close()
    except OSError:
        proc.kill()
        raise
    return proc


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

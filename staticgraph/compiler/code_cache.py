"""Generated Python source compiled once: its code object kept in memory and on disk.

Why: the per-call fast paths, drivers and call wrappers are Python source generated at a
plan's first run or second call; ``compile()`` of it costs 0.3-5 ms (a compiled function's
fast path is 5-8 KB) inside the call the user waits for, in every new process, for the same
text. :func:`compiled` returns ``compile(src, filename, "exec")``'s code object from a
process-wide table, else from ``code_<h>.marshal`` in the disk cache's directory
(:func:`.diskcache.cache_dir`, which is trusted as the machine code beside it is), else
compiles it and writes that file. ``h`` hashes the text, the file name and Python's bytecode
magic number; the file holds that hash and the SHA-256 of the marshalled code after it, both
checked before the code object is used, so a damaged, truncated or foreign file is compiled
afresh (and rewritten), never run.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from importlib.util import MAGIC_NUMBER
from types import CodeType

_MEM: dict[tuple[str, str], CodeType] = {}
_MEM_MAX = 512  # distinct generated texts kept per process (dropped all at once past that)
ENABLED = [True]  # the disk half (tests switch it off to compare)


def _key(src: str, filename: str) -> bytes:
    return hashlib.sha256(MAGIC_NUMBER + filename.encode() + b"\0" + src.encode()).digest()


def _load(path: str, key: bytes) -> CodeType | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    body = data[64:]
    if data[:32] != key or data[32:64] != hashlib.sha256(body).digest():
        return None
    try:
        code = marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def _store(path: str, key: bytes, code: CodeType) -> None:
    from .diskcache import write_atomic

    try:
        body = marshal.dumps(code)
        write_atomic(path, key + hashlib.sha256(body).digest() + body)
    except OSError:
        pass  # a cache that cannot be written is only slower


def compiled(src: str, filename: str) -> CodeType:
    """``compile(src, filename, "exec")``, from memory or the disk cache when seen before."""
    code = _MEM.get((src, filename))
    if code is not None:
        return code
    path = key = None
    if ENABLED[0]:
        from .diskcache import cache_dir

        key = _key(src, filename)
        path = os.path.join(cache_dir(), f"code_{key.hex()[:40]}.marshal")
        code = _load(path, key)
    if code is None:
        code = compile(src, filename, "exec")
        if path is not None and key is not None:
            _store(path, key, code)
    if len(_MEM) >= _MEM_MAX:
        _MEM.clear()
    _MEM[src, filename] = code
    return code


__all__ = ["ENABLED", "compiled"]

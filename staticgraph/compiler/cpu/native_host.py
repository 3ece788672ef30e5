"""What a saved kernel's machine code depends on besides its source: this host.

:func:`host` is LLVM's description of the machine (target triple, CPU name and features) and
numba's code-generation settings; a native entry's header must name it, and :func:`host_tag`
(a hash of it) is in the entry's file name, so machines sharing a cache directory never read
each other's code. Asking LLVM needs ``llvmlite.binding`` (~17-40 ms to load), which a warm
process otherwise no longer imports (:mod:`.native_link` links the code), so the answer is
remembered in the cache directory per CPU fingerprint (``/proc/cpuinfo``'s identity and flags,
the machine type), llvmlite version and numba settings.
"""

from __future__ import annotations

import hashlib
import json
import os

from ..diskcache import VERSION_TAG, write_atomic

_HOST: list | None = None
_TAG = ""


_NOT_CODEGEN = {"NUM_THREADS", "THREADING_LAYER", "THREADING_LAYER_PRIORITY", "CACHE_DIR",
                "ENABLE_CUDASIM", "WARNINGS", "FULL_TRACEBACKS", "SHOW_HELP", "COLOR_SCHEME",
                "HIGHLIGHT_DUMPS", "DISABLE_PERFORMANCE_WARNINGS", "CAPTURED_ERRORS",
                "DEBUG_CACHE"}
"""``NUMBA_*`` settings that do not change the machine code (every other one is in the key)."""



def host() -> list:
    """What the object code depends on besides its source: target, CPU, numba's settings.
    Asked of LLVM once per machine; later processes read it from the cache directory's
    ``host.<fingerprint>.json`` (see :func:`_fingerprint`) instead of loading llvmlite."""
    global _HOST, _TAG
    if _HOST is None:
        numba_env = sorted((k, v) for k, v in os.environ.items() if k.startswith("NUMBA_")
                           and k[6:] not in _NOT_CODEGEN and not k.startswith("NUMBA_CUDA"))
        memo = _host_memo(numba_env)
        found = None
        if memo is not None:
            try:
                with open(memo, encoding="utf-8") as f:
                    found = json.load(f)
                if not (isinstance(found, list) and len(found) == 4 and
                        found[3] == json.loads(json.dumps(numba_env))):
                    found = None
            except (OSError, ValueError):
                found = None
        if found is None:
            import llvmlite.binding as llvm

            found = [llvm.get_process_triple(), llvm.get_host_cpu_name(),
                     llvm.get_host_cpu_features().flatten(), numba_env]
            found = json.loads(json.dumps(found))  # the form a header holds (lists)
            if memo is not None:
                try:
                    write_atomic(memo, json.dumps(found).encode())
                except OSError:
                    pass
        _TAG = hashlib.sha256(json.dumps(found).encode()).hexdigest()[:12]
        _HOST = found
    return _HOST


def _fingerprint() -> str | None:
    """What identifies this machine's CPU to the kernel (the first processor's vendor, family,
    model, stepping, name and flags in ``/proc/cpuinfo``, the machine type), without LLVM;
    None where there is no ``/proc/cpuinfo``."""
    keep = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags",
            "cpu implementer", "cpu architecture", "cpu variant", "cpu part", "features")
    try:
        lines = []
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for ln in f:
                if not ln.strip():
                    break
                k, _, v = ln.partition(":")
                if k.strip().lower() in keep:
                    lines.append(k.strip().lower() + "=" + v.strip())
    except OSError:
        return None
    if not lines:
        return None
    return "\n".join([os.uname().machine] + sorted(lines))


def _host_memo(numba_env: list) -> str | None:
    """The file that remembers LLVM's description of this host (None: no fingerprint).
    Keyed by the CPU fingerprint, llvmlite's version (``VERSION_TAG``) and numba's settings;
    it lives in the trusted cache directory, like the code it selects."""
    fp = _fingerprint()
    if fp is None:
        return None
    from ..diskcache import cache_dir

    key = hashlib.sha256(json.dumps([fp, VERSION_TAG, numba_env]).encode()).hexdigest()[:16]
    return os.path.join(cache_dir(), f"host.{key}.json")


def host_tag() -> str:
    """12 hex digits of :func:`host`'s hash (in native entries' file names)."""
    host()
    return _TAG

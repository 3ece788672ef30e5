"""The packed native call: stretches of LLVM kernels in the Python driver run as one native call.

A native kernel called through ``ctypes`` with numba's calling convention costs ~5-60 us: per
array the data pointer (``a.ctypes.data`` alone is ~3-5 us), then dozens of converted integer
arguments. numba's dispatcher costs ~0.3 us a kernel, so instances used to switch to numba. The
LLVM renderer's modules also define ``sg_packed`` (one pointer: a block holding the arguments)
and ``sg_seq`` (runs a list of packed entries; :mod:`.llvm.packed`). :func:`pack` rewrites the
generated per-run call of an instance: each maximal stretch of kernel calls (and the pure
bindings between them: buffers, views) whose kernels all have packed entries becomes::

    t5 = B[3]                       # bindings, as before
    G0[7] = id(t2) if type(t2) is nd else 0  # only what changes between runs: feeds,
    G0[11] = id(t5) if type(t5) is nd else 0 # variables, escape buffers (PyArrayObject*)
    r = seq0(g0)
    if r:                           # 1: an array of another layout: nothing ran
        if r != 1: raise ...
        K[0](t2, B[1]); K[1](B[1], t5)   # the plain native calls (copy what needs it)

Every block is written once when the instance is bound: the plan's own buffers and constants
(fixed for the instance's life) fully, the varying arrays by ``sg_seq`` itself from the array
objects on each run (after checking dtype, rank, C order and alignment). Blocks and lists belong
to the instance and are used under its lock.
"""

from __future__ import annotations

import ctypes
import os
import re
from typing import Any

import numpy as np

_KERNEL = re.compile(r"^(\s+)K\[(\d+)\]\((.*?)\)(\s+#.*)?$")
_BIND = re.compile(r"^\s+(t\d+) = (.*?)(\s+#.*)?$")
_PURE = re.compile(r"^(B\[\d+\]|C\[\d+\]|F\[\d+\]|S\[V\d+\]|t\d+\.reshape\(.*\)|t\d+\.transpose"
                   r"\(.*\)|np\.(expand_dims|squeeze)\(t\d+, .*\)|t\d+)$")
_VARYING_SOURCES = re.compile(r"^(F\[\d+\]|S\[V\d+\])$")
ENABLED = os.environ.get("STATICGRAPH_PACKED", "1") not in ("0", "off", "never")
"""``STATICGRAPH_PACKED=0``: native kernels are called one by one through ``ctypes``."""
_SEQ_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)
_LAYOUT_OK: list[bool] = []


def layout_ok() -> bool:
    """Whether numpy's array objects have the field layout ``sg_seq`` reads (data at 16, rank
    at 24, shape at 32, strides at 40, descriptor at 56, flags at 64: numpy's public
    ``PyArrayObject_fields`` on a release build of CPython), checked once on a probe array."""
    if not _LAYOUT_OK:
        a = np.zeros((3, 5), np.float32)[:, 1:]
        q = ctypes.c_int64.from_address
        try:
            ok = (q(id(a) + 16).value == a.ctypes.data
                  and ctypes.c_int32.from_address(id(a) + 24).value == 2
                  and (ctypes.c_int64 * 2).from_address(q(id(a) + 32).value)[:] == [3, 4]
                  and (ctypes.c_int64 * 2).from_address(q(id(a) + 40).value)[:] == [20, 4]
                  and q(id(a) + 56).value == id(a.dtype)
                  and ctypes.c_int32.from_address(id(a) + 64).value & 0x101 == 0x100)
        except (ValueError, OSError):
            ok = False
        _LAYOUT_OK.append(bool(ok))
    return _LAYOUT_OK[0]


def _describe(a: np.ndarray) -> list[int]:
    """numba's array arguments for ``a``: meminfo, parent, size, itemsize, data, shape,
    strides."""
    return [0, 0, a.size, a.itemsize, a.ctypes.data, *a.shape, *a.strides]


def pack(lines: list[str], kernels: list, ns: dict, pooled: set[int]) -> list[str]:
    """``lines`` (the per-run call's body) with every packable stretch of kernel calls run
    through ``sg_seq``; ``ns`` (the call's namespace: B, C, K...) receives the blocks, lists
    and entry points; ``pooled``: buffer slots whose array changes between runs."""
    if not layout_ok():
        return lines
    fixed: dict[str, Any] = {}  # names bound to the same array on every run -> the array
    varying: set[str] = set()
    out: list[str] = []
    group: list[str] = []

    def flush() -> None:
        if any(_KERNEL.match(ln) for ln in group):
            out.extend(_packed_group(group, kernels, ns, fixed, varying))
        else:
            out.extend(group)
        group.clear()

    for ln in lines:
        m = _BIND.match(ln)
        k = _KERNEL.match(ln)
        if m and _PURE.match(m.group(2)):
            name, expr = m.group(1), m.group(2)
            base = re.match(r"^(B|C|F|S)\[V?(\d+)\]$", expr)
            src = re.match(r"^(?:np\.\w+\()?(t\d+)", expr)
            fixed.pop(name, None)
            varying.discard(name)
            if _VARYING_SOURCES.match(expr) or (base and base.group(1) == "B" and
                                                int(base.group(2)) in pooled):
                varying.add(name)
            elif base or (src and src.group(1) in fixed):
                try:
                    fixed[name] = eval(expr, ns, dict(fixed))  # noqa: S307 - our own source
                except Exception:  # noqa: BLE001 - unknown: treat as varying
                    varying.add(name)
            else:
                varying.add(name)
            group.append(ln)
        elif k and getattr(kernels[int(k.group(2))], "seq", 0):
            group.append(ln)
        else:
            flush()
            out.append(ln)
            m2 = _BIND.match(ln)
            if m2:  # computed per run (a fallback's result)
                fixed.pop(m2.group(1), None)
                varying.add(m2.group(1))
    flush()
    return out


def _packed_group(group: list[str], kernels: list, ns: dict, fixed: dict,
                  varying: set) -> list[str]:
    """One stretch: its bindings, the per-run writes, one ``sg_seq`` call, the slow path."""
    g = sum(1 for key in ns if key.startswith("seq"))
    prog: list[int] = []
    writes: list[str] = []
    blocks: list[np.ndarray] = []
    calls = [ln for ln in group if _KERNEL.match(ln)]
    indent = _KERNEL.match(calls[0]).group(1)
    for ln in calls:
        m = _KERNEL.match(ln)
        k = kernels[int(m.group(2))]
        names = [a.strip() for a in m.group(3).split(",")]
        desc: list[int] = [0, 0]  # ret, excinfo: the kernel's scratch (never read back)
        fixes: list[tuple[str, int, int, int]] = []
        for nm, dt, nd in zip(names, k.dtypes, k.ndims, strict=True):
            at = len(desc)
            a = fixed.get(nm)
            if a is not None:
                if not (a.dtype == dt and a.ndim == nd and a.flags.c_contiguous and
                        a.flags.aligned):
                    return group  # the plain calls copy it each run: leave them
                desc += _describe(a)
            elif nm in varying:
                desc += [0, 0, 0, dt.itemsize, 0] + [0] * (2 * nd)
                fixes.append((nm, at, nd, id(dt)))
            else:
                return group
        blk = np.array(desc, np.int64)
        blk[0], blk[1] = k._ret, k._ret + 64
        blocks.append(blk)
        prog += [k.packed, blk.ctypes.data, len(fixes)]
        for nm, at, nd, descr in fixes:
            # 0 (refused: the plain calls) for what is not exactly an ndarray (a numpy scalar
            # fed or stored has no PyArrayObject fields to read)
            writes.append(f"{indent}G{g}[{len(prog)}] = id({nm}) if type({nm}) is nd else 0")
            prog += [0, at, nd, descr]
    prog.append(0)
    arr = np.array(prog, np.int64)
    ns[f"G{g}"] = arr
    ns["nd"] = np.ndarray
    ns[f"seq{g}"] = _SEQ_TYPE(kernels[int(_KERNEL.match(calls[0]).group(2))].seq)
    ns[f"g{g}"] = arr.ctypes.data
    ns.setdefault("_packed_blocks", []).append(blocks)  # alive while the call is
    binds = [ln for ln in group if not _KERNEL.match(ln)]
    return binds + writes + [
        f"{indent}r = seq{g}(g{g})", f"{indent}if r:",
        f"{indent}    if r != 1:",
        f"{indent}        raise RuntimeError('a native kernel reported an error')"] + [
        "    " + ln for ln in calls]

"""The key of the LLVM renderer's disk entries, without loading the renderer.

An LLVM entry's header names :func:`entry_sha`: the kernel module's source hash together with
:data:`RENDERER_SHA` (every source of this folder, :data:`RENDERER_SOURCES` outside it, the
optimisation level), so an edited renderer never runs old code. A warm process needs only this
to find and check its entries (:meth:`..compiled_kernel.CompiledKernel.llvm` with
``build=False``); the renderer itself (``emit``, ``library``, ``loops``...) loads when a kernel
has to be compiled.
"""

from __future__ import annotations

import hashlib
import os

OPT_LEVEL = int(os.environ.get("STATICGRAPH_LLVM_OPT", 3))
"""The optimisation pipeline's speed level (2 or 3; the loop vectorizer runs at both)."""
QUICK = os.environ.get("STATICGRAPH_LLVM_QUICK", "1") not in ("0", "off", "never")
"""Whether a cold process answers its first runs with *quick* LLVM kernels (no IR passes,
code generation at LLVM's ``Less`` level: ~6 ms a kernel instead of ~60) while the optimised
ones compile on the loader thread (:meth:`..instance.Instance.refine`); ``0``: optimised
kernels on the caller's thread, as before."""
QUICK_CODEGEN = 1
"""The quick kernels' code generation level (0-3; 1: SelectionDAG with light optimisation,
as fast to emit as 2-3 here and 1.1x the optimised step time; 0, fast instruction selection,
1.4x)."""
RENDERER_SOURCES = ("../render.py", "../render_chunks.py", "../blocksum.py")
"""Sources outside this folder that shape the IR (loop order, chunking, the block sum)."""


def _renderer_sha(here: str | None = None) -> str:
    """The hash of the renderer: every ``.py`` of this folder (of ``here``, a copy, in tests),
    :data:`RENDERER_SOURCES` and the optimisation level."""
    h = hashlib.sha256(f"opt{OPT_LEVEL}".encode())
    here = here or os.path.dirname(__file__)
    for fn in sorted(f for f in os.listdir(here) if f.endswith(".py")) + list(RENDERER_SOURCES):
        with open(os.path.join(here, fn), "rb") as f:
            h.update(fn.encode() + b"\0" + f.read())
    return h.hexdigest()


RENDERER_SHA = _renderer_sha()
"""The renderer's sources and settings: part of every LLVM entry's key."""


def entry_sha(source_sha: str, quick: bool = False) -> str:
    """What an LLVM entry's header must name: this module source and this renderer (and,
    for a quick entry, the quick settings: a quick object never passes for an optimised one)."""
    tail = f"quick{QUICK_CODEGEN}" if quick else ""
    return hashlib.sha256((source_sha + RENDERER_SHA + tail).encode()).hexdigest()

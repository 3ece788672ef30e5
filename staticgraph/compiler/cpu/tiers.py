"""The hand-overs of a native-tier instance, run by the loader thread (:mod:`.native`).

A cold process answers its first runs with *quick* LLVM kernels (no IR passes, light code
generation: :mod:`.llvm.build`); the loader thread then compiles the optimised LLVM kernels
(:func:`refine`, before it imports numba: llvmlite releases the GIL, so the caller's runs go
on meanwhile) and later numba's dispatchers replace those
(:meth:`.instance.Instance.upgrade`)::

    quick LLVM kernels --refine--> optimised LLVM kernels --upgrade--> numba's dispatchers

Each hand-over builds the new call, then :func:`swap` puts it in place under the instance's
lock: a run already holding the old call forwards to the new one (the old call's ``forward``
cell), and listeners (runners' caches) are re-pointed. ``Instance.switched_at`` keeps when
each hand-over happened (``time.time()``; benchmarks report it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..log import note
from . import native


def quick_first() -> bool:
    """Whether a kernel without code on disk starts as a quick LLVM kernel: unless
    ``STATICGRAPH_LLVM_QUICK=0``, or ``STATICGRAPH_NATIVE=always`` (no loader thread to
    refine it)."""
    from .llvm.key import QUICK

    return QUICK and native.MODE != "always"


def swap(inst: Any, make: Callable[[], Any], tier: str, what: str) -> None:
    """Build the new call with ``make()`` under ``inst``'s lock, put it in place (tier
    ``tier``), make the old call forward to it and tell the listeners."""
    with inst.lock:
        new = make()
        old, inst.call, inst.tier = inst.call, new, tier
        cell = getattr(old, "forward", None)
        if cell is not None:
            cell[0] = new
    inst.switched_at[what] = time.time()
    for fn in list(inst._listeners):
        fn(old, new)


def refine(inst: Any) -> bool:
    """Replace ``inst``'s quick LLVM kernels by optimised ones (compiled here, without the
    lock; a kernel whose optimised form cannot be built keeps its quick code, and an error
    leaves the quick kernels running). True when switched."""
    if inst.tier != "native" or not inst.quick:
        return False
    t0 = time.perf_counter()
    try:
        kernels = [(ck.llvm() or k) if getattr(k, "quick", False) else k
                   for k, ck in zip(inst.kernels, inst.plan.kernel_list, strict=True)]
    except Exception as e:  # noqa: BLE001 - the quick kernels keep running (numba next)
        note("could not compile the optimised LLVM kernels (%s: %s)", type(e).__name__, e)
        return False

    def make() -> Any:
        inst.kernels = kernels
        inst.quick = any(getattr(k, "quick", False) for k in kernels)
        return inst._python_call(kernels)

    swap(inst, make, "native", "optimised")
    note("switched an instance from quick LLVM kernels to optimised ones (compiled in %.3fs)",
         time.perf_counter() - t0)
    return True

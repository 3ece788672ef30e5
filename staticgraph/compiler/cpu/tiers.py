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

import math
import os
import time
from collections.abc import Callable
from typing import Any

from ..kernel import RowKernel, row_args
from ..log import note
from ..tiling import body_cost
from . import native

QUICK_MAX_WORK = int(os.environ.get("STATICGRAPH_QUICK_MAX_WORK", 1 << 24))
"""Work (elements times :func:`..tiling.body_cost`: 20 a transcendental, 1 another operator)
up to which a kernel starts quick. Quick code is scalar and runs ~1 ns a unit here (the
``chain`` at 1M floats, ~180 units an element: 180 ms a run, optimised 2.3 ms), so above
~16M units one quick run costs more than the optimised compile (~50-100 ms) saves: such a
kernel compiles optimised at once (the MLP step's largest: ~0.4M)."""


def quick_first(inst: Any = None, ck: Any = None) -> bool:
    """Whether kernel ``ck`` without code on disk starts as a quick LLVM kernel in ``inst``:
    unless ``STATICGRAPH_LLVM_QUICK=0``, or ``STATICGRAPH_NATIVE=always`` (no loader thread to
    refine it), or its :func:`work` at these sizes exceeds :data:`QUICK_MAX_WORK`."""
    from .llvm.key import QUICK

    if not QUICK or native.MODE == "always":
        return False
    return inst is None or work(inst, ck) <= QUICK_MAX_WORK


def work(inst: Any, ck: Any) -> int:
    """Work units of one run of ``ck``'s kernel at ``inst``'s sizes: elements times the body
    cost (a row kernel: its largest argument's elements times 25, an ``exp`` and a few
    operators an element)."""
    k = ck.step.kernel
    if isinstance(k, RowKernel):
        return 25 * max(math.prod(inst._concrete(a.shape)) for a in row_args(ck.step))
    return inst._size(ck) * max(1, body_cost(k))


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

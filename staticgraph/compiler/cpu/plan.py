"""The CPU plan: a :class:`~..pipeline.Schedule` rendered for numba. Each kernel and row step
becomes a kernel module in the disk cache (:mod:`.compiled_kernel`, compiled lazily), the plan
gets a Python driver (:mod:`.driver`) and, where it fits, a single ``@njit`` driver
(:mod:`.njit_driver`).

A plan is size-independent; an :class:`~.instance.Instance` binds it to concrete feed shapes
(buffers, serial/parallel kernel choice, which driver) and is kept per shape signature. The
first instance that runs through numba decides what compiles (``Plan.built``); an instance of
another size class later uses only what exists (compiled in this process or in numba's disk
cache), so a batch-size change never compiles.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..executor_base import LRU, BoundPlans, instance_cache
from ..fusion import Step
from ..ir import Program
from ..log import note
from ..memory import MemoryPlan
from . import jit
from .compiled_kernel import CompiledKernel, compile_step
from .driver import Driver
from .instance import Instance
from .njit_driver import NjitDriverSource, Unsupported

if TYPE_CHECKING:
    from ..pipeline import Schedule


@dataclass(eq=False)
class Plan(BoundPlans):
    prog: Program
    steps: list[Step]
    mem: MemoryPlan
    kernel_list: list[CompiledKernel]  # in step order: the Python driver's ``K[i]``
    driver: Driver
    compile_seconds: float
    trace: list
    njit_src: NjitDriverSource | None = None
    reason: str = ""
    native_only: bool = False  # run saved machine code only, never numba's dispatchers (tests)
    built: bool = False  # an instance chose what compiles: later sizes use only what exists
    llvm_only: bool | str = False  # LLVM kernels where the renderer covers them ("quick":
    # quick ones), no switch (tests)
    instances: LRU = field(default_factory=instance_cache)
    _njit: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def kernel_count(self) -> int:
        return len(self.kernel_list)

    def bind(self, feed_shapes: tuple) -> Instance:
        return Instance(self, feed_shapes)

    def njit_dispatcher(self, sig: tuple, build: bool = True) -> object | None:
        """The single driver compiled (or loaded from disk) for ``sig``; no other signature
        compiles later (a mismatching call raises ``TypeError``, see the executor).
        ``build=False``: only what exists (in memory or numba's disk cache), else None."""
        with self._lock:
            if self._njit is None:
                src = self.njit_src
                pre = {k: ck.module.kernel for k, ck in src.kernel_globals.items()}
                mod = jit.load_source(src.module_text(), pre)
                t0 = time.perf_counter()
                if build:
                    disp = jit.compile_sig(mod, "driver", sig, self.reason)
                else:
                    disp = jit.load_only(mod, "driver", sig, "a size change: only if built")
                    if disp is None:
                        return None
                disp.disable_compile()
                for ck in src.kernel_globals.values():  # compiled with the driver: keep them
                    ck.save_native(load=True)
                self.compile_seconds += time.perf_counter() - t0
                self._njit = disp
        return self._njit


def build_plan(schedule: Schedule, reason: str) -> Plan:
    """Render ``schedule`` for the CPU: kernel modules written to the disk cache (compiled on
    first use), the Python driver, and the single driver where the plan can have one."""
    prog, steps, mem = schedule.prog, schedule.steps, schedule.mem
    compiled = {si: compile_step(s, reason) for si, s in enumerate(steps)
                if s.kind in ("kernel", "row")}
    driver = Driver(prog, steps, mem)
    try:
        nsrc = NjitDriverSource(prog, steps, mem, compiled)
    except Unsupported as e:
        note("no single driver for this plan (%s)", e)
        nsrc = None
    return Plan(prog, steps, mem, [compiled[si] for si in sorted(compiled)], driver,
                time.perf_counter() - schedule.started, schedule.trace, nsrc, reason)


def compile_plan(fetches: list, targets: list, feeds: dict, reason: str = "explicit") -> Plan:
    """The whole pipeline for one key: :func:`~..pipeline.compile_schedule`, then
    :func:`build_plan`."""
    from ..pipeline import compile_schedule

    return build_plan(compile_schedule(fetches, targets, feeds), reason)

"""A plan bound to concrete feed shapes (:class:`Instance`), and its per-run entry point.

Binding allocates every buffer once (intermediate slots, escape pools) and chooses how the plan
runs at these sizes: the single compiled driver of :mod:`.njit_driver` (small plans: one native
call per run) or the Python driver (BLAS ``np.dot`` and ``prange`` kernels where sizes pay).

``Instance.call(F, S, commit)`` is generated Python, unrolled for the plan: ``F`` the feed arrays
in feed order, ``S`` a mapping variable -> value, ``commit`` the store's commit. It does no dict
or list work beyond reading the variables and committing the updates::

    def call(F, S, commit):
        with lock:
            e0 = E[0]
            if rc(e0) > 4: e0 = fresh(0)     # the caller still holds last run's result
            r = drv(F[0], S[V0], e0, B)
        commit({U0: e0})
        return [e0]

Results are never overwritten under the caller: an escape buffer is reused only when its
reference count shows that only the instance holds it (list, pool, local, argument = 4).
"""

from __future__ import annotations

import os
import threading

import numpy as np

from ... import cpu_threads as threads
from ..fusion import empty_reduction_error
from ..kernel import Kernel, extent
from ..log import note
from ..passes.shapes import bind_dims
from . import native, native_packed, tiers
from .instance_calls import GeneratedCalls
from .njit_driver import SMALL_DOT

PARALLEL_MIN = int(os.environ.get("STATICGRAPH_PARALLEL_MIN", 1 << 20))
"""Elements: below this a kernel runs serially (thread start-up costs more than it saves)."""
SINGLE_MIN_STEPS = int(os.environ.get("STATICGRAPH_SINGLE_DRIVER_MIN_STEPS", 2))
"""Plans with fewer kernel/matmul steps than this run the Python driver (one dispatch anyway)."""


class Instance(GeneratedCalls):
    """A plan bound to concrete feed shapes: buffers, the driver choice, the entry point."""

    def __init__(self, plan, feed_shapes: tuple) -> None:
        self.plan = plan
        concrete = bind_dims(plan.prog, feed_shapes)  # raises if fed sizes disagree
        self._concrete = concrete
        self.slot_shapes = [concrete(shape) for shape, _ in plan.mem.slots]
        self.buffers: list[np.ndarray | None] = []
        self.pools: dict[int, list[np.ndarray]] = {}
        self.peak_bytes = 0
        for sl, (shape, dt) in enumerate(plan.mem.slots):
            buf = np.empty(concrete(shape), dt)
            self.buffers.append(buf)
            if sl in plan.mem.escape:
                self.pools[sl] = [buf]
            else:
                self.peak_bytes += buf.nbytes
        self.lock = threading.Lock()
        self.small = False
        self.policy: threads.Policy | None = None
        self.tier = "numba"  # or "native": saved machine code, numba not loaded (yet)
        self._listeners: list = []
        self._switch: list = [None, False]  # [1]: the hand-overs are queued
        self.quick = False  # some kernels are quick LLVM code (:mod:`.tiers`: refined later)
        self.kernels: list = []  # the native tier's kernels
        self.switched_at: dict[str, float] = {}  # hand-over -> time.time() (:mod:`.tiers`)
        bad = empty_reduction_error(plan.steps, concrete)
        if bad is not None:  # every run at these shapes fails, as numpy's max does
            def call(F: list, S: object, commit: object) -> list:
                raise ValueError(bad)

            self.call = call
            return
        if plan.native_only or plan.llvm_only or (native.enabled() and self._needs_numba()):
            kernels = [self._native(ck) for ck in plan.kernel_list]
            if any(k is not None for k in kernels) or not kernels:
                # kernels neither saved nor rendered by LLVM compile with numba now
                kernels = [k or ck.serial() for k, ck in zip(kernels, plan.kernel_list, strict=True)]
                self.tier = "native"
                self.kernels = kernels
                self.quick = any(getattr(k, "quick", False) for k in kernels)
                self.call = self._python_call(kernels)
                return
        self.call = self._numba_call()

    def _native(self, ck) -> object:
        """The kernel as native code: the LLVM renderer's entry on disk (its packed entry runs
        stretches of kernels in one call, :mod:`.native_packed`), else numba's saved machine
        code, else the LLVM renderer's compiled now; None where none is available."""
        if self.plan.llvm_only:  # tests: "quick" runs the quick kernels
            return ck.llvm_quick() if self.plan.llvm_only == "quick" else ck.llvm()
        k = None
        if native_packed.ENABLED and not self.plan.native_only:
            k = ck.llvm(build=False)  # on disk: preferred, it has the packed entry
        k = k or ck.native()
        if k is None and not self.plan.native_only:
            # a cold process: quick LLVM code now, optimised on the loader thread (refine)
            k = ck.llvm(quick=tiers.quick_first(self, ck))
        if k is None and self.plan.native_only:  # compile with numba, then link its code
            ck.serial()
            k = ck.native(retry=True)
            if k is None and native.why_not(ck.path):  # needs what the process lacks
                return ck.serial()
            if k is None:
                raise RuntimeError(f"no native code for kernel {ck.hash} on this platform")
        return k

    def _needs_numba(self) -> bool:
        return bool(self.plan.kernel_list) or (self.plan.njit_src is not None and
                                               self._fits_single_driver())

    def _numba_call(self) -> object:
        """The call through numba's dispatchers: the single driver where the plan fits it."""
        plan = self.plan
        self.small = self._use_single_driver()
        if self.small:
            try:
                call = self._small_call()
                plan.built = True
                return call
            except Exception as e:  # typing failed: the Python driver runs this plan
                note("single driver unavailable (%s: %s): using the Python driver",
                         type(e).__name__, str(e)[:200])
                plan.njit_src = None
                self.small = False
        call = self._python_call()
        plan.built = True
        return call

    # ------------------------------------------------------------------ tiers
    def subscribe(self, fn: object) -> None:
        """``fn(old_call, new_call)`` runs when the native tier hands over to numba."""
        self._listeners.append(fn)

    def upgrade(self) -> bool:
        """Hand a native-tier instance over to numba: load (or compile) the dispatchers first,
        without the lock, then build the numba call and switch under the lock; runs that
        already hold the old call forward to the new one. True when switched."""
        if self.tier != "native":
            return False
        if self._use_single_driver():
            self._small_sig()  # the driver dispatcher, compiled with its kernels
        else:
            self._numba_kernels()
        tiers.swap(self, self._numba_call, "numba", "numba")
        note("switched an instance from native kernels to numba's")
        return True

    def refine(self) -> bool:
        """Replace quick LLVM kernels by optimised ones (:func:`.tiers.refine`)."""
        return tiers.refine(self)

    # ------------------------------------------------------------------ driver choice
    def _use_single_driver(self) -> bool:
        """The single driver runs these sizes when they fit it and it exists or may be built:
        the plan's first instance builds what its sizes need; a later one of another size
        class loads the driver from numba's disk cache or keeps the Python driver."""
        if self.plan.njit_src is None or not self._fits_single_driver():
            return False
        if not self.plan.built or self._small_sig(build=False) is not None:
            return True
        note("a size change to the single driver's class: the Python driver runs these "
             "sizes (the single driver is not built; nothing compiles)")
        return False

    def _fits_single_driver(self) -> bool:
        if sum(s.kind in ("kernel", "row", "dot") for s in self.plan.steps) < SINGLE_MIN_STEPS:
            return False  # nothing to save: one dispatch either way, and no driver to compile
        if any(d > SMALL_DOT for d in self._dot_sizes()):
            return False
        return not any(ck.parallel_ok and self._size(ck) >= PARALLEL_MIN
                       for ck in self.plan.kernel_list)

    def _dot_sizes(self) -> list[int]:
        """Multiply-adds of each product at these sizes."""
        out = []
        for s in self.plan.steps:
            if s.kind == "dot":
                n = s.nodes[0]
                m, nn = self._concrete(n.shape)
                out.append(m * nn * self._concrete(n.inputs[0].shape)[1])
        return out

    def _policy(self) -> threads.Policy:
        """The thread policy at these sizes (:mod:`..threads`): BLAS threads, ``prange``;
        decided once per instance (its BLAS count refreshed by the call)."""
        if self.policy is None:
            par = [self._size(ck) for ck in self.plan.kernel_list if ck.parallel_ok]
            self.policy = threads.Policy(max(self._dot_sizes(), default=0),
                                         max(par, default=0), PARALLEL_MIN)
        return self.policy

    def _size(self, ck) -> int:
        k = ck.step.kernel
        size = 1
        for ax in range(k.rank):
            size *= self._extent(k.extents[ax], k, ck.step)
        return size

    def _extent(self, ext, k: Kernel, step) -> int:
        return extent(ext, k, step, self._concrete)

    def _numba_kernels(self) -> list:
        """numba's dispatchers for the Python driver: the serial variant (always: its machine
        code is what the native tier keeps), the ``prange`` one where the size pays."""
        kernels = []
        for ck in self.plan.kernel_list:
            fn = ck.serial()
            if ck.parallel_ok and self._size(ck) >= PARALLEL_MIN and self._policy().decision.prange:
                # a size change compiles nothing: the variant only if built or on disk
                fn = (ck.parallel() if not self.plan.built else ck.parallel(build=False)) or fn
            kernels.append(fn)
        return kernels

    def run(self, feeds: list, variables: list) -> tuple:
        """Run with variable values given positionally (explain, tests): (outputs, updates)."""
        prog = self.plan.prog
        S = {v: x for (v, _), x in zip(prog.variables, variables, strict=True)}
        got: dict = {}
        outs = self.call(list(feeds), S, got.update)
        return tuple(outs), tuple(got[v] for v, _ in prog.updates)

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
import re
import sys
import threading
import time
import weakref

import numpy as np

from ... import cpu_threads as threads
from ..fusion import empty_reduction_error
from ..kernel import Kernel, extent
from ..log import note
from ..passes.shapes import bind_dims
from . import native, native_packed, tiers
from .driver import make_fallback
from .njit_driver import SMALL_DOT
from .numba_import import import_numba

PARALLEL_MIN = int(os.environ.get("STATICGRAPH_PARALLEL_MIN", 1 << 20))
"""Elements: below this a kernel runs serially (thread start-up costs more than it saves)."""
SINGLE_MIN_STEPS = int(os.environ.get("STATICGRAPH_SINGLE_DRIVER_MIN_STEPS", 2))
"""Plans with fewer kernel/matmul steps than this run the Python driver (one dispatch anyway)."""


class Instance:
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

    # ------------------------------------------------------------------ entry points
    def _fresh_fn(self, E: list, pools: dict) -> object:
        rc = sys.getrefcount

        def fresh(j: int) -> np.ndarray:
            pool, cur = pools[j], E[j]
            for cand in pool:
                if cand is not cur and rc(cand) <= 3:  # pool, ``cand``, the argument
                    E[j] = cand
                    return cand
            new = np.empty_like(cur)
            if len(pool) >= 4:  # the caller keeps results: stop tracking this one
                pool[:] = [p for p in pool if p is not cur]  # by identity: no array ==
            pool.append(new)
            E[j] = new
            return new

        return fresh

    def taker(self, positions: list[int]) -> object:
        """``take(results, gives)`` for the results at ``positions`` of this instance's call:
        each of them that is an escape buffer still in its pool leaves the pool (and the
        current-buffer list), replaced there by ``gives[i]`` (an array the caller no longer
        references anywhere, of the slot's shape and dtype, C-contiguous and writeable; or
        ``None``: a new buffer). Afterwards the instance holds no reference to any of those
        results, so a caller may keep one as storage that others view (a parameter's array)
        without the pool ever writing into it again; results that were copies were the
        caller's already. Generated and unrolled per position (a few ``is`` tests each)."""
        prog, mem = self.plan.prog, self.plan.mem
        ns = {"lock": self.lock, "E": self.buffers, "empty_like": np.empty_like}
        lines = ["def take(r, G):", "    with lock:"]
        for i, k in enumerate(positions):
            sl = mem.slot_of.get(prog.outputs[k].id) if k < len(prog.outputs) else None
            if sl not in self.pools:
                continue  # never an escape buffer: a copy, the caller's already
            ns[f"P{sl}"] = self.pools[sl]
            lines += [f"        a = r[{k}]", f"        p = P{sl}",
                      "        for j in range(len(p)):",
                      "            if p[j] is a:",
                      f"                g = G[{i}]",
                      "                if g is None:",
                      "                    g = empty_like(a)",
                      "                p[j] = g",
                      f"                if E[{sl}] is a:",
                      f"                    E[{sl}] = g",
                      "                break"]
        lines.append("        a = p = g = None")
        src = "\n".join(lines) + "\n"
        exec(compile(src, "<staticgraph take>", "exec"), ns)
        take = ns["take"]
        take.source = src
        return take

    def _small_call(self) -> object:
        plan = self.plan
        src = plan.njit_src
        E = self.buffers  # escape slots hold the current buffer; held by ``E`` and the pool only
        A, O = self._arena(src)
        prog = plan.prog
        ns = {"lock": self.lock, "E": E, "A": A, "O": O, "rc": sys.getrefcount,
              "fresh": self._fresh_fn(E, self.pools)}
        args = [f"F[{i}]" for i in src.feeds]
        for j, (v, _) in enumerate(prog.variables):
            ns[f"V{j}"] = v
            args.append(f"S[V{j}]")
        lines = ["def call(F, S, commit):", "    with lock:"]
        for j, sl in enumerate(src.escapes):  # E, the pool, the local, the argument: 4
            lines += [f"        e{j} = E[{sl}]", f"        if rc(e{j}) > 4:",
                      f"            e{j} = fresh({sl})"]
            args.append(f"e{j}")
        args += ["A", "O"]
        ns["drv"] = self._small_sig()
        self.driver_args = (ns["drv"], A, O)  # for callers passing their own escape buffers
        lines.append(f"        r = drv({', '.join(args)})")
        vals = [f"e{i}" if w == "e" else f"r[{i}]"
                for w, i in src.returns]
        no = len(prog.outputs)
        if prog.updates:
            for j, (v, _) in enumerate(prog.updates):
                ns[f"U{j}"] = v
            lines.append("    commit({" + ", ".join(f"U{j}: {vals[no + j]}" for j in
                                                    range(len(prog.updates))) + "})")
        lines.append("    return [" + "".join(x + ", " for x in vals[:no]) + "]")
        self.call_source = "\n".join(lines) + "\n"
        exec(compile(self.call_source, "<staticgraph call>", "exec"), ns)
        return ns["call"]

    def _small_sig(self, build: bool = True) -> object | None:
        """The single driver's dispatcher for this instance's argument types (feeds,
        variables, escape buffers, arena, offsets): loaded from disk or compiled
        (``build=False``: only if it exists, else None)."""
        import_numba()
        from numba import typeof

        prog, src = self.plan.prog, self.plan.njit_src
        arrays = [(len(f.shape), f.dtype) for f in
                  sorted(prog.feeds, key=lambda f: f.params["index"])]
        arrays += [(node.ndim, node.dtype) for _, node in prog.variables]
        arrays += [(len(self.slot_shapes[sl]), self.plan.mem.slots[sl][1])
                   for sl in src.escapes]
        arrays += [(1, np.uint8), (1, np.int64)]
        return self.plan.njit_dispatcher(tuple(typeof(np.empty((0,) * nd, dt))
                                               for nd, dt in arrays), build)

    def _arena(self, src) -> tuple[np.ndarray, np.ndarray]:
        """One 64-byte aligned byte buffer for the constants and intermediates of the single
        driver, and the byte ranges of its entries; constants are copied in once."""
        shapes = [np.shape(c) for c in src.consts] + [self.slot_shapes[sl] for sl in src.bslots]
        bounds, off = [], 0
        for shp, dt in zip(shapes, src.entry_dtypes, strict=True):
            nb = int(np.prod(shp, dtype=np.int64)) * dt.itemsize
            bounds += [off, off + nb]
            off += -(-nb // 64) * 64
        raw = np.zeros(off + 64, np.uint8)
        start = (-raw.ctypes.data) % 64
        A = raw[start:start + off]
        O = np.array(bounds, np.int64)
        views = [A[O[2 * k]:O[2 * k + 1]].view(dt).reshape(shp)
                 for k, (shp, dt) in enumerate(zip(shapes, src.entry_dtypes, strict=True))]
        for v, c in zip(views, src.consts, strict=False):
            v[...] = c
        for sl, v in zip(src.bslots, views[len(src.consts):], strict=True):
            self.buffers[sl] = v  # the same memory the driver uses (explain, debugging)
        return A, O

    def _python_call(self, kernels: list | None = None) -> object:
        """The Python driver's call; ``kernels``: native kernels (the native tier), else
        numba's dispatchers (serial, or ``prange`` where the size pays)."""
        plan = self.plan
        d = plan.driver
        tiered = kernels is not None
        pol = self._policy()
        if kernels is None:
            kernels = self._numba_kernels()
        fallbacks = [make_fallback(*f) for f in d.fallbacks]
        prog = plan.prog
        ns = {"lock": self.lock, "rc": sys.getrefcount, "np": np, "C": d.consts,
              "B": self.buffers, "K": kernels, "X": fallbacks,
              "fresh": self._fresh_fn(self.buffers, self.pools)}
        for j, (v, _) in enumerate(prog.variables):
            ns[f"V{j}"] = v
        for j, (v, _) in enumerate(prog.updates):
            ns[f"U{j}"] = v
        lines = ["def call(F, S, commit):", "    with lock:"]
        if any(s.kind == "dot" for s in plan.steps):  # BLAS threads as the policy decides
            ns.update(CUR=threads.CURRENT, P=pol, mono=time.monotonic)
            lines += ["        if CUR[0] != P.blas or mono() >= P.next:", "            P.apply()"]
        for sl in sorted(self.pools):  # B, the pool, the local, the argument: 4 references
            lines += [f"        b = B[{sl}]", "        if rc(b) > 4:", f"            fresh({sl})"]
        lines.append("        b = None")
        # the Python driver's body inlined (no extra frame, no V list, no result tuples);
        # variable reads ``tN = V[j]`` become reads of the store
        body = []
        for ln in d.body:
            m = re.fullmatch(r"    (t\d+) = V\[(\d+)\]", ln)
            body.append(f"        {m.group(1)} = S[V{m.group(2)}]" if m else "    " + ln)
        if tiered and native_packed.ENABLED:  # LLVM kernels: one native call per stretch
            body = native_packed.pack(body, kernels, ns, set(self.pools))
        lines += body
        vals = []  # copies of results are taken under the lock: another run reuses buffers
        for k, x in enumerate(d.outs + d.upds):
            if x.startswith("np.array("):
                lines.append(f"        c{k} = {x}")
                x = f"c{k}"
            vals.append(x)
        outs, upds = vals[:len(d.outs)], vals[len(d.outs):]
        forward = None
        if tiered and not (plan.native_only or plan.llvm_only):
            # forward once switched (each call its own cell, tiers.swap); queue the
            # hand-overs once (numba's dispatchers are called ~50x cheaper than a ctypes
            # call: 0.3 vs 17 us, a busy machine)
            forward = [None]
            ns.update(M=forward, Q=self._switch, later=native.later, W=weakref.ref(self))
            lines = lines[:2] + ["        fwd = M[0]", "        if fwd is None:"] + [
                "    " + ln for ln in lines[2:]] + [
                "    if fwd is not None:", "        return fwd(F, S, commit)",
                "    if not Q[1]:", "        Q[1] = True", "        later(W)"]
        if prog.updates:
            lines.append("    commit({" + ", ".join(f"U{j}: {u}" for j, u in
                                                    enumerate(upds)) + "})")
        lines.append("    return [" + "".join(x + ", " for x in outs) + "]")
        self.call_source = "\n".join(lines) + "\n"
        exec(compile(self.call_source, "<staticgraph call>", "exec"), ns)
        if forward is not None:
            ns["call"].forward = forward
        return ns["call"]

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

"""The generated per-run entry points of a bound plan (:class:`~.instance.Instance`).

Each ``call(F, S, commit)`` is Python source written for one instance and compiled with
``exec``: the single compiled driver's call (:meth:`GeneratedCalls._small_call`, one native call
per run) or the Python driver's body inlined (:meth:`GeneratedCalls._python_call`: BLAS products
with the thread policy's check in front, kernels, fallbacks; on the native tier, the forward to
numba's call once switched). Escape buffers are reused only when their reference counts show
that nobody else holds them (:meth:`GeneratedCalls._fresh_fn`), and :meth:`GeneratedCalls.taker`
hands results over to a caller that keeps them. A mixin: it reads the instance's plan, buffers,
pools, lock and policy.
"""

from __future__ import annotations

import re
import sys
import time
import weakref

import numpy as np

from ... import cpu_threads as threads
from ..code_cache import compiled
from . import native, native_packed
from .driver import make_fallback
from .numba_import import import_numba


class GeneratedCalls:
    """The entry-point builders of :class:`~.instance.Instance` (see the module docstring)."""

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
        exec(compiled(self.call_source, "<staticgraph call>"), ns)  # noqa: S102
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
        exec(compiled(self.call_source, "<staticgraph call>"), ns)  # noqa: S102
        if forward is not None:
            ns["call"].forward = forward
        return ns["call"]

"""Render a fused plan: compile its kernels (through :mod:`.jit`) and generate the *driver*, one
Python function per plan that calls the kernels and ``np.dot`` on preallocated buffers::

    def run(F, V, C, B, K):          # feeds, variables, constants, buffers, kernels
        t3 = F[0]; t5 = V[0]
        np.dot(t3, t5, out=B[0]); t7 = B[0]
        K[0](t7, C[0], B[0])         # bias + relu epilogue, in place
        ...
        return (t9,), (t12,)         # fetches, variable updates

A plan is size-independent; an :class:`Instance` binds it to concrete feed shapes (buffers,
serial/parallel kernel choice) and is cached per shape signature.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from numba import types
from numba.np.numpy_support import from_dtype

from ..ops.core import REGISTRY, eval_numpy
from . import jit
from .fusion import Step
from .ir import Node, Program
from .kernel import Kernel, RowKernel
from .memory import MemoryPlan
from .passes.shapes import Sym
from .render_cpu import can_parallelize, render

PARALLEL_MIN = int(os.environ.get("STATICGRAPH_PARALLEL_MIN", 1 << 20))
"""Elements: below this a kernel runs serially (thread start-up costs more than it saves)."""


def _arr_t(dtype: np.dtype, ndim: int) -> types.Array:
    return types.Array(from_dtype(np.dtype(dtype)), ndim, "C")


@dataclass
class CompiledKernel:
    step: Step
    source: str
    module: object
    serial: object
    parallel_ok: bool
    sig: tuple
    _par: object = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def parallel(self) -> object:
        with self.lock:
            if self._par is None:
                self._par = jit.compile_sig(self.module, "kernel_par", self.sig,
                                            "parallel variant for a large size")
        return self._par


def kernel_sig(step: Step) -> tuple:
    k = step.kernel
    if isinstance(k, RowKernel):
        return tuple(_arr_t(n.dtype, n.ndim) for n in _row_args(step))
    arrs = [(i.dtype, len(i.pattern)) for i in k.inputs]
    outs = {n.id: n for n in step.outputs}
    for o, n in zip(k.outputs, step.outputs, strict=False):
        arrs.append((o.dtype, n.ndim))
    for r, n in zip(k.reductions, step.outputs[len(k.outputs):], strict=False):
        arrs.append((r.dtype, n.ndim))
    del outs
    return tuple(_arr_t(d, nd) for d, nd in arrs)


def _row_args(step: Step) -> list[Node]:
    k = step.kernel
    if k.kind == "ce_fwd":
        return [step.inputs[0], step.inputs[1], step.nodes[0], step.nodes[1]]
    return list(step.inputs) + [step.nodes[0]]


def compile_step(step: Step, reason: str) -> CompiledKernel:
    k = step.kernel
    par = isinstance(k, Kernel) and can_parallelize(k)
    body = render(k, "kernel")
    names = ["kernel"]
    if par:
        body += "\n\n" + render(k, "kernel_par", parallel=True)
        names.append("kernel_par")
    mod = jit.load(body, names, {"kernel_par": True})
    sig = kernel_sig(step)
    disp = jit.compile_sig(mod, "kernel", sig, reason)
    return CompiledKernel(step, body, mod, disp, par, sig)


class Driver:
    """The generated driver source for ``steps`` and the tables it reads."""

    def __init__(self, prog: Program, steps: list[Step], mem: MemoryPlan,
                 kernels: dict[int, CompiledKernel]) -> None:
        self.prog, self.steps, self.mem, self.kernels = prog, steps, mem, kernels
        self.consts: list[np.ndarray] = []
        self.fallbacks: list[tuple] = []
        lines = ["def run(F, V, C, B, K, X):"]
        name: dict[int, str] = {}
        for f in prog.feeds:
            name[f.id] = f"t{f.id}"
            lines.append(f"    t{f.id} = F[{f.params['index']}]")
        for j, (_, v) in enumerate(prog.variables):
            name[v.id] = f"t{v.id}"
            lines.append(f"    t{v.id} = V[{j}]")

        def ref(n: Node) -> str:
            if n.id not in name:
                if n.op != "const":
                    raise RuntimeError(f"internal: value %{n.id} ({n.op}) used before defined")
                self.consts.append(n.params["value"])
                name[n.id] = f"t{n.id}"
                lines.append(f"    t{n.id} = C[{len(self.consts) - 1}]")
            return name[n.id]

        kidx = 0
        for si, s in enumerate(steps):
            if s.kind in ("kernel", "row"):
                for n in s.outputs:
                    name[n.id] = f"t{n.id}"
                    lines.append(f"    t{n.id} = B[{mem.slot_of[n.id]}]")
                if isinstance(s.kernel, RowKernel):
                    args = [ref(n) for n in _row_args(s)]
                else:
                    args = [ref(n) for n in s.inputs] + [name[n.id] for n in s.outputs]
                tag = f"  # {s.kernel.doc or s.describe()}"
                lines.append(f"    K[{kidx}]({', '.join(args)}){tag}")
                kernels[si].index = kidx
                kidx += 1
            elif s.kind == "dot":
                n = s.nodes[0]
                a, b = (self._operand(i, ref) for i in n.inputs)
                name[n.id] = f"t{n.id}"
                lines.append(f"    t{n.id} = B[{mem.slot_of[n.id]}]")
                lines.append(f"    np.dot({a}, {b}, out=t{n.id})  # {n.name}")
            elif s.kind == "view":
                n = s.nodes[0]
                if n.op == "permute" and n.ndim == 2 and n.id not in self._escaping():
                    continue  # a transposed matmul operand: rendered as ``x.T`` at the dot
                x = ref(n.inputs[0])
                name[n.id] = f"t{n.id}"
                lines.append(f"    t{n.id} = {self._view(n, x, ref)}")
            else:
                n = s.nodes[0]
                args = ", ".join(ref(i) for i in n.inputs)
                self.fallbacks.append((REGISTRY[n.op], dict(n.params), n.dtype, n.name))
                name[n.id] = f"t{n.id}"
                lines.append(f"    t{n.id} = X[{len(self.fallbacks) - 1}]({args})  # {n.op}")
        outs = []
        for o in prog.outputs:
            outs.append(self._escape(o, ref, name))
        upds = [self._escape(n, ref, name, force_copy=True) for _, n in prog.updates]
        lines.append(f"    return ({''.join(x + ', ' for x in outs)}), "
                     f"({''.join(x + ', ' for x in upds)})")
        self.source = "\n".join(lines) + "\n"
        ns = {"np": np}
        exec(compile(self.source, "<staticgraph driver>", "exec"), ns)
        self.fn = ns["run"]

    def _escaping(self) -> set:
        return {o.id for o in self.prog.outputs} | {n.id for _, n in self.prog.updates}

    def _operand(self, n: Node, ref) -> str:
        s = next((s for s in self.steps if n in s.outputs), None)
        if s is not None and s.kind == "view" and n.op == "permute":
            return f"{ref(n.inputs[0])}.T"
        return ref(n)

    @staticmethod
    def _view(n: Node, x: str, ref) -> str:
        if n.op == "reshape":
            return f"{x}.reshape({tuple(n.params['shape'])!r})"
        if n.op == "reshape_like":
            return f"{x}.reshape({ref(n.inputs[1])}.shape)"
        if n.op == "expand_dims":
            return f"np.expand_dims({x}, {tuple(n.params['dims'])!r})"
        if n.op == "squeeze":
            return f"np.squeeze({x}, {tuple(n.params['dims'])!r})" if n.params["dims"] else x
        if n.op == "permute":
            return f"{x}.transpose({tuple(n.params['perm'])!r})"
        raise RuntimeError(f"internal: no view for {n.op}")

    def _escape(self, n: Node, ref, name: dict, force_copy: bool = False) -> str:
        x = ref(n)
        if n.id in self.mem.slot_of and self.mem.slot_of[n.id] in self.mem.escape:
            return x
        if n.op == "feed" and not force_copy:
            return x
        return f"np.array({x}, copy=True)"


def make_fallback(op, params: dict, dtype: np.dtype, name: str):
    def f(*args):
        out = eval_numpy(op, args, params)
        return out if out.dtype == dtype else out.astype(dtype)
    f.__name__ = f"fallback_{name}"
    return f


class Instance:
    """A plan bound to concrete feed shapes: buffers and kernel variants."""

    def __init__(self, plan: Plan, feed_shapes: tuple) -> None:
        self.plan = plan
        d = plan.driver
        env: dict[int, int] = {}
        for f in plan.prog.feeds:
            for ax, dim in enumerate(f.shape):
                if isinstance(dim, Sym):
                    env[id(dim)] = feed_shapes[f.params["index"]][ax]

        def concrete(shape: tuple) -> tuple:
            return tuple(env[id(x)] if isinstance(x, Sym) else int(x) for x in shape)

        self.buffers: list[np.ndarray] = []
        self.pools: dict[int, list[np.ndarray]] = {}
        self.peak_bytes = 0
        for sl, (shape, dt) in enumerate(plan.mem.slots):
            buf = np.empty(concrete(shape), dt)
            self.buffers.append(buf)
            if sl in plan.mem.escape:
                self.pools[sl] = [buf]
            else:
                self.peak_bytes += buf.nbytes
        self.kernels = []
        for ck in plan.kernel_list:
            fn = ck.serial
            if ck.parallel_ok:
                k = ck.step.kernel
                size = 1
                for ax in range(k.rank):
                    ext = k.extents[ax]
                    size *= self._extent(ext, k, ck.step, concrete)
                if size >= PARALLEL_MIN:
                    fn = ck.parallel()
            self.kernels.append(fn)
        self.fallbacks = [make_fallback(*f) for f in d.fallbacks]
        self.consts = d.consts
        probe = self.buffers
        self._base = sys.getrefcount(probe[0]) if probe else 0
        self.lock = threading.Lock()

    @staticmethod
    def _extent(ext, k: Kernel, step: Step, concrete) -> int:
        if ext is None:
            return 1
        if ext[0] == "const":
            return int(ext[1])
        names = [i.name for i in k.inputs] + [o.name for o in k.outputs]
        nodes = list(step.inputs) + list(step.outputs)
        n = nodes[names.index(ext[0])]
        return concrete(n.shape)[ext[1]]

    def refresh_escapes(self) -> None:
        """Give each escaping slot a buffer nobody outside holds (else a fresh one)."""
        B = self.buffers
        for sl, pool in self.pools.items():
            cur = B[sl]
            # references: B, pool, ``cur``, getrefcount's argument
            if sys.getrefcount(cur) <= 4:
                continue
            for cand in pool:
                if cand is not cur and sys.getrefcount(cand) <= 3:
                    B[sl] = cand
                    break
            else:
                new = np.empty_like(cur)
                if len(pool) >= 4:  # the caller keeps results: stop tracking this one
                    pool.remove(cur)
                pool.append(new)
                B[sl] = new

    def run(self, feeds: list, variables: list) -> tuple:
        with self.lock:
            self.refresh_escapes()
            return self.plan.driver.fn(feeds, variables, self.consts, self.buffers,
                                       self.kernels, self.fallbacks)


@dataclass
class Plan:
    prog: Program
    steps: list[Step]
    mem: MemoryPlan
    kernel_list: list[CompiledKernel]
    driver: Driver
    compile_seconds: float
    trace: list
    instances: dict = field(default_factory=dict)

    def instance(self, feed_shapes: tuple) -> Instance:
        inst = self.instances.get(feed_shapes)
        if inst is None:
            inst = Instance(self, feed_shapes)
            self.instances[feed_shapes] = inst
        return inst


def build_plan(prog: Program, steps: list[Step], mem: MemoryPlan, reason: str,
               trace: list, t0: float) -> Plan:
    compiled: dict[int, CompiledKernel] = {}
    for si, s in enumerate(steps):
        if s.kind in ("kernel", "row"):
            compiled[si] = compile_step(s, reason)
    driver = Driver(prog, steps, mem, compiled)
    klist = [compiled[si] for si in sorted(compiled)]
    return Plan(prog, steps, mem, klist, driver, time.perf_counter() - t0, trace)

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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...ops.core import REGISTRY, eval_numpy
from ..fusion import Step
from ..ir import Node, Program
from ..kernel import Kernel, RowKernel
from ..memory import MemoryPlan
from ..passes.shapes import Sym, UnitDimError
from . import jit
from .instance import PARALLEL_MIN, Instance  # noqa: F401 - re-exported
from .njit_driver import NjitDriverSource, Unsupported
from .render import can_parallelize, render


@dataclass
class CompiledKernel:
    """A kernel rendered and written to the disk cache, compiled on first use: by numba (the
    module is imported, and its serial variant compiled or loaded from numba's cache; the
    single driver compiles it as part of its own compilation), or linked from the saved
    machine code of :mod:`.native` without numba (the first runs of a warm process)."""

    step: Step
    source: str  # the kernel functions (explain)
    module_source: str  # the whole module file
    hash: str
    path: str
    parallel_ok: bool
    argspec: tuple  # ((dtype, ndim), ...) of the arguments: inputs, outputs, reductions
    reason: str = ""
    _module: object = None
    _serial: object = None
    _par: object = None
    _native: object = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def module(self) -> object:
        """The imported kernel module (njit dispatchers; importing it loads numba)."""
        with self.lock:
            if self._module is None:
                self._module = jit.import_source(self.module_source, self.hash, self.path)
        return self._module

    @property
    def source_sha(self) -> str:
        """The module source's hash (what native headers and manifests must name)."""
        from ..diskcache import source_sha

        return source_sha(self.module_source)

    @property
    def sig(self) -> tuple:
        from numba import types
        from numba.np.numpy_support import from_dtype

        return tuple(types.Array(from_dtype(dt), nd, "C") for dt, nd in self.argspec)

    def serial(self) -> object:
        with self.lock:
            if self._serial is None:
                self._serial = jit.compile_sig(self.module, "kernel", self.sig, self.reason)
                self.save_native()
        return self._serial

    def parallel(self) -> object:
        with self.lock:
            if self._par is None:
                self._par = jit.compile_sig(self.module, "kernel_par", self.sig,
                                            "parallel variant for a large size")
        return self._par

    def save_native(self, load: bool = False) -> None:
        """Keep numba's machine code of the serial variant for the native tier, unless kept
        already. ``load``: get the variant first if numba has not (the single driver loaded
        from numba's cache brings its kernels' code inside its own)."""
        from . import native

        target = native.path_for(self.path, "kernel")
        if self._module is None or native.intact(self.path, "kernel", self.source_sha):
            return
        sig = self.sig
        if sig in self._module.kernel.overloads:
            if native.save(self._module.kernel, sig, self.path, "kernel", self.source_sha):
                jit.note("saved native code %s", os.path.basename(target))
        elif load:
            self.serial()  # loads it from numba's cache (or compiles it), then saves

    def native(self, retry: bool = False) -> object:
        """The serial variant linked from its saved machine code (no numba), or None (also
        remembered, unless ``retry``: e.g. after numba has just written the entry)."""
        from . import native

        with self.lock:
            if self._native is None or (retry and self._native is False):
                self._native = native.load(self.path, "kernel",
                                           [np.dtype(d) for d, _ in self.argspec],
                                           [nd for _, nd in self.argspec],
                                           self.source_sha) or False
        return self._native or None


def kernel_argspec(step: Step) -> tuple:
    """(dtype, ndim) of each kernel argument, in call order."""
    k = step.kernel
    if isinstance(k, RowKernel):
        return tuple((np.dtype(n.dtype), n.ndim) for n in _row_args(step))
    arrs = [(i.dtype, len(i.pattern)) for i in k.inputs]
    for o, n in zip(k.outputs, step.outputs, strict=False):
        arrs.append((o.dtype, n.ndim))
    for r, n in zip(k.reductions, step.outputs[len(k.outputs):], strict=False):
        arrs.append((r.dtype, n.ndim))
    return tuple((np.dtype(d), nd) for d, nd in arrs)


def _row_args(step: Step) -> list[Node]:
    k = step.kernel
    if k.kind == "ce_fwd":
        return [step.inputs[0], step.inputs[1], step.nodes[0], step.nodes[1]]
    return list(step.inputs) + [step.nodes[0]]


def compile_step(step: Step, reason: str) -> CompiledKernel:
    """Render ``step``'s kernel and write its module to the disk cache (nothing compiles yet)."""
    k = step.kernel
    par = isinstance(k, Kernel) and can_parallelize(k)
    body = render(k, "kernel")
    names = ["kernel"]
    if par:
        body += "\n\n" + render(k, "kernel_par", parallel=True)
        names.append("kernel_par")
    src = jit.module_source(body, names, {"kernel_par": True})
    h, path = jit.write_source(src)
    return CompiledKernel(step, body, src, h, path, par, kernel_argspec(step), reason)


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
        # updates first: they keep their escape buffers; a fetch of the same value copies
        given: set[int] = set()
        upds = [self._escape(n, ref, given) for _, n in prog.updates]
        outs = [self._escape(o, ref, given) for o in prog.outputs]
        self.body, self.outs, self.upds = lines[1:], outs, upds  # for the generated call
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

    def _escape(self, n: Node, ref, given: set[int]) -> str:
        """A value leaving the run: its escape buffer the first time it is given out, else a
        copy (results and updates never alias feeds, variables, constants or each other)."""
        x = ref(n)
        if self.mem.slot_of.get(n.id) in self.mem.escape and n.id not in given:
            given.add(n.id)
            return x
        return f"np.array({x}, copy=True)"


def make_fallback(op, params: dict, dtype: np.dtype, name: str):
    def f(*args):
        out = eval_numpy(op, args, params)
        return out if out.dtype == dtype else out.astype(dtype)
    f.__name__ = f"fallback_{name}"
    return f


@dataclass
class Plan:
    prog: Program
    steps: list[Step]
    mem: MemoryPlan
    kernel_list: list[CompiledKernel]
    driver: Driver
    compile_seconds: float
    trace: list
    njit_src: NjitDriverSource | None = None
    reason: str = ""
    native_only: bool = False  # run saved machine code only, never numba's dispatchers (tests)
    instances: dict = field(default_factory=dict)
    _njit: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def njit_dispatcher(self, sig: tuple) -> object:
        """The single driver compiled (or loaded from disk) for ``sig``; no other signature
        compiles later (a mismatching call raises ``TypeError``, see the executor)."""
        with self._lock:
            if self._njit is None:
                src = self.njit_src
                pre = {k: ck.module.kernel for k, ck in src.kernel_globals.items()}
                mod = jit.load_source(src.module_text(), pre)
                t0 = time.perf_counter()
                disp = jit.compile_sig(mod, "driver", sig, self.reason)
                disp.disable_compile()
                for ck in src.kernel_globals.values():  # compiled with the driver: keep them
                    ck.save_native(load=True)
                self.compile_seconds += time.perf_counter() - t0
                self._njit = disp
        return self._njit

    def instance(self, feed_shapes: tuple) -> Instance | str:
        """The plan bound to ``feed_shapes`` (memoized), or ``"reference"`` when those shapes
        break an equality the plan assumed through a size-1 dim (:class:`UnitDimError`)."""
        inst = self.instances.get(feed_shapes)
        if inst is None:
            inst = unit_dim_fallback(lambda: Instance(self, feed_shapes), feed_shapes)
            self.instances[feed_shapes] = inst
        return inst


def unit_dim_fallback(bind: Callable[[], Any], feed_shapes: tuple) -> Any:
    """``bind()``, or ``"reference"`` (logged) when it raises :class:`UnitDimError`: a
    derived dim is 1 where the plan needs another size, which broadcasting may allow."""
    try:
        return bind()
    except UnitDimError as e:
        jit.note("feed shapes %s do not fit the plan (%s): using the reference executor for "
                 "them", feed_shapes, e.message)
        return "reference"


def build_plan(prog: Program, steps: list[Step], mem: MemoryPlan, reason: str,
               trace: list, t0: float) -> Plan:
    for shape, _ in mem.slots:  # every buffer needs a size known once the feeds are bound
        if not all(isinstance(d, (int, Sym)) for d in shape):
            raise NotImplementedError(f"a buffer of shape {shape} has a dimension that no feed "
                                      "determines (e.g. reshape(-1) of a symbolic size)")
    compiled: dict[int, CompiledKernel] = {}
    for si, s in enumerate(steps):
        if s.kind in ("kernel", "row"):
            compiled[si] = compile_step(s, reason)
    driver = Driver(prog, steps, mem, compiled)
    klist = [compiled[si] for si in sorted(compiled)]
    try:
        nsrc = NjitDriverSource(prog, steps, mem, compiled)
    except Unsupported as e:
        jit.note("no single driver for this plan (%s)", e)
        nsrc = None
    return Plan(prog, steps, mem, klist, driver, time.perf_counter() - t0, trace, nsrc, reason)

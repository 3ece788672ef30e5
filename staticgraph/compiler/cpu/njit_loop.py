"""The compiled loop driver: a ``While`` region's whole loop as one ``@njit`` function.

The Python driver (:func:`staticgraph.graph.loop_driver.run_loop`) calls the loop's compiled
*step* plan once per iteration; each call goes through the plan's generated entry (lock, escape
buffer checks, commit), numba's dispatch of every array argument, and the driver's own per
iteration Python work (feed lists, stack pushes). For a small body that is ~15 us per iteration
against ~1 us of arithmetic. Here the loop itself is compiled: the step plan's single driver
(:mod:`.njit_driver`) is called from an ``@njit`` loop rendered for this loop's structure::

    def loop(c0, c1, k3, g5, v0, e0, e1, A, O, st0):    # carried, invariants, rows, variables,
        t = 0                                            # escape buffers, arena, saved stacks
        while True:
            i5 = c0.item()                               # x[i] read at the carried counter
            if i5 < 0 or i5 >= g5.shape[0]:
                return (1, t, c0, c1, st0)               # out of range: the Python driver says so
            r = drv(c1, k3, g5[i5], v0, e0, e1, A, O)    # body + condition, one compiled call
            n0 = e0.copy()
            n1 = r[0]
            ...                                          # shape checks, st0[t] = saved value
            c0 = n0
            c1 = n1
            t += 1
            if not e1.item():
                break
        return (0, t, c0, c1, st0)

The function is compiled once per loop structure and argument types (logged), so a new trip
count or sequence length never compiles; its module goes to the disk cache like the kernels. It
is compiled on the loader thread (:class:`_CompileJob`, queued by the first run that meets the
loop on numba's tier), so no run waits for numba: runs take the Python driver until it is ready.
:func:`run_compiled` returns ``None`` (the Python driver runs the loop) whenever this path does
not apply: a body with host ops (a nested loop, TensorArray ops the driver does not feed), a
step plan without a single driver (large products, ``prange`` kernels, numpy fallbacks), the
native tier (numba not loaded yet), a body that assigns variables, host values (TensorArrays of
unwritten rows, ragged saved stacks). At run time the loop gives up (status 1) where the Python
driver raises or where the shapes the step plan was bound to would change (an out-of-range
slice or row, a loop variable changing shape); the Python driver then runs the loop from the
start (nothing was committed: the body assigns no variables), and raises its error.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ...graph.core import needed_ops
from ...graph.func_graph import is_opaque
from ...graph.loop_driver import Stack
from ...graph.tensor_array_ops import TensorList
from ...host_ops import is_host_op
from ..executor_base import REFERENCE
from ..log import note
from . import jit, native

HEADER = "import numpy as np\nfrom numba import njit\n"
_MISS = object()


class _Entry:
    """One loop bound to one step instance: the compiled loop, its buffers and their lock."""

    def __init__(self, fn: Any, inst: Any, nsrc: Any) -> None:
        self.fn, self.inst = fn, inst
        self.lock = threading.Lock()
        self.ready = True  # False while the loader thread compiles it (_CompileJob)
        self.E = [np.empty(inst.slot_shapes[sl], inst.plan.mem.slots[sl][1])
                  for sl in nsrc.escapes]
        self.A, self.O = inst._arena(nsrc)
        self.variables = [v for v, _ in inst.plan.prog.variables]


def run_compiled(ex: Any, state: Any, spec: Any, step: tuple, carried: list, inputs: list,
                 sliced: list, first: list) -> tuple[int, list, list] | None:
    """Run loop ``spec`` from its first iteration as one compiled call: (trip count, carried
    values, saved stacks as arrays), or ``None`` when the Python driver must run it (see the
    module docstring). ``step``: :func:`~staticgraph.graph.loop_driver.step_graph`'s
    (graph, feed placeholders, their sources, fetches); ``first``: the first iteration's feed
    values (their shapes bind the step plan, as the Python driver's first call would)."""
    graph, keys, src, fetches = step
    first = [np.asarray(v) if isinstance(v, (np.generic, int, float, bool)) else v
             for v in first]  # a Const's value may be a numpy scalar
    if not all(type(v) is np.ndarray for v in first):
        return None
    cache = spec.__dict__.setdefault("_njit_loop", {})
    key = (id(ex), id(graph), tuple((v.shape, v.dtype) for v in first))
    entry = cache.get(key, _MISS)
    if entry is _MISS:
        entry = _build(ex, spec, step, first)
        if entry is _MISS:  # not yet (the native tier): asked again next run
            return None
        cache[key] = entry
    if entry is None or not entry.ready:
        return None
    args = _arguments(spec, src, carried, inputs, sliced)
    if args is None:
        return None
    S = getattr(state, "view", state)
    if entry.fn.disp is None:  # compile it on the loader thread; the Python driver runs now
        entry.ready = False
        native.later(_CompileJob(entry, args + [_arg(S[v]) for v in entry.variables], spec))
        return None
    args += [_arg(S[v]) for v in entry.variables]
    with entry.lock:
        out = entry.fn(*args, *entry.E, entry.A, entry.O, *_empty_stacks(spec))
    if out[0] != 0:
        return None
    nc = spec.n_carried
    t = int(out[1])
    stacks = []
    for st in out[2 + nc:]:
        st = st[:t]
        stacks.append(np.ascontiguousarray(st[::-1]) if spec.reverse else st)
    return t, list(out[2:2 + nc]), stacks


def _build(ex: Any, spec: Any, step: tuple, first: list) -> Any:
    """The compiled loop for this step plan bound to ``first``'s shapes, ``None`` (never for
    these shapes) or ``_MISS`` (not now: the step instance still runs native kernels)."""
    graph, keys, src, fetches = step
    if any(is_host_op(op) for op in needed_ops(fetches, [], set(keys))) or any(
            is_opaque(t) for t in list(fetches) + list(keys)):  # as regions.region_runner
        note("loop %r runs the Python driver: its body holds host ops (a region itself)",
             spec.name)
        return None
    inst = ex.instance_for(graph, fetches, [], dict(zip(keys, first, strict=True)))
    why = None
    if inst is REFERENCE:
        why = "the reference executor runs the body"
    elif inst.tier != "numba":
        why = "the body's plan runs native kernels (numba not loaded yet)"
    elif not inst.small:
        why = "the body's plan has no single driver"
    elif inst.plan.prog.updates:
        why = "the body assigns variables"
    elif len(inst.plan.prog.outputs) != len(fetches):
        why = "the body's plan merges fetches"
    elif any(t.aval.shape is None for t in spec.stacked):
        why = "a saved value of unknown rank"
    if why is not None:
        if inst is not REFERENCE and inst.tier != "numba":
            return _MISS  # retried once the instance runs numba's code
        note("loop %r runs the Python driver: %s", spec.name, why)
        return None
    nsrc = inst.plan.njit_src
    drv = inst._small_sig()
    mod_hash = drv.py_func.__globals__["__sg_hash__"]
    ranks = [v.ndim for v in first]
    text = _render(spec, src, ranks, nsrc, len(inst.plan.prog.variables), mod_hash)
    mod = jit.load_source(text, {"drv": drv})
    return _Entry(_Compiled(mod, spec.name), inst, nsrc)


class _CompileJob:
    """Compiles one loop on the loader thread (:func:`.native.later`) by running it once on the
    values of the run that asked (pure: a body that assigns variables never gets here; the
    results are dropped), so no run waits for numba: runs take the Python driver meanwhile
    (``block_until_ready`` waits for the job). Only numba's compile runs there (under numba's
    own compiler lock); instances and buffers were made on the caller's thread."""

    def __init__(self, entry: _Entry, args: list, spec: Any) -> None:
        self.entry, self.args, self.spec = entry, args, spec

    def __call__(self) -> _CompileJob:  # native.later takes a reference to call
        return self

    def refine(self) -> None:
        """The loader's first step for an instance (quick -> optimised LLVM kernels): a loop has
        only numba's code, nothing to refine."""

    def upgrade(self) -> None:
        e = self.entry
        try:
            with e.lock:
                e.fn(*self.args, *e.E, e.A, e.O, *_empty_stacks(self.spec))
            e.ready = True
        except Exception as err:  # the Python driver keeps running the loop: correct, slower
            note("loop %r runs the Python driver: compiling it failed (%s: %s)",
                 self.spec.name, type(err).__name__, err)
        self.args = []


class _Compiled:
    """The loop dispatcher, typed on its first call and logged (one compile per argument
    types; a new trip count or sequence length keeps the types)."""

    def __init__(self, mod: Any, name: str) -> None:
        self.mod, self.name, self.disp = mod, name, None

    def __call__(self, *args: Any) -> tuple:
        if self.disp is None:
            from numba import typeof

            sig = tuple(typeof(a) for a in args)
            self.disp = jit.compile_sig(self.mod, "loop", sig, f"loop {self.name!r}")
            self.disp.disable_compile()
        return self.disp(*args)


def _arg(a: Any) -> np.ndarray:
    """An argument as the loop's compiled types expect it: a C-contiguous, writeable array."""
    a = np.asarray(a)
    if a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.require(a, requirements=("C", "W"))


def _rows(v: Any) -> np.ndarray | None:
    """A sliced input or a TensorArray as one array of rows (``None``: ragged or unwritten)."""
    if isinstance(v, np.ndarray):
        return _arg(v)
    if isinstance(v, Stack) and v.array is not None:
        return _arg(v.array)
    items = v.items if isinstance(v, (Stack, TensorList)) else None
    if not items or any(x is None for x in items):
        return None
    shapes = {np.shape(x) for x in items}
    return np.stack(items) if len(shapes) == 1 else None


def _arguments(spec: Any, src: list, carried: list, inputs: list,
               sliced: list) -> list | None:
    """The loop's leading arguments: carried values, invariants, slices, gathered sources."""
    args = []
    for v in carried:
        if isinstance(v, (Stack, TensorList)):
            return None
        args.append(_arg(v))
    for kind, i, _ in _used(src):
        if kind == "k":
            v = inputs[i]
            if isinstance(v, (Stack, TensorList)):
                return None
            args.append(_arg(v))
        else:
            rows = _rows(sliced[i] if kind == "s" else inputs[i])
            if rows is None:
                return None
            args.append(rows)
    return args


def _used(src: list) -> list[tuple[str, int, Any]]:
    """The invariant, sliced and gathered sources, each once, in first-use order."""
    seen: dict = {}
    for kind, i, reader in src:
        if kind != "c":
            seen.setdefault((kind, i), (kind, i, reader))
    return list(seen.values())


def _empty_stacks(spec: Any) -> list[np.ndarray]:
    return [np.empty((0,) * (len(t.aval.shape) + 1), t.aval.dtype) for t in spec.stacked]


def _render(spec: Any, src: list, ranks: list, nsrc: Any, nv: int, mod_hash: str) -> str:
    """The loop module's text (see the module docstring); ``mod_hash`` names the step
    driver's module, so a changed body is a different loop module; ``nv``: the step
    driver's variable parameters; ``ranks``: each feed's rank."""
    nc, ns = spec.n_carried, len(spec.stacked)
    used = _used(src)
    name = {(kind, i): f"{kind}{i}" for kind, i, _ in used}
    params = [f"c{i}" for i in range(nc)] + [name[(k, i)] for k, i, _ in used]
    params += [f"v{j}" for j in range(nv)] + [f"e{j}" for j in range(len(nsrc.escapes))]
    params += ["A", "O"] + [f"st{k}" for k in range(ns)]
    state = ", ".join(["t"] + [f"c{i}" for i in range(nc)] + [f"st{k}" for k in range(ns)])
    bail = f"return (1, {state})"
    body: list[str] = []
    feed_exprs = []
    for fi in nsrc.feeds:
        kind, i, reader = src[fi]
        if kind == "c":
            feed_exprs.append(f"c{i}")
        elif kind == "k":
            feed_exprs.append(f"k{i}")
        else:
            arr = name[(kind, i)]
            if kind == "s":
                idx = f"x{fi}"
                at = "t" if not spec.reverse else f"{arr}.shape[0] - 1 - t"
                body.append(f"{idx} = {at}")
            else:
                idx = f"x{fi}"
                body.append(f"{idx} = c{reader[0]}.item()")
            body += [f"if {idx} < 0 or {idx} >= {arr}.shape[0]:", f"    {bail}"]
            row = f"{arr}[{idx}:{idx} + 1].reshape(())" if ranks[fi] == 0 else f"{arr}[{idx}]"
            feed_exprs.append(row)
    body.append(f"r = drv({', '.join(feed_exprs + [f'v{j}' for j in range(nv)])}"
                f"{''.join(f', e{j}' for j in range(len(nsrc.escapes)))}, A, O)")

    def value(k: int) -> str:
        kind, j = nsrc.returns[k]
        return f"e{j}.copy()" if kind == "e" else f"r[{j}]"

    for i in range(nc):
        body += [f"n{i} = {value(i)}", f"if n{i}.shape != c{i}.shape:", f"    {bail}"]
    for k in range(ns):
        x = f"y{k}"
        body += [f"{x} = {value(nc + k)}",
                 f"if t == st{k}.shape[0]:",
                 f"    w = np.empty((max(2 * t, 16),) + {x}.shape, st{k}.dtype)",
                 "    if t > 0:",
                 f"        if st{k}.shape[1:] != {x}.shape:",
                 f"            {bail}",
                 f"        w[:t] = st{k}",
                 f"    st{k} = w",
                 f"elif st{k}.shape[1:] != {x}.shape:",
                 f"    {bail}",
                 f"st{k}[t:t + 1] = {x}.reshape((1,) + {x}.shape)"]
    body += [f"c{i} = n{i}" for i in range(nc)]
    body += ["t += 1", f"if not {value(nc + ns)}.item():", "    break"]
    lines = [f"def loop({', '.join(params)}):", "    t = 0", "    while True:"]
    lines += ["        " + ln for ln in body]
    lines.append(f"    return (0, {state})")
    return (HEADER + f"# drv: sg_{mod_hash}.driver (bound by the loader)\n\n"
            + "\n".join(lines) + "\n\nloop = njit(cache=True, error_model='numpy', "
            "nogil=True)(loop)\n")

"""The single-dispatch driver for small plans: the whole plan as one ``@njit`` function.

For a small graph the Python driver's cost is its kernel calls (each numba dispatch types and
unboxes its array arguments, ~0.1 us each) and ``np.dot``'s dispatch, not the arithmetic. This
driver calls the same kernels from compiled code (no per-kernel dispatch), computes small
products with the loops of :mod:`.smallmm`, and is entered once per run::

    def driver(f0, f1, v0, v1, e0, e1, A, O):  # feeds, variables, escape buffers, arena
        t16 = A[O[2]:O[3]].view(np.float32).reshape((f0.shape[0], 1, ))
        mm_nn(f0, v0, t16)                       # MatMul (a loop: the product is tiny)
        k0(t16, v1, f1, ...)                     # add -> sub -> mul -> mean
        ...
        k4(t30, v1, e1)                          # mul -> sub  (the new value of b)
        return ()                                # values not in escape buffers (copies)

Constants and intermediate buffers live in one byte *arena* ``A`` (allocated once per bound
shape; ``O`` holds each entry's byte range): two arguments instead of one per buffer (each
array argument costs ~0.05-0.1 us of typing and unboxing per call). Escape buffers (fetched
values, variable updates) are separate arguments because the caller swaps them between runs
when the previous result is still held (see :class:`~.instance.Instance`). The module is
written to the disk cache like the kernels (``cache=True``), so a new process loads the driver
without typing it.

An :class:`~.instance.Instance` uses this driver when its plan has no numpy fallback steps, every
product has at most :data:`SMALL_DOT` multiply-adds, and no kernel is large enough for its
``prange`` variant; otherwise it runs the Python driver (BLAS ``np.dot``, parallel kernels).
Only the plan's first instance compiles it: an instance of these sizes bound after the plan
chose the Python driver loads it from numba's disk cache or keeps the Python driver (a size
change compiles nothing; see :class:`~.plan.Plan`).
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..fusion import Step
from ..ir import Node, Program
from ..kernel import RowKernel, row_args
from ..memory import MemoryPlan
from ..passes.shapes import Sym

SMALL_DOT = int(os.environ.get("STATICGRAPH_SMALL_DOT", 1 << 12))
"""Multiply-adds (m*k*n): products up to this size run as loops in the single driver."""

HEADER = ("import numpy as np\nfrom staticgraph.compiler.cpu.smallmm import mm_nn, mm_nt, mm_tn, "
          "mm_tt  # noqa: F401\nfrom numba import njit\n")


class Unsupported(Exception):
    """The plan has a step the single driver cannot express (e.g. a numpy fallback)."""


class NjitDriverSource:
    """Render the single driver of a plan. ``kernels``: step index -> compiled kernel record
    (with ``.hash``, the kernel module's content hash). Raises :class:`Unsupported`."""

    def __init__(self, prog: Program, steps: list[Step], mem: MemoryPlan, kernels: dict) -> None:
        self.feeds = sorted(f.params["index"] for f in prog.feeds)
        self.escapes = sorted(mem.escape)
        esc_pos = {sl: j for j, sl in enumerate(self.escapes)}
        self.consts: list = []  # constant arrays, first in B
        self.bslots = [sl for sl in range(len(mem.slots)) if sl not in mem.escape]
        self.kernel_globals: dict[str, object] = {}
        dims: dict[int, str] = {}
        for f in prog.feeds:
            for ax, d in enumerate(f.shape):
                if isinstance(d, Sym) and id(d) not in dims:
                    dims[id(d)] = f"f{f.params['index']}.shape[{ax}]"
        name: dict[int, str] = {f.id: f"f{f.params['index']}" for f in prog.feeds}
        for j, (_, v) in enumerate(prog.variables):
            name[v.id] = f"v{j}"
        body: list[str] = []
        const_refs: list[tuple[int, str]] = []

        def ref(n: Node) -> str:
            if n.id not in name:
                if n.op != "const":
                    raise Unsupported(f"value %{n.id} ({n.op}) used before defined")
                self.consts.append(n.params["value"])
                name[n.id] = f"t{n.id}"
                const_refs.append((n.id, len(self.consts) - 1))
            return name[n.id]

        def slot(n: Node) -> str:
            sl = mem.slot_of[n.id]
            name[n.id] = f"e{esc_pos[sl]}" if sl in esc_pos else f"t{n.id}"
            if sl not in esc_pos:
                body.append(f"    t{n.id} = B[@{self.bslots.index(sl)}]")
            return name[n.id]

        def shape_of(shp: tuple, what: str) -> str:
            parts = []
            for d in shp:
                if isinstance(d, Sym):
                    if id(d) not in dims:
                        raise Unsupported(f"symbolic dim {d} of {what} is no feed dim")
                    parts.append(dims[id(d)])
                elif isinstance(d, (int, np.integer)):
                    parts.append(str(int(d)))
                else:
                    raise Unsupported(f"dim {d!r} of {what} is not known from the feeds")
            return "(" + "".join(p + ", " for p in parts) + ")"

        def shape(n: Node) -> str:
            return shape_of(n.shape, f"%{n.id}")

        # fusion makes a 2-D permute a view only when dot steps alone consume it (else fallback)
        transposed = {s.nodes[0].id for s in steps if s.kind == "view" and s.nodes[0].op ==
                      "permute"}
        for si, s in enumerate(steps):
            if s.kind in ("kernel", "row"):
                if isinstance(s.kernel, RowKernel):
                    args = row_args(s)
                    ins = args[:len(args) - len(s.outputs)]
                else:
                    ins = list(s.inputs)
                args = [ref(n) for n in ins] + [slot(n) for n in s.outputs]
                kn = f"k{len(self.kernel_globals)}"
                self.kernel_globals[kn] = kernels[si]
                body.append(f"    {kn}({', '.join(args)})  # {s.kernel.doc or s.describe()}")
            elif s.kind == "dot":
                n = s.nodes[0]
                flags, ops = "", []
                for i in n.inputs:
                    if i.id in transposed:
                        flags += "t"
                        ops.append(ref(i.inputs[0]))
                    else:
                        flags += "n"
                        ops.append(ref(i))
                out = slot(n)
                body.append(f"    mm_{flags}({ops[0]}, {ops[1]}, {out})  # {n.name}")
            elif s.kind == "view":
                n = s.nodes[0]
                if n.id in transposed:
                    continue  # rendered as a transpose flag of the product
                x = ref(n.inputs[0])
                name[n.id] = f"t{n.id}"
                # reshape, reshape_like, expand_dims, squeeze: the same data, a new shape
                body.append(f"    t{n.id} = {x}.reshape({shape(n)})")
            elif s.nodes[0].op == "size":  # a count of elements (symbolic dims at run time)
                n = s.nodes[0]
                x = ref(n.inputs[0])
                cnt = " * ".join(f"{x}.shape[{d}]" for d in n.params["dim"]) or "1"
                name[n.id] = f"t{n.id}"
                body.append(f"    t{n.id} = np.empty((), np.{n.dtype.name})")
                body.append(f"    t{n.id}[()] = {cnt}")
            else:
                raise Unsupported(f"{s.kind} step {s.describe()}")
        # per output, then per update: ("e", escape buffer) the first time a value with an
        # escape buffer leaves (updates first: they keep it), else ("r", a copy returned by
        # the driver): results never alias feeds, variables, constants or each other
        extra: list[str] = []
        given: set[int] = set()
        ret: dict[int, tuple[str, int]] = {}
        nouts = len(prog.outputs)
        order = [(nouts + j, u) for j, (_, u) in enumerate(prog.updates)] + \
            list(enumerate(prog.outputs))
        for k, n in order:
            x = ref(n)
            sl = mem.slot_of.get(n.id)
            if sl in esc_pos and name[n.id] == f"e{esc_pos[sl]}" and n.id not in given:
                given.add(n.id)
                ret[k] = ("e", esc_pos[sl])
            else:
                ret[k] = ("r", len(extra))
                extra.append(f"{x}.copy()")
        self.returns: list[tuple[str, int]] = [ret[k] for k in range(len(order))]
        # arena entries: the constants, then the intermediate slots; entry k is the byte range
        # A[O[2k]:O[2k+1]] seen as its dtype and shape (offsets are bound per feed shapes)
        entries = [(np.asarray(c).dtype, shape_of(np.shape(c), "a constant"))
                   for c in self.consts]
        entries += [(np.dtype(mem.slots[sl][1]), shape_of(mem.slots[sl][0], f"slot {sl}"))
                    for sl in self.bslots]
        self.entry_dtypes = [dt for dt, _ in entries]

        def view(k: int) -> str:
            dt, shp = entries[k]
            nm = "bool_" if dt == np.bool_ else dt.name
            return f"A[O[{2 * k}]:O[{2 * k + 1}]].view(np.{nm}).reshape({shp})"

        nc = len(self.consts)
        lines = [re.sub(r"B\[@(\d+)\]", lambda m: view(nc + int(m.group(1))), ln)
                 for ln in body]
        lines = [f"    t{nid} = {view(ci)}" for nid, ci in const_refs] + lines
        params = [f"f{i}" for i in self.feeds] + [f"v{j}" for j in range(len(prog.variables))] \
            + [f"e{j}" for j in range(len(self.escapes))] + ["A", "O"]
        ret = "(" + "".join(e + ", " for e in extra) + ")"
        self.source = _canonical("\n".join([f"def driver({', '.join(params)}):", *lines,
                                            f"    return {ret}"]) + "\n")

    def module_text(self) -> str:
        """The module written to the disk cache: its content hash names it, so the same plan
        rebuilt (a new ``Graph`` of the same model) is the same module, loaded once. Node
        names (comments) are left out: they depend on the graph, not on the code."""
        ks = "\n".join(f"# {k}: sg_{ck.hash}.kernel (bound by the loader)"
                       for k, ck in self.kernel_globals.items())
        deco = "driver = njit(cache=True, error_model='numpy', nogil=True)(driver)\n"
        body = re.sub(r"  # .*$", "", self.source, flags=re.M)
        return HEADER + ks + "\n\n" + body + "\n" + deco


def _canonical(src: str) -> str:
    """Rename the values ``t<node id>`` to ``t0, t1, ...`` in order of first use: node ids
    come from a process-wide counter, so a rebuilt graph would otherwise render new text."""
    names: dict[str, str] = {}
    return re.sub(r"\bt\d+\b", lambda m: names.setdefault(m.group(0), f"t{len(names)}"), src)

"""The Python driver of a plan: one generated function that calls the kernels, ``np.dot`` and
the numpy fallbacks on preallocated buffers (the single driver of small plans is
:mod:`.njit_driver`)::

    def run(F, V, C, B, K, X):       # feeds, variables, constants, buffers, kernels, fallbacks
        t3 = F[0]; t5 = V[0]
        np.dot(t3, t5, out=B[0]); t7 = B[0]
        K[0](t7, C[0], B[0])         # bias + relu epilogue, in place
        ...
        return (t9,), (t12,)         # fetches, variable updates

:class:`~.instance.Instance` inlines its body into the per-run ``call``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...ops.core import REGISTRY, Op, eval_numpy
from ..code_cache import compiled
from ..fusion import Step
from ..ir import Node, Program
from ..kernel import RowKernel, row_args
from ..memory import MemoryPlan


class Driver:
    """The generated driver source for ``steps`` and the tables it reads."""

    def __init__(self, prog: Program, steps: list[Step], mem: MemoryPlan) -> None:
        self.prog, self.steps, self.mem = prog, steps, mem
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

        kidx = 0  # kernels are numbered in step order (Plan.kernel_list)
        for s in steps:
            if s.kind in ("kernel", "row"):
                for n in s.outputs:
                    name[n.id] = f"t{n.id}"
                    lines.append(f"    t{n.id} = B[{mem.slot_of[n.id]}]")
                if isinstance(s.kernel, RowKernel):
                    args = [ref(n) for n in row_args(s)]
                else:
                    args = [ref(n) for n in s.inputs] + [name[n.id] for n in s.outputs]
                tag = f"  # {s.kernel.doc or s.describe()}"
                lines.append(f"    K[{kidx}]({', '.join(args)}){tag}")
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
        exec(compiled(self.source, "<staticgraph driver>"), ns)  # noqa: S102
        self.fn = ns["run"]

    def _escaping(self) -> set:
        return {o.id for o in self.prog.outputs} | {n.id for _, n in self.prog.updates}

    def _operand(self, n: Node, ref: Callable[[Node], str]) -> str:
        s = next((s for s in self.steps if n in s.outputs), None)
        if s is not None and s.kind == "view" and n.op == "permute":
            return f"{ref(n.inputs[0])}.T"
        return ref(n)

    @staticmethod
    def _view(n: Node, x: str, ref: Callable[[Node], str]) -> str:
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

    def _escape(self, n: Node, ref: Callable[[Node], str], given: set[int]) -> str:
        """A value leaving the run: its escape buffer the first time it is given out, else a
        copy (results and updates never alias feeds, variables, constants or each other)."""
        x = ref(n)
        if self.mem.slot_of.get(n.id) in self.mem.escape and n.id not in given:
            given.add(n.id)
            return x
        return f"np.array({x}, copy=True)"


def make_fallback(op: Op, params: dict, dtype: np.dtype, name: str) -> Callable:
    """A fallback step's callable: the registry's numpy kernel, cast to the node's dtype."""

    def f(*args: np.ndarray) -> np.ndarray:
        out = eval_numpy(op, args, params)
        return out if out.dtype == dtype else out.astype(dtype)
    f.__name__ = f"fallback_{name}"
    return f

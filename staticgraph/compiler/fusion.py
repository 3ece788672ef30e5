"""Fusion: partition the optimized IR into steps. Fusion decides; codegen only renders.

* ``KernelStep``: a maximal elementwise region (broadcasting included: ``broadcast_like`` /
  ``broadcast_to`` become input index patterns) plus the reductions that consume it
  (``sum``/``mean``/``max``/``min``/``sum_to_like``), one loop nest: ``mean((p - y)**2)`` is one
  kernel with no temporary.
* ``DotStep``: ``matmul`` through BLAS (``np.dot``, transposed operands as views); the
  elementwise kernel that consumes it (bias-add, activation) is its *epilogue* and writes in
  place into the product's buffer (see :mod:`.memory`).
* ``RowStep``: softmax, log_softmax, ``nll_loss(log_softmax(x))`` (softmax-CE forward: log-probs
  and loss in one kernel; one ``nll_loss`` per kernel) and ``softmax_ce_grad`` (its gradient,
  one kernel).
* ``ViewStep``: reshape-like ops on contiguous buffers; ``FallbackStep``: anything else runs the
  registry's numpy kernel.

before: t = sub(p, y); s = square(t); m = mean(s)      =>   after: KernelStep{t, s, m}
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ops.core import AVal, compute_dtype
from .ir import Node, Program
from .kernel import (
    SHORT_REDUCTION,
    ConstPool,
    Input,
    Kernel,
    Output,
    Reduction,
    RowKernel,
    Stmt,
    render_template,
)
from .passes.shapes import Sym


def _fact(n: Node, name: str) -> object:
    """A fact on ``n``'s op record (``Op.reduce``, ``Op.reshaping``, ``Op.fresh_output``...);
    ``None`` for nodes that are no registry op (feeds, variables, constants)."""
    od = n.opdef
    return getattr(od, name) if od is not None else None


@dataclass(eq=False)
class Step:
    kind: str  # kernel | dot | row | view | fallback | permute
    nodes: list[Node]
    inputs: list[Node] = field(default_factory=list)
    outputs: list[Node] = field(default_factory=list)
    kernel: Kernel | RowKernel | None = None
    epilogue_of: Step | None = None

    def describe(self) -> str:
        ops = ", ".join(n.op for n in self.nodes)
        return f"{self.kind}[{ops}]"

    def aliases(self) -> list[Node]:
        """The inputs whose memory this step's outputs may share (the memory planner keeps
        them alive while the outputs are). ``kernel``/``dot``/``row`` steps write into
        planned buffers (in-place reuse is the planner's own decision); a ``view`` is its
        first input's data; a ``fallback`` may return a view of any input."""
        if self.kind == "view":
            return [self.inputs[0]]
        if self.kind == "fallback" and not _fact(self.nodes[0], "fresh_output"):
            return list(self.inputs)
        return []


def _known(shape: tuple) -> bool:
    return all(isinstance(d, (int, Sym)) for d in shape)


def _ew(n: Node) -> bool:
    if n.op in ("ones_like", "zeros_like"):
        return _known(n.shape)
    if n.op in ("broadcast_like", "broadcast_to"):
        return _known(n.shape) and _known(n.inputs[0].shape)
    od = n.opdef
    return od is not None and od.kind == "elementwise" and od.scalar is not None and \
        _known(n.shape) and n.dtype != np.float16


def _red(n: Node) -> bool:
    return bool(_fact(n, "reduce")) and _known(n.shape) and _known(n.inputs[0].shape) and \
        n.inputs[0].ndim > 0


def _shape_only(n: Node, i: Node) -> bool:
    """Inputs read only for their shape (``Op.shape_ref``: they need not be computed before the
    group)."""
    ref = _fact(n, "shape_ref")
    return ref is not None and i is n.inputs[ref]


class _Group:
    def __init__(self, shape: tuple, pos: int) -> None:
        self.shape, self.pos = shape, pos
        self.nodes: list[Node] = []
        self.ew: set[int] = set()
        self.reduced: tuple | None = None


def fuse(prog: Program) -> list[Step]:
    cons = prog.consumers()
    escapes = {n.id for n in prog.outputs} | {n.id for _, n in prog.updates}
    steps: list[Step | _Group] = []
    where: dict[int, int] = {}  # node id -> index in steps

    def avail(n: Node, g_pos: int) -> bool:
        return n.op in ("feed", "var", "const") or where.get(n.id, 1 << 30) < g_pos

    # ``size`` of a feed or variable first: the elementwise group that divides by it (the
    # gradient of a mean) can then fuse with its neighbours instead of waiting for it
    early = [n for n in prog.nodes if n.op == "size" and
             all(i.op in ("feed", "var", "const") for i in n.inputs)]
    rest = [n for n in prog.nodes if n not in early]
    for n in early + rest:
        if n.op in ("feed", "var", "const"):
            continue
        if _ew(n) or _red(n):
            src = n.inputs[0] if _red(n) else None
            shape = tuple(src.shape) if src is not None else tuple(n.shape)
            target = None
            cands = [i for i in n.inputs if i.id in where and isinstance(steps[where[i.id]],
                                                                            _Group)]
            for c in cands:
                g = steps[where[c.id]]
                if g.shape != shape or c.id not in g.ew:
                    continue
                if _red(n):
                    red = _reduced_dims(n)
                    if g.reduced is not None and g.reduced != red:
                        continue
                ok = all(i.id in g.ew or avail(i, g.pos) or i is c for i in n.inputs
                         if not (n.op in ("broadcast_like", "sum_to_like", "reshape_like")
                                 and i is n.inputs[1]))
                if ok and all(avail(i, g.pos) or i.id in g.ew for i in n.inputs[1:]
                              if n.op in ("broadcast_like", "sum_to_like")):
                    target = g
                    break
            if target is None:  # horizontal: an earlier open group of the same shape
                for g in reversed(steps):
                    if isinstance(g, _Group) and g.shape == shape and \
                            (not _red(n) or g.reduced in (None, _reduced_dims(n))) and \
                            all(i.id in g.ew or avail(i, g.pos) for i in n.inputs
                                if not _shape_only(n, i)):
                        target = g
                        break
            if target is None:
                target = _Group(shape, len(steps))
                steps.append(target)
            target.nodes.append(n)
            if _red(n):
                target.reduced = _reduced_dims(n)
            else:
                target.ew.add(n.id)
            where[n.id] = target.pos
            continue
        if n.op == "nll_loss" and _joins_row(n, steps, where, avail):
            st = steps[where[n.inputs[0].id]]
            st.nodes.append(n)
            st.kernel = RowKernel("ce_fwd", "ce_fwd", n.dtype, n.params["reduction"])
            st.inputs = [n.inputs[0].inputs[0], n.inputs[1]]
            where[n.id] = where[n.inputs[0].id]
            continue
        kind = "fallback"
        kern = None
        ins = list(n.inputs)
        if n.op in ("softmax", "log_softmax") and n.ndim == 2 and n.params["dim"] == 1 and \
                n.dtype.kind == "f":
            kind, kern = "row", RowKernel(n.op, n.op, n.dtype)
        elif n.op == "softmax_ce_grad":
            kind, kern = "row", RowKernel("ce_bwd", "ce_bwd", n.dtype, n.params["reduction"])
        elif n.op == "matmul" and n.ndim == 2 and n.inputs[0].ndim == 2 and \
                n.inputs[1].ndim == 2 and n.dtype.kind == "f":
            kind = "dot"
        elif _fact(n, "reshaping"):
            kind = "view"
        elif n.op == "permute" and cons.get(n.id) and n.id not in escapes and \
                all(c.op == "matmul" for c in cons[n.id]) and n.ndim == 2:
            kind = "view"
        st = Step(kind, [n], ins, [n], kern)
        where[n.id] = len(steps)
        steps.append(st)
    out: list[Step] = []
    for s in _sink(steps):
        out.append(_finish(s, cons, escapes) if isinstance(s, _Group) else s)
    for s in out:  # the row forward keeps only the outputs someone uses
        if s.kind == "row" and s.kernel.kind == "ce_fwd":
            s.outputs = list(s.nodes)
    _mark_epilogues(out)
    return out


def _joins_row(n: Node, steps: list, where: dict, avail) -> bool:
    """Whether ``nll_loss`` node ``n`` joins its ``log_softmax``'s row step as the softmax-CE
    forward kernel. That kernel reads one target and writes one loss, so only a row step still
    plain ``log_softmax`` takes it (a second ``nll_loss`` of the same log-probs, another target
    or reduction, is a step of its own reading the log-probs), and only when the target is
    computed before that step runs."""
    lp = n.inputs[0]
    if lp.op != "log_softmax" or n.params["reduction"] not in ("mean", "sum") or \
            lp.ndim != 2 or lp.params["dim"] != 1 or lp.id not in where:
        return False
    st = steps[where[lp.id]]
    return isinstance(st, Step) and st.kind == "row" and st.kernel.kind == "log_softmax" and \
        avail(n.inputs[1], where[lp.id])


def _sink(steps: list) -> list:
    """Move an elementwise group (no reduction) into the first later step that reads it, when
    that step is a group of the same shape: nothing in between can need it.

    before: [g1: broadcast_like, div], [dot], [g2: add, sub, mul(div, .), sum_to_like]
    after:  [dot], [g2: broadcast_like, div, add, sub, mul, sum_to_like]
    (the 1/size of a mean's gradient no longer fills a full-size buffer before the matmul)."""
    steps = list(steps)
    for i, a in enumerate(steps):
        if not isinstance(a, _Group) or a.reduced is not None:
            continue
        ids = {n.id for n in a.nodes}
        for j in range(i + 1, len(steps)):
            b = steps[j]
            if b is None or not any(x.id in ids for n in b.nodes for x in n.inputs):
                continue
            if isinstance(b, _Group) and b.shape == a.shape:
                b.nodes = a.nodes + b.nodes
                b.ew |= a.ew
                steps[i] = None
            break
    return [s for s in steps if s is not None]


def _reduced_dims(n: Node) -> tuple:
    x = n.inputs[0]
    if n.op == "sum_to_like":
        ref = n.inputs[1]
        lead = x.ndim - ref.ndim
        return tuple(range(lead)) + tuple(i + lead for i, d in enumerate(ref.shape)
                                          if d == 1 and x.shape[i + lead] != 1)
    return tuple(n.params["dim"])


def _red_pattern(n: Node) -> tuple:
    x = n.inputs[0]
    red = _reduced_dims(n)
    if n.op == "sum_to_like":
        lead = x.ndim - n.inputs[1].ndim
        return tuple(None if (i + lead) in red or x.shape[i + lead] == 1 else i + lead
                     for i in range(n.inputs[1].ndim))
    if n.params["keepdim"]:
        return tuple(None if d in red or x.shape[d] == 1 else d for d in range(x.ndim))
    return tuple(None if x.shape[d] == 1 else d for d in range(x.ndim) if d not in red)


def _absorb_unit_dims(reductions: list[Reduction], shape: tuple) -> list[Reduction]:
    """Count static size-1 loop dims that no reduction output indexes as reduced too, when
    that makes the reduced dims a suffix: the renderers then accumulate in a register instead
    of read-modify-writing the output element on every iteration (a loop-carried memory
    dependency). before: (N, 1) summed over dim 0 -> ``r0[0] += v`` per element;
    after: dims (0, 1) -> ``acc += v``, stored once. Sums, means (the count gains a factor 1),
    max and min are unchanged by a size-1 dim."""
    if not reductions:
        return reductions
    rank, red = len(shape), set(reductions[0].reduced)
    used = {p for r in reductions for p in r.pattern if p is not None}
    ones = {d for d in range(rank) if isinstance(shape[d], int) and shape[d] == 1} - red - used
    new = tuple(sorted(red | ones))

    def suffix(dims: tuple) -> bool:
        return bool(dims) and dims == tuple(range(rank - len(dims), rank))

    if not ones or suffix(tuple(sorted(red))) or not suffix(new):
        return reductions
    return [Reduction(r.name, r.var, r.op, r.dtype, r.pattern, new) for r in reductions]


def _in_pattern(shape: tuple, rank: int) -> tuple:
    lead = rank - len(shape)
    return tuple(None if d == 1 else j + lead for j, d in enumerate(shape))


def _finish(g: _Group, cons: dict, escapes: set) -> Step:
    """Turn a group into a KernelStep with its backend-neutral Kernel."""
    rank = len(g.shape)
    pool = ConstPool()
    var: dict[int, str] = {}
    inputs: list[Input] = []
    in_nodes: list[Node] = []
    stmts: list[Stmt] = []
    members = {n.id for n in g.nodes}
    extents: list = [None] * rank

    def use(i: Node, shape_only: bool = False) -> str | None:
        if i.id in var:
            return var[i.id]
        c = i.const_value()
        if c is not None and c.size == 1 and not shape_only:
            var[i.id] = pool.get(c.reshape(()).item(), c.dtype)
            return var[i.id]
        name = f"a{len(inputs)}"
        pat = _in_pattern(i.shape, rank) if not shape_only else \
            tuple(j + rank - i.ndim for j in range(i.ndim))
        for ax, p in enumerate(pat):
            if p is not None and extents[p] is None and i.shape[ax] != 1:
                extents[p] = (name, ax)
        inputs.append(Input(name, i.dtype, pat))
        in_nodes.append(i)
        if shape_only:
            return None
        var[i.id] = f"{name}_"
        return var[i.id]

    outputs: list[Output] = []
    reductions: list[Reduction] = []
    out_nodes: list[Node] = []
    red_nodes: list[Node] = []
    docs = []
    for k, n in enumerate(g.nodes):
        v = f"v{k}"
        if _red(n):
            src = use(n.inputs[0])
            reductions.append(Reduction(f"r{len(reductions)}", src, _fact(n, "reduce"), n.dtype,
                                        _red_pattern(n), _reduced_dims(n)))
            red_nodes.append(n)
            docs.append(f"{n.op}")
            continue
        if n.op in ("ones_like", "zeros_like"):
            expr = pool.get(1 if n.op == "ones_like" else 0, n.dtype)
            for d, s in enumerate(n.shape):
                if extents[d] is None and isinstance(s, int):
                    extents[d] = ("const", s)
            if any(e is None for e in extents) and n.inputs[0].id not in members:
                use(n.inputs[0], shape_only=True)
        elif n.op in ("broadcast_like", "broadcast_to"):
            if n.op == "broadcast_like" and n.inputs[1].id not in members:
                use(n.inputs[1], shape_only=True)
            x = use(n.inputs[0])
            expr = x if n.inputs[0].dtype == n.dtype else f"sg_cast_{n.dtype.name}({x})"
            if n.op == "broadcast_to":
                for d, s in enumerate(n.shape):
                    if extents[d] is None and isinstance(s, int):
                        extents[d] = ("const", s)
        else:
            od = n.opdef
            avals = [AVal(i.shape, i.dtype) for i in n.inputs]
            cdt = compute_dtype(od, avals, n.dtype)
            args = []
            for j, i in enumerate(n.inputs):
                a = use(i)
                want = cdt
                if od.dtype_rule == "where":
                    want = n.dtype if j > 0 else None
                if want is not None and i.dtype != want:
                    a = f"sg_cast_{np.dtype(want).name}({a})"
                args.append(a)
            tdt = cdt if cdt is not None else n.dtype
            expr = render_template(od.scalar, args, n.params, tdt, pool)
            if od.dtype_rule not in ("bool",) and np.dtype(tdt) != n.dtype and \
                    od.dtype_rule != "keep":
                expr = f"sg_cast_{n.dtype.name}({expr})"
        stmts.append(Stmt(v, expr, n.dtype))
        var[n.id] = v
        docs.append(n.op)
        if n.id in escapes or any(c.id not in members for c in cons.get(n.id, [])):
            outputs.append(Output(f"o{len(outputs)}", v, n.dtype, tuple(range(rank))))
            out_nodes.append(n)
    for d in range(rank):
        if extents[d] is None:
            if g.shape[d] == 1:  # a literal trip count of 1: the loop disappears
                extents[d] = ("const", 1)
            elif outputs:  # other sizes stay out of the source: one kernel serves all sizes
                extents[d] = (outputs[0].name, d)
            elif isinstance(g.shape[d], int):
                extents[d] = ("const", g.shape[d])
    reductions = _absorb_unit_dims(reductions, g.shape)
    red = [g.shape[d] for d in reductions[0].reduced] if reductions else [None]
    short = all(isinstance(d, int) for d in red) and int(np.prod(red)) <= SHORT_REDUCTION
    kern = Kernel(name="k", rank=rank, inputs=inputs, stmts=stmts, outputs=outputs,
                  reductions=reductions, consts=pool.consts, extents=tuple(extents),
                  doc=" -> ".join(docs), short_reduction=short)
    return Step("kernel", list(g.nodes), in_nodes, out_nodes + red_nodes, kern)


def empty_reduction_error(steps: list[Step], concrete) -> str | None:
    """The error of a fused ``max``/``min`` reducing an axis of size 0 at the shapes
    ``concrete`` gives (its loop would return -inf/+inf; numpy, torch and the reference
    executor raise), or None. Checked once when a plan is bound to feed shapes."""
    for s in steps:
        for n in s.nodes if s.kind == "kernel" else ():
            if n.op in ("max", "min") and any(
                    concrete(n.inputs[0].shape)[d] == 0 for d in n.params["dim"]):
                return (f"zero-size array to reduction operation {n.op} which has no "
                        f"identity ({n.name})")
    return None


def _mark_epilogues(steps: list[Step]) -> None:
    """An elementwise kernel right after a matmul that consumes its product is its epilogue."""
    for a, b in zip(steps, steps[1:], strict=False):
        if a.kind == "dot" and b.kind == "kernel" and a.nodes[0] in b.inputs and \
                not b.kernel.reductions:
            b.epilogue_of = a

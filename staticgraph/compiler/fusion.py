"""Fusion: partition the optimized IR into steps. Fusion decides; codegen only renders.

* ``KernelStep``: a maximal elementwise region (fills and broadcasts included) plus the
  reductions that consume it, one loop nest: ``mean((p - y)**2)`` is one kernel with no
  temporary (:mod:`.fusion_groups` decides membership from op facts and builds the kernel).
* ``DotStep``: ``matmul`` through BLAS (``np.dot``, transposed operands as views); the
  elementwise kernel that consumes it (bias-add, activation) is its *epilogue* and writes in
  place into the product's buffer (see :mod:`.memory`).
* ``RowStep``: softmax, log_softmax, ``nll_loss(log_softmax(x))`` (softmax-CE forward: log-probs
  and loss in one kernel; one ``nll_loss`` per kernel) and ``softmax_ce_grad`` (its gradient,
  one kernel); these rules name their ops (:mod:`.fusion_patterns`).
* ``ViewStep``: reshaping ops (``Op.reshaping``) on contiguous buffers; ``FallbackStep``: anything
  else runs the registry's numpy kernel.

before: t = sub(p, y); s = square(t); m = mean(s)      =>   after: KernelStep{t, s, m}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .fusion_groups import (
    Group,
    fact,
    group_kernel,
    is_elementwise,
    is_reduction,
    is_shape_only,
    reduced_dims,
    same_reduction,
)
from .fusion_patterns import ce_forward, own_step
from .ir import Node, Program
from .kernel import Kernel, RowKernel

_LEAVES = ("feed", "var", "const")


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
        if self.kind == "fallback" and not fact(self.nodes[0], "fresh_output"):
            return list(self.inputs)
        return []


def _runs_first(n: Node) -> bool:
    """A step of its own that reads only the shapes of feeds, variables or constants (``size``
    of a feed: ``Op.shape_only``) can run before everything: the elementwise group that divides
    by it (the gradient of a mean) then fuses with its neighbours instead of waiting for it."""
    od = n.opdef
    return od is not None and bool(n.inputs) and \
        len(od.shape_inputs(len(n.inputs))) == len(n.inputs) and \
        all(i.op in _LEAVES for i in n.inputs) and not is_elementwise(n) and not is_reduction(n)


def fuse(prog: Program) -> list[Step]:
    cons = prog.consumers()
    escapes = {n.id for n in prog.outputs} | {n.id for _, n in prog.updates}
    steps: list[Step | Group] = []
    where: dict[int, int] = {}  # node id -> index in steps

    def avail(n: Node, g_pos: int) -> bool:
        return n.op in _LEAVES or where.get(n.id, 1 << 30) < g_pos

    early = [n for n in prog.nodes if _runs_first(n)]
    rest = [n for n in prog.nodes if n not in early]
    for n in early + rest:
        if n.op in _LEAVES:
            continue
        if is_elementwise(n) or is_reduction(n):
            src = n.inputs[0] if is_reduction(n) else None
            shape = tuple(src.shape) if src is not None else tuple(n.shape)
            target = None
            cands = [i for i in n.inputs if i.id in where and isinstance(steps[where[i.id]],
                                                                            Group)]
            ref = fact(n, "shape_ref")
            for c in cands:  # vertical: the group computing an input
                g = steps[where[c.id]]
                if g.shape != shape or c.id not in g.ew:
                    continue
                if is_reduction(n) and not same_reduction(shape, g.reduced, reduced_dims(n)):
                    continue
                ok = all(i.id in g.ew or avail(i, g.pos) or i is c for i in n.inputs
                         if not is_shape_only(n, i))
                if ok and (ref is None or avail(n.inputs[ref], g.pos) or
                           n.inputs[ref].id in g.ew):
                    target = g
                    break
            if target is None:  # horizontal: an earlier open group of the same shape
                for g in reversed(steps):
                    if isinstance(g, Group) and g.shape == shape and \
                            (not is_reduction(n) or
                             same_reduction(shape, g.reduced, reduced_dims(n))) and \
                            all(i.id in g.ew or avail(i, g.pos) for i in n.inputs
                                if not is_shape_only(n, i)):
                        target = g
                        break
            if target is None:
                target = Group(shape, len(steps))
                steps.append(target)
            target.nodes.append(n)
            if is_reduction(n):
                red = reduced_dims(n)
                target.reduced = red if target.reduced is None else \
                    tuple(sorted(set(target.reduced) | set(red)))
            else:
                target.ew.add(n.id)
            where[n.id] = target.pos
            continue
        kern = ce_forward(n)
        if kern is not None and _joins_row(n, steps, where, avail):
            st = steps[where[n.inputs[0].id]]
            st.nodes.append(n)
            st.kernel = kern
            st.inputs = [n.inputs[0].inputs[0], n.inputs[1]]
            where[n.id] = where[n.inputs[0].id]
            continue
        kind, kern = own_step(n, cons, escapes)
        st = Step(kind, [n], list(n.inputs), [n], kern)
        where[n.id] = len(steps)
        steps.append(st)
    out: list[Step] = []
    for s in _sink(steps):
        if isinstance(s, Group):
            kern, ins, outs = group_kernel(s, cons, escapes)
            s = Step("kernel", list(s.nodes), ins, outs, kern)
        out.append(s)
    for s in out:  # the row forward keeps only the outputs someone uses
        if s.kind == "row" and s.kernel.kind == "ce_fwd":
            s.outputs = list(s.nodes)
    _mark_epilogues(out)
    return out


def _joins_row(n: Node, steps: list, where: dict, avail: Callable[[Node, int], bool]) -> bool:
    """Whether the softmax-CE forward ``nll_loss`` node ``n`` (:func:`.fusion_patterns.
    ce_forward`) joins its ``log_softmax``'s row step. That kernel reads one target and writes
    one loss, so only a row step still plain ``log_softmax`` takes it (a second ``nll_loss`` of
    the same log-probs, another target or reduction, is a step of its own reading the
    log-probs), and only when the target is computed before that step runs."""
    lp = n.inputs[0]
    if lp.id not in where:
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
        if not isinstance(a, Group) or a.reduced is not None:
            continue
        ids = {n.id for n in a.nodes}
        for j in range(i + 1, len(steps)):
            b = steps[j]
            if b is None or not any(x.id in ids for n in b.nodes for x in n.inputs):
                continue
            if isinstance(b, Group) and b.shape == a.shape:
                b.nodes = a.nodes + b.nodes
                b.ew |= a.ew
                steps[i] = None
            break
    return [s for s in steps if s is not None]


def empty_reduction_error(steps: list[Step], concrete) -> str | None:
    """The error of a fused ``max``/``min`` (a reduction with no identity) reducing an axis of
    size 0 at the shapes ``concrete`` gives (its loop would return -inf/+inf; numpy, torch and
    the reference executor raise), or None. Checked once when a plan is bound to feed shapes."""
    for s in steps:
        for n in s.nodes if s.kind == "kernel" else ():
            if fact(n, "reduce") in ("max", "min") and any(
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

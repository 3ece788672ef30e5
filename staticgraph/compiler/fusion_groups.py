"""Elementwise groups: which nodes join one loop nest, and the backend-neutral :class:`Kernel`
a group becomes.

A group is a maximal elementwise region of one iteration shape (fills and broadcasts included:
``ones_like`` is a constant, ``broadcast_like``/``broadcast_to`` an input index pattern) plus the
reductions that consume it (``Op.reduce``: ``sum``/``mean``/``max``/``min``/``sum_to_like``).
Every test here reads a fact of the node's op record (``Op.fill``, ``Op.broadcasting``,
``Op.reduce``, ``Op.shape_ref``), so a new op with the right facts fuses with no list to edit.

before: t = sub(p, y); s = square(t); m = mean(s)
after:  Kernel(rank=1, stmts=[v0 = a0_ - a1_, v1 = v0 * v0], reductions=[r0 = mean of v1])
"""

from __future__ import annotations

import numpy as np

from ..ops.core import AVal, compute_dtype
from .ir import Node
from .kernel import (
    SHORT_REDUCTION,
    ConstPool,
    Input,
    Kernel,
    Output,
    Reduction,
    Stmt,
    render_template,
)
from .passes.shapes import Sym
from .tiling import schedule


def fact(n: Node, name: str) -> object:
    """A fact on ``n``'s op record (``Op.reduce``, ``Op.reshaping``, ``Op.fresh_output``...);
    ``None`` for nodes that are no registry op (feeds, variables, constants)."""
    od = n.opdef
    return getattr(od, name) if od is not None else None


def _known(shape: tuple) -> bool:
    return all(isinstance(d, (int, Sym)) for d in shape)


def _renderable(n: Node) -> bool:
    """Whether generated code can hold ``n``'s values: numba (and so our kernels) has no
    float16 type on the CPU, so a node that reads or makes one stays a numpy step."""
    return n.dtype != np.float16 and all(i.dtype != np.float16 for i in n.inputs)


def is_elementwise(n: Node) -> bool:
    """Whether ``n`` is one statement of a group: a fill (``Op.fill``), a broadcast
    (``Op.broadcasting``) or an elementwise op with a scalar template, at known shapes."""
    od = n.opdef
    if od is None or not _renderable(n):
        return False
    if od.fill is not None:
        return _known(n.shape)
    if od.broadcasting:
        return _known(n.shape) and _known(n.inputs[0].shape)
    return od.kind == "elementwise" and od.scalar is not None and _known(n.shape)


def is_reduction(n: Node) -> bool:
    """Whether ``n`` is a reduction a group can end with (``Op.reduce``)."""
    return bool(fact(n, "reduce")) and _known(n.shape) and _known(n.inputs[0].shape) and \
        n.inputs[0].ndim > 0 and _renderable(n)


def is_shape_only(n: Node, i: Node) -> bool:
    """Inputs read only for their shape (``Op.shape_ref``: they need not be computed before the
    group)."""
    ref = fact(n, "shape_ref")
    return ref is not None and i is n.inputs[ref]


class Group:
    """An open group while fusing: its iteration shape, its position among the steps, its
    nodes, the ids of its elementwise members and the dims its reductions reduce."""

    def __init__(self, shape: tuple, pos: int) -> None:
        self.shape, self.pos = shape, pos
        self.nodes: list[Node] = []
        self.ew: set[int] = set()
        self.reduced: tuple | None = None


def reduced_dims(n: Node) -> tuple:
    """The dims of input 0 that reduction ``n`` reduces: those of its ``dim`` parameter, or for a
    reduction to a reference's shape (``sum_to_like``) the ones the reference lacks or has as 1."""
    x = n.inputs[0]
    ref_pos = fact(n, "shape_ref")
    if ref_pos is not None:
        ref = n.inputs[ref_pos]
        lead = x.ndim - ref.ndim
        return tuple(range(lead)) + tuple(i + lead for i, d in enumerate(ref.shape)
                                          if d == 1 and x.shape[i + lead] != 1)
    return tuple(n.params["dim"])


def same_reduction(shape: tuple, a: tuple | None, b: tuple) -> bool:
    """Whether reduced dims ``a`` (a group's; ``None``: none yet) and ``b`` reduce the same
    loop dims of iteration ``shape``, static size-1 dims aside: reducing a dim of size 1
    changes no sum, mean (its count gains a factor 1), max or min, and no reduction's output
    indexes one (:func:`_red_pattern`). ``mean`` of an ``(N, 1)`` loss over dims ``(0, 1)``
    and ``sum_to_like`` of its gradient to a ``(1,)`` bias (dim ``(0,)``) share one loop."""
    if a is None:
        return True

    def canon(red: tuple) -> set:
        return {d for d in red if not (isinstance(shape[d], int) and shape[d] == 1)}

    return canon(a) == canon(b)


def _one_reduced(reductions: list[Reduction]) -> list[Reduction]:
    """Give a group's reductions one set of reduced dims (the union: they differ only by
    static size-1 dims, :func:`same_reduction`), as the renderers loop over one set."""
    dims = tuple(sorted({d for r in reductions for d in r.reduced}))
    return [r if r.reduced == dims else Reduction(r.name, r.var, r.op, r.dtype, r.pattern, dims)
            for r in reductions]


def _red_pattern(n: Node) -> tuple:
    x = n.inputs[0]
    red = reduced_dims(n)
    ref_pos = fact(n, "shape_ref")
    if ref_pos is not None:
        ref = n.inputs[ref_pos]
        lead = x.ndim - ref.ndim
        return tuple(None if (i + lead) in red or x.shape[i + lead] == 1 else i + lead
                     for i in range(ref.ndim))
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


def group_kernel(g: Group, cons: dict, escapes: set) -> tuple[Kernel, list[Node], list[Node]]:
    """The :class:`Kernel` of group ``g``, the nodes it reads and the nodes it writes (outputs
    other steps or the caller read, then reductions)."""
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

    def const_extents(n: Node) -> None:  # the static dims of a shape no input may give
        for d, s in enumerate(n.shape):
            if extents[d] is None and isinstance(s, int):
                extents[d] = ("const", s)

    outputs: list[Output] = []
    reductions: list[Reduction] = []
    out_nodes: list[Node] = []
    red_nodes: list[Node] = []
    docs = []
    for k, n in enumerate(g.nodes):
        v = f"v{k}"
        od = n.opdef
        if is_reduction(n):
            src = use(n.inputs[0])
            reductions.append(Reduction(f"r{len(reductions)}", src, od.reduce, n.dtype,
                                        _red_pattern(n), reduced_dims(n)))
            red_nodes.append(n)
            docs.append(f"{n.op}")
            continue
        if od.fill is not None:
            expr = pool.get(od.fill, n.dtype)
            const_extents(n)
            ref = n.inputs[od.shape_ref]
            if any(e is None for e in extents) and ref.id not in members:
                use(ref, shape_only=True)
        elif od.broadcasting:
            if od.shape_ref is not None and n.inputs[od.shape_ref].id not in members:
                use(n.inputs[od.shape_ref], shape_only=True)
            x = use(n.inputs[0])
            expr = x if n.inputs[0].dtype == n.dtype else f"sg_cast_{n.dtype.name}({x})"
            if od.shape_ref is None:  # the shape is a parameter
                const_extents(n)
        else:
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
    reductions = _absorb_unit_dims(_one_reduced(reductions), g.shape)
    red = [g.shape[d] for d in reductions[0].reduced] if reductions else [None]
    short = all(isinstance(d, int) for d in red) and int(np.prod(red)) <= SHORT_REDUCTION
    kern = schedule(Kernel(name="k", rank=rank, inputs=inputs, stmts=stmts, outputs=outputs,
                  reductions=reductions, consts=pool.consts, extents=tuple(extents),
                  doc=" -> ".join(docs), short_reduction=short))
    return kern, in_nodes, out_nodes + red_nodes
